"""Where the time of one frame goes: the render pipeline's stages, in one process, one thread.

    .venv/bin/python benchmarks/stages.py [--scenes 4] [--scene scenes/kitchen.yaml] [override ...]

Runs a render worker's own ``ShardRunner`` (scene sampling and physics, scene upload, render,
ground truth, writing into a temporary folder) without the writer thread, so every stage's wall
time is its own, and prints milliseconds per frame by stage (the stage times each shard reports,
as ``synthgen render --profile`` does).
Overrides are the CLI's ``key=value`` (default: ``sensor=kinect_v1``, as ``benchmarks/run.py``).
Speed is measured here and in ``run.py``, never in unit tests; record results in RESULTS.md.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from synthgen.config import load_scene_config  # noqa: E402
from synthgen.render import gl_info  # noqa: E402
from synthgen.runner.executors import ShardRunner  # noqa: E402
from synthgen.runner.pipeline import JobContext  # noqa: E402
from synthgen.runner.plan import plan_shards  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("overrides", nargs="*", default=["sensor=kinect_v1"])
    ap.add_argument("--scene", default=str(REPO / "scenes" / "kitchen.yaml"))
    ap.add_argument("--scenes", type=int, default=4, help="scenes to time (after one warm-up scene)")
    args = ap.parse_args()
    path = Path(args.scene)
    cfg = load_scene_config(path, list(args.overrides))
    ctx = JobContext.build(cfg, path.parent)
    warm_up, *shards = plan_shards((args.scenes + 1) * cfg.views_per_scene, cfg.views_per_scene)
    stages: dict[str, float] = {}
    frames = 0
    with tempfile.TemporaryDirectory() as tmp:
        runner = ShardRunner(cfg, Path(tmp), path.parent, overlap=False, ctx=ctx)   # no writer thread
        try:
            runner.run(warm_up)     # imports, shader compilation, caches
            for shard in shards:
                for o in runner.run(shard):
                    if o.error is not None:
                        raise SystemExit(f"scene {o.scene_index} failed: {o.error}")
                    frames += o.frames
                    for stage, sec in o.seconds.items():
                        stages[stage] = stages.get(stage, 0.0) + sec
        finally:
            runner.close()
    total = sum(stages.values())
    info = gl_info()
    print(f"{path.name} {cfg.camera.width}x{cfg.camera.height} sensor={cfg.sensor.name} msaa={cfg.camera.msaa}, "
          f"{frames} frames in {args.scenes} scenes, {info['renderer']}")
    for stage, sec in sorted(stages.items(), key=lambda kv: -kv[1]):
        print(f"  {stage:26s} {1000 * sec / frames:7.1f} ms/frame  {100 * sec / total:5.1f} %")
    print(f"  {'total':26s} {1000 * total / frames:7.1f} ms/frame  = {frames / total:.2f} frames/s on one thread")


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"({time.perf_counter() - t0:.1f} s)")
