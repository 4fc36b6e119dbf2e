"""Per-instance labels from render outputs (pure numpy): BOP gt / gt_info for objects and the
person records with COCO-17 / WholeBody-133 keypoints.

Inputs are plain arrays from the render adapter: the scene's clean Z-depth (metres), and for each
instance its amodal silhouette and own Z-depth on a canvas ``canvas_scale`` times the image,
where image pixel (0, 0) is canvas pixel (off_y, off_x).

Visibility of an object pixel follows BOP's bop19 rule (bop_toolkit ``visibility.py``): the
object's own distance along the ray d_model > 0 and (d_model - d_scene <= delta or d_scene == 0),
with delta = ``visib_delta`` metres (15 mm default).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..bodies.keypoints import COCO17_FROM_SMPLX, WHOLEBODY133_FROM_SMPLX, NUM_SMPLX_JOINTS
from .masks import bbox_from_mask
from .projection import depth_to_ray_distance, inside_image, pixel_index, project, transform
from .records import ObjectGT, PersonGT

# Keypoint visibility tolerances (metres), until the body-part pass arrives (see issue 5):
# a surface landmark (nose, eyes, ears, toes, heels, fingertips) is visible when the rendered depth
# at its pixel is within LANDMARK_TOL of its own depth; a joint, which lies inside the body, is
# visible when its pixel shows this person and the visible surface is at most JOINT_BEHIND_TOL in
# front of the joint (and not more than LANDMARK_TOL behind it).
LANDMARK_TOL = 0.03
JOINT_BEHIND_TOL = 0.20


@dataclass
class Silhouette:
    """One instance rendered alone on an enlarged canvas, stored as the window it covers.

    ``window_depth`` (h, w) float32 is the instance's own Z-depth (metres, 0 outside its
    silhouette) over canvas pixels starting at ``window_origin`` = (x0, y0); image pixel (u, v)
    is canvas pixel (u + off_x, v + off_y). Nothing canvas-sized is ever built (at 3x a 640x480
    image that would be hundreds of MB per frame for a cluttered scene).
    """

    window_depth: np.ndarray
    window_origin: tuple[int, int]
    off_x: int
    off_y: int

    @property
    def px_count(self) -> int:
        """Silhouette pixels on the whole canvas (BOP ``px_count_all``)."""
        return int(np.count_nonzero(self.window_depth > 0))

    def crop(self, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
        """The silhouette mask and own depth over the image (H, W)."""
        depth = np.zeros((height, width), np.float32)
        x0 = self.window_origin[0] - self.off_x   # window origin in image pixels
        y0 = self.window_origin[1] - self.off_y
        h, w = self.window_depth.shape
        ix0, iy0 = max(x0, 0), max(y0, 0)
        ix1, iy1 = min(x0 + w, width), min(y0 + h, height)
        if ix1 > ix0 and iy1 > iy0:
            depth[iy0:iy1, ix0:ix1] = self.window_depth[iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0]
        return depth > 0, depth

    def bbox_unclipped(self) -> list[int]:
        """BOP ``bbox_obj``: box of the whole silhouette in image coordinates, not clipped."""
        b = bbox_from_mask(self.window_depth > 0)
        if b[2] < 0:
            return b
        return [b[0] + self.window_origin[0] - self.off_x, b[1] + self.window_origin[1] - self.off_y,
                b[2], b[3]]


def visible_mask(sil: Silhouette, scene_depth: np.ndarray, K: np.ndarray, delta: float) -> np.ndarray:
    """BOP bop19 visibility of one instance's in-image silhouette pixels."""
    h, w = scene_depth.shape
    own_mask, own_depth = sil.crop(w, h)
    d_model = depth_to_ray_distance(own_depth, K)
    d_scene = depth_to_ray_distance(scene_depth, K)
    return own_mask & (d_model > 0) & ((d_model - d_scene <= delta) | (scene_depth == 0))


