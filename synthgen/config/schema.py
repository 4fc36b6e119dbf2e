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

from synthgen.config.errors import check, check_range
from synthgen.config.sensor_noise import DepthNoiseConfig, RgbNoiseConfig
# the scene's names (plain tuples in an import-free module: no numpy here)
from synthgen.scene.kinds import BODY_MODELS, LAYOUTS, LIGHT_KINDS, RGB_FORMATS, SUPPORT_KINDS, TEXTURE_KINDS


_check = check
_check_range = check_range


@dataclass
class CameraConfig:
    """Image size and where cameras are placed. Intrinsics come from the sensor preset, scaled to
    ``width`` x ``height`` when they differ from the preset's native resolution, then multiplied
    by a focal factor drawn from ``focal_scale`` per view (zoom variety)."""

    # output image width, pixels
    width: int = 640
    # output image height, pixels
    height: int = 480
    # third_person: independent look-at views; egocentric: a head-mounted camera on person 0
    # looking at the hands; rig: a calibrated ring of views_per_scene cameras around person 0
    # (or the objects) rendering the same scene state.
    rig: str = "third_person"
    # Look-at sampling around a target on the scene's focus supports (counter, table, ...):
    # distance from the target, elevation above its horizontal plane, azimuth about the vertical
    # (0 = looking from the room's open side), roll about the optical axis.
    distance: list[float] = field(default_factory=lambda: [1.2, 2.2])
    # camera elevation above the target's horizontal plane, degrees
    elevation_deg: list[float] = field(default_factory=lambda: [20.0, 50.0])
    # azimuth about the vertical, degrees (0 = from the room's open side)
    azimuth_deg: list[float] = field(default_factory=lambda: [-60.0, 60.0])
    # roll about the optical axis, degrees
    roll_deg: list[float] = field(default_factory=lambda: [-5.0, 5.0])
    # per-view factor on fx, fy (zoom variety)
    focal_scale: list[float] = field(default_factory=lambda: [0.9, 1.2])
    # Random offset of the look-at point inside the target support's rectangle (0 = its centre).
    target_jitter: float = 0.3
    # Chance that a view looks at a person's chest instead of the objects (when there are people).
    person_target_prob: float = 0.3
    # Distance of person views (a standing adult fills the frame from about 2.2 m at 60 deg FOV).
    person_distance: list[float] = field(default_factory=lambda: [1.8, 3.0])
    # redraws per view before a view (or rig) is declared impossible
    max_tries: int = 200
    # anti-aliasing of the colour image: samples per pixel (1 = off, 2, 4 or 8). Labels, masks
    # and depth are always sampled once, at the pixel centre. 1 makes the colour pass about twice
    # as fast on CPUs, at the price of jagged edges.
    msaa: int = 4

    def __post_init__(self) -> None:
        _check(8 <= self.width <= 8192, "width", "an integer in [8, 8192]", self.width)
        _check(self.msaa in (1, 2, 4, 8), "msaa", "1, 2, 4 or 8", self.msaa)
        _check(8 <= self.height <= 8192, "height", "an integer in [8, 8192]", self.height)
        _check(self.rig in ("third_person", "egocentric", "rig"), "rig",
               "'third_person', 'egocentric' or 'rig'", self.rig)
        _check_range("distance", self.distance, lo=0.05)
        _check_range("elevation_deg", self.elevation_deg, lo=-89.0, hi=89.0)
        _check_range("azimuth_deg", self.azimuth_deg, lo=-360.0, hi=360.0)
        _check_range("roll_deg", self.roll_deg, lo=-180.0, hi=180.0)
        _check_range("focal_scale", self.focal_scale, lo=0.1, hi=10.0)
        _check_range("person_distance", self.person_distance, lo=0.05)
        _check(0.0 <= self.target_jitter <= 1.0, "target_jitter", "a value in [0, 1]", self.target_jitter)
        _check(0.0 <= self.person_target_prob <= 1.0, "person_target_prob", "a probability in [0, 1]",
               self.person_target_prob)
        _check(1 <= self.max_tries <= 100000, "max_tries", "an integer in [1, 100000]", self.max_tries)


