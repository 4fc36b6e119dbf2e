"""Overlay colours and drawing of labels on an image: keypoints, skeletons, 3-D boxes, axes,
mask tints and colourized depth.

Colours are RGB tuples and part of the public API (tests look for them in the pixels).
Geometry: a point in the OpenCV camera frame (x right, y down, z forward; mm or m, the
projection does not care) projects to ``(u, v) = (fx x/z + cx, fy y/z + cy)`` (synthgen's one
:func:`~synthgen.groundtruth.projection.project`), integer ``(u, v)`` the centre of pixel
(column u, row v). Drawing happens on a canvas scaled by ``(sx, sy)`` from the
image; :func:`image_to_canvas` maps pixel-centre coordinates between the two.
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
from PIL import ImageDraw

from synthgen.bodies.keypoints import COCO17_SKELETON, WHOLEBODY133_PARTS
from synthgen.groundtruth.projection import project

RGB = tuple[int, int, int]

#: keypoint labelled and visible (v=2): filled disc
KP_VISIBLE: RGB = (255, 255, 0)
#: keypoint labelled but occluded (v=1): filled disc; v=0 is not drawn
KP_OCCLUDED: RGB = (255, 0, 255)
#: COCO-17 limb whose two ends are both visible
LIMB_VISIBLE: RGB = (0, 255, 255)
#: COCO-17 limb with an occluded end (drawn thinner)
LIMB_OCCLUDED: RGB = (0, 128, 160)
#: hand bones (WholeBody 91-132)
HAND_BONE: RGB = (255, 160, 0)
#: object axes from the model origin: x, y, z
AXIS_X: RGB = (255, 0, 0)
AXIS_Y: RGB = (0, 255, 0)
AXIS_Z: RGB = (0, 0, 255)
#: outline around keypoint discs so they read on any background
KP_OUTLINE: RGB = (0, 0, 0)
#: tint of people's visible masks (mask_visib_person)
PERSON_TINT: RGB = (255, 60, 60)
#: per-instance tint of objects' visible masks and colour of their 3-D boxes, by gt_id
INSTANCE_PALETTE: tuple[RGB, ...] = (
    (31, 119, 180), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
    (227, 119, 194), (23, 190, 207), (188, 189, 34), (255, 127, 14), (127, 127, 127),
    (174, 199, 232), (152, 223, 138), (255, 152, 150), (197, 176, 213), (196, 156, 148),
    (247, 182, 210), (158, 218, 229), (219, 219, 141), (255, 187, 120), (199, 199, 199),
)
#: depth 0 (no measurement) in the colourized depth panel
DEPTH_INVALID: RGB = (0, 0, 0)
#: the colormap of the depth panel (matplotlib name), near = blue end
DEPTH_COLORMAP = "turbo"

#: opacity of mask tints
MASK_ALPHA = 0.45
#: keypoint disc radii on the canvas, pixels (body, hands)
KP_RADIUS = 3
HAND_KP_RADIUS = 2
#: axis length as a fraction of the object's diameter (models_info)
AXIS_FRACTION = 0.35
#: points closer than this to the camera plane (same unit as the pose) are not projected
NEAR_MM = 10.0

# WholeBody 133 index ranges of the hands: left 91-111, right 112-132 (root, thumb1-4,
# forefinger1-4, middle1-4, ring1-4, pinky1-4).
HAND_RANGES = (WHOLEBODY133_PARTS["lefthand"], WHOLEBODY133_PARTS["righthand"])
# bones of one 21-point hand: root to each finger's first joint, then along the finger
HAND_BONES: tuple[tuple[int, int], ...] = tuple(
    pair for f in range(5) for pair in ((0, 1 + 4 * f), (1 + 4 * f, 2 + 4 * f),
                                        (2 + 4 * f, 3 + 4 * f), (3 + 4 * f, 4 + 4 * f)))
# the 12 edges of a box whose corners are indexed by bits (x, y, z) = (i & 1, i >> 1 & 1, i >> 2)
BOX_EDGES: tuple[tuple[int, int], ...] = tuple(
    (i, i | (1 << b)) for i in range(8) for b in range(3) if not i & (1 << b))


def instance_colour(gt_id: int) -> RGB:
    """The tint / box colour of object instance ``gt_id``."""
    return INSTANCE_PALETTE[int(gt_id) % len(INSTANCE_PALETTE)]


def image_to_canvas(uv: np.ndarray, sx: float, sy: float, origin: tuple[int, int] = (0, 0)
                    ) -> np.ndarray:
    """Map (N, 2) image pixel-centre coordinates to a canvas scaled by (sx, sy) whose image
    panel starts at ``origin``: pixel centre ``u`` covers canvas ``[u - .5, u + .5) * sx``, so its
    centre lies at ``(u + .5) sx - .5``."""
    uv = np.asarray(uv, dtype=np.float64).reshape(-1, 2)
    return np.stack([(uv[:, 0] + 0.5) * sx - 0.5 + origin[0],
                     (uv[:, 1] + 0.5) * sy - 0.5 + origin[1]], axis=1)


def box_corners(info: dict) -> np.ndarray:
    """(8, 3) corners of the model's axis-aligned box in the model frame (mm), from models_info
    ``min_*`` / ``size_*``; corner ``i`` takes the max of axis ``b`` when bit ``b`` of ``i`` is
    set."""
    lo = np.array([info["min_x"], info["min_y"], info["min_z"]], dtype=np.float64)
    size = np.array([info["size_x"], info["size_y"], info["size_z"]], dtype=np.float64)
    bits = np.array([[(i >> b) & 1 for b in range(3)] for i in range(8)], dtype=np.float64)
    return lo + bits * size


def colourize_depth(depth: np.ndarray) -> tuple[np.ndarray, tuple[float, float] | None]:
    """(H, W) depth (any unit, 0 = no measurement) -> (H, W, 3) uint8 with the
    :data:`DEPTH_COLORMAP` stretched over the valid values' 1st-99th percentile and
    :data:`DEPTH_INVALID` where the depth is 0. Also returns the (lo, hi) range used (None when
    no pixel is valid)."""
    import matplotlib

    d = np.asarray(depth, dtype=np.float64)
    valid = d > 0
    out = np.zeros(d.shape + (3,), dtype=np.uint8)
    out[:] = DEPTH_INVALID
    if not valid.any():
        return out, None
    lo, hi = np.percentile(d[valid], [1.0, 99.0])
    hi = max(hi, lo + 1e-9)
    t = np.clip((d[valid] - lo) / (hi - lo), 0.0, 1.0)
    out[valid] = (matplotlib.colormaps[DEPTH_COLORMAP](t)[:, :3] * 255.0 + 0.5).astype(np.uint8)
    return out, (float(lo), float(hi))


def tint(rgb: np.ndarray, mask: np.ndarray, colour: RGB, alpha: float = MASK_ALPHA) -> None:
    """Blend ``colour`` into the (H, W, 3) uint8 ``rgb`` where ``mask`` is true, in place."""
    m = np.asarray(mask, dtype=bool)
    if m.shape != rgb.shape[:2]:
        raise ValueError(f"mask shape {m.shape} does not match the image {rgb.shape[:2]}")
    blended = rgb[m].astype(np.float64) * (1.0 - alpha) + np.asarray(colour, np.float64) * alpha
    rgb[m] = np.clip(blended + 0.5, 0, 255).astype(np.uint8)


def _line(draw: ImageDraw.ImageDraw, a: Sequence[float], b: Sequence[float], colour: RGB,
          width: int) -> None:
    draw.line([(float(a[0]), float(a[1])), (float(b[0]), float(b[1]))], fill=colour, width=width)


def draw_object(draw: ImageDraw.ImageDraw, info: dict, R_m2c: np.ndarray, t_m2c: np.ndarray,
                K: np.ndarray, colour: RGB, sx: float, sy: float,
                origin: tuple[int, int]) -> bool:
    """Draw an object's 3-D box (``colour``) and its x/y/z axes from the model origin
    (:data:`AXIS_X`/``Y``/``Z``, :data:`AXIS_FRACTION` of the diameter) from its 6-DoF pose:
    ``R_m2c`` (3, 3), ``t_m2c`` (3,) mm, ``info`` its models_info entry (mm). Nothing is drawn
    when a box corner lies behind the camera (returns False)."""
    R = np.asarray(R_m2c, dtype=np.float64).reshape(3, 3)
    t = np.asarray(t_m2c, dtype=np.float64).reshape(3)
    corners = box_corners(info) @ R.T + t
    axis_len = AXIS_FRACTION * float(info["diameter"])
    axes = np.vstack([np.zeros(3), np.eye(3) * axis_len]) @ R.T + t
    pts = np.vstack([corners, axes])
    uv = project(K, pts)
    if np.any(pts[:, 2] < NEAR_MM) or not np.all(np.isfinite(uv)):
        return False
    xy = image_to_canvas(uv, sx, sy, origin)
    for i, j in BOX_EDGES:
        _line(draw, xy[i], xy[j], colour, 1)
    o = xy[8]
    for k, c in enumerate((AXIS_X, AXIS_Y, AXIS_Z)):
        _line(draw, o, xy[9 + k], c, 2)
    return True


def _disc(draw: ImageDraw.ImageDraw, xy: Sequence[float], radius: int, colour: RGB) -> None:
    # centred on the pixel that holds the keypoint, so that pixel has exactly ``colour``
    cx, cy = int(round(float(xy[0]))), int(round(float(xy[1])))
    draw.ellipse([cx - radius - 1, cy - radius - 1, cx + radius + 1, cy + radius + 1],
                 fill=KP_OUTLINE)
    draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], fill=colour)


def kp_colour(vis: float) -> RGB | None:
    """The disc colour for keypoint visibility ``vis`` (2, 1; None for 0)."""
    v = int(round(float(vis)))
    return KP_VISIBLE if v == 2 else KP_OCCLUDED if v == 1 else None


def draw_person_lines(draw: ImageDraw.ImageDraw, coco17: np.ndarray, wholebody: np.ndarray | None,
                      sx: float, sy: float, origin: tuple[int, int]) -> None:
    """Draw the COCO-17 limbs and the hand bones of one person (lines only; discs come last)."""
    k = np.asarray(coco17, dtype=np.float64).reshape(-1, 3)
    xy = image_to_canvas(k[:, :2], sx, sy, origin)
    for a, b in COCO17_SKELETON:  # 1-based
        va, vb = k[a - 1, 2], k[b - 1, 2]
        if va > 0 and vb > 0:
            both = va == 2 and vb == 2
            _line(draw, xy[a - 1], xy[b - 1], LIMB_VISIBLE if both else LIMB_OCCLUDED,
                  3 if both else 1)
    if wholebody is None:
        return
    wb = np.asarray(wholebody, dtype=np.float64).reshape(-1, 3)
    for lo, hi in HAND_RANGES:
        hand = wb[lo:hi]
        hxy = image_to_canvas(hand[:, :2], sx, sy, origin)
        for a, b in HAND_BONES:
            if hand[a, 2] > 0 and hand[b, 2] > 0:
                _line(draw, hxy[a], hxy[b], HAND_BONE, 1)


def draw_person_keypoints(draw: ImageDraw.ImageDraw, coco17: np.ndarray,
                          wholebody: np.ndarray | None, sx: float, sy: float,
                          origin: tuple[int, int]) -> None:
    """Draw keypoint discs coloured by visibility: hands (WholeBody 91-132, radius
    :data:`HAND_KP_RADIUS`) first, then the COCO-17 body points (:data:`KP_RADIUS`) on top, so a
    body keypoint's centre pixel has exactly its colour even where a hand point is near."""
    groups: list[tuple[np.ndarray, int]] = []
    if wholebody is not None:
        wb = np.asarray(wholebody, dtype=np.float64).reshape(-1, 3)
        groups += [(wb[lo:hi], HAND_KP_RADIUS) for lo, hi in HAND_RANGES]
    groups.append((np.asarray(coco17, dtype=np.float64).reshape(-1, 3), KP_RADIUS))
    for pts, radius in groups:
        xy = image_to_canvas(pts[:, :2], sx, sy, origin)
        # occluded first so a visible point is never hidden under an occluded one
        for want in (1, 2):
            for p, (u, v, vis) in zip(xy, pts):
                if int(round(vis)) == want:
                    _disc(draw, p, radius, kp_colour(vis))


