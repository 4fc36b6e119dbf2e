"""Camera noise on a rendered sRGB uint8 image (pure numpy / scipy.ndimage / Pillow).

The image is converted to linear intensity in [0, 1] (IEC 61966-2-1 sRGB transfer function),
degraded in the order a camera does it (optics, exposure, sensor noise, ISP colour), encoded back
to sRGB uint8 and optionally JPEG-compressed with Pillow, exactly as ``synthgen.writers.bop.save_rgb``
writes a ``.jpg``. The parameters are documented on ``RgbNoiseConfig``.
"""
from __future__ import annotations

import functools
import io
import math

import numpy as np
from PIL import Image
from scipy import ndimage

from ..config.sensor_noise import RgbNoiseConfig
from .sampling import standard_normal

# Rec. 709 / sRGB luminance weights on linear RGB (saturation jitter keeps luminance).
_LUMA = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)
# linear -> sRGB goes through a table indexed by round(x * _LIN_LEVELS): fine enough that the
# round trip uint8 -> linear -> uint8 is exact (the smallest linear step between sRGB codes,
# 1 / 255 / 12.92, is about 20 table steps).
_LIN_LEVELS = 65535


def _srgb_encode(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055)


@functools.cache
def _decode_table() -> np.ndarray:
    v = np.arange(256, dtype=np.float64) / 255.0
    lin = np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)
    lin = lin.astype(np.float32)
    lin.setflags(write=False)
    return lin


@functools.cache
def _encode_table() -> np.ndarray:
    x = np.arange(_LIN_LEVELS + 1, dtype=np.float64) / _LIN_LEVELS
    t = np.rint(_srgb_encode(x) * 255.0).astype(np.uint8)
    t.setflags(write=False)
    return t


def srgb_to_linear(rgb_u8: np.ndarray) -> np.ndarray:
    """Linear intensity in [0, 1] (float32) of sRGB uint8 values."""
    return _decode_table()[np.asarray(rgb_u8, dtype=np.uint8)]


def linear_to_srgb(x: np.ndarray) -> np.ndarray:
    """sRGB uint8 of linear intensities (clipped to [0, 1]); exact inverse of ``srgb_to_linear``
    on its outputs."""
    idx = np.rint(np.clip(x, 0.0, 1.0) * np.float32(_LIN_LEVELS)).astype(np.int32)
    return _encode_table()[idx]


def motion_kernel(length_px: float, angle_rad: float) -> np.ndarray:
    """Normalised 2-D kernel of a linear motion of ``length_px`` pixels at ``angle_rad`` (from +x
    towards +y, image axes): a box along the segment, splatted bilinearly onto the pixel grid."""
    r = int(math.ceil(length_px / 2)) + 1
    k = np.zeros((2 * r + 1, 2 * r + 1), dtype=np.float64)
    n = max(2, int(math.ceil(length_px * 4)) + 1)
    t = np.linspace(-length_px / 2, length_px / 2, n)
    xs = r + t * math.cos(angle_rad)
    ys = r + t * math.sin(angle_rad)
    x0 = np.floor(xs).astype(int)
    y0 = np.floor(ys).astype(int)
    fx = xs - x0
    fy = ys - y0
    for dx, dy, wgt in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy),
                        (1, 1, fx * fy)):
        np.add.at(k, (y0 + dy, x0 + dx), wgt)
    return _trim(k / k.sum())


def disc_kernel(radius_px: float) -> np.ndarray:
    """Normalised 2-D disc (defocus, thin-lens circle of confusion) of ``radius_px`` pixels;
    each pixel weighted by the disc's coverage of it (8x8 supersampling)."""
    r = int(math.ceil(radius_px))
    sub = (np.arange(8) + 0.5) / 8 - 0.5
    c = np.arange(-r, r + 1)
    xx = (c[None, :, None, None] + sub[None, None, None, :])
    yy = (c[:, None, None, None] + sub[None, None, :, None])
    k = ((xx * xx + yy * yy) <= radius_px * radius_px).mean(axis=(2, 3))
    if k.sum() == 0:
        k[r, r] = 1.0
    return _trim(k / k.sum())


def _trim(k: np.ndarray) -> np.ndarray:
    rows = np.nonzero(k.any(axis=1))[0]
    cols = np.nonzero(k.any(axis=0))[0]
    # keep the kernel centred: trim the same amount from both sides
    tr = min(rows[0], k.shape[0] - 1 - rows[-1])
    tc = min(cols[0], k.shape[1] - 1 - cols[-1])
    return k[tr:k.shape[0] - tr, tc:k.shape[1] - tc]


def _draw(rng: np.random.Generator, r: list[float], log: bool = False) -> float:
    # Always one draw per range, so switching one effect on does not change the others' values.
    u = rng.random()
    lo, hi = float(r[0]), float(r[1])
    if log and lo > 0:
        return math.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))
    return lo + u * (hi - lo)


