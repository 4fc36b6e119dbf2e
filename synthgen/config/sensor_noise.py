"""Parameters of the sensor noise models: ``DepthNoiseConfig`` and ``RgbNoiseConfig``.

They are the ``depth_noise`` and ``rgb_noise`` mappings of a sensor preset
(``configs/sensors/<name>.yaml``). Every default means "no noise", so a preset that leaves a
mapping out is noiseless in that stream. Units: metres, pixels of the image the model is applied
to, linear intensity in [0, 1]. Ranges are ``[low, high]`` pairs drawn once per image from the
generator handed to the noise functions (uniformly, except ``shot`` and ``read``: log-uniformly).

Range checks run in ``__post_init__`` (so direct construction is checked too) and raise
``synthgen.config.errors.FieldValueError(key, expected, found)``, as ``synthgen/config/schema.py``
does, so the config loader reports them with the full key path (``sensor.depth_noise.dropout``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .errors import check, check_range

DEPTH_MODELS = ("none", "structured_light", "tof", "stereo")
VIGNETTING_MODELS = ("none", "poly", "cos4")


_check = check
_check_range = check_range


@dataclass
class DepthNoiseConfig:
    """Depth sensor model applied to the clean metric Z-depth (see ``synthgen.sensors.depth``).

    ``model`` picks the axial (along-the-ray) noise, sigma in metres, z in metres, theta the angle
    between the surface normal and the camera ray:

    - ``none``: no axial noise.
    - ``structured_light`` (Nguyen et al. 2012, Kinect v1):
      ``sigma = sigma_a + sigma_b (z - sigma_z0)^2 + sigma_angle / sqrt(z) * theta^2 / (pi/2 - theta)^2``.
    - ``tof`` (BlenderProc's Azure Kinect model): ``sigma = sigma_a + sigma_b * max(z - sigma_z0, 0)``.
    - ``stereo`` (Intel's D400 subpixel model): Gaussian noise of ``subpixel`` px on the disparity
      ``d = fx * baseline_m / z``, i.e. ``RMS = z^2 * subpixel / (fx * baseline_m)`` to first order.

    The other steps, each off at its default, in the order they run: lateral shift of every pixel
    by N(0, sigma_L) px in x and y with ``sigma_L = lateral_a + lateral_b * theta / (pi/2 - theta)``;
    invalidation (0) where the valid depths in an ``edge_window`` square span more than
    ``edge_threshold_m`` (discontinuities, ToF flying pixels), where theta exceeds
    ``grazing_angle_deg`` and where the second view of a ``baseline_m`` rig is occluded
    (``occlusion_shadow``); the axial noise; quantization of the disparity ``fx * baseline_m / z``
    to ``disparity_step_px``; random invalidation with probability ``dropout``. The sensor's
    valid range and depth unit (``SensorConfig``) are applied last.
    """

    # Axial noise model: 'none', 'structured_light', 'tof' or 'stereo' (formulas above).
    model: str = "none"
    # Constant term of the axial sigma, metres.
    sigma_a: float = 0.0
    # Distance term: metres per metre (tof) or per metre^2 (structured_light).
    sigma_b: float = 0.0
    # Distance where the distance term starts, metres.
    sigma_z0: float = 0.0
    # Structured-light angle term, metres * sqrt(metre).
    sigma_angle: float = 0.0
    # Stereo: disparity noise RMS (subpixel accuracy), pixels.
    subpixel: float = 0.0
    # Projector / second camera position x in the depth camera's frame, metres, signed (> 0: to
    # its right, so occlusion shadows fall on the left of near objects); used by 'stereo',
    # disparity_step_px and occlusion_shadow.
    baseline_m: float = 0.0
    # Lateral shift sigma_L = lateral_a + lateral_b * theta / (pi/2 - theta), pixels.
    lateral_a: float = 0.0
    # See lateral_a, pixels.
    lateral_b: float = 0.0
    # Disparity quantization step, pixels (0 = none).
    disparity_step_px: float = 0.0
    # Zero pixels whose edge_window square of valid depths spans more than this, metres (0 = off).
    edge_threshold_m: float = 0.0
    # Side of that square, pixels (odd).
    edge_window: int = 3
    # Zero pixels whose incidence angle exceeds this, degrees (90 = off).
    grazing_angle_deg: float = 90.0
    # Zero pixels the projector / second camera cannot see (needs baseline_m).
    occlusion_shadow: bool = False
    # Probability that a pixel is zeroed at random.
    dropout: float = 0.0

    def __post_init__(self) -> None:
        _check(self.model in DEPTH_MODELS, "model", " or ".join(f"'{m}'" for m in DEPTH_MODELS), self.model)
        for k in ("sigma_a", "sigma_b", "sigma_z0", "sigma_angle", "subpixel", "lateral_a", "lateral_b",
                  "disparity_step_px", "edge_threshold_m"):
            v = getattr(self, k)
            _check(0.0 <= v <= 100.0, k, "a value in [0, 100]", v)
        _check(abs(self.baseline_m) <= 10.0, "baseline_m", "metres in [-10, 10]", self.baseline_m)
        _check(self.edge_window in (3, 5, 7, 9, 11), "edge_window", "an odd integer in [3, 11]",
               self.edge_window)
        _check(0.0 < self.grazing_angle_deg <= 90.0, "grazing_angle_deg", "degrees in (0, 90]",
               self.grazing_angle_deg)
        _check(0.0 <= self.dropout <= 1.0, "dropout", "a probability in [0, 1]", self.dropout)
        needs_baseline = (self.model == "stereo" or self.disparity_step_px > 0 or self.occlusion_shadow)
        _check(not needs_baseline or self.baseline_m != 0.0, "baseline_m",
               "a non-zero baseline (the stereo model, disparity_step_px and occlusion_shadow use it)",
               self.baseline_m)
        _check(self.model != "stereo" or self.subpixel > 0, "subpixel",
               "a positive disparity RMS in pixels for model 'stereo'", self.subpixel)

    @property
    def is_identity(self) -> bool:
        """True when every step is off (the depth only gets the sensor's range and unit)."""
        return (self.model == "none" and self.lateral_a == 0 and self.lateral_b == 0
                and self.disparity_step_px == 0 and self.edge_threshold_m == 0
                and self.grazing_angle_deg >= 90.0 and not self.occlusion_shadow and self.dropout == 0)


@dataclass
class RgbNoiseConfig:
    """Camera model applied to the rendered sRGB uint8 image (see ``synthgen.sensors.rgb``).

    On linear intensity x in [0, 1], in this order: motion blur (a line kernel of length drawn
    from ``motion_blur_px`` px, uniform direction), defocus blur (a disc of radius ``defocus_px``
    px), vignetting (``poly``: gain 1 + k1 r^2 + k2 r^4 with r = distance from the principal point
    over the half-diagonal, 1 in the corners; ``cos4``: cos^4 of the ray angle, needs K),
    exposure gain 2^ev, Poisson-Gaussian noise of variance ``shot * x + read`` (Brooks et al.
    2019), white-balance gains on R and B (G = 1), saturation (colour jitter: 1 = unchanged,
    0 = grey); then sRGB encoding to uint8 and JPEG encode+decode at ``jpeg_quality`` (0 = none).
    Each range is drawn once per image.
    """

    # Shot-noise variance per unit linear intensity, drawn log-uniformly (uniformly if low = 0).
    shot: list[float] = field(default_factory=lambda: [0.0, 0.0])
    # Read-noise variance (linear intensity^2), drawn like shot.
    read: list[float] = field(default_factory=lambda: [0.0, 0.0])
    # Exposure change in stops: gain 2^ev on linear intensity.
    exposure_ev: list[float] = field(default_factory=lambda: [0.0, 0.0])
    # White-balance gains of R and of B relative to G (each drawn from this range).
    white_balance: list[float] = field(default_factory=lambda: [1.0, 1.0])
    # Colour jitter: saturation about the luminance (1 = unchanged, 0 = grey).
    saturation: list[float] = field(default_factory=lambda: [1.0, 1.0])
    # Vignetting model: 'none', 'poly' (1 + k1 r^2 + k2 r^4) or 'cos4' (needs K).
    vignetting: str = "none"
    # poly k1; r = distance from the principal point over the half-diagonal.
    vignetting_k1: list[float] = field(default_factory=lambda: [0.0, 0.0])
    # poly k2.
    vignetting_k2: list[float] = field(default_factory=lambda: [0.0, 0.0])
    # Motion-blur line-kernel length, pixels (uniform direction).
    motion_blur_px: list[float] = field(default_factory=lambda: [0.0, 0.0])
    # Defocus disc radius, pixels.
    defocus_px: list[float] = field(default_factory=lambda: [0.0, 0.0])
    # JPEG encode+decode quality (0 = no JPEG).
    jpeg_quality: int = 0

    def __post_init__(self) -> None:
        _check_range("shot", self.shot, lo=0.0, hi=1.0)
        _check_range("read", self.read, lo=0.0, hi=1.0)
        _check_range("exposure_ev", self.exposure_ev, lo=-8.0, hi=8.0)
        _check_range("white_balance", self.white_balance, lo=0.1, hi=10.0)
        _check_range("saturation", self.saturation, lo=0.0, hi=4.0)
        _check(self.vignetting in VIGNETTING_MODELS, "vignetting",
               " or ".join(f"'{m}'" for m in VIGNETTING_MODELS), self.vignetting)
        # gain 1 + k1 + k2 in the corners must stay positive
        _check_range("vignetting_k1", self.vignetting_k1, lo=-0.9, hi=2.0)
        _check_range("vignetting_k2", self.vignetting_k2, lo=-0.9, hi=2.0)
        _check(self.vignetting_k1[0] + self.vignetting_k2[0] > -1.0, "vignetting_k2",
               "k1 + k2 > -1 (a positive gain in the corners)", list(self.vignetting_k2))
        _check_range("motion_blur_px", self.motion_blur_px, lo=0.0, hi=100.0)
        _check_range("defocus_px", self.defocus_px, lo=0.0, hi=50.0)
        _check(0 <= self.jpeg_quality <= 100, "jpeg_quality", "an integer in [0, 100] (0 = no JPEG)",
               self.jpeg_quality)

    @property
    def is_identity(self) -> bool:
        """True when every step is off (the image passes through bit-identical)."""
        no_vignetting = self.vignetting == "none" or (
            self.vignetting == "poly" and self.vignetting_k1 == [0, 0] and self.vignetting_k2 == [0, 0])
        return (no_vignetting and self.shot[1] == 0 and self.read[1] == 0 and self.exposure_ev == [0, 0]
                and self.white_balance == [1, 1] and self.saturation == [1, 1]
                and self.motion_blur_px[1] == 0 and self.defocus_px[1] == 0 and self.jpeg_quality == 0)
