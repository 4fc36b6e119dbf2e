"""The scene-config schema: dataclasses that OmegaConf validates YAML and CLI overrides against.

Every scene config has these top-level keys, with these names, so scripts can rely on them:
``seed``, ``frames`` (images to render), ``views_per_scene``, ``camera.width``, ``camera.height``,
``sensor``.

Units: metres, radians unless a key's name says ``_deg``; colours linear RGB in [0, 1].
Ranges are written ``[low, high]`` and sampled uniformly from the scene's generator.

Range checks live in ``__post_init__`` of each dataclass (so direct construction is checked too)
and raise ``FieldValueError`` (a ``ValueError``) naming one field, with a message of the form
``"<key>: expected <what>, found <value>"``; the loader adds the full key path (``camera.width``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from synthgen.config.errors import FieldValueError


def _check(cond: bool, key: str, expected: str, found: object) -> None:
    if not cond:
        raise FieldValueError(key, expected, found)


def _check_range(key: str, rng: list[float], lo: float | None = None, hi: float | None = None) -> None:
    _check(len(rng) == 2, key, "a [low, high] pair", list(rng))
    _check(rng[0] <= rng[1], key, "low <= high", list(rng))
    if lo is not None:
        _check(rng[0] >= lo, key, f"values >= {lo}", list(rng))
    if hi is not None:
        _check(rng[1] <= hi, key, f"values <= {hi}", list(rng))


@dataclass
class CameraConfig:
    """Image size and where cameras are placed. Intrinsics come from the sensor preset, scaled to
    ``width`` x ``height`` when they differ from the preset's native resolution."""

    width: int = 640
    height: int = 480
    # Look-at sampling around the scene's target region (the counter in front of the person).
    distance: list[float] = field(default_factory=lambda: [1.8, 2.6])
    elevation_deg: list[float] = field(default_factory=lambda: [15.0, 35.0])
    azimuth_deg: list[float] = field(default_factory=lambda: [-40.0, 40.0])
    roll_deg: list[float] = field(default_factory=lambda: [-3.0, 3.0])

    def __post_init__(self) -> None:
        _check(8 <= self.width <= 8192, "width", "an integer in [8, 8192]", self.width)
        _check(8 <= self.height <= 8192, "height", "an integer in [8, 8192]", self.height)
        _check_range("distance", self.distance, lo=0.05)
        _check_range("elevation_deg", self.elevation_deg, lo=-89.0, hi=89.0)
        _check_range("azimuth_deg", self.azimuth_deg, lo=-360.0, hi=360.0)
        _check_range("roll_deg", self.roll_deg, lo=-180.0, hi=180.0)


@dataclass
class SensorConfig:
    """A sensor preset (``configs/sensors/<name>.yaml``): native resolution and intrinsics,
    depth range and the unit depth is quantized to. Noise models arrive with the sensor issue."""

    name: str = "ideal"
    width: int = 640
    height: int = 480
    fx: float = 525.0
    fy: float = 525.0
    cx: float = 319.5
    cy: float = 239.5
    depth_min: float = 0.0
    depth_max: float = 10.0
    # Smallest depth step the sensor reports, metres (0 = continuous).
    depth_unit: float = 0.0

    def __post_init__(self) -> None:
        _check(self.width > 0, "width", "a positive integer", self.width)
        _check(self.height > 0, "height", "a positive integer", self.height)
        _check(self.fx > 0, "fx", "a positive focal length in pixels", self.fx)
        _check(self.fy > 0, "fy", "a positive focal length in pixels", self.fy)
        _check(self.depth_min >= 0, "depth_min", "a value >= 0", self.depth_min)
        _check(self.depth_max > self.depth_min, "depth_max", f"a value > depth_min ({self.depth_min})",
               self.depth_max)
        _check(self.depth_unit >= 0, "depth_unit", "a value >= 0", self.depth_unit)


@dataclass
class RoomConfig:
    """The room shell: a floor, walls and one counter along the back wall (metres)."""

    size_x: list[float] = field(default_factory=lambda: [4.0, 6.0])
    size_y: list[float] = field(default_factory=lambda: [3.5, 5.0])
    wall_height: list[float] = field(default_factory=lambda: [2.4, 2.8])
    counter_height: list[float] = field(default_factory=lambda: [0.86, 0.94])
    counter_depth: list[float] = field(default_factory=lambda: [0.55, 0.65])
    counter_length: list[float] = field(default_factory=lambda: [1.8, 2.6])

    def __post_init__(self) -> None:
        _check_range("size_x", self.size_x, lo=1.0)
        _check_range("size_y", self.size_y, lo=1.0)
        _check_range("wall_height", self.wall_height, lo=1.0)
        _check_range("counter_height", self.counter_height, lo=0.2)
        _check_range("counter_depth", self.counter_depth, lo=0.2)
        _check_range("counter_length", self.counter_length, lo=0.3)