@dataclass
class SensorConfig:
    """A sensor preset (``configs/sensors/<name>.yaml``): native resolution and intrinsics,
    depth range, the unit depth is quantized to, and the depth and RGB noise models."""

    # preset name, written to dataset.json
    name: str = "ideal"
    # native image width of the sensor, pixels
    width: int = 640
    # native image height, pixels
    height: int = 480
    # focal length x at the native size, pixels
    fx: float = 525.0
    # focal length y at the native size, pixels
    fy: float = 525.0
    # principal point x at the native size, pixels (pixel centres are integers)
    cx: float = 319.5
    # principal point y at the native size, pixels
    cy: float = 239.5
    # nearest valid depth, metres (closer reads 0)
    depth_min: float = 0.0
    # farthest valid depth, metres (farther reads 0)
    depth_max: float = 10.0
    # Smallest depth step the sensor reports, metres (0 = continuous).
    depth_unit: float = 0.0
    # Depth noise model (synthgen/config/sensor_noise.py); the defaults add no noise.
    depth_noise: DepthNoiseConfig = field(default_factory=DepthNoiseConfig)
    # RGB camera model (synthgen/config/sensor_noise.py); the defaults add no noise.
    rgb_noise: RgbNoiseConfig = field(default_factory=RgbNoiseConfig)

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
    """The room: ``layout`` picks the furniture generator (metres throughout).

    kitchen: counters along the back wall (an L run with ``side_counter_prob``), a wall shelf with
    ``shelves`` boards, an island or a table with ``island_prob``; tabletop: one table; workshop:
    a workbench and a shelf rack."""

    # furniture generator: kitchen, tabletop or workshop
    layout: str = "kitchen"
    # room width along x, metres
    size_x: list[float] = field(default_factory=lambda: [4.0, 6.0])
    # room depth along y (back wall at y = size_y), metres
    size_y: list[float] = field(default_factory=lambda: [3.5, 5.0])
    # ceiling height, metres
    wall_height: list[float] = field(default_factory=lambda: [2.4, 2.8])
    # counter / workbench top height, metres
    counter_height: list[float] = field(default_factory=lambda: [0.86, 0.94])
    # counter depth from the wall, metres
    counter_depth: list[float] = field(default_factory=lambda: [0.55, 0.65])
    # main counter length, metres
    counter_length: list[float] = field(default_factory=lambda: [1.8, 2.6])
    # kitchen: chance of a second counter run along a side wall
    side_counter_prob: float = 0.5
    # kitchen: chance of an island or a table in the room
    island_prob: float = 0.7
    # boards of the wall shelf (kitchen) or the rack (workshop), count range
    shelves: list[int] = field(default_factory=lambda: [1, 3])

    def __post_init__(self) -> None:
        _check(self.layout in LAYOUTS, "layout", " or ".join(f"'{x}'" for x in LAYOUTS), self.layout)
        _check_range("size_x", self.size_x, lo=2.5)
        _check_range("size_y", self.size_y, lo=2.5)
        _check_range("wall_height", self.wall_height, lo=1.8)
        _check_range("counter_height", self.counter_height, lo=0.2)
        _check_range("counter_depth", self.counter_depth, lo=0.2)
        _check_range("counter_length", self.counter_length, lo=0.3)
        _check(0.0 <= self.side_counter_prob <= 1.0, "side_counter_prob", "a probability in [0, 1]",
               self.side_counter_prob)
        _check(0.0 <= self.island_prob <= 1.0, "island_prob", "a probability in [0, 1]", self.island_prob)
        _check(len(self.shelves) == 2 and 0 <= self.shelves[0] <= self.shelves[1] <= 6, "shelves",
               "a [low, high] pair with 0 <= low <= high <= 6", list(self.shelves))


