"""The body-model interface shared by every backend.

A backend turns SMPL-X parameters (SMPL-X names and shapes, axis-angle, metres) into a posed
mesh, the 55 SMPL-X skinned joints and named surface landmarks, all in the *world* frame
(Z up, metres). SMPL-X's own body frame is Y up, facing +Z; the world placement is carried by
``global_orient`` (rotation about the pelvis joint) and ``transl``, exactly as in SMPL-X.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

SMPLX_PARAM_SHAPES: dict[str, int] = {
    "global_orient": 3, "body_pose": 63, "left_hand_pose": 45, "right_hand_pose": 45,
    "jaw_pose": 3, "leye_pose": 3, "reye_pose": 3, "transl": 3,
}


@dataclass
class SMPLXParams:
    """SMPL-X parameters of one person. Axis-angle radians; ``transl`` metres; world frame."""

    betas: np.ndarray = field(default_factory=lambda: np.zeros(10))
    global_orient: np.ndarray = field(default_factory=lambda: np.zeros(3))
    body_pose: np.ndarray = field(default_factory=lambda: np.zeros(63))
    left_hand_pose: np.ndarray = field(default_factory=lambda: np.zeros(45))
    right_hand_pose: np.ndarray = field(default_factory=lambda: np.zeros(45))
    jaw_pose: np.ndarray = field(default_factory=lambda: np.zeros(3))
    leye_pose: np.ndarray = field(default_factory=lambda: np.zeros(3))
    reye_pose: np.ndarray = field(default_factory=lambda: np.zeros(3))
    expression: np.ndarray = field(default_factory=lambda: np.zeros(10))
    transl: np.ndarray = field(default_factory=lambda: np.zeros(3))
    #: the body shape of a backend that has no betas (Anny: label -> value, see
    #: ``synthgen.bodies.anny_backend.PHENOTYPE_LABELS``); None for SMPL-X-shaped backends.
    #: Not an SMPL-X parameter: ``to_lists`` leaves it out.
    phenotype: dict[str, float] | None = None

    def to_lists(self) -> dict[str, list[float]]:
        """JSON-ready copy with float lists (the ``smplx`` block of scene_humans.json)."""
        return {k: [float(x) for x in np.asarray(getattr(self, k)).ravel()]
                for k in ("betas", "global_orient", "body_pose", "left_hand_pose",
                          "right_hand_pose", "jaw_pose", "leye_pose", "reye_pose",
                          "expression", "transl")}


@dataclass
class BodyOutput:
    """A posed body in the world frame (metres).

    ``joints`` (55, 3) SMPL-X skinned joints, NaN rows where the backend has no such joint;
    ``landmarks`` name -> (3,) for the SMPL-X landmark names the backend can source;
    ``skin_joint`` (N,) the dominant skinning joint (SMPL-X index) of each vertex, for body-part
    passes; ``face`` (68, 3) the face landmarks where the backend has a face (smplx, anny): the 17
    contour points then the 51 inner ones, i.e. iBUG-68 order, the layout
    :func:`~synthgen.bodies.keypoints.extended_joints` takes; None for the mannequin.
    """

    vertices: np.ndarray
    faces: np.ndarray
    joints: np.ndarray
    landmarks: dict[str, np.ndarray]
    skin_joint: np.ndarray
    face: np.ndarray | None = None

    @property
    def extended(self) -> np.ndarray:
        """The (144, 3) extended SMPL-X joint array (0-54 joints, 55-75 landmarks, 76-143 face)."""
        from .keypoints import extended_joints

        return extended_joints(self.joints, self.landmarks, self.face)


class BodyModel(Protocol):
    """What every backend provides."""

    name: str
    gender: str

    def forward(self, params: SMPLXParams) -> BodyOutput:  # pragma: no cover - protocol
        ...
