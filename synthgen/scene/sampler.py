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

from ..assets.library import AssetModel
from ..bodies.base import BodyModel
from ..config.schema import SceneConfig
from .draws import uniform as _u
from .description import ObjectInstance, PersonInstance, Scene
from .layout import Layout, sample_layout
from .lights_cameras import (SamplingError, base_intrinsics, look_at_w2c, sample_cameras, sample_egocentric, sample_lights,
                             sample_rig)
from .people import sample_people
from .materials import SurfaceMaterials, object_material
from .textures import box_project_uv

__all__ = ["scene_rng", "sample_scene", "intrinsics", "look_at_w2c", "AssetGroup"]


def scene_rng(seed: int, scene_index: int) -> np.random.Generator:
    """The generator of scene ``scene_index``: the same numbers as
    ``SeedSequence(seed).spawn(n)[scene_index]`` for any n > scene_index."""
    return np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=(scene_index,)))


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


def _cameras(cfg: SceneConfig, layout: Layout, objects: list[ObjectInstance], persons: list[PersonInstance],
             targets: list[np.ndarray], n_views: int, rng: np.random.Generator) -> list:
    """The views of the scene for the configured rig (see ``CameraConfig.rig``)."""
    cc = cfg.camera
    if cc.rig == "egocentric":
        if not persons:
            raise SamplingError(f"scene {cfg.name}: camera.rig 'egocentric' needs a person, but none could "
                               f"be placed (humans.count is {list(cfg.humans.count)})")
        p = persons[0]
        lm = p.landmarks_world
        head = {"eyes": 0.5 * (lm["left_eye"] + lm["right_eye"]), "nose": lm["nose"],
                "neck": p.joints_world[12], "head": p.joints_world[15]}
        # look between the hands (and what they hold): the hands are the subject of egocentric data
        pts = [p.joints_world[20], p.joints_world[21]] + [objects[k].pose_world[:3, 3] for k in p.held_objects]
        look = np.mean(pts, axis=0)
        return sample_egocentric(cc, cfg.sensor, head, look, n_views, rng)
    if cc.rig == "rig":
        target = persons[0].joints_world[9].copy() if persons else targets[0]
        return sample_rig(cc, cfg.sensor, layout, target, n_views, rng, cfg.name)
    # a person's chest (spine3, SMPL-X joint 9) is the look-at point of person views
    person_targets = [p.joints_world[9].copy() for p in persons]
    return sample_cameras(cc, cfg.sensor, layout, targets, n_views, rng, cfg.name, person_targets=person_targets)


def sample_scene(cfg: SceneConfig, scene_id: int, n_views: int, groups: list[AssetGroup],
                 body: BodyModel | None, place: PlaceFn, rng: np.random.Generator,
                 holdables: list[AssetModel] = (), pose_fn=None, wardrobe=None) -> Scene:
    """Sample one whole scene: layout, settled objects, standing people, lights and ``n_views``
    cameras. ``place(static, supports, items, rng)`` is the physics adapter (injected to keep
    this module engine-free); ``items`` are (mesh, mass kg, support names), and it returns one 4x4
    pose (or None when the item could not be placed) and one resting-support label per item."""
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

    persons = (sample_people(cfg, layout, body, objects, on_support, holdables, rng, pose_fn,
                                wardrobe=wardrobe)
               if body is not None and cfg.humans.count[1] > 0 else [])

    targets = _targets(layout, objects, on_support, cfg.camera.target_jitter, rng)
    lights = sample_lights(cfg.lights, layout, targets[0], rng)
    cameras = _cameras(cfg, layout, objects, persons, targets, n_views, rng)
    ambient = _u(rng, cfg.lights.ambient)
    return Scene(scene_id=scene_id, structures=layout.structures, objects=objects, persons=persons,
                 lights=lights, cameras=cameras, ambient=(ambient, ambient, ambient))
