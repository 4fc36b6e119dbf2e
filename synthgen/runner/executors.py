"""Executors: run shards in this process, in local worker processes, or as Ray tasks.

Every shard is independent: its scene is drawn from (seed, scene index) only and it is written
to a temporary folder renamed into place with ``DONE`` last, so the dataset's annotation bytes do
not depend on which executor or how many workers produced it.

Per-process state (the job context and the GL renderer) lives in a :class:`ShardRunner` owned by
the process that renders; worker processes are started with the ``spawn`` method so no GL or
pybullet state is ever inherited through ``fork``.

Every shard is rendered through :func:`pipeline.render_shard`, whichever executor runs it (the
test suite injects its faults there, from ``tests/faults``; nothing here knows of them).
"""
from __future__ import annotations

import contextlib
import itertools
import multiprocessing as mp
import os
import queue
import signal
import socket
import threading
import time
import traceback
import zlib
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from ..config.schema import SceneConfig
from ..errors import InputError
from ..render import RENDER_ZNEAR, Renderer
from ..render.gl import egl_device_for_worker, gpu_egl_devices
from . import pipeline
from .plan import ShardPlan

@dataclass
class ShardOutcome:
    """What became of one shard: ``error`` is None when it was written and committed (``bytes``
    of files). ``seconds``: wall seconds by pipeline stage (scene, render_prepare, render, amodal, sensor,
    ground_truth, write) spent on it."""

    scene_index: int
    frames: int
    error: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    bytes: int = 0      # size of the committed shard's files


class ShardRunner:
    """Renders shards in the current process (through :func:`pipeline.render_shard` and
    :func:`pipeline.write_shard`), overlapping each shard's file encoding (a writer thread) with
    the rendering of the next one; without ``overlap`` each shard is :func:`pipeline.run_shard`."""

    def __init__(self, cfg: SceneConfig, out: Path, base_dir: Path | None, overlap: bool = True,
                 ctx: pipeline.JobContext | None = None):
        # the in-process executor hands over the context the caller already built (assets, body
        # model, pose library); worker processes build their own
        self.ctx = ctx if ctx is not None else pipeline.JobContext.build(cfg, base_dir)
        self.out = Path(out)
        self.renderer = Renderer(cfg.camera.width, cfg.camera.height, znear=RENDER_ZNEAR, shadows=cfg.lights.shadows,
                                 msaa=cfg.camera.msaa)
        self._pool = ThreadPoolExecutor(max_workers=1) if overlap else None
        self._pending: tuple[ShardPlan, Future, pipeline.StageTimes] | None = None   # shard, write, its times

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        self.renderer.close()

    def _scene(self, ctx: pipeline.JobContext, shard: ShardPlan):
        """The shard's scene, sampled and settled (``benchmarks/gpu_bench.py`` supplies its own)."""
        return pipeline.build_scene(ctx, shard)

    def _collect(self) -> list[ShardOutcome]:
        if self._pending is None:
            return []
        shard, fut, times = self._pending
        self._pending = None
        try:
            size = fut.result()
            return [ShardOutcome(shard.scene_index, shard.n_views, seconds=times.seconds, bytes=size)]
        except Exception as exc:  # noqa: BLE001 - reported per shard, the others go on
            return [ShardOutcome(shard.scene_index, 0, _describe(exc))]

    def run(self, shard: ShardPlan) -> list[ShardOutcome]:
        """Render ``shard`` and queue its writing; returns the outcomes completed by this call
        (the previous shard's write, and this shard's when it failed or nothing overlaps)."""
        times = pipeline.StageTimes()
        if self._pool is None:
            try:
                size = pipeline.run_shard(self.ctx, self.renderer, self.out, shard, times, scene_fn=self._scene)
                return [ShardOutcome(shard.scene_index, shard.n_views, seconds=times.seconds, bytes=size)]
            except Exception as exc:  # noqa: BLE001
                return [ShardOutcome(shard.scene_index, 0, _describe(exc))]
        try:
            scene_id, frames = pipeline.render_shard(self.ctx, self.renderer, shard, times, scene_fn=self._scene)
        except Exception as exc:  # noqa: BLE001
            return self._collect() + [ShardOutcome(shard.scene_index, 0, _describe(exc))]
        done = self._collect()
        # the writer thread times its own shard's "write", nobody else's
        self._pending = (shard, self._pool.submit(pipeline.write_shard, self.ctx, self.out, frames, scene_id, times),
                         times)
        return done

    def flush(self) -> list[ShardOutcome]:
        return self._collect()