@dataclass
class ObjectGroup:
    """A category of objects: which assets, how many per scene, where they go.

    ``labelled: false`` makes the group distractors: simulated and rendered (they occlude), but
    not written to the ground truth."""

    # asset references: builtin:, pybullet_data:, bop:, mesh:, urdf:
    assets: list[str] = field(default_factory=list)
    # objects of this group per scene, range (times objects.density)
    count: list[int] = field(default_factory=lambda: [1, 3])
    # support kinds to place on: counter, island, table, shelf, workbench, floor
    supports: list[str] = field(default_factory=lambda: ["counter"])
    # false: distractors (rendered and simulated, never annotated)
    labelled: bool = True

    def __post_init__(self) -> None:
        _check(len(self.assets) > 0, "assets", "at least one asset reference", list(self.assets))
        _check(len(self.count) == 2 and 0 <= self.count[0] <= self.count[1] <= 500, "count",
               "a [low, high] pair with 0 <= low <= high <= 500", list(self.count))
        _check(len(self.supports) > 0 and all(k in SUPPORT_KINDS for k in self.supports), "supports",
               f"a non-empty list of {', '.join(SUPPORT_KINDS)}", list(self.supports))


def _default_groups() -> dict[str, ObjectGroup]:
    return {"main": ObjectGroup(
        assets=["builtin:box", "builtin:cylinder", "builtin:sphere", "builtin:cone", "builtin:capsule"],
        count=[6, 8], supports=["counter", "island", "table", "workbench"])}


@dataclass
class ObjectsConfig:
    """Objects, by group. Every labelled asset of every group gets a dataset-wide ``obj_id`` in
    the order groups and assets are listed (duplicates keep their first id). ``density``
    multiplies every group's drawn count (a clutter knob); ``stacking`` lets objects land on each
    other; placement tries and physics limits follow."""

    # object groups by name
    groups: dict[str, ObjectGroup] = field(default_factory=_default_groups)
    # multiplies every group's drawn count
    density: float = 1.0
    # objects may come to rest on other objects
    stacking: bool = True
    # spawns per object before it is left out
    max_tries: int = 5
    # simulated seconds allowed for objects to come to rest
    settle_time: float = 3.0
    # true: an object that cannot be placed within max_tries stops the render with an error
    # naming it (false: it is left out of that scene)
    strict: bool = False

    def __post_init__(self) -> None:
        _check(0.0 <= self.density <= 10.0, "density", "a value in [0, 10]", self.density)
        _check(1 <= self.max_tries <= 100, "max_tries", "an integer in [1, 100]", self.max_tries)
        _check(0.1 <= self.settle_time <= 30.0, "settle_time", "seconds in [0.1, 30]", self.settle_time)


@dataclass
class MaterialsConfig:
    """Domain randomization of surfaces: procedural textures on room surfaces (and optionally
    objects), PBR ranges for objects."""

    # procedural texture kinds: wood, tiles, noise, stripes
    textures: list[str] = field(default_factory=lambda: list(TEXTURE_KINDS))
    # chance a room surface role gets a texture
    surface_texture_prob: float = 0.8
    # chance an object gets a texture
    object_texture_prob: float = 0.2
    # chance an object is metal (metallic 0.8-1, low roughness)
    metallic_prob: float = 0.15
    # roughness range of non-metal objects
    roughness: list[float] = field(default_factory=lambda: [0.2, 0.9])

    def __post_init__(self) -> None:
        _check(all(t in TEXTURE_KINDS for t in self.textures), "textures",
               f"a list of {', '.join(TEXTURE_KINDS)}", list(self.textures))
        for k in ("surface_texture_prob", "object_texture_prob", "metallic_prob"):
            v = getattr(self, k)
            _check(0.0 <= v <= 1.0, k, "a probability in [0, 1]", v)
        _check_range("roughness", self.roughness, lo=0.0, hi=1.0)


