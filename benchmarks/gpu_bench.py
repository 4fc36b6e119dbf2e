"""Render throughput of prepared scenes with N worker processes: the GPU machine's benchmark.

    .venv/bin/python benchmarks/gpu_bench.py export DIR [--scenes 8] [override ...]   (here)
    python3 benchmarks/gpu_bench.py run DIR [--workers 1 8 16] [--frames 384] [--out /dev/shm/sg]
                                            [--msaa N] [--rgb-format jpg]

A lent GPU machine has Python 3.12 and no network, and pybullet ships no cp312 wheel, so the
scene stage (sampling + physics) runs here: ``export`` samples and settles the kitchen scenes
(default overrides: ``sensor=kinect_v1``, as ``run.py``) and pickles them with the config and the
CPU seconds each scene took. ``run`` (there) renders them as a render worker does -- colour and
label passes, amodal masks, sensor noise, ground truth, every file of the dataset through the
writer thread -- with each worker count, reusing the scenes round-robin (each use renders a fresh
copy under a new scene id), and prints frames/s and where the time went. The end-to-end estimate
adds the exported scene stage back: frames/s with physics = 1 / (1 / render_fps + scene_cpu /
(views * workers)). ``benchmarks/device/fetch.sh`` and ``run.sh`` wrap both ends.
"""
from __future__ import annotations

import argparse
import copy
import gzip
import multiprocessing as mp
import os
import pickle
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
JOB_FILE = "job.pkl.gz"


def export(out: Path, n_scenes: int, overrides: list[str]) -> None:
    from synthgen.config import load_scene_config
    from synthgen.runner.pipeline import JobContext, build_scene
    from synthgen.runner.plan import plan_shards

    scene_file = REPO / "scenes" / "kitchen.yaml"
    cfg = load_scene_config(scene_file, overrides)
    ctx = JobContext.build(cfg, scene_file.parent)
    scenes, seconds = [], []
    for shard in plan_shards(n_scenes * cfg.views_per_scene, cfg.views_per_scene):
        t0 = time.process_time()
        scenes.append(build_scene(ctx, shard))
        seconds.append(time.process_time() - t0)
    out.mkdir(parents=True, exist_ok=True)
    with gzip.open(out / JOB_FILE, "wb", compresslevel=3) as f:
        pickle.dump({"cfg": cfg, "categories": ctx.categories, "scenes": scenes, "scene_cpu_s": seconds,
                     "overrides": overrides}, f, protocol=pickle.HIGHEST_PROTOCOL)
    print(f"exported {len(scenes)} scenes of {cfg.views_per_scene} views to {out} "
          f"({(out / JOB_FILE).stat().st_size / 1e6:.1f} MB); scene stage {sum(seconds) / len(seconds):.2f} s CPU "
          f"per scene here")


def _load(job_dir: Path) -> dict:
    with gzip.open(Path(job_dir) / JOB_FILE, "rb") as f:
        return pickle.load(f)


def _variant(cfg, msaa: int | None, rgb_format: str | None):
    """The exported config with the render-side options of this run replaced (validated again)."""
    from dataclasses import replace

    if msaa is not None:
        cfg = replace(cfg, camera=replace(cfg.camera, msaa=msaa))
    if rgb_format is not None:
        cfg = replace(cfg, output=replace(cfg.output, rgb_format=rgb_format))
    return cfg


def _worker(job_dir: str, out: str, worker: int, n_workers: int, n_shards: int, variant: tuple, queue) -> None:
    try:
        queue.put(_work(job_dir, out, worker, n_workers, n_shards, variant))
    except BaseException as exc:  # noqa: BLE001 - reported by the parent, which must not wait forever
        queue.put({"worker": worker, "frames": 0, "errors": [f"{type(exc).__name__}: {exc}"], "startup_s": 0.0,
                   "busy_s": 0.0, "stages": {}})


def _work(job_dir: str, out: str, worker: int, n_workers: int, n_shards: int, variant: tuple) -> dict:
    from synthgen.runner.executors import ShardRunner
    from synthgen.runner.pipeline import JobContext
    from synthgen.runner.plan import ShardPlan

    job = _load(Path(job_dir))
    cfg, scenes = _variant(job["cfg"], *variant), job["scenes"]
    ctx = JobContext(cfg=cfg, assets=[], groups=[], body=None, categories=job["categories"])

    class PreparedRunner(ShardRunner):
        """A render worker whose scenes come from the job file instead of sampling + physics."""

        def _scene(self, ctx, shard):
            # a new Scene object (so the renderer prepares it afresh) sharing the meshes, as real
            # workers' scenes share their asset meshes
            scene = copy.copy(scenes[shard.scene_index % len(scenes)])
            scene.scene_id = shard.scene_index
            return scene

    t_start = time.perf_counter()
    runner = PreparedRunner(cfg, Path(out), None, ctx=ctx)
    t_ready = time.perf_counter()
    frames, errors, stages = 0, [], {}
    views = cfg.views_per_scene
    shards = [ShardPlan(scene_index=k, n_views=views, first_frame=k * views)
              for k in range(worker, n_shards, n_workers)]
    outcomes = [o for shard in shards for o in runner.run(shard)] + runner.flush()
    runner.close()
    for o in outcomes:
        if o.error is not None:
            errors.append(o.error)
            continue
        frames += o.frames
        for stage, sec in o.seconds.items():   # "scene" here is copying a prepared scene
            stages[stage] = stages.get(stage, 0.0) + sec
    return {"worker": worker, "frames": frames, "errors": errors, "startup_s": t_ready - t_start,
            "busy_s": time.perf_counter() - t_ready, "stages": stages}


