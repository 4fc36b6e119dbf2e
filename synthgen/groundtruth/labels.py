"""Per-instance labels from render outputs (pure numpy): BOP gt / gt_info for objects and the
person records with COCO-17 / WholeBody-133 keypoints.

Inputs are plain arrays from the render adapter: the scene's clean Z-depth (metres), and for each
instance its amodal silhouette and own Z-depth on a canvas ``canvas_scale`` times the image,
where image pixel (0, 0) is canvas pixel (off_y, off_x).

Visibility of an object pixel follows BOP's bop19 rule (bop_toolkit ``visibility.py``): the
object's own distance along the ray d_model > 0 and (d_model - d_scene <= delta or d_scene == 0),
with delta = ``visib_delta`` metres (15 mm default).

Visibility of a person's keypoint (shared spec ``keypoints.md``, "Visibility of a keypoint in an
image"), from the clean Z-depth, the instance segmentation and the render adapter's body-part pass
(``RenderOutput.parts``: at each pixel the SMPL-X joint whose part the pixel shows):
- outside the image or no source (NaN): v=0 and x = y = 0;
- a skinned joint (extended index < 55) lies inside the body, so the surface seen at its pixel is in
  front of it by up to the limb's radius. It is visible (v=2) when the pixel shows this person,
  the part there is the joint's own part or adjacent to it in the kinematic tree
  (:func:`adjacent_parts`), and the rendered depth d satisfies
  ``-SURFACE_BEHIND_TOL <= z - d <= JOINT_FRONT_TOL[j]`` (z the joint's depth); otherwise v=1:
  hidden by an object, another person or its own body (a wrist behind the torso shows the torso);
- a surface landmark (nose, eyes, ears, toes, heels, fingertips, face points: indices >= 55) is a
  vertex on the skin, so nothing of its own body lies in front of it unless it is self-occluded.
  It is visible (v=2) unless the surface seen at its pixel lies in front of it by more than
  ``LANDMARK_TOL``: v=2 when ``d == 0`` (nothing rendered there) or ``d >= z - LANDMARK_TOL``,
  whatever the pixel shows; v=1 when ``0 < d < z - LANDMARK_TOL`` (an object, another person, a
  structure or its own body in front). When the pixel shows the landmark's own skin, ``d`` is
  ``z`` up to the tolerance. A landmark on the edge of the silhouette (a fingertip, toe or heel)
  often projects onto a pixel whose centre ray passes beside the body: that pixel shows the
  background, the floor or the person's own body further back, with nothing in front of the
  landmark, so it is visible. The floor seen just beside a heel may be slightly nearer the
  camera than the heel without covering it, hence the tolerance there too.
Depths are Z in the OpenCV camera frame (metres); along a ray the Z difference is the distance
times cos(angle off the optical axis), so the windows below are slightly looser off-axis.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..bodies.keypoints import (COCO17_FROM_SMPLX, NUM_SMPLX_EXTENDED, NUM_SMPLX_JOINTS,
                                SMPLX_LANDMARK_NAMES, SMPLX_PARENTS, WHOLEBODY133_FROM_SMPLX)
from .masks import EMPTY_BOP_BOX, WindowMask, bbox_from_mask
from .projection import inside_image, pixel_index, project, transform
from .records import ObjectGT, PersonGT

# --- keypoint visibility tolerances (metres, Z in the camera frame) ------------------------------
# A landmark is a mesh vertex, so the surface at its pixel is the landmark itself up to the depth
# change over half a pixel on a slanted surface (the label pass interpolates exact Z), and a
# surface seen just beside an edge landmark (the floor at a heel) may be that much nearer without
# covering it: 2 cm. Anything nearer than that at the landmark's pixel hides it.
LANDMARK_TOL = 0.02
# BOP's visibility tolerance (bop_toolkit's default delta), metres: a model surface point is
# visible when it lies at most this far behind the rendered depth at its pixel
BOP_VISIB_DELTA = 0.015
# The surface seen at a joint's pixel may lie slightly *behind* the joint: where the ray grazes the
# limb near its silhouette, or where a coarse mesh lets a joint sit at the skin (mannequin ankles
# and knuckles lie within 1-3 mm of it). 2 cm allows that and no more.
SURFACE_BEHIND_TOL = 0.02
# How far in front of a joint the surface seen at its pixel may be: about the largest distance from
# the joint to the skin across its limb, so that a joint is visible from any side, and no larger,
# so that the same or an adjacent limb folded in front of it (a hand in front of its own elbow)
# reads as occluded. Measured on the mannequin (largest joint-to-skin distance perpendicular to
# the bone within 1 cm of the joint, over the joint's own and adjacent parts), plus margin for
# heavier SMPL-X shapes:
TORSO_FRONT_TOL = 0.22      # pelvis, spine1-3, collars: the chest's half-width seen from the side
                            # (0.16-0.22 m on the mannequin's pelvis/spine3)
NECK_FRONT_TOL = 0.12       # neck joint at the base of the neck: throat/trapezius ~0.10 m
HEAD_FRONT_TOL = 0.13       # head joint at the skull base: the face is ~0.10-0.12 m in front
JAW_FRONT_TOL = 0.10        # SMPL-X jaw joint: chin and cheeks (no jaw on the mannequin)
EYEBALL_FRONT_TOL = 0.03    # SMPL-X eyeball centres: ~1.2 cm under the eye surface
HIP_FRONT_TOL = 0.15        # hip joints sit inside the pelvis: the outer hip is ~0.12 m away
SHOULDER_FRONT_TOL = 0.13   # seen from the front, the pectoral/deltoid is 0.09-0.10 m in front
ELBOW_FRONT_TOL = 0.07      # forearm at the elbow: 0.066 m
KNEE_FRONT_TOL = 0.08       # knee between thigh and shin: 0.063 m, thicker legs on SMPL-X shapes
ANKLE_FRONT_TOL = 0.07      # lower shin and instep seen from above: ~0.05 m
FOOT_FRONT_TOL = 0.08       # foot (toe-base) joint: the toes are 0.05-0.07 m in front of it
WRIST_FRONT_TOL = 0.05      # hand: 0.039 m on the mannequin
THUMB_BASE_FRONT_TOL = 0.04  # thumb1 lies inside the thenar eminence
FINGER_FRONT_TOL = 0.03     # other finger joints: phalanx radius ~0.01 m, knuckles inside the palm


def _joint_front_tol() -> np.ndarray:
    tol = np.full(NUM_SMPLX_JOINTS, FINGER_FRONT_TOL)
    groups = (
        ((0, 3, 6, 9, 13, 14), TORSO_FRONT_TOL), ((12,), NECK_FRONT_TOL), ((15,), HEAD_FRONT_TOL),
        ((22,), JAW_FRONT_TOL), ((23, 24), EYEBALL_FRONT_TOL), ((1, 2), HIP_FRONT_TOL),
        ((16, 17), SHOULDER_FRONT_TOL), ((18, 19), ELBOW_FRONT_TOL), ((4, 5), KNEE_FRONT_TOL),
        ((7, 8), ANKLE_FRONT_TOL), ((10, 11), FOOT_FRONT_TOL), ((20, 21), WRIST_FRONT_TOL),
        ((37, 52), THUMB_BASE_FRONT_TOL),
    )
    for joints, value in groups:
        tol[list(joints)] = value
    return tol


#: (55,) metres: how far in front of skinned joint j the surface at its pixel may be.
JOINT_FRONT_TOL: np.ndarray = _joint_front_tol()

# The values of the body-part pass (``RenderOutput.parts``) that are not a joint; defined here,
# where they are read, and imported by the render adapter that writes them (groundtruth imports
# no engine).
#: Body-part value of pixels that show no person (background, structures, objects, or nothing).
PART_NONE = -1
#: Body-part value of pixels that show a person rendered without part labels (no ``skin_joint``).
PART_UNKNOWN = -2


def _keypoint_own_part() -> np.ndarray:
    own = np.full(NUM_SMPLX_EXTENDED, 15, dtype=np.int64)   # face points 76-143: the head
    own[:NUM_SMPLX_JOINTS] = np.arange(NUM_SMPLX_JOINTS)    # a skinned joint is its own part
    by_name = {"nose": 15, "right_eye": 15, "left_eye": 15, "right_ear": 15, "left_ear": 15,
               # toes on the foot (toe-base) part, heels on the ankle's (the hindfoot)
               "left_big_toe": 10, "left_small_toe": 10, "left_heel": 7,
               "right_big_toe": 11, "right_small_toe": 11, "right_heel": 8,
               # fingertips on the distal phalanx (thumb3, index3, ...)
               "left_thumb": 39, "left_index": 27, "left_middle": 30, "left_ring": 36, "left_pinky": 33,
               "right_thumb": 54, "right_index": 42, "right_middle": 45, "right_ring": 51,
               "right_pinky": 48}
    for k, name in enumerate(SMPLX_LANDMARK_NAMES):
        own[NUM_SMPLX_JOINTS + k] = by_name[name]
    return own


#: (144,) the body part (SMPL-X joint 0-54) each extended keypoint belongs to. A wrist's own part is
#: the wrist (20 / 21): its hand; the mannequin's zero-length hand joints are already skinned to it.
KEYPOINT_OWN_PART: np.ndarray = _keypoint_own_part()


def adjacent_parts(present: np.ndarray | None = None) -> np.ndarray:
    """(55, 55) bool: ``A[j, p]`` when part p counts as joint j's own part or adjacent to it.

    Adjacent = j itself, its parent and its children in ``SMPLX_PARENTS``. ``present`` (optional
    joint indices) are the parts that have faces on this body; a joint without geometry cannot
    be seen, so the tree is contracted through it: the mannequin has no spine2 or collar
    vertices, so its shoulder (16) is adjacent to the chest (spine3, 9) through the collar (13).
    """
    n = NUM_SMPLX_JOINTS
    nbrs: list[list[int]] = [[] for _ in range(n)]
    for c, p in enumerate(SMPLX_PARENTS):
        if p >= 0:
            nbrs[c].append(p)
            nbrs[p].append(c)
    has = np.ones(n, bool)
    if present is not None:
        has[:] = False
        has[np.asarray(present, np.int64)] = True
    A = np.eye(n, dtype=bool)
    for j in range(n):
        stack = list(nbrs[j])
        seen = {j}
        while stack:
            q = stack.pop()
            if q in seen:
                continue
            seen.add(q)
            A[j, q] = True
            if not has[q]:           # no geometry: look through it
                stack.extend(nbrs[q])
    return A


@dataclass(eq=False)
class Silhouette:
    """One instance rendered alone on an enlarged canvas, stored as the window it covers: what
    :meth:`synthgen.render.adapter.Renderer.render_amodal` returns and what the label code reads.

    ``window_depth`` (h, w) float32 is the instance's own Z-depth (metres, Z in the OpenCV camera
    frame, 0 outside its silhouette) over canvas pixels starting at ``window_origin`` = (x0, y0);
    image pixel (u, v) is canvas pixel (u + off_x, v + off_y). ``image_size`` and ``canvas_size``
    (width, height) in pixels are known when the renderer made it (None when built from bare
    arrays); only :attr:`depth`, :attr:`mask`, :meth:`image_depth` and :meth:`image_mask` need
    them. Nothing canvas-sized is built unless :attr:`depth`/:attr:`mask` is read (at 3x a
    640x480 image that would be hundreds of MB per frame for a cluttered scene).
    """

    window_depth: np.ndarray
    window_origin: tuple[int, int]
    off_x: int
    off_y: int
    image_size: tuple[int, int] | None = None
    canvas_size: tuple[int, int] | None = None

    @property
    def offset(self) -> tuple[int, int]:
        """(off_x, off_y): the canvas pixel of image pixel (0, 0)."""
        return (self.off_x, self.off_y)

    @property
    def px_count(self) -> int:
        """Silhouette pixels on the whole canvas (BOP ``px_count_all``)."""
        return int(np.count_nonzero(self.window_depth > 0))

    def in_image(self, width: int, height: int) -> tuple[tuple[slice, slice], np.ndarray]:
        """The part of the window inside a ``width`` x ``height`` image: ``(rows, cols)`` slices
        of the image and the own depth over them (empty slices when the window misses it)."""
        x0 = self.window_origin[0] - self.off_x   # window origin in image pixels
        y0 = self.window_origin[1] - self.off_y
        h, w = self.window_depth.shape
        ix0, iy0 = min(max(x0, 0), width), min(max(y0, 0), height)
        ix1, iy1 = max(min(x0 + w, width), ix0), max(min(y0 + h, height), iy0)
        sub = self.window_depth[iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0]
        return (slice(iy0, iy1), slice(ix0, ix1)), sub

    def crop(self, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
        """The silhouette mask and own depth over the image (H, W)."""
        depth = np.zeros((height, width), np.float32)
        win, sub = self.in_image(width, height)
        depth[win] = sub
        return depth > 0, depth

    def bbox_unclipped(self) -> list[int]:
        """BOP ``bbox_obj``: box of the whole silhouette in image coordinates, not clipped."""
        b = bbox_from_mask(self.window_depth > 0)
        if b[2] < 0:
            return b
        return [b[0] + self.window_origin[0] - self.off_x, b[1] + self.window_origin[1] - self.off_y,
                b[2], b[3]]

    @cached_property
    def depth(self) -> np.ndarray:
        """(canvas_h, canvas_w) float32: the instance's own depth on the whole canvas, metres, 0
        outside (built on first access)."""
        wc, hc = self._known("canvas_size")
        out = np.zeros((hc, wc), np.float32)
        x0, y0 = self.window_origin
        h, w = self.window_depth.shape
        out[y0:y0 + h, x0:x0 + w] = self.window_depth
        return out

    @cached_property
    def mask(self) -> np.ndarray:
        """(canvas_h, canvas_w) bool: the full (amodal) silhouette on the canvas."""
        return self.depth > 0

    def image_depth(self) -> np.ndarray:
        """(H, W) float32: the instance's own depth over the image, metres, 0 outside."""
        return self.crop(*self._known("image_size"))[1]

    def image_mask(self) -> np.ndarray:
        """(H, W) bool: the amodal silhouette cropped to the image."""
        return self.image_depth() > 0

    def _known(self, name: str) -> tuple[int, int]:
        size = getattr(self, name)
        if size is None:
            raise ValueError(f"this Silhouette was built without {name}")
        return size


