"""Collision geometry for the physics adapter, computed from plain :class:`MeshData` (no pybullet
client needed): convex hulls, a content hash, and an on-disk cache of V-HACD decompositions.

All geometry is in the mesh's model frame, metres.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..scene.description import MeshData, mesh_digest

# Bump when the way a cached decomposition is produced changes, so old cache files are not reused.
_VHACD_CACHE_VERSION = 1


@dataclass(frozen=True)
class HullInfo:
    """The convex hull of a mesh, model frame, metres.

    ``points`` (K, 3): hull vertices (a subset of the mesh vertices, so any extreme point of the
    mesh along a direction -- lowest point, bounding box -- is extreme among them too).
    ``com`` (3,): centre of mass of the solid hull at uniform density (the body's centre of mass
    in simulation). ``volume``: hull volume, m^3 (0 for a flat or degenerate mesh).
    ``concavity``: 1 - mesh volume / hull volume for a watertight mesh (0 = convex), 0 when the
    mesh is not watertight (its volume is undefined, so it is treated as convex).
    """

    points: np.ndarray
    com: np.ndarray
    volume: float
    concavity: float


def convex_hull(mesh: MeshData) -> HullInfo:
    """Hull of ``mesh``; falls back to the raw vertices (and their bounding-box centre) when the
    vertices are coplanar or too few for Qhull, which pybullet can still hull."""
    import trimesh
    from scipy.spatial import QhullError

    v = np.asarray(mesh.vertices, dtype=np.float64)
    tm = trimesh.Trimesh(vertices=v, faces=np.asarray(mesh.faces, dtype=np.int64), process=False)
    try:
        hull = tm.convex_hull
        volume = float(hull.volume)
    except (QhullError, ValueError, IndexError):
        hull, volume = None, 0.0
    if hull is None or volume <= 1e-12:
        pts = np.unique(v, axis=0)
        return HullInfo(points=pts, com=(pts.min(axis=0) + pts.max(axis=0)) / 2, volume=0.0, concavity=0.0)
    concavity = 0.0
    if tm.is_watertight and tm.volume > 0:
        concavity = float(np.clip(1.0 - tm.volume / volume, 0.0, 1.0))
    return HullInfo(points=np.asarray(hull.vertices, dtype=np.float64),
                    com=np.asarray(hull.center_mass, dtype=np.float64), volume=volume,
                    concavity=concavity)


def simplified_hull_points(points: np.ndarray, tolerance: float) -> np.ndarray:
    """A subset of convex-hull vertices ``points`` (K, 3) whose hull lies within ``tolerance``
    metres of theirs: no input point is farther than ``tolerance`` outside it. A collision hull
    with fewer vertices makes every contact query cheaper (pybullet's support mapping and contact
    clipping walk all hull vertices). Qhull's ``Wn`` option proposes the subset; it does not
    bound the error on flat shapes, so points still too far outside are added back until none
    is. ``tolerance`` 0 returns ``points``."""
    pts = np.asarray(points, dtype=np.float64)
    if tolerance <= 0 or len(pts) <= 8:
        return pts
    from scipy.spatial import ConvexHull, QhullError

    try:
        keep = np.zeros(len(pts), bool)
        keep[ConvexHull(pts, qhull_options=f"W{float(tolerance):.9g}").vertices] = True
        while True:
            eq = ConvexHull(pts[keep]).equations            # unit normals: n . x + d = distance
            outside = (pts @ eq[:, :3].T + eq[:, 3]).max(axis=1)
            far = (outside > tolerance) & ~keep
            if not far.any():
                break
            keep |= far
    except (QhullError, ValueError):
        return pts
    return pts[keep]


def is_convex_mesh(mesh: MeshData) -> bool:
    """True for a watertight convex mesh (a room box): its hull is exact."""
    import trimesh

    tm = trimesh.Trimesh(vertices=np.asarray(mesh.vertices, dtype=np.float64),
                         faces=np.asarray(mesh.faces, dtype=np.int64), process=False)
    return bool(tm.is_watertight and tm.is_convex)


def vhacd_decomposition(mesh: MeshData, cache_dir: str | os.PathLike, resolution: int = 100_000,
                        timeout_s: float = 30.0) -> Path | None:
    """Path of an OBJ holding the V-HACD convex decomposition of ``mesh`` (model frame, metres),
    one ``o`` group per convex part, computed once and cached as
    ``<cache_dir>/vhacd-v<version>-<mesh sha1>-r<resolution>.obj``; None when V-HACD took longer
    than ``timeout_s`` (the caller uses the convex hull), remembered with a ``.hull`` marker
    file next to where the OBJ would be so later runs do not try again.

    Timings of pybullet's V-HACD 2.2 on one core: 0.3-1.4 s for mugs, pans, tools and crates,
    4.7 s for a 1150-vertex bowl, but 90 s for a flat 26 cm plate (its voxel grid gets 7 million
    cells whatever ``resolution`` says), hence the time limit.

    V-HACD runs in a child Python process: pybullet's V-HACD prints progress to the C stdout,
    which must not interleave with the caller's output, and a child can be stopped at the time
    limit. The file is written under a temporary name and renamed, so concurrent workers filling
    the same cache never read a partial file (they may compute the same decomposition twice).
    """
    import trimesh

    cache = Path(cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    out = cache / f"vhacd-v{_VHACD_CACHE_VERSION}-{mesh_digest(mesh)}-r{int(resolution)}.obj"
    marker = out.with_suffix(".hull")
    if out.exists():
        return out
    if marker.exists():
        return None
    with tempfile.TemporaryDirectory(dir=cache, prefix=".vhacd-") as tmp:
        src = Path(tmp) / "in.obj"
        dst = Path(tmp) / "out.obj"
        trimesh.Trimesh(vertices=np.asarray(mesh.vertices, dtype=np.float64),
                        faces=np.asarray(mesh.faces, dtype=np.int64), process=False).export(src)
        code = ("import sys, pybullet as p; "
                "p.vhacd(sys.argv[1], sys.argv[2], sys.argv[3], resolution=int(sys.argv[4]))")
        try:
            proc = subprocess.run([sys.executable, "-c", code, str(src), str(dst), str(Path(tmp) / "log.txt"),
                                   str(int(resolution))], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  text=True, check=False, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            marker.write_text(f"V-HACD took longer than {timeout_s} s; convex hull used\n")
            return None
        if proc.returncode != 0 or not dst.exists() or dst.stat().st_size == 0:
            tail = (proc.stderr or "").strip().splitlines()[-1:] or ["no output file"]
            raise RuntimeError(f"V-HACD failed for mesh {out.name}: {tail[0]}")
        os.replace(dst, out)
    return out
