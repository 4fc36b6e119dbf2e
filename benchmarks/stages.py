"""Where the time of one frame goes: the render pipeline's stages, in one process, one thread.

    .venv/bin/python benchmarks/stages.py [--scenes 4] [--scene scenes/kitchen.yaml] [override ...]

Runs the same calls as a render worker (``build_scene``, ``Renderer.prepare``,
``frames_of_scene`` with its stage timer, ``write_shard`` into a temporary folder) without the
writer thread, so every stage's wall time is its own, and prints milliseconds per frame by stage.
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
from synthgen.render import Renderer, gl_info  # noqa: E402
from synthgen.runner.pipeline import (JobContext, StageTimes, build_scene,  # noqa: E402
                                      frames_of_scene, write_shard)
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
    shards = plan_shards((args.scenes + 1) * cfg.views_per_scene, cfg.views_per_scene)
    times = StageTimes()
    frames = 0
    with Renderer(cfg.camera.width, cfg.camera.height, znear=0.05, shadows=cfg.lights.shadows,
                  msaa=cfg.camera.msaa) as renderer, tempfile.TemporaryDirectory() as tmp:
        for k, shard in enumerate(shards):
            warm = k == 0           # first scene: imports, shader compilation, caches
            run = StageTimes() if warm else times
            with run("scene (sample + physics)"):
                scene = build_scene(ctx, shard)
            with run("render_prepare"):
                renderer.prepare(scene)
            records = frames_of_scene(ctx, renderer, scene, shard, times=run)
            with run("write (encode + files)"):
                write_shard(ctx, Path(tmp), records, scene.scene_id)
            frames += 0 if warm else len(records)
    total = sum(times.seconds.values())
    info = gl_info()
    print(f"{path.name} {cfg.camera.width}x{cfg.camera.height} sensor={cfg.sensor.name} msaa={cfg.camera.msaa}, "
          f"{frames} frames in {args.scenes} scenes, {info['renderer']}")
    for stage, sec in sorted(times.seconds.items(), key=lambda kv: -kv[1]):
        print(f"  {stage:26s} {1000 * sec / frames:7.1f} ms/frame  {100 * sec / total:5.1f} %")
    print(f"  {'total':26s} {1000 * total / frames:7.1f} ms/frame  = {frames / total:.2f} frames/s on one thread")


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"({time.perf_counter() - t0:.1f} s)")