@dataclass
class PhenotypeConfig:
    """The body shapes of ``anny`` people, drawn per person.

    Ages in years: a person is a child with ``child_share`` (age from ``child_age_years``),
    elderly with ``elderly_share`` (``elderly_age_years``), else an adult (``adult_age_years``),
    turned into Anny's age by Anny's WHO-calibrated morphological-age mapping; ``gender`` 0 male
    .. 1 female, uniform in its range. ``distribution: calibrated`` then draws height, weight,
    muscle and proportions from Anny's calibrated distributions for that age and sex (real
    statures: adult men about 1.79 m on average); ``uniform`` draws each in its range below
    (Anny's phenotype in [0, 1]; its height is relative to age and sex, and 0.85 makes a 2.3 m
    man)."""

    # calibrated (Anny's WHO-calibrated shapes for age and sex) or uniform (the ranges below)
    distribution: str = "calibrated"
    # range of Anny's gender: 0 male .. 1 female
    gender: list[float] = field(default_factory=lambda: [0.0, 1.0])
    # uniform: range of Anny's muscle, 0..1
    muscle: list[float] = field(default_factory=lambda: [0.2, 0.8])
    # uniform: range of Anny's weight, 0..1
    weight: list[float] = field(default_factory=lambda: [0.15, 0.85])
    # uniform: range of Anny's height (relative to age and sex), 0..1
    height: list[float] = field(default_factory=lambda: [0.15, 0.85])
    # uniform: range of Anny's proportions, 0 ideal .. 1 uncommon
    proportions: list[float] = field(default_factory=lambda: [0.2, 0.8])
    # ages of adults, years
    adult_age_years: list[float] = field(default_factory=lambda: [18.0, 65.0])
    # share of people who are children
    child_share: float = 0.1
    # ages of children, years
    child_age_years: list[float] = field(default_factory=lambda: [5.0, 17.0])
    # share of people who are elderly
    elderly_share: float = 0.1
    # ages of elderly people, years
    elderly_age_years: list[float] = field(default_factory=lambda: [65.0, 90.0])

    def __post_init__(self) -> None:
        _check(self.distribution in ("calibrated", "uniform"), "distribution", "'calibrated' or 'uniform'",
               self.distribution)
        for k in ("gender", "muscle", "weight", "height", "proportions"):
            _check_range(k, getattr(self, k), lo=0.0, hi=1.0)
        for k in ("adult_age_years", "child_age_years", "elderly_age_years"):
            _check_range(k, getattr(self, k), lo=1.0, hi=90.0)
        for k in ("child_share", "elderly_share"):
            _check(0.0 <= getattr(self, k) <= 1.0, k, "a share in [0, 1]", getattr(self, k))
        _check(self.child_share + self.elderly_share <= 1.0, "elderly_share",
               "child_share + elderly_share <= 1", self.child_share + self.elderly_share)


