"""Shared fixtures. GL platform variables are set before anything imports pyrender."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
os.environ["PYGLET_HEADLESS"] = "1"

REPO = Path(__file__).resolve().parents[1]


def run_cli(*args: str, cwd: Path | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run ``python -m synthgen ARGS`` in a subprocess, as a user would from the shell."""
    return subprocess.run([sys.executable, "-m", "synthgen", *map(str, args)], cwd=cwd or REPO,
                          capture_output=True, text=True, timeout=timeout)


def copy_dataset(src: Path, tmp_path: Path) -> Path:
    """A private copy of a module-scoped rendered dataset, for a test that edits its files."""
    dst = tmp_path / src.name
    shutil.copytree(src, dst)
    return dst


def problem_lines(report) -> list[str]:
    """The one-line problems of a validate report."""
    return [p.line() for p in report.problems]


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


# The tiny kitchen: 64x48, 2 views of one scene, both looking at the person.
TINY_ARGS = ("frames=2", "views_per_scene=2", "camera.person_target_prob=1", "camera.width=64",
             "camera.height=48")


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> Path:
    """The kitchen scene at 64x48, 2 frames, rendered once through the CLI for the session."""
    out = tmp_path_factory.mktemp("tiny") / "kitchen"
    r = run_cli("render", REPO / "scenes" / "kitchen.yaml", *TINY_ARGS, "-o", out, "--quiet")
    assert r.returncode == 0, r.stderr
    return out


# --------------------------------------------------------------------------------- the slow tier
# `pytest -m "not slow"` runs the fast tier (pure numpy, in-process GL at tiny sizes) in under a
# minute; `make test` runs everything. A test is slow when it, or a fixture it depends on, runs the
# CLI or another subprocess, or when its module renders whole scenes (listed below); a test may
# also say so itself with @pytest.mark.slow. Decided from the source, so a new CLI test is slow
# without anyone remembering to mark it.
SLOW_MODULES = {"test_scale", "test_people", "test_humans_e2e"}
_SLOW_CALLS = ("run_cli(", "subprocess.")


def _calls(func, calls: tuple[str, ...]) -> bool:
    import inspect

    try:
        src = inspect.getsource(func)
    except (OSError, TypeError):
        return False
    return any(call in src for call in calls)


def _runs_subprocess(func) -> bool:
    return _calls(func, _SLOW_CALLS)


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: renders through the CLI or whole scenes (deselect with -m 'not slow')")


def _slow_helpers(module) -> tuple[str, ...]:
    """Calls of the module's own helper functions that run the CLI (one level deep)."""
    import inspect

    return tuple(f"{name}(" for name, f in vars(module).items()
                 if inspect.isfunction(f) and not name.startswith("test") and f.__module__ == module.__name__
                 and _runs_subprocess(f))


def pytest_collection_modifyitems(config, items):
    helpers: dict[str, tuple[str, ...]] = {}
    for item in items:
        if item.get_closest_marker("slow") is not None:
            continue
        mod = item.module
        if mod.__name__ not in helpers:
            helpers[mod.__name__] = _slow_helpers(mod)
        funcs = [getattr(item, "function", None)]
        info = getattr(item, "_fixtureinfo", None)
        if info is not None:
            funcs += [d.func for defs in info.name2fixturedefs.values() for d in defs]
        calls = _SLOW_CALLS + helpers[mod.__name__]
        if mod.__name__.rsplit(".", 1)[-1] in SLOW_MODULES or any(_calls(f, calls) for f in funcs if f):
            item.add_marker(pytest.mark.slow)
