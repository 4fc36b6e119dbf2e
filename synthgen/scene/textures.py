"""Procedural surface textures and UV mapping for domain randomization (pure numpy).

Every generator takes an explicit ``numpy.random.Generator`` and returns an (S, S, 3) uint8 sRGB
image that tiles seamlessly-enough for repeating (``wood``, ``tiles``, ``noise``, ``stripes``).
``box_project_uv`` gives any mesh texture coordinates by box (tri-planar) projection, with a
fixed world scale so a tile is the same size on a floor and on a counter.
"""
from __future__ import annotations

import numpy as np

from .description import MeshData
from .kinds import TEXTURE_KINDS


def _value_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Smooth periodic noise in [0, 1]: a random ``cells`` x ``cells`` grid upsampled bicubically
    on a torus (so the texture wraps)."""
    from scipy.ndimage import zoom

    grid = rng.random((cells, cells))
    tiled = np.tile(grid, (3, 3))
    up = zoom(tiled, size / cells, order=3, mode="grid-wrap")
    out = up[size:2 * size, size:2 * size]
    lo, hi = out.min(), out.max()
    return (out - lo) / (hi - lo + 1e-9)


def _palette(rng: np.random.Generator, base: np.ndarray | None = None, spread: float = 0.25):
    base = rng.uniform(0.15, 0.9, size=3) if base is None else base
    other = np.clip(base + rng.uniform(-spread, spread, size=3), 0.0, 1.0)
    return base, other


def _to_uint8(img: np.ndarray) -> np.ndarray:
    return np.clip(np.round(img * 255.0), 0, 255).astype(np.uint8)


def wood(rng: np.random.Generator, size: int = 128) -> np.ndarray:
    """Rings and grain: distance rings perturbed by noise, in a brown palette."""
    y, x = np.mgrid[0:size, 0:size] / size
    n = _value_noise(rng, size, 8)
    freq = rng.uniform(6.0, 14.0)
    rings = 0.5 + 0.5 * np.sin(2 * np.pi * (freq * x + 1.5 * n))
    base = np.array([rng.uniform(0.45, 0.7), rng.uniform(0.28, 0.45), rng.uniform(0.12, 0.25)])
    dark = base * rng.uniform(0.5, 0.75)
    img = dark[None, None] + (base - dark)[None, None] * rings[..., None]
    return _to_uint8(img * (0.9 + 0.1 * _value_noise(rng, size, 32))[..., None])


def tiles(rng: np.random.Generator, size: int = 128) -> np.ndarray:
    """Square tiles with grout lines; each tile's shade varies slightly."""
    n = int(rng.integers(2, 5))
    c1, _ = _palette(rng)
    grout = np.full(3, rng.uniform(0.2, 0.8))
    y, x = np.mgrid[0:size, 0:size]
    cell = size // n
    shade = rng.uniform(0.85, 1.1, size=(n, n))[np.minimum(y // cell, n - 1), np.minimum(x // cell, n - 1)]
    img = np.clip(c1[None, None] * shade[..., None], 0, 1)
    width = max(1, size // 64)
    line = ((x % cell) < width) | ((y % cell) < width)
    img[line] = grout
    return _to_uint8(img)


def noise(rng: np.random.Generator, size: int = 128) -> np.ndarray:
    """Two-colour smooth noise (plaster, stone, fabric-like)."""
    c1, c2 = _palette(rng, spread=0.35)
    n = 0.6 * _value_noise(rng, size, int(rng.integers(4, 12))) + 0.4 * _value_noise(rng, size, 32)
    return _to_uint8(c1[None, None] * (1 - n[..., None]) + c2[None, None] * n[..., None])


def stripes(rng: np.random.Generator, size: int = 128) -> np.ndarray:
    """Parallel stripes of two colours at a multiple-of-size period (so it wraps)."""
    c1, c2 = _palette(rng, spread=0.5)
    k = int(rng.integers(2, 9))
    y, x = np.mgrid[0:size, 0:size] / size
    band = (np.floor(2 * k * (x if rng.random() < 0.5 else y)) % 2).astype(bool)
    img = np.where(band[..., None], c1[None, None], c2[None, None])
    return _to_uint8(img)


#: One generator per name of :data:`~synthgen.scene.kinds.TEXTURE_KINDS`.
GENERATORS = {"wood": wood, "tiles": tiles, "noise": noise, "stripes": stripes}


def make_texture(kind: str, rng: np.random.Generator, size: int = 128) -> np.ndarray:
    """One texture of the named kind (see :data:`TEXTURE_KINDS`)."""
    if kind not in GENERATORS:
        raise ValueError(f"texture kind {kind!r}: expected one of {', '.join(TEXTURE_KINDS)}")
    return GENERATORS[kind](rng, size)


def box_project_uv(mesh: MeshData, metres_per_repeat: float = 0.5) -> MeshData:
    """A copy of ``mesh`` with per-face-split vertices and box-projected UVs.

    Each face is projected along its dominant normal axis; vertices are duplicated per face so
    charts never share a vertex. One texture repeat spans ``metres_per_repeat`` in the model frame.
    """
    v = np.asarray(mesh.vertices, dtype=np.float64)
    f = np.asarray(mesh.faces, dtype=np.int64)
    tri = v[f]                                     # (M, 3, 3)
    normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    axis = np.abs(normals).argmax(axis=1)          # 0: x, 1: y, 2: z dominant
    # the two in-plane coordinates for each dominant axis
    plane = np.array([[1, 2], [0, 2], [0, 1]])[axis]   # (M, 2)
    flat = tri.reshape(-1, 3)
    cols = np.repeat(plane, 3, axis=0)
    uv = np.take_along_axis(flat, cols, axis=1) / metres_per_repeat
    return MeshData(vertices=flat.copy(), faces=np.arange(len(flat), dtype=np.int64).reshape(-1, 3),
                    vertex_colors=None, uv=uv)