@dataclass
class HumansConfig:
    """People in the scene.

    ``model``: the body-model backend: 'anny' (NAVER's Anny body, the default: people of every age
    and build, shaped by ``phenotype``), 'mannequin' (a wooden artist's mannequin) or 'smplx' (user-supplied
    SMPL-X files in ``model_dir``, with ``gender``, ``num_betas``, ``num_expression_coeffs``,
    ``flat_hand_mean`` passed to the smplx package; ``.npz`` files are read without unpickling, a
    ``.pkl`` only with ``trust_pickle``). ``betas_range``: uniform range of the shape
    coefficients. ``poses``: named poses to draw from (empty = the whole library), with
    ``pose_noise_deg`` of per-joint noise; ``motion_files``: AMASS-style ``.npz`` files to draw
    poses from instead (paths relative to the scene file). Interaction: with ``hold_prob`` a
    person holds one of ``holdable`` in a hand; otherwise with ``reach_prob`` reaches for an
    object on a counter or table (arm IK, hand on the object)."""

    # people per scene, range
    count: list[int] = field(default_factory=lambda: [1, 1])
    # body model: anny (default), mannequin or smplx (your model files)
    model: str = "anny"
    # anny: the phenotype ranges and the shares of children and elderly people
    phenotype: PhenotypeConfig = field(default_factory=PhenotypeConfig)
    # anny: procedural (skin tones, clothes, hair, drawn per person) or flat (one random colour)
    appearance: str = "procedural"
    # anny: side of each person's texture, texels
    texture_size: int = 512
    # smplx: folder with SMPLX_<GENDER>.npz (or smplx/SMPLX_<GENDER>.npz)
    model_dir: str = ""
    # smplx: true lets a SMPLX_<GENDER>.pkl load; unpickling runs code, so only for a folder you trust
    trust_pickle: bool = False
    # smplx: neutral, male or female
    gender: str = "neutral"
    # smplx: shape coefficients used
    num_betas: int = 10
    # smplx: expression coefficients used
    num_expression_coeffs: int = 10
    # hand poses relative to a flat hand (true) or SMPL-X's mean hand (false)
    flat_hand_mean: bool = False
    # uniform range of the 10 shape coefficients
    betas_range: list[float] = field(default_factory=lambda: [-1.5, 1.5])
    # named poses to draw from (empty = the whole library)
    poses: list[str] = field(default_factory=list)
    # per-joint noise added to library poses, degrees
    pose_noise_deg: float = 4.0
    # AMASS-style .npz files idle people take poses from
    motion_files: list[str] = field(default_factory=list)
    # chance a person holds an object in a hand
    hold_prob: float = 0.3
    # chance a person reaches for an object on a counter or table
    reach_prob: float = 0.4
    # asset references people may hold (labelled objects)
    holdable: list[str] = field(default_factory=lambda: ["builtin:mug", "builtin:can", "builtin:bottle",
                                                         "builtin:jar"])

    def __post_init__(self) -> None:
        _check(len(self.count) == 2 and 0 <= self.count[0] <= self.count[1] <= 16, "count",
               "a [low, high] pair with 0 <= low <= high <= 16", list(self.count))
        _check(self.model in BODY_MODELS, "model", " or ".join(f"'{m}'" for m in BODY_MODELS), self.model)
        _check(self.appearance in ("procedural", "flat"), "appearance", "'procedural' or 'flat'", self.appearance)
        _check(64 <= self.texture_size <= 4096, "texture_size", "texels in [64, 4096]", self.texture_size)
        _check(self.gender in ("neutral", "male", "female"), "gender", "'neutral', 'male' or 'female'",
               self.gender)
        _check(1 <= self.num_betas <= 300, "num_betas", "an integer in [1, 300]", self.num_betas)
        _check(0 <= self.num_expression_coeffs <= 100, "num_expression_coeffs", "an integer in [0, 100]",
               self.num_expression_coeffs)
        _check_range("betas_range", self.betas_range, lo=-5.0, hi=5.0)
        _check(0.0 <= self.pose_noise_deg <= 45.0, "pose_noise_deg", "degrees in [0, 45]", self.pose_noise_deg)
        for k in ("hold_prob", "reach_prob"):
            _check(0.0 <= getattr(self, k) <= 1.0, k, "a probability in [0, 1]", getattr(self, k))