def _visible_in_window(sil: Silhouette, scene_depth: np.ndarray, K: np.ndarray, delta: float):
    """BOP bop19 visibility over the silhouette's in-image window: ``(window slices, own mask,
    visible mask)``, the masks of the window's shape. Distances along each pixel-centre ray."""
    h, w = scene_depth.shape
    win, own_depth = sil.in_image(w, h)
    own_mask = own_depth > 0
    rows, cols = np.nonzero(own_mask)
    # Z-depth -> distance along the ray through the pixel centre: the same factor for both
    u = (cols + win[1].start - K[0, 2]) / K[0, 0]
    v = (rows + win[0].start - K[1, 2]) / K[1, 1]
    scale = np.sqrt(1.0 + u * u + v * v)
    z_scene = scene_depth[win][rows, cols].astype(np.float64)
    z_model = own_depth[rows, cols].astype(np.float64)
    ok = (z_model > 0) & (((z_model - z_scene) * scale <= delta) | (z_scene == 0))
    vis = np.zeros(own_mask.shape, dtype=bool)
    vis[rows[ok], cols[ok]] = True
    return win, own_mask, vis


def _valid(scene_depth: np.ndarray, depth_valid: np.ndarray | None) -> np.ndarray:
    return scene_depth > 0 if depth_valid is None else depth_valid