def _describe(exc: BaseException) -> str:
    """One line: the exception and where it was raised."""
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" (at {Path(tb[-1].filename).name}:{tb[-1].lineno})" if tb else ""
    return f"{type(exc).__name__}: {exc}{where}".replace("\n", " ")


def run_in_process(cfg, out, base_dir, shards: Iterable[ShardPlan], report: Callable[[ShardOutcome], None],
                   ctx=None) -> None:
    runner = ShardRunner(cfg, out, base_dir, ctx=ctx)
    try:
        for shard in shards:
            for o in runner.run(shard):
                report(o)
        for o in runner.flush():
            report(o)
    finally:
        runner.close()


def _exit_with_parent() -> None:
    """End this worker process as soon as the main process is gone, however it went (kill -9
    included): otherwise orphaned workers would go on rendering every queued shard, for hours on
    a big job, into the folder a --resume is writing to."""
    import multiprocessing.connection

    parent = mp.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="synthgen-parent-watch", daemon=True).start()


def _worker_main(cfg, out, base_dir, tasks, results, llvmpipe_threads: int, egl_device: int | None = None) -> None:
    """Body of one local worker process: render shards from ``tasks`` until a ``None``, on EGL
    device ``egl_device`` when given (several GPUs)."""
    _exit_with_parent()
    os.environ.setdefault("LP_NUM_THREADS", str(llvmpipe_threads))
    if egl_device is not None:
        os.environ["EGL_DEVICE_ID"] = str(egl_device)
    try:
        runner = ShardRunner(cfg, out, base_dir)
    except Exception as exc:  # noqa: BLE001 - a worker that cannot start reports every shard it takes
        err = _describe(exc)
        while (shard := tasks.get()) is not None:
            results.put(ShardOutcome(shard.scene_index, 0, err))
        return
    try:
        while (shard := tasks.get()) is not None:
            for o in runner.run(shard):
                results.put(o)
        for o in runner.flush():
            results.put(o)
    except KeyboardInterrupt:
        # Ctrl-C reaches every process of the terminal's group: the parent reports it in one
        # line; the shard in progress stays a temporary folder that --resume removes
        return
    finally:
        runner.close()