def _blur(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    # scipy.ndimage skips zero weights, so a sparse line kernel costs its non-zero taps only.
    return ndimage.correlate(x, kernel[::-1, ::-1, None].astype(np.float32), mode="reflect")


def jpeg_roundtrip(rgb_u8: np.ndarray, quality: int) -> np.ndarray:
    """The uint8 image after JPEG encoding at ``quality`` and decoding, with Pillow's defaults
    (those of ``synthgen.writers.bop.save_rgb``)."""
    buf = io.BytesIO()
    Image.fromarray(rgb_u8).save(buf, format="JPEG", quality=int(quality))
    buf.seek(0)
    with Image.open(buf) as im:
        return np.asarray(im.convert("RGB"))


def apply_rgb_noise(rgb_u8: np.ndarray, params: RgbNoiseConfig, rng: np.random.Generator, *,
                    K: np.ndarray | None = None,
                    motion_px: tuple[float, float] | None = None) -> np.ndarray:
    """The image the camera delivers for the rendered sRGB image ``rgb_u8`` (HxWx3 uint8).

    ``K`` (3x3, pixels) sets the principal point for vignetting (default: the image centre) and
    is required for ``vignetting: cos4``. ``motion_px`` = (dx, dy), the image-space motion in
    pixels during the exposure when the caller knows it; it replaces the random motion-blur draw.
    All randomness comes from ``rng``: per image, 11 scalars are drawn in a fixed order, then the
    per-pixel noise. Returns a new HxWx3 uint8 array; with every effect off, an exact copy.
    """
    img = np.asarray(rgb_u8)
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"rgb_u8: expected an HxWx3 uint8 array, got {img.dtype} {img.shape}")
    if params.is_identity and motion_px is None:
        return img.copy()
    if params.vignetting == "cos4" and K is None:
        raise ValueError("vignetting 'cos4' needs the intrinsics K")
    h, w, _ = img.shape

    blur_len = _draw(rng, params.motion_blur_px)
    blur_angle = _draw(rng, [0.0, 2 * math.pi])
    defocus = _draw(rng, params.defocus_px)
    k1 = _draw(rng, params.vignetting_k1)
    k2 = _draw(rng, params.vignetting_k2)
    ev = _draw(rng, params.exposure_ev)
    shot = _draw(rng, params.shot, log=True)
    read = _draw(rng, params.read, log=True)
    wb_r = _draw(rng, params.white_balance)
    wb_b = _draw(rng, params.white_balance)
    sat = _draw(rng, params.saturation)
    if motion_px is not None:
        blur_len = math.hypot(*motion_px)
        blur_angle = math.atan2(motion_px[1], motion_px[0])

    x = srgb_to_linear(img)

    # Optics: one convolution with the motion and defocus kernels combined.
    kernel = None
    if blur_len > 0.05:
        kernel = motion_kernel(blur_len, blur_angle)
    if defocus >= 0.5:
        disc = disc_kernel(defocus)
        kernel = disc if kernel is None else ndimage.convolve(
            np.pad(kernel, [(disc.shape[0] // 2,) * 2, (disc.shape[1] // 2,) * 2]), disc,
            mode="constant")
    if kernel is not None and kernel.size > 1:
        x = _blur(x, kernel)

    # Vignetting and exposure: one gain map on linear intensity.
    gain = np.float32(2.0 ** ev)
    if params.vignetting != "none":
        cx, cy = ((K[0, 2], K[1, 2]) if K is not None else ((w - 1) / 2, (h - 1) / 2))
        u = np.arange(w, dtype=np.float32)[None, :] - np.float32(cx)
        v = np.arange(h, dtype=np.float32)[:, None] - np.float32(cy)
        if params.vignetting == "poly":
            r2 = (u * u + v * v) / np.float32((w * w + h * h) / 4.0)
            gain = gain * (1.0 + k1 * r2 + k2 * r2 * r2)
        else:
            r2 = (u / np.float32(K[0, 0])) ** 2 + (v / np.float32(K[1, 1])) ** 2
            gain = gain / (1.0 + r2) ** 2  # cos^4 of the ray angle
        gain = np.asarray(gain, dtype=np.float32)[:, :, None]
    if np.ndim(gain) or gain != 1.0:
        x *= gain  # x is this function's own array from here on

    # Sensor: Poisson-Gaussian noise, variance shot * x + read (Brooks et al. 2019), then clipping
    # at the sensor's full scale.
    if shot > 0 or read > 0:
        noise = x * np.float32(shot)  # x >= 0 here: blur kernels and gains are non-negative
        noise += np.float32(read)
        np.sqrt(noise, out=noise)
        noise *= standard_normal(rng, x.shape)
        x += noise
        np.clip(x, 0.0, 1.0, out=x)

    # ISP colour: white-balance gains, then saturation about the luminance.
    if wb_r != 1.0 or wb_b != 1.0 or sat != 1.0:
        m = np.diag([wb_r, 1.0, wb_b]).astype(np.float32)
        m = (sat * np.eye(3, dtype=np.float32) + (1 - sat) * np.outer(np.ones(3), _LUMA)) @ m
        x = x @ m.T.astype(np.float32)

    out = linear_to_srgb(x)
    if params.jpeg_quality > 0:
        out = jpeg_roundtrip(out, params.jpeg_quality)
    return out
