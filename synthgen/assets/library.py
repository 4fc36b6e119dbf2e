"""Asset references -> meshes with a dataset-wide ``obj_id``.

A reference is a string. Supported now:
- ``builtin:<name>``: procedural primitives generated with trimesh at real sizes (metres):
  ``box``, ``cylinder``, ``sphere``, ``cone``, ``capsule``.

Every model is returned in its BOP model frame: metres here (the BOP writer converts to mm),
origin at the centre of its axis-aligned bounding box, Z up. ``obj_id`` is 1 + the reference's
position in the config's asset list, so ids are stable for a whole dataset whatever gets sampled.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..scene.description import MeshData


class AssetError(ValueError):
    """A reference that cannot be resolved or loaded; ``str()`` is one line naming it."""


@dataclass
class AssetModel:
    """A resolved asset: model-frame mesh (metres) and BOP symmetry annotations.

    ``symmetries_continuous``: list of {"axis": [3], "offset": [3] (metres)} in the model frame;
    ``symmetries_discrete``: list of 4x4 model-frame transforms (translation in metres).
    """

    obj_id: int
    ref: str
    name: str
    mesh: MeshData
    symmetries_continuous: list[dict] = field(default_factory=list)
    symmetries_discrete: list[np.ndarray] = field(default_factory=list)


def _builtin(name: str):
    import trimesh

    z_axis = [{"axis": [0.0, 0.0, 1.0], "offset": [0.0, 0.0, 0.0]}]
    flip_x = np.diag([1.0, -1.0, -1.0, 1.0])  # 180 deg about X
    rot_z180 = np.diag([-1.0, -1.0, 1.0, 1.0])
    rot_y180 = np.diag([-1.0, 1.0, -1.0, 1.0])
    if name == "box":  # a cereal-box-like carton, 19 x 7 x 27 cm
        return trimesh.creation.box((0.19, 0.07, 0.27)), [], [flip_x, rot_z180, rot_y180]
    if name == "cylinder":  # a soup can, 6.6 cm diameter, 10 cm tall
        return (trimesh.creation.cylinder(radius=0.033, height=0.10, sections=48),
                z_axis, [flip_x])
    if name == "sphere":  # an orange, 7.5 cm diameter
        return trimesh.creation.icosphere(subdivisions=3, radius=0.0375), [
            {"axis": [0.0, 0.0, 1.0], "offset": [0.0, 0.0, 0.0]},
            {"axis": [1.0, 0.0, 0.0], "offset": [0.0, 0.0, 0.0]}], []
    if name == "cone":  # a funnel-like cone, 10 cm base, 12 cm tall
        return trimesh.creation.cone(radius=0.05, height=0.12, sections=48), z_axis, []
    if name == "capsule":  # a pill bottle, 4 cm diameter, 11 cm long
        return trimesh.creation.capsule(height=0.07, radius=0.02, count=[24, 24]), z_axis, [flip_x]
    raise AssetError(f"asset 'builtin:{name}': unknown builtin name; "
                     f"expected one of box, cylinder, sphere, cone, capsule")


def resolve_asset(ref: str, obj_id: int) -> AssetModel:
    """Resolve one reference to an :class:`AssetModel` with the given ``obj_id``."""
    if not isinstance(ref, str) or ":" not in ref:
        raise AssetError(f"asset {ref!r}: expected a reference like 'builtin:box'")
    kind, _, name = ref.partition(":")
    if kind != "builtin":
        raise AssetError(f"asset {ref!r}: unknown source '{kind}'; expected 'builtin:'")
    tm, sym_c, sym_d = _builtin(name)
    centre = tm.bounds.mean(axis=0)
    tm.apply_translation(-centre)
    mesh = MeshData(vertices=np.asarray(tm.vertices, dtype=np.float64),
                    faces=np.asarray(tm.faces, dtype=np.int64))
    return AssetModel(obj_id=obj_id, ref=ref, name=name, mesh=mesh,
                      symmetries_continuous=sym_c, symmetries_discrete=sym_d)


def resolve_assets(refs: list[str]) -> list[AssetModel]:
    """Resolve a config's asset list; ``obj_id`` = 1 + position in the list."""
    return [resolve_asset(r, i + 1) for i, r in enumerate(refs)]
