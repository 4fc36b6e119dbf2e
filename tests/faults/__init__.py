"""Test-only fault injection (see ``sitecustomize.py`` here): :func:`fault_env` is the
environment that makes every Python process started with it fail as asked."""
from __future__ import annotations

import os
from pathlib import Path

FAULTS_DIR = Path(__file__).resolve().parent
FAULTS_ENV = "SYNTHGEN_TEST_FAULTS"
MARKERS_ENV = "SYNTHGEN_TEST_FAULTS_MARKERS"


def fault_env(spec: str, markers: Path | None = None) -> dict[str, str]:
    """Variables to add to a child's environment: this folder first on ``PYTHONPATH`` (so its
    ``sitecustomize`` runs in the child and in every process the child starts: spawn workers,
    Ray's workers) and the faults ``spec`` (see ``sitecustomize``); ``markers``: the folder where
    ``crash-once`` remembers the crashes it caused."""
    path = os.pathsep.join(p for p in (str(FAULTS_DIR), os.environ.get("PYTHONPATH", "")) if p)
    env = {"PYTHONPATH": path, FAULTS_ENV: spec}
    if markers is not None:
        env[MARKERS_ENV] = str(markers)
    return env