def _collect(queue, procs) -> list[dict]:
    """One result per worker; a worker that died without one (a crash in GL, say) counts as
    failed instead of blocking the run."""
    import queue as queue_mod

    results: list[dict] = []
    while len(results) < len(procs):
        try:
            results.append(queue.get(timeout=2.0))
        except queue_mod.Empty:
            dead = [p for p in procs if p.exitcode not in (None, 0)]
            if dead and all(p.exitcode is not None for p in procs):
                results += [{"worker": -1, "frames": 0, "errors": [f"worker exited with code {p.exitcode}"],
                             "startup_s": 0.0, "busy_s": 0.0, "stages": {}}
                            for p in dead][:len(procs) - len(results)]
    for p in procs:
        p.join()
    return results


def run(job_dir: Path, workers: list[int], frames: int, out_root: Path, variant: tuple = (None, None)) -> None:
    from synthgen.render import gl_info

    job = _load(job_dir)
    cfg = _variant(job["cfg"], *variant)
    views = cfg.views_per_scene
    scene_cpu = sum(job["scene_cpu_s"]) / len(job["scene_cpu_s"])
    info = gl_info()
    print(f"GL: {info['vendor']} | {info['renderer']} | {info['version']}; {os.cpu_count()} CPUs; "
          f"{cfg.camera.width}x{cfg.camera.height}, msaa {cfg.camera.msaa}, {cfg.output.rgb_format}, "
          f"sensor {cfg.sensor.name}, "
          f"{len(job['scenes'])} prepared scenes of {views} views (scene stage {scene_cpu:.2f} s CPU each where "
          f"exported)")
    ctx = mp.get_context("spawn")
    for n in workers:
        n_shards = max(n, -(-frames // views))
        out = out_root / f"w{n}"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        queue = ctx.Queue()
        t0 = time.perf_counter()
        procs = [ctx.Process(target=_worker, args=(str(job_dir), str(out), w, n, n_shards, variant, queue))
                 for w in range(n)]
        for p in procs:
            p.start()
        results = _collect(queue, procs)
        wall = time.perf_counter() - t0
        done = sum(r["frames"] for r in results)
        errors = [e for r in results for e in r["errors"]]
        startup = max(r["startup_s"] for r in results)
        busy = max(r["busy_s"] for r in results) or wall
        if done == 0:
            print(f"workers={n}: no frame rendered; first error: {errors[0] if errors else 'none reported'}")
            continue
        fps, fps_busy = done / wall, done / busy
        with_physics = 1.0 / (1.0 / fps_busy + scene_cpu / (views * n))
        stages: dict[str, float] = {}
        for r in results:
            for k, v in r["stages"].items():
                stages[k] = stages.get(k, 0.0) + v
        size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
        print(f"workers={n}: {done} frames in {wall:.1f} s = {fps:.1f} frames/s incl. start-up "
              f"({startup:.1f} s), {fps_busy:.1f} frames/s rendering; with this machine's share of the "
              f"exported scene stage: ~{with_physics:.1f} frames/s; {size / 1e6:.0f} MB written"
              + (f"; {len(errors)} failed shards: {errors[0]}" if errors else ""))
        per_frame = {k: 1000 * v / max(done, 1) for k, v in stages.items()}
        print("   per frame, summed over workers: " + ", ".join(
            f"{k} {v:.1f} ms" for k, v in sorted(per_frame.items(), key=lambda kv: -kv[1])))
        shutil.rmtree(out, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("export", help="sample and settle scenes here (needs pybullet)")
    e.add_argument("dir", type=Path)
    e.add_argument("--scenes", type=int, default=8)
    e.add_argument("overrides", nargs="*", default=["sensor=kinect_v1"])
    r = sub.add_parser("run", help="render the exported scenes with N workers")
    r.add_argument("dir", type=Path)
    r.add_argument("--workers", type=int, nargs="+", default=[1, 8, 16])
    r.add_argument("--frames", type=int, default=384, help="frames per worker count (at least one scene a worker)")
    r.add_argument("--out", type=Path, default=Path("/tmp/synthgen-gpu-bench"))
    r.add_argument("--msaa", type=int, choices=(1, 2, 4, 8), help="replace the exported camera.msaa")
    r.add_argument("--rgb-format", choices=("png", "jpg"), help="replace the exported output.rgb_format")
    args = ap.parse_args()
    if args.cmd == "export":
        export(args.dir, args.scenes, list(args.overrides))
    else:
        run(args.dir, args.workers, args.frames, args.out, (args.msaa, args.rgb_format))


if __name__ == "__main__":
    main()
