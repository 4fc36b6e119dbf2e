"""Time of one physics placement: N mixed primitives dropped on a 2 m x 0.6 m counter.

Usage: .venv/bin/python benchmarks/settle.py [--objects 25] [--repeats 10] [--no-stacking]
Prints, per placement call (each with its own seed), CPU seconds (process time, so the number
does not depend on what else the machine runs), objects placed, physics steps and drop rounds,
then the median and the worst. Target: 25 objects under 1 s CPU. A benchmark, not a test.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _box(ex: float, ey: float, ez: float, x: float, y: float, z: float):
    import numpy as np
    import trimesh

    from synthgen.scene.description import MeshData

    tm = trimesh.creation.box((ex, ey, ez))
    T = np.eye(4)
    T[:3, 3] = (x, y, z)
    return MeshData(vertices=np.asarray(tm.vertices), faces=np.asarray(tm.faces)), T


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--objects", type=int, default=25)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--no-stacking", action="store_true")
    args = ap.parse_args()

    import numpy as np

    from synthgen.assets.library import resolve_assets
    from synthgen.physics.placement import PlacementItem, PlacementParams, place_objects
    from synthgen.scene.description import SupportSurface

    # A 4 x 3 m room: floor slab, back wall, and a 2 x 0.6 m counter 0.9 m high against it.
    static = [_box(4.0, 3.0, 0.1, 2.0, 1.5, -0.05), _box(4.0, 0.1, 2.5, 2.0, 3.05, 1.25),
              _box(2.0, 0.6, 0.9, 2.0, 2.7, 0.45)]
    top = np.eye(4)
    top[:3, 3] = (2.0, 2.7, 0.9)
    supports = [SupportSurface("counter", top, (2.0, 0.6))]
    assets = resolve_assets(["builtin:box", "builtin:cylinder", "builtin:sphere", "builtin:cone",
                             "builtin:capsule"])
    items = [PlacementItem(key=k, mesh=assets[k % len(assets)].mesh, mass_kg=0.3)
             for k in range(args.objects)]
    params = PlacementParams(stacking=not args.no_stacking)

    place_objects(static, supports, items[:2], np.random.default_rng(0), params)  # warm imports
    times = []
    for seed in range(args.repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        res = place_objects(static, supports, items, np.random.default_rng(seed), params)
        cpu, wall = time.process_time() - c0, time.perf_counter() - t0
        times.append(cpu)
        stacked = sum(1 for s in res.supports if s and s.startswith("stack:"))
        print(f"seed {seed}: {cpu:.3f} s CPU ({wall:.3f} s wall), placed {args.objects - len(res.failed)}/"
              f"{args.objects} ({stacked} stacked), {res.stats.steps} steps, {res.stats.rounds} rounds, "
              f"converged={res.stats.converged}")
    times.sort()
    print(f"{args.objects} objects, stacking {'off' if args.no_stacking else 'on'}: median "
          f"{times[len(times) // 2]:.3f} s CPU per placement, worst {times[-1]:.3f} s")


if __name__ == "__main__":
    main()