def _shift_box(box: list[int], win: tuple[slice, slice]) -> list[int]:
    """A BOP box of a window's mask in image coordinates (empty boxes stay empty)."""
    if box[2] < 0:
        return box
    return [box[0] + win[1].start, box[1] + win[0].start, box[2], box[3]]


def _amodal_box(sil: Silhouette, px_visib: int) -> list[int]:
    """BOP ``bbox_obj`` (a person's ``bbox_amodal``): the unclipped box of the whole silhouette,
    ``[-1, -1, -1, -1]`` when no pixel of the instance is visible, as bop_toolkit's
    ``calc_gt_info`` writes it (an instance hidden or outside the image has no box at all)."""
    return sil.bbox_unclipped() if px_visib > 0 else list(EMPTY_BOP_BOX)


def object_gt(gt_id: int, obj_id: int, name: str, T_m2w: np.ndarray, T_w2c: np.ndarray,
              K: np.ndarray, sil: Silhouette, scene_depth: np.ndarray,
              visib_delta: float = BOP_VISIB_DELTA, depth_valid: np.ndarray | None = None) -> ObjectGT:
    """BOP ground truth of one object in one image (``t_m2c`` in metres).

    Visibility uses the clean rendered depth ``scene_depth`` (exact labels); ``px_count_valid``
    counts silhouette pixels where the *sensor* measured a depth (``depth_valid``, the written
    depth image's non-zero pixels, as bop_toolkit reads it; default: where ``scene_depth`` > 0).
    Everything is computed over the silhouette's window; only the two output masks are image-sized.
    """
    T_m2c = T_w2c @ T_m2w
    win, own, vis = _visible_in_window(sil, scene_depth, K, visib_delta)
    valid = depth_valid[win] if depth_valid is not None else scene_depth[win] > 0
    origin = (win[1].start, win[0].start)
    px_all = sil.px_count
    px_visib = int(np.count_nonzero(vis))
    return ObjectGT(
        gt_id=gt_id, obj_id=obj_id, name=name, R_m2c=T_m2c[:3, :3].copy(), t_m2c=T_m2c[:3, 3].copy(),
        mask_visib=WindowMask(vis, origin, scene_depth.shape), mask=WindowMask(own, origin, scene_depth.shape),
        bbox_obj=_amodal_box(sil, px_visib), bbox_visib=_shift_box(bbox_from_mask(vis), win),
        px_count_all=px_all, px_count_valid=int(np.count_nonzero(own & valid)),
        px_count_visib=px_visib, visib_fract=(px_visib / px_all) if px_all > 0 else 0.0)