@dataclass
class ObjectsConfig:
    """Objects placed on the counter. ``assets`` are asset references (``builtin:<name>``)."""

    count: list[int] = field(default_factory=lambda: [6, 8])
    assets: list[str] = field(default_factory=lambda: [
        "builtin:box", "builtin:cylinder", "builtin:sphere", "builtin:cone", "builtin:capsule"])

    def __post_init__(self) -> None:
        _check(len(self.count) == 2 and 0 <= self.count[0] <= self.count[1] <= 200, "count",
               "a [low, high] pair with 0 <= low <= high <= 200", list(self.count))
        _check(len(self.assets) > 0, "assets", "at least one asset reference", list(self.assets))


@dataclass
class HumansConfig:
    """People in the scene. ``model`` is the body-model backend: 'mannequin' (embedded,
    default) or 'smplx' (user-supplied SMPL-X files, arrives with the humans issue)."""

    count: list[int] = field(default_factory=lambda: [1, 1])
    model: str = "mannequin"
    betas_range: list[float] = field(default_factory=lambda: [-1.5, 1.5])

    def __post_init__(self) -> None:
        _check(len(self.count) == 2 and 0 <= self.count[0] <= self.count[1] <= 16, "count",
               "a [low, high] pair with 0 <= low <= high <= 16", list(self.count))
        _check(self.model in ("mannequin", "smplx"), "model", "'mannequin' or 'smplx'", self.model)
        _check_range("betas_range", self.betas_range, lo=-5.0, hi=5.0)


@dataclass
class LightsConfig:
    """A directional sun plus point lights; intensities in pyrender units."""

    directional_intensity: list[float] = field(default_factory=lambda: [2.0, 4.0])
    point_count: list[int] = field(default_factory=lambda: [1, 2])
    point_intensity: list[float] = field(default_factory=lambda: [8.0, 20.0])
    ambient: list[float] = field(default_factory=lambda: [0.15, 0.35])

    def __post_init__(self) -> None:
        _check_range("directional_intensity", self.directional_intensity, lo=0.0)
        _check(len(self.point_count) == 2 and 0 <= self.point_count[0] <= self.point_count[1] <= 8,
               "point_count", "a [low, high] pair with 0 <= low <= high <= 8", list(self.point_count))
        _check_range("point_intensity", self.point_intensity, lo=0.0)
        _check_range("ambient", self.ambient, lo=0.0, hi=1.0)


@dataclass
class OutputConfig:
    """How files are written. ``rgb_format``: 'png' or 'jpg'."""

    split: str = "train_synth"
    rgb_format: str = "png"
    jpeg_quality: int = 95
    # BOP depth_scale: stored uint16 value * depth_scale = millimetres (0.1 as BOP PBR sets).
    depth_scale: float = 0.1

    def __post_init__(self) -> None:
        _check(self.rgb_format in ("png", "jpg"), "rgb_format", "'png' or 'jpg'", self.rgb_format)
        _check(1 <= self.jpeg_quality <= 100, "jpeg_quality", "an integer in [1, 100]", self.jpeg_quality)
        _check(self.depth_scale > 0, "depth_scale", "a positive number", self.depth_scale)
        _check(self.split.replace("_", "").isalnum(), "split", "letters, digits and '_'", self.split)


@dataclass
class SceneConfig:
    """A whole scene config: what ``synthgen render`` reads from ``scenes/*.yaml``."""

    name: str = "scene"
    seed: int = 0
    frames: int = 8
    views_per_scene: int = 4
    # Name of a preset in configs/sensors/, or an inline mapping; resolved by the loader.
    sensor: SensorConfig = field(default_factory=SensorConfig)
    camera: CameraConfig = field(default_factory=CameraConfig)
    room: RoomConfig = field(default_factory=RoomConfig)
    objects: ObjectsConfig = field(default_factory=ObjectsConfig)
    humans: HumansConfig = field(default_factory=HumansConfig)
    lights: LightsConfig = field(default_factory=LightsConfig)
    output: OutputConfig = field(default_factory=OutputConfig)

    def __post_init__(self) -> None:
        _check(0 <= self.seed < 2**63, "seed", "an integer in [0, 2^63)", self.seed)
        _check(1 <= self.frames <= 100_000_000, "frames", "an integer in [1, 1e8]", self.frames)
        _check(1 <= self.views_per_scene <= 10_000, "views_per_scene", "an integer in [1, 10000]",
               self.views_per_scene)
