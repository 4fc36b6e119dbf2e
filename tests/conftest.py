"""Shared fixtures. GL platform variables are set before anything imports pyrender."""
from __future__ import annotations

import os
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
