"""Seeded samplers that fill a :class:`~synthgen.scene.description.Scene` from a config.

Pure data: no pybullet or pyrender here. Physics (``synthgen.physics``) is called through a plain
function that maps start poses to settled poses. Every draw comes from the ``numpy.random.Generator``
passed in, which :func:`scene_rng` derives from (master seed, scene index) only, so any scene can
be produced alone and output does not depend on how many workers ran.

World frame: Z up, metres; the room spans x in [0, size_x], y in [0, size_y], floor at z = 0,
back wall at y = size_y.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.spatial.transform import Rotation

from ..assets.library import AssetModel
from ..bodies.base import BodyModel, SMPLXParams
from ..config.schema import SceneConfig
from .description import Camera, Light, Material, MeshData, ObjectInstance, PersonInstance, Scene, StructureElement


def scene_rng(seed: int, scene_index: int) -> np.random.Generator:
    """The generator of scene ``scene_index``: the same numbers as
    ``SeedSequence(seed).spawn(n)[scene_index]`` for any n > scene_index."""
    return np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=(scene_index,)))


def _u(rng: np.random.Generator, rng_range) -> float:
    lo, hi = float(rng_range[0]), float(rng_range[1])
    return float(rng.uniform(lo, hi)) if hi > lo else lo


def _box_mesh(ex: float, ey: float, ez: float) -> MeshData:
    import trimesh

    tm = trimesh.creation.box((ex, ey, ez))
    return MeshData(vertices=np.asarray(tm.vertices, dtype=np.float64), faces=np.asarray(tm.faces, dtype=np.int64))


def _translation(x: float, y: float, z: float) -> np.ndarray:
    T = np.eye(4)
    T[:3, 3] = (x, y, z)
    return T


def _random_material(rng: np.random.Generator, lo: float = 0.1, hi: float = 0.9,
                     metallic: tuple[float, float] = (0.0, 0.2)) -> Material:
    rgb = rng.uniform(lo, hi, size=3)
    return Material(base_color=(float(rgb[0]), float(rgb[1]), float(rgb[2]), 1.0),
                    metallic=_u(rng, metallic), roughness=_u(rng, (0.3, 0.9)))


@dataclass
class Room:
    """Sampled room shell and the counter's top surface (metres)."""

    size_x: float
    size_y: float
    height: float
    counter_center: np.ndarray   # (3,) centre of the counter top surface
    counter_size: np.ndarray     # (2,) length along x, depth along y
    structures: list[StructureElement]


def sample_room(cfg: SceneConfig, rng: np.random.Generator) -> Room:
    """Floor, four walls and one counter along the back wall."""
    rc = cfg.room
    sx, sy, h = _u(rng, rc.size_x), _u(rng, rc.size_y), _u(rng, rc.wall_height)
    ch, cd = _u(rng, rc.counter_height), _u(rng, rc.counter_depth)
    cl = min(_u(rng, rc.counter_length), sx - 0.6)
    cx = sx / 2 + _u(rng, (-0.2, 0.2)) * (sx - cl) / 2
    t = 0.1  # wall and floor slab thickness
    floor_mat = _random_material(rng, 0.3, 0.7)
    wall_mat = _random_material(rng, 0.5, 0.95)
    counter_mat = _random_material(rng, 0.2, 0.8)
    structures = [
        StructureElement("floor", _box_mesh(sx, sy, t), _translation(sx / 2, sy / 2, -t / 2), floor_mat),
        StructureElement("wall_back", _box_mesh(sx, t, h), _translation(sx / 2, sy + t / 2, h / 2), wall_mat),
        StructureElement("wall_front", _box_mesh(sx, t, h), _translation(sx / 2, -t / 2, h / 2), wall_mat),
        StructureElement("wall_left", _box_mesh(t, sy, h), _translation(-t / 2, sy / 2, h / 2), wall_mat),
        StructureElement("wall_right", _box_mesh(t, sy, h), _translation(sx + t / 2, sy / 2, h / 2), wall_mat),
        StructureElement("counter", _box_mesh(cl, cd, ch), _translation(cx, sy - cd / 2, ch / 2), counter_mat),
    ]
    return Room(sx, sy, h, np.array([cx, sy - cd / 2, ch]), np.array([cl, cd]), structures)


def sample_object_drops(cfg: SceneConfig, room: Room, assets: list[AssetModel],
                        rng: np.random.Generator) -> list[tuple[AssetModel, np.ndarray]]:
    """Choose objects and their release poses above the counter top (stacked in height so
    they do not start interpenetrating)."""
    n = int(rng.integers(cfg.objects.count[0], cfg.objects.count[1] + 1))
    picks = rng.integers(0, len(assets), size=n)
    margin = 0.08
    half = room.counter_size / 2 - margin
    drops = []
    z = room.counter_center[2] + 0.05
    for k in picks:
        a = assets[int(k)]
        radius = float(np.linalg.norm(a.mesh.vertices, axis=1).max())
        z += radius
        T = np.eye(4)
        T[:3, :3] = Rotation.random(random_state=rng).as_matrix()
        T[:3, 3] = (room.counter_center[0] + _u(rng, (-half[0], half[0])),
                    room.counter_center[1] + _u(rng, (-half[1], half[1])), z)
        z += radius + 0.01
        drops.append((a, T))
    return drops