@contextlib.contextmanager
def _sigint_ignored():
    """SIGINT ignored inside the block (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def run_local_workers(cfg, out, base_dir, shards: list[ShardPlan], workers: int,
                      report: Callable[[ShardOutcome], None]) -> None:
    """``workers`` spawned processes pull shards from a queue. A worker that dies (killed,
    crashed) loses its shard in progress: it is reported as failed, the others go on."""
    ctx = mp.get_context("spawn")
    tasks, results = ctx.Queue(), ctx.Queue()
    for s in shards:
        tasks.put(s)
    for _ in range(workers):
        tasks.put(None)
    threads = max(1, (os.cpu_count() or 1) // workers)
    gpus = gpu_egl_devices()    # several GPUs: worker k renders on GPU k mod n
    procs = [ctx.Process(target=_worker_main, daemon=True,
                         args=(cfg, out, base_dir, tasks, results, threads, egl_device_for_worker(k, gpus)))
             for k in range(workers)]
    # Workers start with Ctrl-C ignored (an ignored signal stays ignored across exec): the main
    # process alone handles it, in one line, and ends them; otherwise each would print a traceback.
    with _sigint_ignored():
        for p in procs:
            p.start()
    pending = {s.scene_index for s in shards}
    try:
        while pending:
            try:
                o = results.get(timeout=1.0)
            except queue.Empty:
                if any(p.is_alive() for p in procs):
                    continue
                # every worker has exited: take what they put just before, the rest is lost
                while pending:
                    try:
                        o = results.get(timeout=0.2)
                    except queue.Empty:
                        break
                    pending.discard(o.scene_index)
                    report(o)
                for idx in sorted(pending):
                    report(ShardOutcome(idx, 0, "worker process exited before finishing this scene"))
                return
            pending.discard(o.scene_index)
            report(o)
    except BaseException:
        for p in procs:     # Ctrl-C or a failing report: stop rendering now, not after the queue
            if p.is_alive():
                p.terminate()
        raise
    finally:
        # Shards no worker took are still in the queue's pipe; without this the queue's feeder
        # thread would block this process's exit on a pipe nobody reads.
        tasks.cancel_join_thread()
        for p in procs:
            p.join(timeout=5)
            if p.is_alive():
                p.terminate()


# ------------------------------------------------------------------------------------------ ray

# Per Ray worker process (Ray reuses its worker processes across tasks, and a GL context and the
# job's assets are worth keeping): the runner of the job it last worked for.
_RAY_RUNNER: dict[tuple, ShardRunner] = {}


class ExtraMissingError(InputError, ImportError):
    """An optional part the command asked for is not installed; ``str()`` is one line."""


def import_ray():
    """The ``ray`` module, or :class:`ExtraMissingError` when the ray extra is not installed."""
    try:
        import ray
    except ImportError:
        raise ExtraMissingError("--executor ray needs the ray extra, which is not installed: "
                                "pip install -e '.[ray]'") from None
    return ray


class ExecutorError(InputError, ValueError):
    """The executor asked for cannot run (Ray unreachable); ``str()`` is one line."""


class ShardFailed(RuntimeError):
    """A shard's error line, raised in a Ray task so that Ray retries it; ``str()`` is the line."""


def _ray_runner(cfg, out, base_dir) -> ShardRunner:
    # keyed by everything the runner was built from, so another job (or the same output folder
    # with another config, in a long-lived Ray session) never renders with a stale runner
    key = (str(out), str(base_dir), repr(cfg))
    runner = _RAY_RUNNER.get(key)
    if runner is None:
        for old in _RAY_RUNNER.values():
            old.close()
        _RAY_RUNNER.clear()
        # Ray does not number its worker processes: spread them over the node's GPUs by a hash
        # of the worker's id (pids alone can share a parity and all land on one GPU)
        try:
            import ray

            wid = ray.get_runtime_context().get_worker_id()
        except Exception:  # noqa: BLE001 - outside a Ray worker (tests)
            wid = str(os.getpid())
        device = egl_device_for_worker(zlib.crc32(wid.encode()), gpu_egl_devices())
        if device is not None:
            os.environ["EGL_DEVICE_ID"] = str(device)
        runner = _RAY_RUNNER[key] = ShardRunner(cfg, out, base_dir, overlap=False)
    return runner


def _ray_shard(cfg, out, base_dir, shard: ShardPlan) -> ShardOutcome:
    outcomes = _ray_runner(cfg, out, base_dir).run(shard)
    if outcomes and outcomes[-1].error is not None:
        # raise so Ray retries the task on another attempt/worker (max_retries)
        raise ShardFailed(outcomes[-1].error)
    return outcomes[-1]


#: Seconds ``--ray-address`` has to answer before the render gives up (``--ray-timeout``).
RAY_TIMEOUT_S = 60.0


def _ray_endpoint(address: str) -> tuple[str, int] | None:
    """(host, port) of a ``host:port`` or ``ray://host:port`` address; None for the others
    (``auto``, ``local``), which name no socket to probe."""
    rest = address.removeprefix("ray://")
    host, sep, port = rest.rpartition(":")
    if not sep or not port.isdigit() or not host:
        return None
    return host.strip("[]"), int(port)


def _unreachable(address: str, timeout: float, why: str) -> ExecutorError:
    return ExecutorError(f"--ray-address {address}: no Ray cluster answered within {timeout:g} s ({why}); "
                         f"check the address, or raise --ray-timeout")