def object_gt(gt_id: int, obj_id: int, name: str, T_m2w: np.ndarray, T_w2c: np.ndarray,
              K: np.ndarray, sil: Silhouette, scene_depth: np.ndarray,
              visib_delta: float = 0.015) -> ObjectGT:
    """BOP ground truth of one object in one image (``t_m2c`` in metres)."""
    T_m2c = T_w2c @ T_m2w
    h, w = scene_depth.shape
    mask_in, _ = sil.crop(w, h)
    vis = visible_mask(sil, scene_depth, K, visib_delta)
    px_all = sil.px_count
    px_visib = int(vis.sum())
    return ObjectGT(
        gt_id=gt_id, obj_id=obj_id, name=name, R_m2c=T_m2c[:3, :3].copy(), t_m2c=T_m2c[:3, 3].copy(),
        mask_visib=vis, mask=mask_in.copy(),
        bbox_obj=sil.bbox_unclipped(), bbox_visib=bbox_from_mask(vis),
        px_count_all=px_all, px_count_valid=int((mask_in & (scene_depth > 0)).sum()),
        px_count_visib=px_visib, visib_fract=(px_visib / px_all) if px_all > 0 else 0.0)


def keypoints_from_joints(joints_cam: np.ndarray, is_landmark: np.ndarray, K: np.ndarray,
                          scene_depth: np.ndarray, own_region: np.ndarray) -> np.ndarray:
    """(N, 3) camera-frame points -> (N, 3) [u, v, vis] in the COCO convention.

    vis 0 (u = v = 0): no source (NaN) or outside the image; 2: visible; 1: inside the image
    but occluded (see the tolerances above). ``own_region`` is the person's visible mask.
    """
    h, w = scene_depth.shape
    out = np.zeros((len(joints_cam), 3))
    uv = project(K, joints_cam)
    ok = ~np.isnan(uv).any(axis=1) & inside_image(uv, w, h)
    if not ok.any():
        return out
    rows, cols = pixel_index(uv[ok])
    d = scene_depth[rows, cols].astype(np.float64)
    z = joints_cam[ok, 2]
    lm = is_landmark[ok]
    vis_lm = np.abs(d - z) <= LANDMARK_TOL
    vis_joint = own_region[rows, cols] & (z - d <= JOINT_BEHIND_TOL) & (d - z <= LANDMARK_TOL)
    visible = np.where(lm, vis_lm, vis_joint)
    out[ok, 0] = uv[ok, 0]
    out[ok, 1] = uv[ok, 1]
    out[ok, 2] = np.where(visible, 2.0, 1.0)
    return out


def person_gt(person, T_w2c: np.ndarray, K: np.ndarray, sil: Silhouette, visible_region: np.ndarray,
              scene_depth: np.ndarray, extended_world: np.ndarray) -> PersonGT:
    """Ground truth of one ``PersonInstance`` in one image.

    ``extended_world`` is its (144, 3) extended SMPL-X joint array (world metres, NaN = no source);
    ``visible_region`` the pixels where this person is seen (instance segmentation).
    """
    ext_cam = transform(T_w2c, extended_world)
    is_landmark = np.arange(len(ext_cam)) >= NUM_SMPLX_JOINTS
    kp_all = keypoints_from_joints(ext_cam, is_landmark, K, scene_depth, visible_region)
    wb = kp_all[WHOLEBODY133_FROM_SMPLX]
    coco = kp_all[COCO17_FROM_SMPLX]
    px_all = sil.px_count
    px_visib = int(visible_region.sum())
    return PersonGT(
        person_id=person.person_id, body_model=person.body_model, gender=person.gender,
        smplx=person.smplx, joints_3d_cam=ext_cam[:NUM_SMPLX_JOINTS],
        keypoints_coco17=coco, keypoints_wholebody133=wb, mask_visib=visible_region,
        bbox_visib=bbox_from_mask(visible_region), bbox_amodal=sil.bbox_unclipped(),
        visib_fract=(px_visib / px_all) if px_all > 0 else 0.0)