def standing_params(rng: np.random.Generator, betas_range, yaw: float) -> SMPLXParams:
    """A relaxed standing pose (arms lowered from the T-pose), facing world direction ``yaw``
    (radians about +Z; yaw 0 faces -Y). SMPL-X's body frame (Y up, +Z forward) is turned to the
    world's Z up by +90 deg about X."""
    p = SMPLXParams()
    p.betas = rng.uniform(betas_range[0], betas_range[1], size=10)
    body = np.zeros((21, 3))
    # body_pose row j-1 drives SMPL-X joint j: 15 = left_shoulder (16), 16 = right_shoulder (17).
    body[15] = (0.0, 0.0, -1.2 + _u(rng, (-0.1, 0.1)))
    body[16] = (0.0, 0.0, 1.2 + _u(rng, (-0.1, 0.1)))
    body[17] = (0.0, _u(rng, (-0.3, 0.0)), 0.0)   # left elbow, slight bend
    body[18] = (0.0, _u(rng, (0.0, 0.3)), 0.0)    # right elbow
    p.body_pose = body.ravel()
    R = Rotation.from_rotvec([0.0, 0.0, yaw]) * Rotation.from_rotvec([np.pi / 2, 0.0, 0.0])
    p.global_orient = R.as_rotvec()
    return p


def place_person(body: BodyModel, params: SMPLXParams, xy: np.ndarray, person_id: int,
                 rng: np.random.Generator) -> PersonInstance:
    """Pose the body, then translate it so the pelvis is above ``xy`` and the lowest vertex
    touches the floor (z = 0). ``transl`` is set accordingly (a pure translation in SMPL-X)."""
    out = body.forward(params)
    shift = np.array([xy[0] - out.joints[0, 0], xy[1] - out.joints[0, 1], -out.vertices[:, 2].min()])
    params.transl = np.asarray(params.transl, dtype=np.float64) + shift
    return PersonInstance(
        person_id=person_id, body_model=body.name, gender=body.gender, smplx=params.to_lists(),
        vertices=out.vertices + shift, faces=out.faces, joints_world=out.joints + shift,
        landmarks_world={k: v + shift for k, v in out.landmarks.items()},
        material=_random_material(rng, 0.35, 0.85))


def sample_lights(cfg: SceneConfig, room: Room, rng: np.random.Generator) -> list[Light]:
    """One directional light from above plus point lights under the ceiling."""
    lc = cfg.lights
    lights = []
    el = np.deg2rad(_u(rng, (40.0, 80.0)))
    az = _u(rng, (0.0, 2 * np.pi))
    direction = -np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])
    lights.append(Light("directional", (1.0, 1.0, 1.0), _u(rng, lc.directional_intensity),
                        _light_pose(np.array([room.size_x / 2, room.size_y / 2, room.height]), direction)))
    for _ in range(int(rng.integers(lc.point_count[0], lc.point_count[1] + 1))):
        pos = np.array([_u(rng, (0.5, room.size_x - 0.5)), _u(rng, (0.5, room.size_y - 0.5)), room.height - 0.2])
        warm = _u(rng, (0.85, 1.0))
        lights.append(Light("point", (1.0, warm, warm * 0.95), _u(rng, lc.point_intensity),
                            _light_pose(pos, np.array([0.0, 0.0, -1.0]))))
    return lights


