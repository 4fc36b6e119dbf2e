"""End-to-end throughput and memory of `synthgen render` on the kitchen scene, and the Blender
Cycles peer baseline on the same geometry, measured in the same run.

    .venv/bin/python benchmarks/run.py [--frames 48] [--workers 1 2] [--sensor kinect_v1]
                                       [--set camera.msaa=1 ...]
                                       [--blender-python .bench/bin/python] [--blender-frames 2]

For each worker count it renders the kitchen (1 person, >= 15 objects, all ground truth, the
sensor preset's noise) at 640x480 through the CLI in a fresh process and reports frames/s end to
end (process start to finished dataset) and the peak RSS of the largest process (the main process
for 1 worker, the biggest worker otherwise). With ``--blender-python`` (a Python that has bpy) it
exports scene 0's geometry and cameras, renders them with Cycles at 64 samples on the CPU
(``benchmarks/blender_baseline.py``) and prints the throughput ratio. Speed and memory are
measured here, never in unit tests; record results in benchmarks/RESULTS.md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SCENE = REPO / "scenes" / "kitchen.yaml"

# Runs the CLI as a child and reports its wall time and the peak RSS of the largest process in
# its tree (RUSAGE_CHILDREN's ru_maxrss covers waited-for descendants), in KiB.
_WRAPPER = (
    "import resource, subprocess, sys, time\n"
    "t = time.perf_counter(); r = subprocess.run(sys.argv[1:]); dt = time.perf_counter() - t\n"
    "print('RESULT', r.returncode, dt, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)


def run_synthgen(frames: int, workers: int, width: int, height: int, sensor: str, out: Path,
                 overrides: tuple[str, ...] = ()) -> dict:
    cmd = [sys.executable, "-c", _WRAPPER, sys.executable, "-m", "synthgen", "render", str(SCENE),
           f"frames={frames}", f"camera.width={width}", f"camera.height={height}", f"sensor={sensor}",
           *overrides, "-o", str(out), "--overwrite", "--quiet", "--workers", str(workers)]
    r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    line = [x for x in r.stdout.splitlines() if x.startswith("RESULT")]
    if not line or line[0].split()[1] != "0":
        raise SystemExit(f"render failed: {r.stderr.strip().splitlines()[-1:]}")
    _, _, dt, rss = line[0].split()
    dt, rss = float(dt), int(rss)
    info = json.loads((out / "dataset.json").read_text())
    return {"workers": workers, "frames": frames, "seconds": dt, "fps": frames / dt, "peak_rss_mb": rss / 1024,
            "renderer": info["renderer"].get("renderer", "?")}


def export_scene(path: Path, width: int, height: int, views: int) -> None:
    """Scene 0 of the kitchen as plain arrays for blender_baseline.py (world-space meshes)."""
    sys.path.insert(0, str(REPO))
    from synthgen.config import load_scene_config
    from synthgen.groundtruth.projection import transform
    from synthgen.runner.pipeline import JobContext, build_scene
    from synthgen.runner.plan import ShardPlan

    cfg = load_scene_config(SCENE, [f"camera.width={width}", f"camera.height={height}"])
    scene = build_scene(JobContext.build(cfg, SCENE.parent), ShardPlan(0, views, 0))
    arrays: dict[str, np.ndarray] = {}
    items = [(s.mesh, s.pose_world, s.material) for s in scene.structures] + \
            [(o.mesh, o.pose_world, o.material) for o in scene.objects] + \
            [(type("M", (), {"vertices": p.vertices, "faces": p.faces})(), np.eye(4), p.material)
             for p in scene.persons]
    for i, (mesh, pose, mat) in enumerate(items):
        arrays[f"v{i}"] = transform(pose, mesh.vertices).astype(np.float32)
        arrays[f"f{i}"] = np.asarray(mesh.faces, np.int32)
        arrays[f"c{i}"] = np.asarray(mat.base_color, np.float32)
        arrays[f"metal{i}"] = np.float32(mat.metallic)
        arrays[f"rough{i}"] = np.float32(mat.roughness)
    arrays["n_meshes"] = np.int32(len(items))
    arrays["light_kind"] = np.array([l.kind for l in scene.lights])
    arrays["light_pos"] = np.array([l.pose_world[:3, 3] for l in scene.lights], np.float32)
    # pyrender intensities -> Blender, scaled by eye so the two renders are similarly exposed
    arrays["light_power"] = np.array([l.intensity * (0.5 if l.kind == "directional" else 2.0)
                                      for l in scene.lights], np.float32)
    arrays["ambient"] = np.float32(scene.ambient[0])
    arrays["n_cameras"] = np.int32(len(scene.cameras))
    for k, cam in enumerate(scene.cameras):
        arrays[f"K{k}"] = cam.K
        arrays[f"T{k}"] = cam.T_w2c
    arrays["width"], arrays["height"] = np.int32(width), np.int32(height)
    np.savez(path, **arrays)


def run_blender(python: str, npz: Path, samples: int) -> dict:
    r = subprocess.run([python, str(REPO / "benchmarks" / "blender_baseline.py"), str(npz), "--samples", str(samples)],
                       capture_output=True, text=True)
    line = [x for x in r.stdout.splitlines() if x.startswith("blender_cycles")]
    if not line:
        raise SystemExit(f"blender baseline failed: {(r.stderr or r.stdout).strip().splitlines()[-3:]}")
    kv = dict(part.split("=") for part in line[0].split()[1:])
    return {"frames": int(kv["frames"]), "seconds": float(kv["seconds"]), "fps": float(kv["frames_per_s"])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=48)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--sensor", default="kinect_v1", help="sensor preset (its noise is applied)")
    ap.add_argument("--blender-python", default=None, help="a Python with bpy for the Cycles baseline")
    ap.add_argument("--blender-frames", type=int, default=2)
    ap.add_argument("--samples", type=int, default=64)
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                    help="extra config override for synthgen, e.g. --set camera.msaa=1 (repeatable)")
    args = ap.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for w in args.workers:
            res = run_synthgen(args.frames, w, args.width, args.height, args.sensor, Path(tmp) / f"w{w}",
                               tuple(args.overrides))
            results.append(res)
            extra = "".join(f" {o}" for o in args.overrides)
            print(f"synthgen kitchen {args.width}x{args.height} sensor={args.sensor}{extra} workers={w}: "
                  f"{res['frames']} frames in {res['seconds']:.1f} s = {res['fps']:.2f} frames/s end to end, "
                  f"peak RSS {res['peak_rss_mb']:.0f} MB per process ({res['renderer']})")
        if args.blender_python:
            npz = Path(tmp) / "scene.npz"
            export_scene(npz, args.width, args.height, args.blender_frames)
            b = run_blender(args.blender_python, npz, args.samples)
            best = max(r["fps"] for r in results)
            print(f"blender cycles {args.samples} spp CPU {args.width}x{args.height}: {b['frames']} frames in "
                  f"{b['seconds']:.1f} s = {b['fps']:.4f} frames/s (render only)")
            print(f"ratio synthgen/cycles (best synthgen row, end to end, vs Cycles render only): "
                  f"{best / b['fps']:.0f}x")


if __name__ == "__main__":
    main()
