"""Peer baseline: render the same scene geometry with Blender Cycles (64 samples, CPU).

Run with a Python that has the ``bpy`` package (the ``bench`` extra; bpy pins its own numpy, so
a separate virtual environment is simplest):

    python3.11 -m venv .bench && .bench/bin/pip install bpy numpy
    .bench/bin/python benchmarks/blender_baseline.py SCENE.npz [--samples 64]

``SCENE.npz`` is written by ``benchmarks/run.py`` (``export_scene``): world-space triangle meshes
with base colours (procedural textures are not exported, so textured surfaces come out white:
same geometry and cost, not the same look), the lights, and the cameras (OpenCV K and
world->camera transforms). Prints one
line ``blender_cycles frames=N seconds=S frames_per_s=F`` that ``run.py`` parses. It imports
nothing from synthgen, so it runs in any environment with bpy.
"""
from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np


def build(data, samples: int, width: int, height: int):
    import bpy

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = samples
    scene.cycles.use_denoising = False
    scene.render.resolution_x = width
    scene.render.resolution_y = height
    scene.render.resolution_percentage = 100
    scene.render.image_settings.file_format = "PNG"
    world = bpy.data.worlds.new("world")
    world.use_nodes = True
    world.node_tree.nodes["Background"].inputs[1].default_value = float(data["ambient"])
    scene.world = world
    n_meshes = int(data["n_meshes"])
    for i in range(n_meshes):
        v = data[f"v{i}"]
        f = data[f"f{i}"]
        mesh = bpy.data.meshes.new(f"m{i}")
        mesh.from_pydata(v.tolist(), [], f.tolist())
        mesh.update()
        obj = bpy.data.objects.new(f"o{i}", mesh)
        mat = bpy.data.materials.new(f"mat{i}")
        mat.use_nodes = True
        bsdf = mat.node_tree.nodes["Principled BSDF"]
        bsdf.inputs["Base Color"].default_value = tuple(float(c) for c in data[f"c{i}"])
        bsdf.inputs["Metallic"].default_value = float(data[f"metal{i}"])
        bsdf.inputs["Roughness"].default_value = float(data[f"rough{i}"])
        mesh.materials.append(mat)
        scene.collection.objects.link(obj)
    for k, (kind, pos, power) in enumerate(zip(data["light_kind"], data["light_pos"], data["light_power"])):
        light = bpy.data.lights.new(f"l{k}", type="SUN" if kind == "directional" else "POINT")
        light.energy = float(power)
        lo = bpy.data.objects.new(f"l{k}", light)
        lo.location = tuple(float(x) for x in pos)
        scene.collection.objects.link(lo)
    cam_data = bpy.data.cameras.new("cam")
    cam = bpy.data.objects.new("cam", cam_data)
    scene.collection.objects.link(cam)
    scene.camera = cam
    return scene, cam


def set_camera(cam, K: np.ndarray, T_w2c: np.ndarray, width: int, height: int) -> None:
    """OpenCV K and world->camera (x right, y down, z forward) to a Blender camera (looks along
    its -Z with +Y up): the same pinhole, principal point as a lens shift."""
    from mathutils import Matrix

    sensor = 36.0
    cam.data.sensor_fit = "HORIZONTAL"
    cam.data.sensor_width = sensor
    cam.data.lens = K[0, 0] * sensor / width
    cam.data.shift_x = (width / 2.0 - (K[0, 2] + 0.5)) / width
    cam.data.shift_y = ((K[1, 2] + 0.5) - height / 2.0) / width
    R = T_w2c[:3, :3]
    t = T_w2c[:3, 3]
    c2w = np.eye(4)
    c2w[:3, :3] = R.T @ np.diag([1.0, -1.0, -1.0])   # OpenCV camera axes -> Blender camera axes
    c2w[:3, 3] = -R.T @ t
    cam.matrix_world = Matrix(c2w.tolist())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("scene_npz")
    ap.add_argument("--samples", type=int, default=64)
    ap.add_argument("--keep", default=None, help="folder to keep the rendered PNGs in (for a visual check)")
    args = ap.parse_args()
    import bpy

    data = np.load(args.scene_npz, allow_pickle=False)
    width, height = int(data["width"]), int(data["height"])
    scene, cam = build(data, args.samples, width, height)
    n = int(data["n_cameras"])
    with tempfile.TemporaryDirectory() as tmp:
        tmp = args.keep or tmp
        t0 = time.perf_counter()
        for k in range(n):
            set_camera(cam, data[f"K{k}"], data[f"T{k}"], width, height)
            scene.render.filepath = f"{tmp}/frame_{k:04d}.png"
            bpy.ops.render.render(write_still=True)
        dt = time.perf_counter() - t0
    print(f"blender_cycles frames={n} seconds={dt:.3f} frames_per_s={n / dt:.4f}")


if __name__ == "__main__":
    main()
