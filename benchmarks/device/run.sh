#!/usr/bin/env bash
# The GPU benchmark as one command on the device machine (see fetch.sh for what to prepare here):
#   run(command="bash benchmarks/device/run.sh", carry=[".whl", ".gpu_job"], timeout_s=540)
# Installs the carried wheels, checks that EGL renders on the NVIDIA GPU, then renders the
# prepared scenes with 1, 8 and 16 worker processes (render, ground truth, sensor noise, files).
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
  || exit 1
export PYTHONPATH=/tmp/site:$PWD PYOPENGL_PLATFORM=egl PYGLET_HEADLESS=1 PYTHONUNBUFFERED=1
if [ -f /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json ]; then
  export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
fi
out="${OUT:-/tmp/out}"; mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 | tee "$out/gpu.txt"
python3 -m synthgen info 2>&1 | tee -a "$out/gpu.txt"
python3 benchmarks/gpu_bench.py run .gpu_job --workers ${WORKERS:-1 8 16} --frames ${FRAMES:-384} --out /dev/shm/sg 2>&1 | tee "$out/bench.txt"
