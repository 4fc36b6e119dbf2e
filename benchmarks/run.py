"""End-to-end throughput of `synthgen render` on the kitchen scene (one worker).

Usage: .venv/bin/python benchmarks/run.py [--frames N] [--width W --height H]
Prints frames/s end to end (config load to finished dataset) and the peak RSS of the process.
Speed and memory are measured here, never in unit tests; record results in benchmarks/RESULTS.md.
"""
from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=48)
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=480)
    args = ap.parse_args()
    from synthgen.config import config_to_dict, load_scene_config
    from synthgen.runner.pipeline import run_render

    cfg = load_scene_config(REPO / "scenes" / "kitchen.yaml",
                            [f"frames={args.frames}", f"camera.width={args.width}",
                             f"camera.height={args.height}"])
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        res = run_render(cfg, Path(tmp) / "out", config_dict=config_to_dict(cfg), quiet=True)
        dt = time.perf_counter() - t0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"kitchen {args.width}x{args.height}, {res.frames} frames, 1 worker, "
          f"renderer {res.renderer.get('renderer')}: {res.frames / dt:.2f} frames/s, "
          f"peak RSS {rss_mb:.0f} MB")


if __name__ == "__main__":
    main()
