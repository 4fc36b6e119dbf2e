"""Sensor noise models against their published formulas, on analytic depth images and flat patches.

Pure numpy: no rendering. Presets are read from configs/sensors/ by the config loader, as a
scene's ``sensor=<name>`` reads them.
"""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from synthgen.config.errors import FieldValueError
from synthgen.sensors.apply import apply_sensor, sensor_rng
from synthgen.config import load_scene_config
from synthgen.config.sensor_noise import DepthNoiseConfig, RgbNoiseConfig
from synthgen.sensors.depth import apply_depth_noise, incidence_angle
from synthgen.sensors.rgb import (apply_rgb_noise, jpeg_roundtrip, linear_to_srgb, srgb_to_linear)
from synthgen.writers.bop import save_rgb

PRESET_DIR = Path(__file__).resolve().parents[1] / "configs" / "sensors"
SCENE = PRESET_DIR.parents[1] / "scenes" / "kitchen.yaml"
PRESETS = ["ideal", "kinect_v1", "realsense_d435", "azure_kinect_nfov", "zed2"]


def preset(name):
    """(SensorConfig, its depth noise, its RGB noise) of preset ``name``, through the loader."""
    s = load_scene_config(SCENE, [f"sensor={name}"]).sensor
    return s, s.depth_noise, s.rgb_noise


def K_of(s) -> np.ndarray:
    return np.array([[s.fx, 0.0, s.cx], [0.0, s.fy, s.cy], [0.0, 0.0, 1.0]])


def wall(s, z: float) -> np.ndarray:
    """A flat wall facing the camera at distance z: depth = z everywhere (metres)."""
    return np.full((s.height, s.width), z, dtype=np.float32)


def ray_angle(s) -> np.ndarray:
    """Angle between each pixel's ray and the optical axis: a fronto-parallel wall's theta."""
    u = (np.arange(s.width) - s.cx) / s.fx
    v = (np.arange(s.height) - s.cy) / s.fy
    return np.arccos(1.0 / np.sqrt(1.0 + u[None, :] ** 2 + v[:, None] ** 2))


def depth_error_std(s, dn, z, seed=0):
    out = apply_depth_noise(wall(s, z), K_of(s), dn, np.random.default_rng(seed), depth_min=s.depth_min,
                            depth_max=s.depth_max, depth_unit=s.depth_unit)
    valid = out > 0
    assert valid.mean() > 0.9  # a fronto-parallel wall is nearly all valid
    err = out[valid].astype(np.float64) - z
    return err, valid


# --- depth -------------------------------------------------------------------------------


@pytest.mark.parametrize("z", [1.0, 2.0, 3.0])
def test_kinect_wall_noise_matches_nguyen_formula(z):
    s, dn, _ = preset("kinect_v1")
    theta = ray_angle(s)
    sigma = (0.0012 + 0.0019 * (z - 0.4) ** 2
             + 0.0001 / math.sqrt(z) * theta ** 2 / (math.pi / 2 - theta) ** 2)
    # Disparity quantization to 1/8 px and the 1 mm unit each add step^2 / 12 of variance.
    step_z = z * z / (s.fx * dn.baseline_m) * dn.disparity_step_px
    expected = math.sqrt(np.mean(sigma ** 2) + step_z ** 2 / 12 + s.depth_unit ** 2 / 12)
    err, _ = depth_error_std(s, dn, z)
    assert err.std() == pytest.approx(expected, rel=0.15)
    assert abs(err.mean()) < 0.1 * expected
    # Without quantization the error is the formula alone.
    err, _ = depth_error_std(s, dataclasses.replace(dn, disparity_step_px=0.0), z)
    assert err.std() == pytest.approx(math.sqrt(np.mean(sigma ** 2) + s.depth_unit ** 2 / 12), rel=0.05)


def test_kinect_disparity_is_quantized_to_eighth_pixels():
    s, dn, _ = preset("kinect_v1")
    out = apply_depth_noise(wall(s, 2.0), K_of(s), dataclasses.replace(dn, model="none"),
                            np.random.default_rng(0))
    disp = s.fx * dn.baseline_m / out[out > 0].astype(np.float64) / dn.disparity_step_px
    assert np.abs(disp - np.rint(disp)).max() < 1e-3
    # 2 m lies between two disparity levels: exactly the two nearest depths appear (no noise).
    assert len(np.unique(out[out > 0])) <= 2