def keypoints_from_joints(joints_cam: np.ndarray, is_landmark: np.ndarray, K: np.ndarray,
                          scene_depth: np.ndarray, own_region: np.ndarray,
                          part_map: np.ndarray | None = None, keypoint_ids: np.ndarray | None = None,
                          present_parts: np.ndarray | None = None) -> np.ndarray:
    """(N, 3) camera-frame points (metres) -> (N, 3) [u, v, vis] in the COCO convention.

    vis 0 (u = v = 0): no source (NaN), behind the camera or outside the image; 2: visible;
    1: inside the image but occluded (rules in the module docstring). ``own_region`` (H, W) bool
    is where this person is seen (``seg == its label``; the joint rule needs it, the landmark
    rule does not); ``scene_depth`` (H, W) the clean Z-depth (0 where nothing was rendered).
    Rows flagged ``is_landmark`` get the landmark test; the others are skinned joints, row i
    being extended SMPL-X index ``keypoint_ids[i]`` (default i) < 55, and need ``part_map``
    (``RenderOutput.parts``) for the part test; without it (a person without body-part
    labels) only the depth window and ``own_region`` decide, as at ``PART_UNKNOWN`` pixels.
    ``present_parts``: the parts this body has geometry for (see :func:`adjacent_parts`).
    """
    h, w = scene_depth.shape
    n = len(joints_cam)
    out = np.zeros((n, 3))
    ids = np.arange(n) if keypoint_ids is None else np.asarray(keypoint_ids, np.int64)
    is_landmark = np.asarray(is_landmark, bool)
    if (ids[~is_landmark] >= NUM_SMPLX_JOINTS).any():
        raise ValueError("rows that are not landmarks must be skinned joints (extended index < 55)")
    uv = project(K, joints_cam)
    ok = ~np.isnan(uv).any(axis=1) & inside_image(uv, w, h)
    if not ok.any():
        return out
    rows, cols = pixel_index(uv[ok])
    d = scene_depth[rows, cols].astype(np.float64)
    z = joints_cam[ok, 2]
    lm = is_landmark[ok]
    seen = np.asarray(own_region, bool)[rows, cols]
    # landmarks: visible unless something is in front of them (module docstring); the pixel
    # need not show this person (an edge landmark's pixel centre may miss the body)
    vis_lm = (d == 0) | (d >= z - LANDMARK_TOL)
    j = np.where(lm, 0, ids[ok])                    # joint index of joint rows (0 for landmarks)
    front = z - d                                   # how far the seen surface is in front
    vis_joint = seen & (front <= JOINT_FRONT_TOL[j]) & (front >= -SURFACE_BEHIND_TOL)
    if part_map is not None:
        part = np.asarray(part_map)[rows, cols].astype(np.int64)
        A = adjacent_parts(present_parts)
        own = KEYPOINT_OWN_PART[j]
        part_ok = (part == PART_UNKNOWN) | ((part >= 0) & A[own, np.clip(part, 0, NUM_SMPLX_JOINTS - 1)])
        vis_joint &= part_ok
    visible = np.where(lm, vis_lm, vis_joint)
    out[ok, 0] = uv[ok, 0]
    out[ok, 1] = uv[ok, 1]
    out[ok, 2] = np.where(visible, 2.0, 1.0)
    return out