@dataclass
class LightsConfig:
    """Randomized lights: ``count`` lights of ``types`` (uniform choice), colour from a black-body
    temperature in kelvin, intensities in pyrender units (W/m^2 for directional, candela-like
    for point and spot), an ambient term, and shadow maps on or off."""

    # lights per scene, range
    count: list[int] = field(default_factory=lambda: [1, 4])
    # light types to draw from: point, spot, directional
    types: list[str] = field(default_factory=lambda: list(LIGHT_KINDS))
    # directional light intensity range (pyrender units, W/m^2)
    directional_intensity: list[float] = field(default_factory=lambda: [1.5, 4.0])
    # point light intensity range (pyrender units)
    point_intensity: list[float] = field(default_factory=lambda: [5.0, 25.0])
    # spot light intensity range (pyrender units)
    spot_intensity: list[float] = field(default_factory=lambda: [10.0, 40.0])
    # black-body colour temperature range, kelvin
    color_temperature_k: list[float] = field(default_factory=lambda: [2700.0, 6500.0])
    # ambient light range
    ambient: list[float] = field(default_factory=lambda: [0.1, 0.35])
    # shadow maps for directional lights (slower)
    shadows: bool = False

    def __post_init__(self) -> None:
        _check(len(self.count) == 2 and 1 <= self.count[0] <= self.count[1] <= 16, "count",
               "a [low, high] pair with 1 <= low <= high <= 16", list(self.count))
        _check(len(self.types) > 0 and all(t in LIGHT_KINDS for t in self.types), "types",
               f"a non-empty list of {', '.join(LIGHT_KINDS)}", list(self.types))
        _check_range("directional_intensity", self.directional_intensity, lo=0.0)
        _check_range("point_intensity", self.point_intensity, lo=0.0)
        _check_range("spot_intensity", self.spot_intensity, lo=0.0)
        _check_range("color_temperature_k", self.color_temperature_k, lo=1000.0, hi=40000.0)
        _check_range("ambient", self.ambient, lo=0.0, hi=1.0)


@dataclass
class OutputConfig:
    """How files are written. ``rgb_format``: 'png' or 'jpg'."""

    # split folder and COCO file name (coco_<split>.json)
    split: str = "train_synth"
    # png or jpg
    rgb_format: str = "png"
    # JPEG quality when rgb_format is jpg
    jpeg_quality: int = 95
    # BOP depth_scale: stored uint16 value * depth_scale = millimetres (0.1 as BOP PBR sets).
    depth_scale: float = 0.1

    def __post_init__(self) -> None:
        _check(self.rgb_format in RGB_FORMATS, "rgb_format", " or ".join(f"'{f}'" for f in RGB_FORMATS),
               self.rgb_format)
        _check(1 <= self.jpeg_quality <= 100, "jpeg_quality", "an integer in [1, 100]", self.jpeg_quality)
        _check(self.depth_scale > 0, "depth_scale", "a positive number", self.depth_scale)
        _check(self.split.replace("_", "").isalnum(), "split", "letters, digits and '_'", self.split)


@dataclass
class SceneConfig:
    """A whole scene config: what ``synthgen render`` reads from ``scenes/*.yaml``."""

    # scene name (default output folder, messages)
    name: str = "scene"
    # master seed: scene k draws from SeedSequence(seed).spawn()[k]; same seed, same bytes
    seed: int = 0
    # images to render in total
    frames: int = 8
    # camera views per sampled and physics-settled scene (one shard)
    views_per_scene: int = 4
    # Name of a preset in configs/sensors/, or an inline mapping; resolved by the loader.
    sensor: SensorConfig = field(default_factory=SensorConfig)
    camera: CameraConfig = field(default_factory=CameraConfig)
    room: RoomConfig = field(default_factory=RoomConfig)
    objects: ObjectsConfig = field(default_factory=ObjectsConfig)
    humans: HumansConfig = field(default_factory=HumansConfig)
    lights: LightsConfig = field(default_factory=LightsConfig)
    materials: MaterialsConfig = field(default_factory=MaterialsConfig)
    output: OutputConfig = field(default_factory=OutputConfig)

    def __post_init__(self) -> None:
        _check(0 <= self.seed < 2**63, "seed", "an integer in [0, 2^63)", self.seed)
        _check(1 <= self.frames <= 100_000_000, "frames", "an integer in [1, 1e8]", self.frames)
        _check(1 <= self.views_per_scene <= 10_000, "views_per_scene", "an integer in [1, 10000]",
               self.views_per_scene)
