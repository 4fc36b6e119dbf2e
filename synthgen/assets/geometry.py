"""Small mesh and transform helpers for the asset library (pure numpy + trimesh, no booleans).

Units are whatever the caller uses (the procedural generators use metres). Transforms are 4x4
homogeneous float64 matrices acting on column vectors: ``p' = T @ [p, 1]``.

Every solid built here is watertight with outward normals, so that BOP tools and the physics
engine see a closed surface. Shapes that would need a boolean union are built as several
watertight bodies that overlap (each body closed; the union is what the renderer shows).
"""
from __future__ import annotations

import numpy as np
import trimesh
from scipy.spatial.transform import Rotation


def rotation(axis, angle_rad: float) -> np.ndarray:
    """4x4 rotation by ``angle_rad`` about the unit ``axis`` through the origin."""
    axis = np.asarray(axis, dtype=np.float64)
    T = np.eye(4)
    T[:3, :3] = Rotation.from_rotvec(axis / np.linalg.norm(axis) * angle_rad).as_matrix()
    return T


def translation(t) -> np.ndarray:
    """4x4 translation by ``t`` (3,)."""
    T = np.eye(4)
    T[:3, 3] = np.asarray(t, dtype=np.float64)
    return T


def scaling(s) -> np.ndarray:
    """4x4 scaling by ``s`` (a scalar or (3,) per-axis factors)."""
    T = np.eye(4)
    T[:3, :3] = np.diag(np.broadcast_to(np.asarray(s, dtype=np.float64), (3,)))
    return T


def clean_rotation(T: np.ndarray) -> np.ndarray:
    """Round float noise of an (almost) axis-aligned transform: |x| < 1e-12 -> 0.

    Keeps symmetry matrices such as diag(-1, -1, 1, 1) exact after products of rotations."""
    T = np.array(T, dtype=np.float64)
    T[np.abs(T) < 1e-12] = 0.0
    return T


def closed(mesh: trimesh.Trimesh) -> trimesh.Trimesh:
    """Merge duplicate vertices, make the winding consistent and the normals point outward."""
    mesh.merge_vertices()
    mesh.fix_normals()  # consistent winding; flips all faces when the enclosed volume is negative
    return mesh


def lathe(profile, sections: int) -> trimesh.Trimesh:
    """Solid of revolution about +Z of a (radius, z) ``profile`` polyline (metres).

    The profile starts and ends on the axis (radius 0) so the surface is closed. Vertices of
    ring k lie at angle 2*pi*k/sections from +X: the mesh is exactly invariant under rotations
    by multiples of 2*pi/sections about Z and under the mirror y -> -y.
    """
    prof = np.asarray(profile, dtype=np.float64)
    return closed(trimesh.creation.revolve(prof, sections=sections))


def hull(points) -> trimesh.Trimesh:
    """Convex hull (watertight, outward normals) of a point cloud."""
    return trimesh.convex.convex_hull(np.asarray(points, dtype=np.float64))


def ellipse(a: float, b: float, n: int, phase: float = 0.0) -> np.ndarray:
    """(n, 2) points on an axis-aligned ellipse with half-axes ``a``, ``b``, first at ``phase``."""
    t = phase + np.arange(n) * 2.0 * np.pi / n
    return np.column_stack((a * np.cos(t), b * np.sin(t)))


def rounded_rect(half_x: float, half_y: float, radius: float, per_corner: int) -> np.ndarray:
    """(4 * per_corner, 2) points of a rounded rectangle, mirror-symmetric in x and y."""
    t = np.linspace(0.0, np.pi / 2, per_corner)
    arc = np.column_stack((radius * np.cos(t), radius * np.sin(t)))  # first quadrant
    c = np.array([half_x - radius, half_y - radius])
    q1 = c + arc
    q2 = (c + arc[::-1]) * [-1, 1]
    q3 = (c + arc) * [-1, -1]
    q4 = (c + arc[::-1]) * [1, -1]
    return np.vstack((q1, q2, q3, q4))


def prism(section_xy, z0: float, z1: float) -> trimesh.Trimesh:
    """Convex prism of a convex 2-D ``section_xy`` between heights ``z0`` and ``z1``."""
    s = np.asarray(section_xy, dtype=np.float64)
    return hull(np.vstack((np.column_stack((s, np.full(len(s), z0))),
                           np.column_stack((s, np.full(len(s), z1))))))