def legend_entries() -> list[tuple[str, RGB, str]]:
    """(label, colour, glyph) for the sheet's legend; glyph is ``disc``, ``line`` or ``patch``."""
    return [("visible kpt (v=2)", KP_VISIBLE, "disc"), ("occluded kpt (v=1)", KP_OCCLUDED, "disc"),
            ("limb", LIMB_VISIBLE, "line"), ("limb, occluded end", LIMB_OCCLUDED, "line"),
            ("hand", HAND_BONE, "line"), ("obj x", AXIS_X, "line"), ("obj y", AXIS_Y, "line"),
            ("obj z", AXIS_Z, "line"), ("person mask", PERSON_TINT, "patch"),
            ("object mask / 3D box (per instance)", INSTANCE_PALETTE[0], "patch")]


def draw_legend(draw: ImageDraw.ImageDraw, x: int, y: int, max_x: int, font,
                entries: Iterable[tuple[str, RGB, str]] | None = None) -> int:
    """Draw the legend from (x, y), wrapping before ``max_x``; returns the y below it."""
    line_h = 16
    cx, cy = x, y
    for label, colour, glyph in (entries if entries is not None else legend_entries()):
        w = 18 + int(draw.textlength(label, font=font)) + 14
        if cx + w > max_x and cx > x:
            cx, cy = x, cy + line_h
        mid = cy + line_h // 2
        if glyph == "disc":
            _disc(draw, (cx + 6, mid), KP_RADIUS, colour)
        elif glyph == "line":
            draw.line([(cx, mid), (cx + 12, mid)], fill=colour, width=3)
        else:
            draw.rectangle([cx, mid - 5, cx + 12, mid + 5], fill=colour)
        draw.text((cx + 18, cy + 1), label, fill=(230, 230, 230), font=font)
        cx += w
    return cy + line_h