def _light_pose(position: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """Pose whose local -Z axis points along ``direction`` (the pyrender light convention)."""
    z = -direction / np.linalg.norm(direction)
    helper = np.array([0.0, 1.0, 0.0]) if abs(z[2]) > 0.9 else np.array([0.0, 0.0, 1.0])
    x = np.cross(helper, z)
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    T = np.eye(4)
    T[:3, :3] = np.column_stack([x, y, z])
    T[:3, 3] = position
    return T


def look_at_w2c(eye: np.ndarray, target: np.ndarray, roll: float = 0.0) -> np.ndarray:
    """World -> OpenCV camera transform of a camera at ``eye`` looking at ``target`` with world
    +Z up in the image (then rolled by ``roll`` radians about the viewing axis)."""
    f = target - eye
    f = f / np.linalg.norm(f)
    r = np.cross(f, [0.0, 0.0, 1.0])
    r /= np.linalg.norm(r)
    d = np.cross(f, r)
    R_c2w = np.column_stack([r, d, f]) @ Rotation.from_rotvec([0.0, 0.0, roll]).as_matrix()
    T = np.eye(4)
    T[:3, :3] = R_c2w.T
    T[:3, 3] = -R_c2w.T @ eye
    return T


def intrinsics(cfg: SceneConfig) -> np.ndarray:
    """K for the configured image size, scaled from the sensor preset's native resolution.
    Principal points scale about pixel corners: cx' = (cx + 0.5) W'/W - 0.5."""
    s, c = cfg.sensor, cfg.camera
    ax, ay = c.width / s.width, c.height / s.height
    return np.array([[s.fx * ax, 0.0, (s.cx + 0.5) * ax - 0.5],
                     [0.0, s.fy * ay, (s.cy + 0.5) * ay - 0.5],
                     [0.0, 0.0, 1.0]])


def sample_cameras(cfg: SceneConfig, room: Room, target: np.ndarray, n: int,
                   rng: np.random.Generator, max_tries: int = 100) -> list[Camera]:
    """``n`` look-at views of ``target`` from the open side of the room (azimuth 0 looks along
    +Y, towards the back wall). Views whose eye leaves the room or whose target falls outside the
    image are rejected and redrawn, at most ``max_tries`` times per view."""
    cc = cfg.camera
    K = intrinsics(cfg)
    cams = []
    for view in range(n):
        for _ in range(max_tries):
            dist = _u(rng, cc.distance)
            el = np.deg2rad(_u(rng, cc.elevation_deg))
            az = np.deg2rad(_u(rng, cc.azimuth_deg))
            roll = np.deg2rad(_u(rng, cc.roll_deg))
            eye = target + dist * np.array([np.cos(el) * np.sin(az), -np.cos(el) * np.cos(az), np.sin(el)])
            inside = (0.15 < eye[0] < room.size_x - 0.15 and 0.15 < eye[1] < room.size_y - 0.15
                      and 0.2 < eye[2] < room.height - 0.1)
            if inside:
                break
        else:
            raise RuntimeError(f"scene {cfg.name}: no camera view inside the room after {max_tries} "
                               f"tries; reduce camera.distance or enlarge room.size_*")
        cams.append(Camera(K=K.copy(), width=cc.width, height=cc.height,
                           T_w2c=look_at_w2c(eye, target, roll), view_id=view))
    return cams


def sample_scene(cfg: SceneConfig, scene_id: int, n_views: int, assets: list[AssetModel],
                 body: BodyModel | None, settle: Callable, rng: np.random.Generator) -> Scene:
    """Sample one whole scene: room, settled objects, standing people, lights and ``n_views``
    cameras. ``settle(static, dynamic)`` is the physics adapter's
    :func:`~synthgen.physics.settle.settle_objects` (injected to keep this module engine-free)."""
    room = sample_room(cfg, rng)
    drops = sample_object_drops(cfg, room, assets, rng)
    static = [(s.mesh, s.pose_world) for s in room.structures]
    # Mass from a water-like density on the convex bounding volume; only ratios matter here.
    dynamic = [(a.mesh, T, float(max(0.05, np.prod(np.ptp(a.mesh.vertices, axis=0)) * 600.0)))
               for a, T in drops]
    poses = settle(static, dynamic).poses if drops else []
    objects = [ObjectInstance(obj_id=a.obj_id, name=a.name, mesh=a.mesh, pose_world=P,
                              material=_random_material(rng)) for (a, _), P in zip(drops, poses)]

    persons = []
    n_people = int(rng.integers(cfg.humans.count[0], cfg.humans.count[1] + 1)) if body else 0
    cx, cy, ch = room.counter_center
    half_len = room.counter_size[0] / 2
    for j in range(n_people):
        # Stand beside the counter's end (alternating sides), facing roughly the open room.
        side = 1.0 if j % 2 == 0 else -1.0
        x = np.clip(cx + side * (half_len + 0.45 + 0.6 * (j // 2)), 0.4, room.size_x - 0.4)
        xy = np.array([x, cy - 0.1 + _u(rng, (-0.15, 0.15))])
        params = standing_params(rng, cfg.humans.betas_range, yaw=_u(rng, (-0.6, 0.6)))
        persons.append(place_person(body, params, xy, j, rng))

    target = np.array([cx, cy - 0.2, ch + 0.1])
    if persons:
        target = 0.5 * (target + np.array([*persons[0].joints_world[0, :2], ch + 0.1]))
    lights = sample_lights(cfg, room, rng)
    cameras = sample_cameras(cfg, room, target, n_views, rng)
    ambient = _u(rng, cfg.lights.ambient)
    return Scene(scene_id=scene_id, structures=room.structures, objects=objects, persons=persons,
                 lights=lights, cameras=cameras, ambient=(ambient, ambient, ambient))
