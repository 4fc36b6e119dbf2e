#!/usr/bin/env bash
# The GPU benchmark as one command on the device machine (see fetch.sh for what to prepare here):
#   run(command="bash benchmarks/device/run.sh", carry=[".whl", ".gpu_job", ".gl", ".gpu_py"], timeout_s=420)
# Installs the carried wheels (and GL loaders where the image lacks libEGL) and checks that EGL
# renders on the NVIDIA GPU. With pybullet carried (.gpu_py/): `benchmarks/run.py`, the CLI end to
# end (scene sampling, physics, render, ground truth, noise, every file) with 1, 8 and 16 workers,
# a throughput-minded config with 16, and `synthgen render --profile` for where the time went.
# Without it: `benchmarks/gpu_bench.py` renders the prepared scenes (everything but sampling and
# physics) with 1, 8 and 16 workers, then 16 with msaa 1 and with JPEG. MODE=render forces that.
# GPU utilisation is sampled every 0.5 s into $OUT/util.txt.
set -uo pipefail
if ! ldconfig -p | grep -q 'libEGL.so.1' && [ -d .gl ]; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig
fi
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
  || exit 1
export PYTHONPATH=/tmp/site:$PWD/.gpu_py:$PWD PYOPENGL_PLATFORM=egl PYGLET_HEADLESS=1 PYTHONUNBUFFERED=1
if [ -f /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json ]; then
  export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
fi
out="${OUT:-/tmp/out}"; mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 | tee "$out/gpu.txt"
lscpu | grep -E '^(Model name|CPU\(s\))' | tee -a "$out/gpu.txt"
python3 -m synthgen info 2>&1 | tee -a "$out/gpu.txt"
nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv -lms 500 >"$out/util.txt" 2>&1 &
log() { "$@" 2>&1 | tee -a "$out/bench.txt"; }
if python3 -c 'import pybullet' 2>/dev/null && [ "${MODE:-}" != render ]; then
  log python3 benchmarks/run.py --frames 96 --workers 1
  log python3 benchmarks/run.py --frames 384 --workers 8
  log python3 benchmarks/run.py --frames 768 --workers 16
  log python3 benchmarks/run.py --frames 768 --workers 16 --set camera.msaa=1 --set output.rgb_format=jpg \
      --set views_per_scene=24
  log python3 -m synthgen render scenes/kitchen.yaml frames=768 sensor=kinect_v1 --workers 16 --quiet --profile \
      -o /dev/shm/sg-profile
else
  bench() { log python3 benchmarks/gpu_bench.py run .gpu_job --out /dev/shm/sg "$@"; }
  bench --workers 1 --frames 96
  bench --workers 8 16 --frames 768
  bench --workers 16 --frames 768 --msaa 1
  bench --workers 16 --frames 768 --msaa 1 --rgb-format jpg
fi