def person_gt(person, T_w2c: np.ndarray, K: np.ndarray, sil: Silhouette, visible_region: np.ndarray,
              scene_depth: np.ndarray, extended_world: np.ndarray,
              part_map: np.ndarray | None = None, depth_valid: np.ndarray | None = None) -> PersonGT:
    """Ground truth of one ``PersonInstance`` in one image.

    ``extended_world`` is its (144, 3) extended SMPL-X joint array (world metres, NaN = no source);
    ``visible_region`` the pixels where this person is seen (instance segmentation, ``seg == its
    label``); ``part_map`` the view's body-part pass (``RenderOutput.parts``), needed to tell
    self-occlusion; ``sil`` its amodal silhouette (canvas 3x the image). The BOP-style counts
    follow gt_info: ``px_count_all`` on the whole canvas, ``px_count_valid`` in-image silhouette
    pixels with valid depth, ``px_count_visib`` visible pixels; ``bbox_amodal`` is BOP's
    ``bbox_obj`` (unclipped; ``[-1, -1, -1, -1]`` with ``bbox_visib`` when nothing is visible).
    """
    h, w = scene_depth.shape
    mask_in, _ = sil.crop(w, h)
    # The seg pass and the windowed silhouette pass rasterize the same triangles at different
    # viewport sizes; on an edge exactly through a pixel centre they can disagree by a pixel.
    # Visible pixels are by definition silhouette pixels: keep the counts consistent
    # (visib <= valid <= all) by intersecting.
    visible_region = visible_region & mask_in
    ext_cam = transform(T_w2c, extended_world)
    is_landmark = np.arange(len(ext_cam)) >= NUM_SMPLX_JOINTS
    skin = getattr(person, "skin_joint", None)
    present = np.unique(np.asarray(skin, np.int64)) if skin is not None else None
    kp_all = keypoints_from_joints(ext_cam, is_landmark, K, scene_depth, visible_region,
                                   part_map=part_map, present_parts=present)
    wb = kp_all[WHOLEBODY133_FROM_SMPLX]
    coco = kp_all[COCO17_FROM_SMPLX]
    px_all = sil.px_count
    px_visib = int(visible_region.sum())
    return PersonGT(
        person_id=person.person_id, body_model=person.body_model, gender=person.gender,
        smplx=person.smplx, anny=getattr(person, "anny", None), appearance=getattr(person, "appearance", None),
        joints_3d_cam=ext_cam[:NUM_SMPLX_JOINTS],
        keypoints_coco17=coco, keypoints_wholebody133=wb, mask_visib=WindowMask.from_full(visible_region),
        mask=WindowMask.from_full(mask_in),
        bbox_visib=bbox_from_mask(visible_region), bbox_amodal=_amodal_box(sil, px_visib),
        visib_fract=(px_visib / px_all) if px_all > 0 else 0.0,
        px_count_all=px_all, px_count_valid=int((mask_in & _valid(scene_depth, depth_valid)).sum()),
        px_count_visib=px_visib)
