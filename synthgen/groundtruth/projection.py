"""Pinhole projection in the OpenCV/BOP pixel convention (pure numpy): the one projection of
synthgen (labels, the renderer's amodal windows, validate and the preview overlays all use it).

A camera-frame point (x, y, z) (OpenCV frame: x right, y down, z forward) projects to
u = fx x / z + s y / z + cx, v = fy y / z + cy (``K``'s skew s honoured), where integer (u, v) is
the centre of pixel (column u, row v). Points may be in any length unit (metres in labels,
millimetres in the overlays): the projection does not care.
"""
from __future__ import annotations

import numpy as np


def transform(T: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Apply a 4x4 rigid transform ``T`` (e.g. model->world or world->camera ``T_w2c``) to (N, 3)
    points: (N, 3) float64 ``pts @ R.T + t``, in the unit of ``pts`` and ``t``."""
    pts = np.asarray(pts, dtype=np.float64)
    T = np.asarray(T, dtype=np.float64)
    return pts @ T[:3, :3].T + T[:3, 3]


def project(K: np.ndarray, pts_cam: np.ndarray) -> np.ndarray:
    """(N, 3) camera-frame points -> (N, 2) pixel coordinates (u, v); NaN for z <= 0 or NaN input.

    Computed as ``(pts @ K.T)[:, :2] / z``: labels depend on these exact floating-point values,
    so this operation order is part of the output bytes."""
    pts_cam = np.asarray(pts_cam, dtype=np.float64)
    z = pts_cam[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        uv = (pts_cam @ np.asarray(K, dtype=np.float64).T)[:, :2] / z[:, None]
    uv[~(z > 0)] = np.nan
    return uv


def inside_image(uv: np.ndarray, width: int, height: int) -> np.ndarray:
    """True where a projected point lies on the image: pixel centres run 0..W-1, so the image
    area is [-0.5, W - 0.5) x [-0.5, H - 0.5)."""
    u, v = uv[:, 0], uv[:, 1]
    with np.errstate(invalid="ignore"):
        return (u >= -0.5) & (u < width - 0.5) & (v >= -0.5) & (v < height - 0.5)


def pixel_index(uv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row and column of the pixel containing each (in-image) point: round to nearest centre."""
    cols = np.floor(uv[:, 0] + 0.5).astype(np.int64)
    rows = np.floor(uv[:, 1] + 0.5).astype(np.int64)
    return rows, cols
