"""OpenCV camera -> OpenGL matrices, in one place (pure numpy, no GL). The pixel projection
itself is :func:`synthgen.groundtruth.projection.project`.

synthgen cameras are OpenCV cameras: ``K`` maps camera points (x right, y down, z forward) to pixels
with ``u = fx x/z + s y/z + cx``, ``v = fy y/z + cy``, and integer (u, v) is the *centre* of pixel
(column u, row v). OpenGL cameras look down -Z with +Y up, and a rasterizer samples pixel
(column i, window row j) at window coordinates (i + 0.5, j + 0.5) with window rows counted from the
bottom. pyrender's ``IntrinsicsCamera`` maps u to window x = u (no half-pixel term), so every pixel
is sampled half a pixel right/down of its OpenCV centre; :func:`gl_projection_matrix` adds the
half pixel so that a pixel is covered exactly when its OpenCV centre is.
"""
from __future__ import annotations

import numpy as np

#: Maps OpenCV camera coordinates to OpenGL camera coordinates (and back: it is its own inverse).
CV_TO_GL = np.diag([1.0, -1.0, -1.0, 1.0])


def gl_camera_pose(T_w2c: np.ndarray) -> np.ndarray:
    """Camera-to-world pose in pyrender's OpenGL convention from an OpenCV world->camera ``T_w2c``."""
    T_w2c = np.asarray(T_w2c, dtype=np.float64)
    return np.linalg.inv(T_w2c) @ CV_TO_GL


def gl_projection_matrix(K: np.ndarray, width: int, height: int, znear: float, zfar: float) -> np.ndarray:
    """4x4 OpenGL projection matrix for OpenCV intrinsics ``K`` on a ``width`` x ``height`` viewport.

    A point at OpenCV pixel (u, v) lands at window coordinates (u + 0.5, height - v - 0.5), so the
    rasterizer's sample at the centre of pixel (column i, image row r) is K-coordinate (i, r).
    The depth rows are the standard ones (NDC z = -1 at ``znear``, +1 at ``zfar``, metres), which is
    what pyrender's depth read-back linearizes. ``K[0, 1]`` (skew) is honoured.
    """
    K = np.asarray(K, dtype=np.float64)
    fx, s, cx = K[0, 0], K[0, 1], K[0, 2]
    fy, cy = K[1, 1], K[1, 2]
    w, h, n, f = float(width), float(height), float(znear), float(zfar)
    P = np.zeros((4, 4))
    # Derived from ndc_x = 2 (u + 0.5) / w - 1 and ndc_y = 1 - 2 (v + 0.5) / h with OpenGL eye
    # coordinates (X, Y, Z) = (x, -y, -z) and clip w = -Z.
    P[0, 0] = 2.0 * fx / w
    P[0, 1] = -2.0 * s / w
    P[0, 2] = 1.0 - 2.0 * (cx + 0.5) / w
    P[1, 1] = 2.0 * fy / h
    P[1, 2] = 2.0 * (cy + 0.5) / h - 1.0
    P[2, 2] = (f + n) / (n - f)
    P[2, 3] = 2.0 * f * n / (n - f)
    P[3, 2] = -1.0
    return P
