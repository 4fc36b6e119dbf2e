"""Keypoint schemas and their sources on the SMPL-X body (see shared spec ``keypoints.md``).

Everything here is pure numpy. Joint indices refer to the *extended* SMPL-X joint array of 144
rows that the ``smplx`` package returns with ``use_face_contour=True``:
0-54 skinned joints, 55-59 nose/eyes/ears, 60-65 feet, 66-75 fingertips, 76-126 face
landmarks, 127-143 face contour. A backend without a source for a row fills it with NaN and the
keypoint is written with v=0 (never guessed).
"""
from __future__ import annotations

import numpy as np

NUM_SMPLX_JOINTS = 55
NUM_SMPLX_EXTENDED = 144
#: Rows (half-open) of the extended array holding the 51 inner face landmarks and the 17-point
#: face contour (the smplx package's order; WholeBody's 68 face points are contour then inner).
SMPLX_FACE_INNER: tuple[int, int] = (76, 127)
SMPLX_FACE_CONTOUR: tuple[int, int] = (127, 144)

# Names of the skinned SMPL-X joints 0-54 (smplx/joint_names.py order).
SMPLX_JOINT_NAMES: tuple[str, ...] = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
    "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck", "left_collar",
    "right_collar", "head", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "jaw", "left_eye_smplhf", "right_eye_smplhf",
    "left_index1", "left_index2", "left_index3", "left_middle1", "left_middle2", "left_middle3",
    "left_pinky1", "left_pinky2", "left_pinky3", "left_ring1", "left_ring2", "left_ring3",
    "left_thumb1", "left_thumb2", "left_thumb3",
    "right_index1", "right_index2", "right_index3", "right_middle1", "right_middle2",
    "right_middle3", "right_pinky1", "right_pinky2", "right_pinky3", "right_ring1", "right_ring2",
    "right_ring3", "right_thumb1", "right_thumb2", "right_thumb3",
)

# SMPL-X kinematic parents of joints 0-54 (kintree_table[0] of the SMPL-X model files).
SMPLX_PARENTS: tuple[int, ...] = (
    -1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 15, 15, 15,
    20, 25, 26, 20, 28, 29, 20, 31, 32, 20, 34, 35, 20, 37, 38,
    21, 40, 41, 21, 43, 44, 21, 46, 47, 21, 49, 50, 21, 52, 53,
)

# Surface landmarks 55-75 of the extended array, in smplx's order.
SMPLX_LANDMARK_NAMES: tuple[str, ...] = (
    "nose", "right_eye", "left_eye", "right_ear", "left_ear",
    "left_big_toe", "left_small_toe", "left_heel", "right_big_toe", "right_small_toe", "right_heel",
    "left_thumb", "left_index", "left_middle", "left_ring", "left_pinky",
    "right_thumb", "right_index", "right_middle", "right_ring", "right_pinky",
)

COCO17_NAMES: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)
# 1-based, as in the COCO categories entry.
COCO17_SKELETON: tuple[tuple[int, int], ...] = (
    (16, 14), (14, 12), (17, 15), (15, 13), (12, 13), (6, 12), (7, 13), (6, 7), (6, 8), (7, 9),
    (8, 10), (9, 11), (2, 3), (1, 2), (1, 3), (2, 4), (3, 5), (4, 6), (5, 7),
)

_FEET = ("left_big_toe", "left_small_toe", "left_heel", "right_big_toe", "right_small_toe",
         "right_heel")
_HAND = ("root", "thumb1", "thumb2", "thumb3", "thumb4", "forefinger1", "forefinger2",
         "forefinger3", "forefinger4", "middle_finger1", "middle_finger2", "middle_finger3",
         "middle_finger4", "ring_finger1", "ring_finger2", "ring_finger3", "ring_finger4",
         "pinky_finger1", "pinky_finger2", "pinky_finger3", "pinky_finger4")
#: Names of the 133 COCO-WholeBody keypoints (formats.md index ranges: body, feet, 68 face,
#: left hand, right hand), as mmpose names them.
WHOLEBODY133_NAMES: tuple[str, ...] = (
    COCO17_NAMES + _FEET + tuple(f"face_{i}" for i in range(68))
    + tuple(f"left_hand_{n}" for n in _HAND) + tuple(f"right_hand_{n}" for n in _HAND))

#: Rows 0-16 of the 133 WholeBody keypoints: the body, COCO-17 (the annotation's ``keypoints``).
WHOLEBODY133_BODY: tuple[int, int] = (0, len(COCO17_NAMES))
#: COCO-WholeBody index ranges inside the 133 keypoints (half-open) beside the body: part ->
#: (start, end); the COCO annotation fields are ``{part}_kpts`` (and ``_valid``, ``_box``).
WHOLEBODY133_PARTS: dict[str, tuple[int, int]] = {
    "foot": (17, 23),
    "face": (23, 91),
    "lefthand": (91, 112),
    "righthand": (112, 133),
}

# COCO-WholeBody index -> extended SMPL-X index (keypoints.md). Body + feet (WB 0-22):
_WB_BODY_FEET = [55, 57, 56, 59, 58, 16, 17, 18, 19, 20, 21, 1, 2, 4, 5, 7, 8,
                 60, 61, 62, 63, 64, 65]
# Hand roots have no SMPL-X joint: the wrist (20 left, 21 right) is the common convention.
_WB_LHAND = [20, 37, 38, 39, 66, 25, 26, 27, 67, 28, 29, 30, 68, 34, 35, 36, 69, 31, 32, 33, 70]
_WB_RHAND = [21, 52, 53, 54, 71, 40, 41, 42, 72, 43, 44, 45, 73, 49, 50, 51, 74, 46, 47, 48, 75]
WHOLEBODY133_FROM_SMPLX: np.ndarray = np.array(
    _WB_BODY_FEET + list(range(*SMPLX_FACE_CONTOUR)) + list(range(*SMPLX_FACE_INNER)) + _WB_LHAND + _WB_RHAND,
    dtype=np.int64)
COCO17_FROM_SMPLX: np.ndarray = WHOLEBODY133_FROM_SMPLX[slice(*WHOLEBODY133_BODY)].copy()

assert WHOLEBODY133_FROM_SMPLX.shape == (133,) and len(WHOLEBODY133_NAMES) == 133


def extended_joints(joints55: np.ndarray, landmarks: dict[str, np.ndarray],
                    face: np.ndarray | None = None) -> np.ndarray:
    """Assemble the (144, 3) extended SMPL-X joint array from its parts (same frame and unit
    as the inputs). Missing landmarks and a missing ``face`` (68, 3: contour 17 then 51 inner
    landmarks, i.e. rows 127-143 then 76-126) stay NaN."""
    out = np.full((NUM_SMPLX_EXTENDED, 3), np.nan)
    out[:NUM_SMPLX_JOINTS] = joints55
    for k, name in enumerate(SMPLX_LANDMARK_NAMES):
        if name in landmarks:
            out[NUM_SMPLX_JOINTS + k] = landmarks[name]
    if face is not None:
        n_contour = SMPLX_FACE_CONTOUR[1] - SMPLX_FACE_CONTOUR[0]
        out[slice(*SMPLX_FACE_CONTOUR)] = face[:n_contour]
        out[slice(*SMPLX_FACE_INNER)] = face[n_contour:]
    return out
