# Two-command quickstart: `make demo` and `make test`. Both create .venv and install into it.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed
export PYOPENGL_PLATFORM ?= egl
export PYGLET_HEADLESS := 1

.PHONY: venv demo test bench realism clean

venv: $(STAMP)

# torch==2.13.0 first, alone: pip then takes the local CPU wheel, and the smplx extra finds it
# already satisfied instead of resolving a CUDA build. xtcocotools is built from source because its
# published wheel is compiled against numpy 1 and fails to import under numpy 2.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip setuptools wheel
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -e ".[smplx,ray,dev,transfer]"
	$(PIP) install --quiet cython
	$(PIP) install --quiet --no-build-isolation --no-binary xtcocotools xtcocotools
	$(VENV)/bin/synthgen setup
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/synthgen render scenes/kitchen.yaml -o output/kitchen --overwrite

test: $(STAMP)
	$(PY) -m pytest -q

# Throughput benchmark with the Blender Cycles baseline (benchmarks/RESULTS.md). bpy lives in its
# own venv (.bench, the `bench` extra's pin): make test never installs it.
BENCH := .bench
$(BENCH)/.installed:
	$(PYTHON) -m venv $(BENCH)
	$(BENCH)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH)/bin/python -m pip install --quiet "bpy==4.2.0" numpy
	touch $(BENCH)/.installed

bench: $(STAMP) $(BENCH)/.installed
	$(PY) benchmarks/stages.py
	$(PY) benchmarks/run.py --frames 96 --workers 1 2 --blender-python $(BENCH)/bin/python

# Realism benchmark (benchmarks/realism.py): MediaPipe's BlazePose, trained on real photos, reads
# synthgen's people and LSPET's. mediapipe 0.10.14 needs protobuf < 5, which the ray extra's
# packages refuse: it lives in its own venv (.realism), called by the script as a subprocess.
REALISM := .realism
$(REALISM)/.installed:
	$(PYTHON) -m venv $(REALISM)
	$(REALISM)/bin/python -m pip install --quiet "mediapipe==0.10.14"
	touch $(REALISM)/.installed

realism: $(STAMP) $(REALISM)/.installed
	$(PY) benchmarks/realism.py -o output/realism --render anny= --render mannequin=humans.model=mannequin --frames 300 --overwrite

clean:
	rm -rf $(VENV) $(BENCH) $(REALISM) output .pytest_cache
