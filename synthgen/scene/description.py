"""Plain-data scene description: what a sampled scene *is*, with no engine objects.

Conventions (all of synthgen):
- World frame: Z up, metres.
- Poses are 4x4 homogeneous float64 matrices. ``pose_world`` of a mesh maps points from the
  mesh's own (model) frame to the world frame.
- Cameras use the OpenCV camera frame (x right, y down, z forward). ``T_w2c`` maps world points
  to camera points; ``K`` is the 3x3 intrinsic matrix in pixels, where integer (u, v) is the
  centre of pixel (column u, row v).

The physics adapter (``synthgen.physics``) and the render adapter (``synthgen.render``) take these
records and return plain numpy arrays; no pybullet or pyrender object is stored here.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Material:
    """PBR metallic-roughness material. ``base_color`` is linear RGBA in [0, 1].

    ``texture``: optional (H, W, 3) uint8 sRGB image multiplied with ``base_color``; it is used
    only on meshes that carry ``uv`` coordinates (texture repeats: coordinates may exceed 1).
    """

    base_color: tuple[float, float, float, float] = (0.8, 0.8, 0.8, 1.0)
    metallic: float = 0.0
    roughness: float = 0.6
    texture: np.ndarray | None = None


@dataclass
class MeshData:
    """A triangle mesh in its own model frame, metres.

    ``vertices`` (N, 3) float64, ``faces`` (M, 3) int64. ``vertex_colors`` optional (N, 3|4) uint8.
    ``uv`` optional (N, 2) texture coordinates (see ``synthgen.scene.textures.box_project_uv``).
    """

    vertices: np.ndarray
    faces: np.ndarray
    vertex_colors: np.ndarray | None = None
    uv: np.ndarray | None = None


def mesh_digest(mesh: MeshData, *, with_colors: bool = False) -> str:
    """SHA-1 (hex) of a mesh's geometry: float64 vertices and int64 faces with their shapes, and
    with ``with_colors`` its vertex colours (dtype too). A content key for caches of what is
    derived from a mesh: the physics adapter's V-HACD files, the render adapter's normals."""
    h = hashlib.sha1()
    for arr in (np.ascontiguousarray(mesh.vertices, dtype=np.float64),
                np.ascontiguousarray(mesh.faces, dtype=np.int64)):
        h.update(str(arr.shape).encode())
        h.update(arr.tobytes())
    if with_colors:
        if mesh.vertex_colors is None:
            h.update(b"-")
        else:
            c = np.ascontiguousarray(mesh.vertex_colors)
            h.update(f"{c.shape}{c.dtype.str}".encode())
            h.update(c.tobytes())
    return h.hexdigest()


@dataclass
class ObjectInstance:
    """One rigid object placed in the scene.

    ``obj_id`` is the dataset-wide BOP object id (>= 1) from the asset library. ``name`` is the
    asset's category name. ``pose_world`` maps model-frame points (metres, origin at the model's
    bounding-box centre, as BOP models) to world points.
    """

    obj_id: int
    name: str
    mesh: MeshData
    pose_world: np.ndarray
    material: Material = field(default_factory=Material)


@dataclass
class StructureElement:
    """Static room geometry (floor, walls, counters): rendered, not labelled."""

    name: str
    mesh: MeshData
    pose_world: np.ndarray
    material: Material = field(default_factory=Material)


@dataclass
class Shell:
    """A loose part of a person drawn over the skin (hair, a skirt, an apron's panel).

    ``vertices`` (n, 3) world metres, ``faces`` (m, 3), ``material`` its colour (with a
    ``texture``, ``uv`` (n, 2) per vertex, v up); ``part`` the SMPL-X joint (0-54) whose body
    part it belongs to in the part map. It is part of the person in every label: masks, depth,
    visibility."""

    name: str
    vertices: np.ndarray
    faces: np.ndarray
    material: Material
    part: int
    uv: np.ndarray | None = None


@dataclass
class PersonInstance:
    """One posed human, already evaluated by a body-model backend.

    ``smplx`` holds the SMPL-X parameters with SMPL-X's names and shapes (axis-angle, world frame,
    metres): betas, global_orient (3), body_pose (63), left_hand_pose (45), right_hand_pose (45),
    jaw_pose (3), leye_pose (3), reye_pose (3), expression, transl (3).
    ``vertices`` (N, 3) world metres, ``faces`` (M, 3).
    ``joints_world`` (55, 3): the SMPL-X skinned joints in world metres, SMPL-X order; rows the
    backend has no joint for (the mannequin has no jaw/eyes) are NaN.
    ``landmarks_world``: named surface points (nose, eyes, ears, toes, heels, fingertips) in world
    metres, keyed by SMPL-X landmark name; a backend without a source omits the key.
    ``skin_joint`` optional (N,) int: the dominant skinning joint (SMPL-X index 0-54) of each
    vertex, as the backend's ``BodyOutput.skin_joint``; the render adapter's body-part pass needs it.
    """

    person_id: int
    body_model: str
    gender: str
    smplx: dict[str, list[float]]
    vertices: np.ndarray
    faces: np.ndarray
    joints_world: np.ndarray
    landmarks_world: dict[str, np.ndarray]
    material: Material = field(default_factory=Material)
    # (68, 3) face landmarks in world metres (17 contour, then 51 inner), None when the backend
    # has no face (the mannequin): those keypoints are then written with v=0
    face_world: np.ndarray | None = None
    # indices into Scene.objects of the objects this person holds
    held_objects: list[int] = field(default_factory=list)
    # the activity the sampler gave this person: 'idle', 'hold' or 'reach', and the pose name
    activity: str = "idle"
    pose_name: str = "standing"
    skin_joint: np.ndarray | None = None
    # the exact parameters of an Anny body (its ``body_params`` in scene_humans.json); ``smplx`` is
    # then empty: SMPL-X parameters would not reproduce this body
    anny: dict | None = None
    # texture coordinates per face corner: ``face_uv`` (M, 3) indices into ``uv`` (T, 2) (v up, as
    # OpenGL); with ``material.texture`` the colour pass paints the body with it
    uv: np.ndarray | None = None
    face_uv: np.ndarray | None = None
    # what the person wears (synthgen.scene.appearance.outfit_record), for scene_humans.json
    appearance: dict | None = None
    # hair and loose garments over the body
    shells: list[Shell] = field(default_factory=list)


def person_mesh(person: PersonInstance) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The whole surface of a person as labels see it: the body and its shells as one mesh
    (vertices world metres, faces, and the SMPL-X joint of each vertex, shells taking their
    ``part``; None when the body has no ``skin_joint``)."""
    if not person.shells:
        return person.vertices, person.faces, person.skin_joint
    verts, faces, joints, n = [np.asarray(person.vertices, float)], [np.asarray(person.faces, np.int64)], [], 0
    n = len(person.vertices)
    for sh in person.shells:
        verts.append(np.asarray(sh.vertices, float))
        faces.append(np.asarray(sh.faces, np.int64) + n)
        joints.append(np.full(len(sh.vertices), sh.part, np.int64))
        n += len(sh.vertices)
    skin = None if person.skin_joint is None else np.concatenate([np.asarray(person.skin_joint, np.int64), *joints])
    return np.concatenate(verts), np.concatenate(faces), skin


