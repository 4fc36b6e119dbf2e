"""Seeded samplers that fill a :class:`~synthgen.scene.description.Scene` from a config.

Pure data: no pybullet or pyrender here. Physics is injected as a plain function (the physics
adapter's ``place_objects``) that maps meshes and support surfaces to settled poses. Every draw
comes from the ``numpy.random.Generator`` passed in, which :func:`scene_rng` derives from
(master seed, scene index) only, so any scene can be produced alone and output does not depend on
how many workers ran.

World frame: Z up, metres; the room spans x in [0, size_x], y in [0, size_y], floor at z = 0.
The order of draws is fixed: layout, objects, people, lights, cameras.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.spatial.transform import Rotation

from ..assets.library import AssetModel
from ..bodies.base import BodyModel, SMPLXParams
from ..config.schema import SceneConfig
from .description import ObjectInstance, PersonInstance, Scene
from .layout import Layout, sample_layout
from .lights_cameras import base_intrinsics, look_at_w2c, sample_cameras, sample_lights
from .materials import SurfaceMaterials, object_material, random_color
from .textures import box_project_uv

__all__ = ["scene_rng", "sample_scene", "intrinsics", "look_at_w2c", "AssetGroup"]


def scene_rng(seed: int, scene_index: int) -> np.random.Generator:
    """The generator of scene ``scene_index``: the same numbers as
    ``SeedSequence(seed).spawn(n)[scene_index]`` for any n > scene_index."""
    return np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=(scene_index,)))


def _u(rng: np.random.Generator, r) -> float:
    lo, hi = float(r[0]), float(r[1])
    return float(rng.uniform(lo, hi)) if hi > lo else lo


def intrinsics(cfg: SceneConfig) -> np.ndarray:
    """The base K (before per-view focal jitter) of the configured sensor at the image size."""
    return base_intrinsics(cfg.sensor, cfg.camera.width, cfg.camera.height)


@dataclass
class AssetGroup:
    """A config object group with its assets resolved (``labelled`` False = distractors)."""

    name: str
    assets: list[AssetModel]
    count: tuple[int, int]
    supports: tuple[str, ...]
    labelled: bool


@dataclass
class _Pick:
    asset: AssetModel
    labelled: bool
    supports: list[str]


def _pick_objects(cfg: SceneConfig, groups: list[AssetGroup], layout: Layout,
                  rng: np.random.Generator) -> list[_Pick]:
    """Draw each group's count (scaled by ``objects.density``) and its assets, keeping only
    support kinds the layout has (a group whose kinds are all absent falls back to the floor)."""
    kinds = layout.support_kinds()
    picks = []
    for g in groups:
        n = int(round(int(rng.integers(g.count[0], g.count[1] + 1)) * cfg.objects.density))
        wanted = [k for k in g.supports if k in kinds] or ["floor"]
        names = [s.name for s in layout.supports if s.name.split(":")[0] in wanted]
        for k in rng.integers(0, len(g.assets), size=n):
            picks.append(_Pick(g.assets[int(k)], g.labelled, names))
    return picks


def _mass(asset: AssetModel) -> float:
    """Mass from the asset if it has one, else from its bounding volume at 400 kg/m^3."""
    m = getattr(asset, "mass_kg", None)
    if m:
        return float(m)
    return float(max(0.02, np.prod(np.ptp(asset.mesh.vertices, axis=0)) * 400.0))


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
    from .description import Material

    return PersonInstance(
        person_id=person_id, body_model=body.name, gender=body.gender, smplx=params.to_lists(),
        vertices=out.vertices + shift, faces=out.faces, joints_world=out.joints + shift,
        landmarks_world={k: v + shift for k, v in out.landmarks.items()},
        material=Material(base_color=random_color(rng, 0.35, 0.85), roughness=_u(rng, (0.4, 0.8))))


def _free_floor_spot(layout: Layout, rng: np.random.Generator, taken: list[np.ndarray],
                     radius: float = 0.35, tries: int = 300) -> np.ndarray | None:
    """A floor point whose disc of ``radius`` overlaps no furniture footprint and no other person.
    The first half of the tries stand within reach of a focus support (a person at the counter),
    the rest anywhere in the room."""
    focus = [s for s in layout.supports if s.name.split(":")[0] in layout.focus and s.name.split(":")[0] != "shelf"]
    for t in range(tries):
        if focus and t < tries // 2:
            s = focus[int(rng.integers(len(focus)))]
            c, (hx, hy) = s.pose_world[:2, 3], (s.size[0] / 2, s.size[1] / 2)
            side = int(rng.integers(4))
            gap = radius + _u(rng, (0.05, 0.35))
            along = _u(rng, (-1.0, 1.0))
            p = c + (np.array([along * hx, hy + gap]) if side == 0 else np.array([along * hx, -hy - gap])
                     if side == 1 else np.array([hx + gap, along * hy]) if side == 2
                     else np.array([-hx - gap, along * hy]))
        else:
            p = np.array([_u(rng, (radius + 0.1, layout.size_x - radius - 0.1)),
                          _u(rng, (radius + 0.1, layout.size_y - radius - 0.1))])
        if not (radius < p[0] < layout.size_x - radius and radius < p[1] < layout.size_y - radius):
            continue
        if any(x0 - radius < p[0] < x1 + radius and y0 - radius < p[1] < y1 + radius
               for x0, y0, x1, y1 in layout.footprints):
            continue
        if any(np.linalg.norm(p - q) < 2 * radius for q in taken):
            continue
        return p
    return None


def _facing(layout: Layout, xy: np.ndarray) -> float:
    """Yaw (standing_params convention: 0 faces -Y) that faces the nearest focus support."""
    focus = [s.pose_world[:2, 3] for s in layout.supports if s.name.split(":")[0] in layout.focus]
    if not focus:
        return 0.0
    c = min(focus, key=lambda q: float(np.linalg.norm(q - xy)))
    d = c - xy
    # yaw 0 faces -Y; facing direction (sin(yaw), -cos(yaw)) must equal d / |d|
    return float(np.arctan2(d[0], -d[1]))


def _root_support(rests_on: list, i: int) -> str:
    """The support surface under object ``i``, following ``stack:<j>`` links down a pile."""
    seen = set()
    label = rests_on[i] or "floor"
    while label.startswith("stack:") and label not in seen:
        seen.add(label)
        label = rests_on[int(label[6:])] or "floor"
    return label


def _targets(layout: Layout, objects: list[ObjectInstance], on_support: list[str], jitter: float,
             rng: np.random.Generator) -> list[np.ndarray]:
    """Look-at points, one per labelled object: the centroid of the labelled objects that share
    its support (so a view frames the cluster, and busy surfaces are looked at more often),
    moved towards the object by a random fraction ``jitter``. Falls back to the focus supports'
    centres when no labelled object was placed."""
    centres: dict[str, list[np.ndarray]] = {}
    for o, sup in zip(objects, on_support):
        if o.obj_id > 0:
            centres.setdefault(sup, []).append(o.pose_world[:3, 3])
    out = []
    for o, sup in zip(objects, on_support):
        if o.obj_id > 0:
            c = np.mean(centres[sup], axis=0)
            out.append(c + rng.uniform(0.0, jitter) * (o.pose_world[:3, 3] - c))
    if not out:
        focus = [s for s in layout.supports if s.name.split(":")[0] in layout.focus]
        out = [s.pose_world[:3, 3] + np.array([0.0, 0.0, 0.05]) for s in focus] or \
              [np.array([layout.size_x / 2, layout.size_y / 2, 0.5])]
    return out


PlaceFn = Callable[..., object]


def sample_scene(cfg: SceneConfig, scene_id: int, n_views: int, groups: list[AssetGroup],
                 body: BodyModel | None, place: PlaceFn, rng: np.random.Generator) -> Scene:
    """Sample one whole scene: layout, settled objects, standing people, lights and ``n_views``
    cameras. ``place(static, supports, picks_meshes_masses_supports, rng)`` is the physics
    adapter (injected to keep this module engine-free); it returns one 4x4 pose or None per item."""
    surfaces = SurfaceMaterials(cfg.materials, rng)
    layout = sample_layout(cfg.room, rng, surfaces)
    for s in layout.structures:             # textured surfaces need UVs
        if s.material.texture is not None:
            s.mesh = box_project_uv(s.mesh, metres_per_repeat=0.6)

    picks = _pick_objects(cfg, groups, layout, rng)
    static = [(s.mesh, s.pose_world) for s in layout.structures]
    items = [(p.asset.mesh, _mass(p.asset), p.supports) for p in picks]
    poses, rests_on = place(static, layout.supports, items, rng) if picks else ([], [])
    objects = []
    on_support: list[str] = []
    for i, (p, pose) in enumerate(zip(picks, poses)):
        if pose is None:
            continue   # could not be placed within the tries: left out of the scene
        on_support.append(_root_support(rests_on, i))
        mat = object_material(cfg.materials, rng)
        mesh = box_project_uv(p.asset.mesh, 0.1) if mat.texture is not None else p.asset.mesh
        # distractors carry obj_id 0: rendered and simulated, never labelled
        objects.append(ObjectInstance(obj_id=p.asset.obj_id if p.labelled else 0, name=p.asset.name,
                                      mesh=mesh, pose_world=pose, material=mat))

    persons = []
    n_people = int(rng.integers(cfg.humans.count[0], cfg.humans.count[1] + 1)) if body else 0
    taken: list[np.ndarray] = []
    for j in range(n_people):
        xy = _free_floor_spot(layout, rng, taken)
        if xy is None:
            break
        taken.append(xy)
        # face the nearest focus support (a person working at the counter), +-30 deg
        params = standing_params(rng, cfg.humans.betas_range, yaw=_facing(layout, xy) + _u(rng, (-0.5, 0.5)))
        persons.append(place_person(body, params, xy, j, rng))

    targets = _targets(layout, objects, on_support, cfg.camera.target_jitter, rng)
    # a person's chest (spine3, SMPL-X joint 9) is the look-at point of person views
    person_targets = [p.joints_world[9].copy() for p in persons]
    lights = sample_lights(cfg.lights, layout, targets[0], rng)
    cameras = sample_cameras(cfg.camera, cfg.sensor, layout, targets, n_views, rng, cfg.name,
                             person_targets=person_targets)
    ambient = _u(rng, cfg.lights.ambient)
    return Scene(scene_id=scene_id, structures=layout.structures, objects=objects, persons=persons,
                 lights=lights, cameras=cameras, ambient=(ambient, ambient, ambient))