@contextlib.contextmanager
def ray_session(address: str | None, num_cpus: int | None, timeout: float = RAY_TIMEOUT_S):
    """Ray connected for the block: the cluster at ``address`` or a local instance with
    ``num_cpus`` CPUs, shut down after (unless Ray was initialised already; then a no-op).

    An address must answer within ``timeout`` seconds, or :class:`ExecutorError` (one line
    naming it): its socket is probed first (a refused or silent port fails at once, before Ray
    prints anything), then ``ray.init`` must return in the time left. Ray would otherwise retry
    an unreachable address for minutes; a ``ray.init`` still waiting when the time is up is left
    to its (daemon) thread, which ends with the process."""
    ray = import_ray()
    if ray.is_initialized():
        yield
        return
    kwargs = {"address": address} if address else {"num_cpus": num_cpus}
    deadline = time.monotonic() + timeout
    endpoint = _ray_endpoint(address) if address else None
    if endpoint is not None:
        try:
            socket.create_connection(endpoint, timeout=max(0.1, timeout)).close()
        except OSError as exc:
            raise _unreachable(address, timeout, exc.strerror or type(exc).__name__.lower()) from None
    result: dict[str, BaseException | None] = {}

    def init() -> None:
        try:
            ray.init(include_dashboard=False, log_to_driver=False, logging_level="ERROR", **kwargs)
            result["error"] = None
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            result["error"] = exc

    if address:
        thread = threading.Thread(target=init, name="synthgen-ray-init", daemon=True)
        thread.start()
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            raise _unreachable(address, timeout, "ray.init did not return")
    else:   # a local instance: nothing to wait for but its start
        init()
    exc = result.get("error")
    if isinstance(exc, (ConnectionError, RuntimeError, ValueError)):
        where = f"--ray-address {address}" if address else "a local Ray instance"
        raise ExecutorError(f"{where}: cannot start or reach Ray ({' '.join(str(exc).split())})") from None
    if exc is not None:
        raise exc
    try:
        yield
    finally:
        ray.shutdown()


def run_ray(cfg, out, base_dir, shards: list[ShardPlan], address: str | None, num_cpus: int | None,
            report: Callable[[ShardOutcome], None], max_retries: int = 2,
            max_in_flight: int | None = None, timeout: float = RAY_TIMEOUT_S) -> None:
    """One Ray task per shard, retried ``max_retries`` times on failure; each Ray worker process
    keeps its own GL context (a ShardRunner) across the tasks it runs.

    A million-frame job is ~10^5 shards: the config goes to the object store once, and at most
    ``max_in_flight`` tasks (default: 4 per CPU of the cluster, at least 16) are submitted at a
    time, since ``ray.wait`` costs time linear in the refs it is given and every pending task
    holds memory in the driver. Ray is started or reached as :func:`ray_session` does, unless
    the caller did so already."""
    ray = import_ray()
    with ray_session(address, num_cpus, timeout):
        if max_in_flight is None:
            max_in_flight = max(16, 4 * int(ray.cluster_resources().get("CPU", 1)))
        task = ray.remote(num_cpus=1, max_retries=max_retries, retry_exceptions=True)(_ray_shard)
        cfg_ref = ray.put(cfg)
        todo = iter(shards)
        in_flight: dict = {}
        while True:
            for s in itertools.islice(todo, max(0, max_in_flight - len(in_flight))):
                in_flight[task.remote(cfg_ref, str(out), base_dir, s)] = s
            if not in_flight:
                break
            ready, _ = ray.wait(list(in_flight), num_returns=1)
            for r in ready:
                shard = in_flight.pop(r)
                try:
                    report(ray.get(r))
                except Exception as exc:  # noqa: BLE001
                    cause = getattr(exc, "cause", None)    # a RayTaskError wraps the task's exception
                    if isinstance(cause, ShardFailed):
                        msg = str(cause)
                    else:
                        msg = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
                    report(ShardOutcome(shard.scene_index, 0, msg))