@dataclass
class Light:
    """A light. ``kind`` is 'directional', 'point' or 'spot'. ``pose_world`` follows the
    OpenGL light convention of pyrender-like engines: the light shines along its local -Z axis.
    ``intensity``: W/m^2-ish units of pyrender (directional) or candela-ish (point/spot)."""

    kind: str
    color: tuple[float, float, float]
    intensity: float
    pose_world: np.ndarray


@dataclass
class Camera:
    """A pinhole camera. ``K`` (3, 3) pixels; ``T_w2c`` (4, 4) world -> OpenCV camera, metres."""

    K: np.ndarray
    width: int
    height: int
    T_w2c: np.ndarray
    view_id: int = 0


@dataclass
class Scene:
    """One sampled scene layout (one shard, one BOP scene), seen from ``cameras``."""

    scene_id: int
    structures: list[StructureElement]
    objects: list[ObjectInstance]
    persons: list[PersonInstance]
    lights: list[Light]
    cameras: list[Camera]
    ambient: tuple[float, float, float] = (0.3, 0.3, 0.3)


@dataclass
class SupportSurface:
    """A horizontal rectangle objects can be placed on (a counter top, table, shelf board, floor).

    ``pose_world``: 4x4; its origin is the centre of the rectangle *on* the surface (z = the top
    of the supporting geometry), its local Z is world up, its local X/Y span the rectangle.
    ``size``: (x extent, y extent) metres. ``clearance``: free height above the surface (metres;
    a shelf board has the next board above it), ``inf`` when open.
    """

    name: str
    pose_world: np.ndarray
    size: tuple[float, float]
    clearance: float = float("inf")
