"""Typed per-frame records handed from the ground-truth stage to the writers.

Units and frames: camera poses and 6-DoF labels in the OpenCV camera frame (x right, y down,
z forward); translations here in **metres** (the BOP writer converts to millimetres); pixel
coordinates follow OpenCV/BOP: integer (u, v) is the centre of pixel (column u, row v).
Masks are (H, W) boolean masks: numpy arrays, or :class:`~synthgen.groundtruth.masks.WindowMask`
(what the ground-truth stage makes: the window holding the pixels; ``np.asarray`` gives the full
array); boxes are [x, y, w, h] with w = x_max - x_min (BOP, no +1), [-1, -1, -1, -1] when empty.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class ObjectGT:
    """One object instance in one image; ``gt_id`` is its index in the image's list."""

    gt_id: int
    obj_id: int
    name: str
    R_m2c: np.ndarray          # (3, 3) model -> camera rotation
    t_m2c: np.ndarray          # (3,) metres
    mask_visib: np.ndarray     # (H, W) bool, modal (visible) mask
    mask: np.ndarray | None    # (H, W) bool, amodal silhouette inside the image, or None
    bbox_obj: list[int]        # amodal silhouette's box, unclipped; [-1]*4 when nothing is visible
    bbox_visib: list[int]
    px_count_all: int
    px_count_valid: int
    px_count_visib: int
    visib_fract: float


@dataclass
class PersonGT:
    """One person in one image (written to scene_humans.json and the COCO file)."""

    person_id: int
    body_model: str
    gender: str
    smplx: dict[str, list[float]]
    joints_3d_cam: np.ndarray          # (55, 3) metres, camera frame; NaN rows where no joint
    keypoints_coco17: np.ndarray       # (17, 3) u, v, vis in {0, 1, 2}; vis 0 -> u = v = 0
    keypoints_wholebody133: np.ndarray  # (133, 3) same convention
    mask_visib: np.ndarray             # (H, W) bool
    bbox_visib: list[int]
    bbox_amodal: list[int]
    visib_fract: float
    held_object_gt_ids: list[int] = field(default_factory=list)
    # BOP gt_info-style counts (as ObjectGT; bbox_amodal is BOP's bbox_obj): silhouette pixels on
    # the canvas 3x the image, in-image silhouette pixels with valid depth, visible pixels.
    px_count_all: int = 0
    px_count_valid: int = 0
    px_count_visib: int = 0
    mask: np.ndarray | None = None     # (H, W) bool amodal silhouette inside the image
    # the Anny body's exact parameters (PersonInstance.anny); smplx is then empty
    anny: dict | None = None
    # what the person wears (PersonInstance.appearance), None when undressed
    appearance: dict | None = None


@dataclass
class FrameRecord:
    """Everything known about one rendered image; the writers consume only this."""

    split: str
    scene_id: int
    im_id: int
    view_id: int
    frame_id: int            # dataset-wide running image index
    seed: int                # the master seed of the job
    width: int
    height: int
    K: np.ndarray            # (3, 3)
    R_w2c: np.ndarray        # (3, 3)
    t_w2c: np.ndarray        # (3,) metres
    rgb: np.ndarray          # (H, W, 3) uint8, sensor image
    depth: np.ndarray        # (H, W) float32 metres (Z in camera frame), 0 = no measurement
    depth_gt: np.ndarray     # (H, W) float32 metres, noise-free
    objects: list[ObjectGT]
    persons: list[PersonGT]
