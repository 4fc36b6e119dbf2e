# Two-command quickstart: `make demo` and `make test`. Both create .venv and install into it.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed
export PYOPENGL_PLATFORM ?= egl
export PYGLET_HEADLESS := 1

.PHONY: venv demo test clean

venv: $(STAMP)

# torch==2.13.0 first, alone: pip then takes the local CPU wheel, and the smplx extra finds it
# already satisfied instead of resolving a CUDA build. xtcocotools is built from source because its
# published wheel is compiled against numpy 1 and fails to import under numpy 2.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip setuptools wheel
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -e ".[smplx,ray,dev]"
	$(PIP) install --quiet cython
	$(PIP) install --quiet --no-build-isolation --no-binary xtcocotools xtcocotools
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/synthgen render scenes/kitchen.yaml -o output/kitchen --overwrite

test: $(STAMP)
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) output .pytest_cache
