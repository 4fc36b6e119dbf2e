"""Pinhole projection in the OpenCV/BOP pixel convention (pure numpy).

A camera-frame point (x, y, z) (OpenCV frame: x right, y down, z forward, metres) projects to
u = fx x / z + cx, v = fy y / z + cy, where integer (u, v) is the centre of pixel (column u, row v).
"""
from __future__ import annotations

import numpy as np


def transform(T: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Apply a 4x4 rigid transform to (N, 3) points."""
    pts = np.asarray(pts, dtype=np.float64)
    return pts @ T[:3, :3].T + T[:3, 3]


def project(K: np.ndarray, pts_cam: np.ndarray) -> np.ndarray:
    """(N, 3) camera-frame points -> (N, 2) pixel coordinates; NaN for z <= 0 or NaN input."""
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