@pytest.mark.parametrize("name", ["kinect_v1", "azure_kinect_nfov"])
def test_box_in_front_of_wall_zeroes_its_silhouette_only(name):
    s, dn, _ = preset(name)
    top, bottom, left, right = 140, 340, 220, 420
    depth = wall(s, 2.0)
    depth[top:bottom, left:right] = 1.0
    out = apply_depth_noise(depth, K_of(s), dn, np.random.default_rng(3), depth_min=s.depth_min,
                            depth_max=s.depth_max, depth_unit=s.depth_unit)
    invalid = out == 0
    rows, cols = slice(top + 5, bottom - 5), slice(left + 5, right - 5)
    # every row crossing the box has a zero within 3 px of its left and right edges
    for edge in (left, right):
        assert invalid[rows, edge - 3:edge + 3].any(axis=1).all()
    for edge in (top, bottom):
        assert invalid[edge - 3:edge + 3, cols].any(axis=0).all()
    assert invalid[top + 5:bottom - 5, left + 5:right - 5].mean() < 0.01  # box interior
    far = np.ones_like(invalid)
    far[top - 30:bottom + 30, left - 30:right + 30] = False
    assert invalid[far].mean() < 0.01                                      # wall interior
    if dn.occlusion_shadow:
        # structured light: the projector (b = 7.5 cm to the right) cannot light a band left of the
        # box as wide as the disparity step f b (1/1 m - 1/2 m) = 19.7 px; nothing on the right
        band = s.fx * dn.baseline_m * (1 / 1.0 - 1 / 2.0)
        assert invalid[rows, left - int(band) + 3:left - 3].mean() > 0.95
        assert invalid[rows, right + 5:right + 25].mean() < 0.01


def test_incidence_angle_of_a_tilted_plane():
    s, _, _ = preset("kinect_v1")
    # plane n . P = -c with n tilted 50 deg about the x axis (facing the camera)
    a = math.radians(50)
    n = np.array([0.0, math.sin(a), -math.cos(a)])
    u = (np.arange(s.width) - s.cx) / s.fx
    v = (np.arange(s.height) - s.cy) / s.fy
    ndotr = n[0] * u[None, :] + n[1] * v[:, None] + n[2]
    depth = (-1.5 / ndotr).astype(np.float32)
    expected = np.arccos(np.abs(ndotr) / np.sqrt(1 + u[None, :] ** 2 + v[:, None] ** 2))
    theta = incidence_angle(depth, K_of(s))
    assert np.abs(theta - expected)[2:-2, 2:-2].max() < 0.01
    assert expected[240, 320] == pytest.approx(a, abs=0.01)


def test_d435_rms_at_2m_matches_intel_formula():
    s, dn, _ = preset("realsense_d435")
    rms = 2.0 ** 2 * dn.subpixel / (s.fx * dn.baseline_m)  # Z^2 s / (f B), metres
    assert rms == pytest.approx(2000.0 ** 2 * 0.08 / (446.8 * 50.0) / 1000.0)  # 14.3 mm
    assert rms < 0.02 * 2.0  # Intel quotes < 2 % at 2 m
    err, valid = depth_error_std(s, dn, 2.0)
    assert err.std() == pytest.approx(math.sqrt(rms ** 2 + s.depth_unit ** 2 / 12), rel=0.05)
    # the left image border band of a stereo pair: the right imager does not see f B / z px there
    band = s.fx * dn.baseline_m / 2.0
    assert not valid[:, :int(band) - 1].any() and valid[:, int(band) + 2:].mean() > 0.99


@pytest.mark.parametrize("z", [1.0, 2.0, 3.5])
def test_azure_sigma_matches_tof_formula(z):
    s, dn, _ = preset("azure_kinect_nfov")
    sigma = 0.0005 + 0.001 * max(z - 0.5, 0.0)
    assert sigma <= 0.017  # Microsoft: random error std <= 17 mm
    err, _ = depth_error_std(s, dn, z)
    assert err.std() == pytest.approx(math.sqrt(sigma ** 2 + s.depth_unit ** 2 / 12), rel=0.05)


