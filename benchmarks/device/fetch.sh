#!/usr/bin/env bash
# Prepare, on this (networked) machine, what a GPU benchmark on a bare device machine needs and
# cannot download there: the GL loader libraries (.gl/), Python 3.12 wheels of synthgen's
# dependencies that its image lacks (.whl/), the kitchen scenes sampled and settled here (.gpu_job/,
# for the render-only benchmark) and, when PY312 names a Python 3.12 here, pybullet built from
# source for it (.gpu_py/: pybullet has no cp312 wheel), which lets the device run the CLI itself
# end to end. All are git-ignored and travel with `carry`; then run benchmarks/device/run.sh there.
#
#   [PY312=/path/to/python3.12] bash benchmarks/device/fetch.sh [SCENES=8]
set -euo pipefail
cd "$(dirname "$0")/../.."
scenes="${1:-8}"
py=.venv/bin/python
rm -rf .whl && mkdir -p .whl
plat=(--platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64)
# The device's Python (3.12) already has numpy, scipy, pillow, imageio, networkx, pyyaml, rich,
# matplotlib and jaxtyping. PyOpenGL: pyrender pins 3.1.0, whose glGenTextures fails under Python
# 3.12's ctypes; 3.1.10 renders the same pixels there (checked on llvmpipe), so the device gets it.
for pkg in pyrender==0.1.45 PyOpenGL==3.1.10 trimesh==5.2.0 pyglet==2.1.19 freetype-py==2.5.1 \
           omegaconf==2.4.0 pycocotools==2.0.11 six mannequin-x==0.3.0 nanomanifold==0.8.0; do
  $py -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
      "${plat[@]}" -d .whl "$pkg"
done
# The GL loaders (glvnd's libEGL etc.): the device image may lack them; run.sh unpacks them there.
rm -rf .gl && mkdir -p .gl /tmp/amd64/partial
apt_o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64)
apt-get "${apt_o[@]}" update >/dev/null
(cd .gl && apt-get "${apt_o[@]}" download libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 >/dev/null)
$py benchmarks/gpu_bench.py export .gpu_job --scenes "$scenes"
if [ -n "${PY312:-}" ] && [ ! -f .gpu_py/pybullet.cpython-312-x86_64-linux-gnu.so ]; then
  # ~20 min on 2 cores. Only the extension travels (stripped: 8 MB of 134): the kitchen uses
  # no pybullet_data files.
  build=$(mktemp -d)
  "$PY312" -m venv "$build/venv" && "$build/venv/bin/pip" install -q setuptools wheel
  "$build/venv/bin/pip" download -q --no-deps --no-binary=:all: -d "$build" pybullet==3.2.7
  "$build/venv/bin/pip" wheel -q --no-deps --no-build-isolation -w "$build" "$build"/pybullet-3.2.7.tar.gz
  mkdir -p .gpu_py
  unzip -o -q -d "$build/x" "$build"/pybullet-3.2.7-cp312-*.whl 'pybullet.cpython-312-x86_64-linux-gnu.so'
  strip -o .gpu_py/pybullet.cpython-312-x86_64-linux-gnu.so "$build/x/pybullet.cpython-312-x86_64-linux-gnu.so"
  rm -rf "$build"
fi
du -sh .whl .gpu_job .gl .gpu_py 2>/dev/null
