"""The whole render job: check the input, prepare (or resume) the output folder, hand the shards
to an executor, merge the dataset-level files.

This module sits on top of the runner: it imports :mod:`.executors` (who renders which shard) and
:mod:`.pipeline` (how one shard is rendered, how the dataset is merged); neither imports it.
"""
from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path

from ..config.schema import SceneConfig
from ..render import gl_info
from .executors import RAY_TIMEOUT_S, import_ray, ray_session, run_in_process, run_local_workers, run_ray
from .output import OutputLock, prepare_output, prepare_resume
from .pipeline import JobContext, JobResult, RenderFailed, finalize
from .plan import plan_shards

__all__ = ["JobResult", "RenderFailed", "run_render"]


def run_render(cfg: SceneConfig, out: Path, *, config_dict: dict, overwrite: bool = False,
               resume: bool = False, quiet: bool = False, base_dir: Path | None = None,
               workers: int = 1, executor: str = "local", ray_address: str | None = None,
               verify: bool = False, ray_timeout: float = RAY_TIMEOUT_S) -> JobResult:
    """Render the whole job into ``out``. Bad input is rejected before anything is written.

    Shards run in this process (``workers == 1``), in ``workers`` local processes, or as Ray
    tasks (``executor == 'ray'``); with ``resume`` the shards already complete are skipped (their
    files' sizes checked against their ``DONE``, and checksums too with ``verify``; a shard that
    fails is rendered again, with one line on stderr saying why). When some shards fail the
    others are still written and :class:`RenderFailed` lists the failures (a rerun with
    ``resume`` completes the dataset). While it runs, ``out`` is locked (:class:`OutputLock`).
    A Ray cluster (``ray_address``) that does not answer within ``ray_timeout`` seconds is an
    :class:`ExecutorError` raised before anything is written.
    """
    if executor == "ray":
        import_ray()    # before anything is written: a missing extra is bad input
    t0 = time.perf_counter()
    ctx = JobContext.build(cfg, base_dir)   # assets and body model resolve before OUT is touched
    shards = plan_shards(cfg.frames, cfg.views_per_scene)
    out = Path(out)
    # Fails early, with one line, when no GL context can be made; its context is released at once.
    renderer_info = gl_info()
    with contextlib.ExitStack() as stack:
        if executor == "ray":   # reached (or started) before OUT is touched: unreachable is bad input
            stack.enter_context(ray_session(ray_address, workers if not ray_address else None, ray_timeout))
        # Held until this returns: a second synthgen process writing into OUT is refused (one
        # line, exit 2) instead of racing this one. An existing lock file is tried first, so that
        # a busy folder is refused as busy before anything else is said about it.
        lock = stack.enter_context(OutputLock(out))
        lock.acquire(create=False)
        if resume:
            done = prepare_resume(out, config_dict, cfg.output.split, verify=verify, warn=_warn, lock=lock)
        else:
            prepare_output(out, overwrite, config_dict, lock=lock)
            done = set()
        return _render_shards(ctx, out, shards, done, config_dict, renderer_info, t0, quiet=quiet,
                              base_dir=base_dir, workers=workers, executor=executor, ray_address=ray_address)


def _render_shards(ctx: JobContext, out: Path, shards, done: set[int], config_dict: dict, renderer_info: dict,
                   t0: float, *, quiet: bool, base_dir: Path | None, workers: int, executor: str,
                   ray_address: str | None) -> JobResult:
    """Render the shards not in ``done`` with the executor asked for, then merge the dataset."""
    cfg = ctx.cfg
    todo = [s for s in shards if s.scene_index not in done]
    failures: list[tuple[int, str]] = []
    stage_seconds: dict[str, float] = {}
    written = [0]
    with _progress(quiet, cfg.frames, sum(s.n_views for s in shards if s.scene_index in done)) as advance:
        def report(o) -> None:
            if o.error is None:
                advance(o.frames)
                written[0] += o.bytes
                for stage, sec in o.seconds.items():
                    stage_seconds[stage] = stage_seconds.get(stage, 0.0) + sec
            else:
                failures.append((o.scene_index, o.error))

        if executor == "ray":
            run_ray(cfg, out, base_dir, todo, ray_address, workers if not ray_address else None, report)
        elif workers <= 1 or len(todo) <= 1:
            run_in_process(cfg, out, base_dir, todo, report, ctx=ctx)
        else:
            run_local_workers(cfg, out, base_dir, todo, min(workers, len(todo)), report)
    seconds = time.perf_counter() - t0
    result = JobResult(out=out, frames=cfg.frames, scenes=len(shards), seconds=seconds, renderer=renderer_info,
                       rendered=sum(s.n_views for s in todo), stage_seconds=stage_seconds,
                       bytes_written=written[0])
    if failures:
        raise RenderFailed(sorted(failures), result)
    if not quiet and cfg.frames >= 10_000:   # ~1 s per 5000 frames after the bar has finished
        print(f"synthgen: merging the annotations of {len(shards)} scenes ...", file=sys.stderr, flush=True)
    result.bytes_written += finalize(ctx, out, shards, config_dict, renderer_info, seconds)
    return result


def _warn(line: str) -> None:
    print(f"synthgen: {line}", file=sys.stderr, flush=True)


class _progress:
    """A rich progress bar (frames, frames/s, ETA) or nothing in quiet mode."""

    def __init__(self, quiet: bool, total: int, already: int = 0):
        self.quiet, self.total, self.already = quiet, total, already

    def __enter__(self):
        if self.quiet:
            return lambda n: None
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                   TimeElapsedColumn, TimeRemainingColumn)

        self._p = Progress(TextColumn("rendering"), BarColumn(), MofNCompleteColumn(),
                           TextColumn("{task.fields[fps]} frames/s"), TimeElapsedColumn(),
                           TimeRemainingColumn())
        self._p.start()
        self._task = self._p.add_task("render", total=self.total, completed=self.already, fps="-")
        self._t0 = time.perf_counter()
        done = [0]

        def advance(n: int) -> None:
            done[0] += n
            fps = done[0] / max(time.perf_counter() - self._t0, 1e-9)
            self._p.update(self._task, advance=n, fps=f"{fps:.1f}")

        return advance

    def __exit__(self, *exc):
        if not self.quiet:
            self._p.stop()