def test_depth_outside_range_is_zeroed():
    s, dn, _ = preset("kinect_v1")
    depth = wall(s, 2.0)
    depth[:, :100] = 0.5    # nearer than depth_min 0.8 m
    depth[:, -100:] = 6.0   # beyond depth_max 4 m
    out = apply_depth_noise(depth, K_of(s), dn, np.random.default_rng(0), depth_min=s.depth_min,
                            depth_max=s.depth_max, depth_unit=s.depth_unit)
    assert not out[:, :95].any() and not out[:, -95:].any()
    assert (out[:, 130:-130] > 0).mean() > 0.99
    mm = out[out > 0].astype(np.float64) * 1000.0
    assert np.abs(mm - np.rint(mm)).max() < 1e-3  # whole millimetres (the depth unit)


# --- rgb ---------------------------------------------------------------------------------


def test_rgb_noise_variance_follows_poisson_gaussian_model():
    shot, read = 0.004, 2e-4
    params = RgbNoiseConfig(shot=[shot, shot], read=[read, read])
    levels = np.array([0.1, 0.2, 0.3, 0.45, 0.6])
    codes = linear_to_srgb(levels.astype(np.float32))
    img = np.repeat(np.repeat(codes[None, :, None], 300, axis=0), 120, axis=1)
    img = np.repeat(img, 3, axis=2).astype(np.uint8)  # 300 x 600, five flat grey strips
    out = srgb_to_linear(apply_rgb_noise(img, params, np.random.default_rng(0))).astype(np.float64)
    strips = out.reshape(300, 5, 120, 3).transpose(1, 0, 2, 3).reshape(5, -1)
    mean, var = strips.mean(axis=1), strips.var(axis=1)
    assert np.allclose(mean, srgb_to_linear(codes), atol=2e-3)  # zero-mean noise, no clipping
    slope, intercept = np.polyfit(mean, var, 1)
    assert slope == pytest.approx(shot, rel=0.15)
    assert intercept == pytest.approx(read, rel=0.2)
    assert np.all(np.diff(var) > 0)  # variance grows with intensity


def test_rgb_round_trip_is_exact_and_jpeg_matches_the_writer(tmp_path):
    codes = np.arange(256, dtype=np.uint8)
    assert np.array_equal(linear_to_srgb(srgb_to_linear(codes)), codes)
    rng = np.random.default_rng(0)
    img = (rng.random((48, 64, 3)) * 255).astype(np.uint8)
    save_rgb(tmp_path / "a.jpg", img, jpeg_quality=90)
    assert np.array_equal(jpeg_roundtrip(img, 90), np.asarray(Image.open(tmp_path / "a.jpg")))
    out = apply_rgb_noise(img, RgbNoiseConfig(jpeg_quality=90), rng)
    assert np.array_equal(out, jpeg_roundtrip(img, 90)) and not np.array_equal(out, img)


def test_motion_blur_spreads_along_the_motion_only():
    img = np.zeros((41, 41, 3), dtype=np.uint8)
    img[20, 20] = 255
    out = srgb_to_linear(apply_rgb_noise(img, RgbNoiseConfig(), np.random.default_rng(0),
                                         motion_px=(6.0, 0.0)))[..., 0]
    lit = np.argwhere(out > 0)
    assert set(lit[:, 0]) == {20}                         # no vertical spread
    assert 6 <= lit[:, 1].max() - lit[:, 1].min() + 1 <= 8   # 6 px long, bilinear ends
    assert out.sum() == pytest.approx(1.0, rel=0.02)    # energy kept (in linear light)


def test_vignetting_darkens_the_corners_by_k1():
    params = RgbNoiseConfig(vignetting="poly", vignetting_k1=[-0.3, -0.3])
    img = np.full((48, 64, 3), 200, dtype=np.uint8)
    out = srgb_to_linear(apply_rgb_noise(img, params, np.random.default_rng(0)))
    x = srgb_to_linear(np.uint8(200))
    assert out[24, 32, 0] == pytest.approx(x, rel=0.01)
    assert out[0, 0, 0] == pytest.approx(x * (1 - 0.3 * (31.5 ** 2 + 23.5 ** 2) / (32 ** 2 + 24 ** 2)),
                                         rel=0.01)


