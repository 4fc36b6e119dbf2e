"""Test-only fault injection; synthgen itself knows nothing of it.

Python runs a ``sitecustomize`` module found on ``sys.path`` at start-up: with this folder on
``PYTHONPATH`` (``faults.fault_env``) that happens in every process of a render, the CLI, its
spawned workers and Ray's workers alike. When ``$SYNTHGEN_TEST_FAULTS`` is set, it wraps
``synthgen.runner.pipeline.render_shard`` (the function every executor renders every shard
through) as soon as that module is imported. The variable is a comma-separated list of:

``<scene>``
    rendering that scene raises ``RuntimeError("injected failure (SYNTHGEN_TEST_FAULTS)")``;
``crash-once:<scene>``
    the process rendering that scene dies at once (``os._exit(3)``, as a segfault or the OOM
    killer would) the first time; a file ``crashed-<scene>`` in ``$SYNTHGEN_TEST_FAULTS_MARKERS``
    remembers it, so a retry succeeds;
``worker-exit``
    a local worker process (a multiprocessing child) dies at once when given its first scene.
"""
from __future__ import annotations

import os

_SPEC = os.environ.get("SYNTHGEN_TEST_FAULTS", "")
_TARGET = "synthgen.runner.pipeline"


def _wrap(module) -> None:
    import multiprocessing
    from pathlib import Path

    tokens = {t.strip() for t in _SPEC.split(",") if t.strip()}
    real = module.render_shard

    def render_shard(ctx, renderer, shard, *args, **kwargs):
        scene = shard.scene_index
        if "worker-exit" in tokens and multiprocessing.parent_process() is not None:
            os._exit(3)
        if f"crash-once:{scene}" in tokens:
            marker = Path(os.environ["SYNTHGEN_TEST_FAULTS_MARKERS"]) / f"crashed-{scene}"
            if not marker.exists():
                marker.touch()
                os._exit(3)
        if str(scene) in tokens:
            raise RuntimeError("injected failure (SYNTHGEN_TEST_FAULTS)")
        return real(ctx, renderer, shard, *args, **kwargs)

    module.render_shard = render_shard


def _install() -> None:
    import importlib.abc
    import importlib.machinery
    import sys

    class Finder(importlib.abc.MetaPathFinder):
        """Finds the target module as the path finder would, and wraps it once it has run."""

        def find_spec(self, name, path, target=None):
            if name != _TARGET:
                return None
            spec = importlib.machinery.PathFinder.find_spec(name, path)
            if spec is None or spec.loader is None:
                return spec
            run = spec.loader.exec_module

            def exec_module(module):
                run(module)
                _wrap(module)

            spec.loader.exec_module = exec_module
            return spec

    sys.meta_path.insert(0, Finder())


if _SPEC:
    _install()
