#!/usr/bin/env bash
# The GPU benchmark as one command on the device machine (see fetch.sh for what to prepare here):
#   run(command="bash benchmarks/device/run.sh", carry=[".whl", ".gpu_job", ".gl"], timeout_s=540)
# Installs the carried wheels (and GL loaders where the image lacks libEGL), checks that EGL
# renders on the NVIDIA GPU, then renders the prepared scenes with 1, 8 and 16 worker processes
# (render, ground truth, sensor noise, every file), then 16 workers with msaa 1 and with JPEG.
# GPU utilisation is sampled every 0.5 s into $OUT/util.txt.
set -uo pipefail
if ! ldconfig -p | grep -q 'libEGL.so.1' && [ -d .gl ]; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig
fi
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
  || exit 1
export PYTHONPATH=/tmp/site:$PWD PYOPENGL_PLATFORM=egl PYGLET_HEADLESS=1 PYTHONUNBUFFERED=1
if [ -f /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json ]; then
  export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
fi
out="${OUT:-/tmp/out}"; mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 | tee "$out/gpu.txt"
lscpu | grep -E '^(Model name|CPU\(s\))' | tee -a "$out/gpu.txt"
python3 -m synthgen info 2>&1 | tee -a "$out/gpu.txt"
nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv -lms 500 >"$out/util.txt" 2>&1 &
bench() { python3 benchmarks/gpu_bench.py run .gpu_job --out /dev/shm/sg "$@" 2>&1 | tee -a "$out/bench.txt"; }
if [ -n "${WORKERS:-}" ]; then
  bench --workers $WORKERS --frames ${FRAMES:-384}
else
  bench --workers 1 --frames 96
  bench --workers 8 16 --frames 768
  bench --workers 16 --frames 768 --msaa 1
  bench --workers 16 --frames 768 --msaa 1 --rgb-format jpg
fi