# --- the whole stage ---------------------------------------------------------------------


def frame(s, seed=0):
    rng = np.random.default_rng(seed)
    rgb = (rng.random((s.height, s.width, 3)) * 255).astype(np.uint8)
    # a floor-like slope from 1.2 m to 3 m, a box at 0.9 m, no hit in the top rows
    depth = np.repeat(np.linspace(3.0, 1.2, s.height, dtype=np.float32)[:, None], s.width, axis=1)
    depth[s.height // 3:s.height // 2, s.width // 3:s.width // 2] = 0.9
    depth[:10] = 0.0
    return rgb, depth


def test_ideal_is_bit_identical():
    s, dn, rn = preset("ideal")
    assert dn.is_identity and rn.is_identity
    rgb, depth = frame(s)
    rgb_in, depth_in = rgb.copy(), depth.copy()
    out_rgb, out_depth = apply_sensor(rgb, depth, K_of(s), s, np.random.default_rng(0), depth_noise=dn,
                                      rgb_noise=rn)
    assert out_rgb.dtype == np.uint8 and out_depth.dtype == np.float32
    assert np.array_equal(out_rgb, rgb) and np.array_equal(out_depth, depth)
    assert out_rgb is not rgb and out_depth is not depth
    assert np.array_equal(rgb, rgb_in) and np.array_equal(depth, depth_in)


@pytest.mark.parametrize("name", PRESETS[1:])
def test_same_seed_same_noise_different_seed_different(name):
    s, dn, rn = preset(name)
    rgb, depth = frame(s)
    rgb_in, depth_in = rgb.copy(), depth.copy()

    def run(seed):
        return apply_sensor(rgb, depth, K_of(s), s, np.random.default_rng(seed), depth_noise=dn,
                            rgb_noise=rn)

    a, b, c = run(7), run(7), run(8)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0]) and not np.array_equal(a[1], c[1])
    assert not np.array_equal(a[0], rgb) and not np.array_equal(a[1], depth)
    assert np.array_equal(rgb, rgb_in) and np.array_equal(depth, depth_in)  # inputs untouched
    r1, r2 = sensor_rng(5, 3, 1), sensor_rng(5, 3, 1)
    assert r1.random() == r2.random() != sensor_rng(5, 3, 2).random()


EXPECTED_MODEL = {"ideal": "none", "kinect_v1": "structured_light", "realsense_d435": "stereo",
                  "azure_kinect_nfov": "tof", "zed2": "stereo"}


@pytest.mark.parametrize("name", PRESETS)
def test_presets_load_with_values_in_range(name):
    s, dn, rn = preset(name)
    assert isinstance(dn, DepthNoiseConfig) and isinstance(rn, RgbNoiseConfig)
    assert s.name == name and dn.model == EXPECTED_MODEL[name]
    assert dn.is_identity == rn.is_identity == (name == "ideal")
    if name != "ideal":
        assert rn.jpeg_quality == 95 and rn.shot == [1e-4, 0.012]  # sensors.md values
        assert 0 < dn.grazing_angle_deg < 90
    # the constructors ran the range checks; a bad value is reported with its key
    with pytest.raises(FieldValueError) as err:
        dataclasses.replace(dn, dropout=1.5)
    assert str(err.value) == "dropout: expected a probability in [0, 1], found 1.5"


def test_invalid_parameters_are_rejected():
    with pytest.raises(FieldValueError, match="^model: expected 'none' or 'structured_light'"):
        DepthNoiseConfig(model="lidar")
    with pytest.raises(FieldValueError, match="^baseline_m: expected a non-zero baseline"):
        DepthNoiseConfig(model="stereo", subpixel=0.1)
    with pytest.raises(FieldValueError, match=r"^shot: expected low <= high, found \[0.1, 0.01\]"):
        RgbNoiseConfig(shot=[0.1, 0.01])
    with pytest.raises(FieldValueError, match="^jpeg_quality"):
        RgbNoiseConfig(jpeg_quality=101)