def ring_prism(outer_xy, inner_xy, z0: float, z1: float) -> trimesh.Trimesh:
    """A prism with a through-hole: closed polygons ``outer_xy`` and ``inner_xy`` (same point
    count, point i of one facing point i of the other, both counter-clockwise) extruded from
    ``z0`` to ``z1``. Watertight: outer wall, inner wall and two annular caps of quads."""
    o = np.asarray(outer_xy, dtype=np.float64)
    i = np.asarray(inner_xy, dtype=np.float64)
    n = len(o)
    if len(i) != n:
        raise ValueError("ring_prism: outer and inner need the same number of points")
    # vertex blocks: outer bottom, outer top, inner bottom, inner top
    V = np.vstack([np.column_stack((p, np.full(n, z))) for p, z in ((o, z0), (o, z1), (i, z0), (i, z1))])
    ob, ot, ib, it = (np.arange(n) + k * n for k in range(4))
    nx = np.roll(np.arange(n), -1)
    faces = []
    for a, b in ((ob, ot), (it, ib), (ot, it), (ib, ob)):  # outer wall, inner wall, top, bottom
        a1, b1 = a[nx], b[nx]
        faces.append(np.column_stack((a, a1, b1)))
        faces.append(np.column_stack((a, b1, b)))
    return closed(trimesh.Trimesh(V, np.vstack(faces), process=False))


def tube(path, radius: float, segments: int, binormal=(0.0, 1.0, 0.0)) -> trimesh.Trimesh:
    """Closed tube of circular section swept along a planar ``path`` (n, 3), flat end caps.

    ``binormal`` is the (constant) normal of the path's plane; the section is drawn in the
    plane spanned by it and the in-plane normal, so the tube is mirror-symmetric about the
    path's plane."""
    P = np.asarray(path, dtype=np.float64)
    B = np.asarray(binormal, dtype=np.float64)
    B = B / np.linalg.norm(B)
    T = np.gradient(P, axis=0)
    T /= np.linalg.norm(T, axis=1, keepdims=True)
    N = np.cross(B, T)
    N /= np.linalg.norm(N, axis=1, keepdims=True)
    phi = np.arange(segments) * 2.0 * np.pi / segments
    rings = (P[:, None, :] + radius * (np.cos(phi)[None, :, None] * N[:, None, :]
                                        + np.sin(phi)[None, :, None] * B[None, None, :]))
    n = len(P)
    V = np.vstack((rings.reshape(-1, 3), P[0], P[-1]))
    c0, c1 = n * segments, n * segments + 1
    faces = []
    nx = np.roll(np.arange(segments), -1)
    for k in range(n - 1):
        a, b = k * segments + np.arange(segments), (k + 1) * segments + np.arange(segments)
        faces.append(np.column_stack((a, a[nx], b[nx])))
        faces.append(np.column_stack((a, b[nx], b)))
    first, last = np.arange(segments), (n - 1) * segments + np.arange(segments)
    faces.append(np.column_stack((np.full(segments, c0), first[nx], first)))
    faces.append(np.column_stack((np.full(segments, c1), last, last[nx])))
    return closed(trimesh.Trimesh(V, np.vstack(faces), process=False))


def merge(parts: list[trimesh.Trimesh]) -> trimesh.Trimesh:
    """One mesh from several (overlapping) watertight bodies."""
    return trimesh.util.concatenate(parts)


def transform_symmetries(sym_c: list[dict], sym_d: list[np.ndarray],
                         A: np.ndarray) -> tuple[list[dict], list[np.ndarray]]:
    """Express symmetries given in frame F in frame F' where ``p' = A p``.

    ``A`` is a similarity (rotation, uniform scale, translation). A discrete symmetry S becomes
    ``A S A^-1`` (its translation picks up the scale, so mm-annotations become metres when A
    scales by 1e-3); a continuous one keeps its axis direction (rotated) and maps its offset
    point through A.
    """
    A = np.asarray(A, dtype=np.float64)
    s = np.cbrt(np.linalg.det(A[:3, :3]))
    R = A[:3, :3] / s
    A_inv = np.linalg.inv(A)
    out_d = [clean_rotation(A @ np.asarray(S, dtype=np.float64) @ A_inv) for S in sym_d]
    out_c = []
    for c in sym_c:
        axis = R @ np.asarray(c["axis"], dtype=np.float64)
        axis = axis / np.linalg.norm(axis)
        offset = A[:3, :3] @ np.asarray(c.get("offset", (0.0, 0.0, 0.0)), dtype=np.float64) + A[:3, 3]
        offset = offset - (offset @ axis) * axis  # the axis point closest to the origin
        axis[np.abs(axis) < 1e-12] = 0.0
        offset[np.abs(offset) < 1e-12] = 0.0
        out_c.append({"axis": [float(x) for x in axis], "offset": [float(x) for x in offset]})
    return out_c, out_d
