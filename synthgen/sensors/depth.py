"""Depth sensor noise on a rendered clean Z-depth image (pure numpy).

Input and output are float32 metric Z-depth in metres along the OpenCV camera's z axis
(x right, y down, z forward), 0 = no measurement; the caller keeps the clean depth as ground
truth. ``K`` is the 3x3 intrinsic matrix of the image the depth belongs to, pixels with (0, 0)
the centre of the top-left pixel. Pixel-valued parameters (lateral shift, disparity step) are in
pixels of that image, and disparities use its ``fx``: a sensor run at a lower resolution has a
smaller focal length in pixels and a proportionally larger depth error, as the real device does.
The model parameters are documented on ``DepthNoiseConfig``.
"""
from __future__ import annotations

import math

import numpy as np

from ..config.sensor_noise import DepthNoiseConfig
from .sampling import standard_normal

# theta is clamped this far below 90 deg so the structured-light angle term stays finite
_MAX_THETA = math.pi / 2 - 1e-3


def _robust_derivative(d: np.ndarray, axis: int) -> np.ndarray:
    """Derivative of ``d`` along ``axis`` (1 = u, 0 = v) per pixel: of the backward and forward
    differences, the one with the smaller magnitude, so a pixel beside a depth edge or a hole
    takes its own surface's slope rather than the jump's."""
    dt = d if axis == 1 else d.T
    out = np.zeros_like(dt)
    if dt.shape[1] >= 2:
        diff = np.diff(dt, axis=1)
        mag = np.abs(diff)
        out[:, 0] = diff[:, 0]
        out[:, -1] = diff[:, -1]
        out[:, 1:-1] = diff[:, :-1]
        np.copyto(out[:, 1:-1], diff[:, 1:], where=mag[:, 1:] < mag[:, :-1])
    return out if axis == 1 else out.T


