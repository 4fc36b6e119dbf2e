"""The sensor stage of the runner: clean render in, what the configured sensor delivers out.

``apply_sensor`` applies the preset's depth model (then its valid range and depth unit) and its
RGB model, each from its own generator derived from the one passed in, so changing one stream's
parameters leaves the other's noise as it was. ``sensor_rng`` gives the per-frame generator the runner should pass.
"""
from __future__ import annotations

import numpy as np

from ..config.sensor_noise import DepthNoiseConfig, RgbNoiseConfig
from .depth import apply_depth_noise
from .rgb import apply_rgb_noise

# spawn-key word that separates the sensor streams from the scene sampler's ("SENS")
_SENSOR_STREAM = 0x53454E53


def sensor_rng(seed: int, scene_index: int, view: int) -> np.random.Generator:
    """The generator for one frame's sensor noise, a function of (seed, scene, view) only, so a
    resumed or re-sharded run draws the same noise for the same frame."""
    return np.random.default_rng(np.random.SeedSequence(entropy=seed,
                                                        spawn_key=(scene_index, _SENSOR_STREAM, view)))


def apply_sensor(rgb: np.ndarray, depth_m: np.ndarray, K: np.ndarray, sensor, rng: np.random.Generator,
                 *, depth_noise: DepthNoiseConfig | None = None, rgb_noise: RgbNoiseConfig | None = None,
                 motion_px: tuple[float, float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(rgb_noisy, depth_noisy)`` for one rendered frame.

    ``rgb``: HxWx3 uint8 sRGB; ``depth_m``: HxW float32 clean Z-depth in metres (0 = no hit), kept
    unchanged by the caller as ground truth; ``K``: the 3x3 intrinsics the frame was rendered with
    (pixels). ``sensor``: a ``SensorConfig`` (``depth_min``, ``depth_max``, ``depth_unit`` in
    metres; its ``depth_noise`` and ``rgb_noise`` fields when present). ``depth_noise`` /
    ``rgb_noise`` override those fields; absent everywhere means no noise. ``motion_px``: the
    image-space motion during the exposure, pixels, if known (see ``apply_rgb_noise``).
    Returns a new uint8 image and a new float32 depth (metres, 0 = invalid).
    """
    dn = depth_noise or getattr(sensor, "depth_noise", None) or DepthNoiseConfig()
    rn = rgb_noise or getattr(sensor, "rgb_noise", None) or RgbNoiseConfig()
    depth_seed, rgb_seed = rng.integers(0, 2**63, size=2)
    depth_out = apply_depth_noise(depth_m, K, dn, np.random.default_rng(depth_seed),
                                  depth_min=sensor.depth_min, depth_max=sensor.depth_max,
                                  depth_unit=sensor.depth_unit)
    rgb_out = apply_rgb_noise(rgb, rn, np.random.default_rng(rgb_seed), K=K, motion_px=motion_px)
    return rgb_out, depth_out