def incidence_angle(depth_m: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Angle (radians, float32) between the surface normal and the camera ray at each pixel.

    The normal is the cross product of the back-projected surface's derivatives along u and v
    (per pixel the smaller one-sided difference, so pixels at depth edges keep their own
    surface's normal). With x = (u - cx) / fx, y = (v - cy) / fy, a = fx dz/du, b = fy dz/dv it
    simplifies to n ~ (-a, -b, a x + b y + z), with n . (x, y, 1) = z, so
    cos(theta) = z / (|n| |(x, y, 1)|). Pixels without depth get 0.
    """
    d = np.asarray(depth_m, dtype=np.float32)
    h, w = d.shape
    fx, fy, cx, cy = float(K[0, 0]), float(K[1, 1]), float(K[0, 2]), float(K[1, 2])
    x = ((np.arange(w, dtype=np.float32) - np.float32(cx)) / np.float32(fx))[None, :]
    y = ((np.arange(h, dtype=np.float32) - np.float32(cy)) / np.float32(fy))[:, None]
    a = _robust_derivative(d, 1)
    a *= np.float32(fx)
    b = _robust_derivative(d, 0)
    b *= np.float32(fy)
    # In place, one array at a time: at 640x480 the allocations cost more than the arithmetic.
    nz = a * x
    nz += b * y
    nz += d
    nz *= nz
    a *= a
    b *= b
    nz += a
    nz += b
    nz *= x * x + y * y + np.float32(1.0)          # |n|^2 |r|^2
    cos2 = np.ones_like(d)                         # holes (z = 0) get cos = 1, theta = 0
    np.divide(d * d, nz, out=cos2, where=d > 0)
    np.minimum(cos2, np.float32(1.0), out=cos2)
    np.sqrt(cos2, out=cos2)
    return np.arccos(cos2, out=cos2)


def axial_sigma(z: np.ndarray | float, theta: np.ndarray | float, params: DepthNoiseConfig,
                fx: float) -> np.ndarray:
    """The model's axial noise standard deviation in metres at depth ``z`` (metres) and incidence
    angle ``theta`` (radians); ``fx`` in pixels (the stereo model's focal length)."""
    z = np.asarray(z, dtype=np.float32)
    if params.model == "structured_light":
        t = np.minimum(np.asarray(theta, dtype=np.float32), _MAX_THETA)
        with np.errstate(divide="ignore", invalid="ignore"):
            angle = params.sigma_angle / np.sqrt(z) * t * t / (math.pi / 2 - t) ** 2
        return params.sigma_a + params.sigma_b * (z - params.sigma_z0) ** 2 + angle
    if params.model == "tof":
        return params.sigma_a + params.sigma_b * np.maximum(z - params.sigma_z0, 0.0)
    if params.model == "stereo":
        return z * z * params.subpixel / (fx * abs(params.baseline_m))
    return np.zeros_like(z)


def lateral_sigma(theta: np.ndarray, params: DepthNoiseConfig) -> np.ndarray:
    """Lateral shift standard deviation in pixels at incidence angle ``theta`` (radians), with
    theta capped at the grazing-angle threshold (pixels beyond it are invalid anyway; the cap
    keeps their shifts from scattering depths far across the image)."""
    t = np.minimum(theta, min(_MAX_THETA, math.radians(params.grazing_angle_deg)))
    return params.lateral_a + params.lateral_b * t / (math.pi / 2 - t)


def occlusion_shadow(depth_m: np.ndarray, fx: float, baseline_m: float, *,
                     out_of_view: bool = False) -> np.ndarray:
    """Pixels (bool) that the second view of a rig (projector or second camera at x =
    ``baseline_m`` metres in the camera frame) cannot see, though the camera sees them.

    A pixel at column u with depth z appears in the second view at column u - fx b / z (b > 0).
    Along a row, it is hidden when a pixel to its right lands at or left of that column: it is
    behind a nearer surface, in the band of width (disparity difference) beside a near object's
    left edge. ``out_of_view`` also flags pixels that land outside the second view's image (the
    invalid band along the left border of a stereo pair's depth). Pixels without depth cast no
    shadow and are never flagged. ``b < 0`` mirrors everything.
    """
    d = np.asarray(depth_m, dtype=np.float32)
    flip = baseline_m < 0
    if flip:
        d = d[:, ::-1]
    h, w = d.shape
    valid = d > 0
    with np.errstate(divide="ignore"):
        disp = np.float32(fx * abs(baseline_m)) / d
    xp = np.where(valid, np.arange(w, dtype=np.float32)[None, :] - disp, np.float32(np.inf))
    # minimum of xp over the columns strictly to the right of each pixel
    right_min = np.full_like(xp, np.inf)
    right_min[:, :-1] = np.minimum.accumulate(xp[:, :0:-1], axis=1)[:, ::-1]
    hidden = valid & (xp >= right_min)
    if out_of_view:
        hidden |= valid & (xp < -0.5)
    return hidden[:, ::-1] if flip else hidden


def discontinuities(depth_m: np.ndarray, threshold_m: float, window: int = 3) -> np.ndarray:
    """Pixels (bool) with depth whose ``window`` x ``window`` neighbourhood's valid depths span more
    than ``threshold_m`` metres (depth edges; ToF flying pixels). Holes (0) do not count."""
    d = np.asarray(depth_m, dtype=np.float32)
    valid = d > 0
    hi = _window_extreme(d, window, np.maximum)
    lo = _window_extreme(np.where(valid, d, np.float32(np.inf)), window, np.minimum)
    return valid & (hi - lo > threshold_m)


def _window_extreme(a: np.ndarray, window: int, op: np.ufunc) -> np.ndarray:
    """``op`` (np.maximum or np.minimum) over a ``window`` x ``window`` square, edges replicated;
    separable, as scipy.ndimage.maximum_filter, but in a few whole-array numpy passes."""
    r = window // 2
    h, w = a.shape
    p = np.pad(a, r, mode="edge")
    rows = p[:, 0:w].copy()
    for k in range(1, window):
        op(rows, p[:, k:k + w], out=rows)
    out = rows[0:h].copy()
    for k in range(1, window):
        op(out, rows[k:k + h], out=out)
    return out


def quantize_disparity(depth_m: np.ndarray, fx: float, baseline_m: float, step_px: float) -> np.ndarray:
    """Depth (metres, float32) after rounding the disparity fx b / z to a multiple of ``step_px``;
    depths whose disparity rounds to 0 become 0 (beyond the sensor's reach)."""
    d = np.asarray(depth_m, dtype=np.float32)
    fb = np.float32(fx * abs(baseline_m))
    step = np.float32(step_px)
    with np.errstate(divide="ignore", invalid="ignore"):
        disp = np.rint(fb / d / step) * step
        out = np.where((d > 0) & (disp > 0), fb / disp, np.float32(0.0))
    return out.astype(np.float32, copy=False)


def range_and_unit(depth_m: np.ndarray, depth_min: float = 0.0, depth_max: float = math.inf,
                   depth_unit: float = 0.0, *, copy: bool = True) -> np.ndarray:
    """Depth (float32) with values outside [depth_min, depth_max] set to 0 and the rest rounded
    to a multiple of ``depth_unit`` metres (0 = continuous). A new array unless ``copy=False``
    and the input is already float32 (then it is changed in place and returned)."""
    d = np.array(depth_m, dtype=np.float32) if copy else np.asarray(depth_m, dtype=np.float32)
    d[(d < depth_min) | (d > depth_max)] = 0.0
    if depth_unit > 0:
        unit = np.float32(depth_unit)
        d /= unit
        np.rint(d, out=d)
        d *= unit
    return d


def apply_depth_noise(depth_m: np.ndarray, K: np.ndarray, params: DepthNoiseConfig,
                      rng: np.random.Generator, *, depth_min: float = 0.0, depth_max: float = math.inf,
                      depth_unit: float = 0.0) -> np.ndarray:
    """The depth the sensor reports for the clean Z-depth ``depth_m`` (metres, 0 = no hit).

    Steps, each skipped when its parameters are off (see ``DepthNoiseConfig``): incidence angles
    from the clean depth and ``K``; lateral pixel shift (nearest sample, so every depth is a real
    surface's depth); invalidation at discontinuities, grazing angles and occlusion shadows
    (computed on the shifted clean depth: they are geometry, not noise); axial noise; disparity
    quantization; random dropout; then the valid range [depth_min, depth_max] (metres, on the
    noisy depth) and rounding to ``depth_unit`` metres. All randomness comes from ``rng``.
    Returns a new float32 array of the input's shape; the input is not modified.
    """
    clean = np.asarray(depth_m, dtype=np.float32)
    if clean.ndim != 2:
        raise ValueError(f"depth_m: expected an HxW array, got shape {clean.shape}")
    if params.is_identity:
        return range_and_unit(clean, depth_min, depth_max, depth_unit)
    h, w = clean.shape
    fx = float(K[0, 0])
    need_theta = (params.lateral_b > 0 or params.grazing_angle_deg < 90.0
                  or (params.model == "structured_light" and params.sigma_angle > 0))
    theta = incidence_angle(clean, K) if need_theta else None

    d = clean
    if params.lateral_a > 0 or params.lateral_b > 0:
        sig = lateral_sigma(theta, params) if params.lateral_b > 0 else np.float32(params.lateral_a)
        shift = standard_normal(rng, (2, h, w))
        shift *= sig
        shift[0] += np.arange(h, dtype=np.float32)[:, None]
        shift[1] += np.arange(w, dtype=np.float32)[None, :]
        ij = np.rint(shift).astype(np.int32)
        np.clip(ij[0], 0, h - 1, out=ij[0])
        np.clip(ij[1], 0, w - 1, out=ij[1])
        idx = ij[0] * w + ij[1]
        d = np.take(clean, idx)
        if theta is not None:
            theta = np.take(theta, idx)

    valid = d > 0
    invalid = ~valid
    if params.edge_threshold_m > 0:
        invalid |= discontinuities(d, params.edge_threshold_m, params.edge_window)
    if params.grazing_angle_deg < 90.0:
        invalid |= theta > math.radians(params.grazing_angle_deg)
    if params.occlusion_shadow:
        invalid |= occlusion_shadow(d, fx, params.baseline_m, out_of_view=params.model == "stereo")

    if params.model == "stereo":
        # Noise on the disparity, the quantity stereo matching estimates: RMS z^2 s / (f b) in depth.
        fb = np.float32(fx * abs(params.baseline_m))
        with np.errstate(divide="ignore"):
            disp = standard_normal(rng, (h, w))
            disp *= np.float32(params.subpixel)
            disp += fb / d                  # holes: inf, and back to 0 below
            invalid |= disp <= 0
            d = fb / np.where(disp > 0, disp, np.float32(1.0))
    elif params.model != "none":
        noise = standard_normal(rng, (h, w))
        noise *= axial_sigma(d, theta if theta is not None else 0.0, params, fx)
        d = d + noise
    if params.disparity_step_px > 0:
        d = quantize_disparity(d, fx, params.baseline_m, params.disparity_step_px)
    if params.dropout > 0:
        invalid |= rng.random((h, w), dtype=np.float32) < params.dropout
    invalid |= d <= 0
    out = np.where(invalid, np.float32(0.0), d).astype(np.float32, copy=False)  # new array
    return range_and_unit(out, depth_min, depth_max, depth_unit, copy=False)
