"""The default body backend: the ``mannequin-x`` package's skinned ``wooden`` model (Apache-2.0).

It has the SMPL-X skeleton (54 joints: SMPL-X's 55 without jaw and eyes, plus zero-length
``L_Hand``/``R_Hand`` skinning joints at the wrists) and SMPL-X's first ten shape coefficients.
Parameter names are mapped to SMPL-X's at this boundary:

====================  ===========================================
SMPL-X                mannequin-x
====================  ===========================================
betas[:10]            shape (set at construction / ``reshape``)
global_orient         pelvis_rotation (rotation about the pelvis joint, as SMPL-X's root)
body_pose (63)        body_pose (21, 3)
left/right_hand_pose  hand_pose (30, 3): left 15 then right 15
transl                global_translation
jaw/eye poses, expr.  no joints or geometry: ignored
====================  ===========================================

The mannequin has no face mesh, so SMPL-X's face landmarks have no source here. Its nose, eyes,
ears, toes, heels and fingertips are fixed vertex ids chosen once by the rule in
:func:`derive_landmark_vertex_ids` (rest pose, zero shape, body frame Y up, +Z forward, +X the
body's left) and kept in :data:`LANDMARK_VERTEX_IDS`; ``tests/test_bodies.py`` re-derives them.
"""
from __future__ import annotations

import numpy as np

from .base import BodyOutput, SMPLXParams

# SMPL-X joint index of each mannequin joint (-1: mannequin-only zero-length hand joints).
_MANNEQUIN_TO_SMPLX = np.array(list(range(22)) + [-1, -1] + list(range(25, 55)), dtype=np.int64)

# Chosen by derive_landmark_vertex_ids() on mannequin-x 0.3.0 'wooden' (see module docstring).
LANDMARK_VERTEX_IDS: dict[str, int] = {
    "nose": 14257,
    "right_eye": 15074,
    "left_eye": 14396,
    "right_ear": 15677,
    "left_ear": 14868,
    "left_big_toe": 20191,
    "left_small_toe": 20202,
    "left_heel": 20108,
    "right_big_toe": 18989,
    "right_small_toe": 18988,
    "right_heel": 18906,
    "left_thumb": 6271,
    "left_index": 6529,
    "left_middle": 6674,
    "left_ring": 6908,
    "left_pinky": 7154,
    "right_thumb": 9826,
    "right_index": 10084,
    "right_middle": 10229,
    "right_ring": 10463,
    "right_pinky": 10709,
}


def _require_mannequin():
    try:
        from mannequin import Mannequin
    except ImportError as exc:  # pragma: no cover - it is a core dependency
        raise ImportError("the 'mannequin' body model needs the mannequin-x package: "
                          "pip install mannequin-x") from exc
    return Mannequin


def derive_landmark_vertex_ids(model) -> dict[str, int]:
    """The written rule that picks the mannequin's landmark vertices (rest pose, zero shape).

    Body frame: Y up, +Z forward, +X the body's left; ``Jh`` is the head joint.
    - nose: head vertex with the largest Z among those within 1.5 cm of height Jh.y + 4 cm and
      1.5 cm of the mid-sagittal plane;
    - left/right eye: largest Z among head vertices within 1.5 cm of height Jh.y + 7.5 cm and
      1.2 cm of x = Jh.x +/- 3.2 cm (an adult's half inter-pupillary distance);
    - left/right ear: largest +/-X among head vertices within 1.5 cm of height Jh.y + 5 cm and
      3 cm of the head joint's coronal plane;
    - big/small toe: among the foot's vertices (dominant skin joint L_Foot/R_Foot) within 3 cm of
      the sole, the most forward one on the medial / lateral side of the foot joint;
    - heel: among ankle and foot vertices within 3 cm of the sole, the most backward one;
    - fingertips: among the vertices of the distal phalanx joint (X3), the one farthest along the
      bone direction X2 -> X3.
    """
    pose = model.rest_pose()
    v = np.asarray(model.vertices(pose), dtype=np.float64)
    J = np.asarray(model.joint_transforms(pose))[:, :3, 3]
    names = list(model.joint_names)
    dom = _dominant_joint(model)

    def verts_of(*joint_names: str) -> np.ndarray:
        return np.where(np.isin(dom, [names.index(n) for n in joint_names]))[0]

    out: dict[str, int] = {}
    head = verts_of("Head")
    jh = J[names.index("Head")]

    def pick(cands: np.ndarray, mask: np.ndarray, score: np.ndarray, what: str) -> int:
        sel = cands[mask]
        if sel.size == 0:
            raise RuntimeError(f"mannequin landmark rule found no vertex for {what}")
        return int(sel[np.argmax(score[mask])])

    hv = v[head]
    m = (np.abs(hv[:, 1] - (jh[1] + 0.04)) < 0.015) & (np.abs(hv[:, 0] - jh[0]) < 0.015)
    out["nose"] = pick(head, m, hv[:, 2], "nose")
    for side, sx in (("left", 1.0), ("right", -1.0)):
        m = (np.abs(hv[:, 1] - (jh[1] + 0.075)) < 0.015) & (np.abs(hv[:, 0] - (jh[0] + sx * 0.032)) < 0.012)
        out[f"{side}_eye"] = pick(head, m, hv[:, 2], f"{side}_eye")
        m = (np.abs(hv[:, 1] - (jh[1] + 0.05)) < 0.015) & (np.abs(hv[:, 2] - jh[2]) < 0.03)
        out[f"{side}_ear"] = pick(head, m, sx * hv[:, 0], f"{side}_ear")
    for side, S, sx in (("left", "L", 1.0), ("right", "R", -1.0)):
        foot = verts_of(f"{S}_Foot")
        fv = v[foot]
        jf = J[names.index(f"{S}_Foot")]
        sole = fv[:, 1] < fv[:, 1].min() + 0.03
        medial = sx * (fv[:, 0] - jf[0]) <= 0.0
        lateral = sx * (fv[:, 0] - jf[0]) >= 0.02
        out[f"{side}_big_toe"] = pick(foot, sole & medial, fv[:, 2], f"{side}_big_toe")
        out[f"{side}_small_toe"] = pick(foot, sole & lateral, fv[:, 2], f"{side}_small_toe")
        ank = verts_of(f"{S}_Ankle", f"{S}_Foot")
        av = v[ank]
        out[f"{side}_heel"] = pick(ank, av[:, 1] < av[:, 1].min() + 0.03, -av[:, 2], f"{side}_heel")
        for finger in ("thumb", "index", "middle", "ring", "pinky"):
            F = finger.capitalize()
            tip = verts_of(f"{S}_{F}3")
            j2, j3 = J[names.index(f"{S}_{F}2")], J[names.index(f"{S}_{F}3")]
            d = (j3 - j2) / np.linalg.norm(j3 - j2)
            out[f"{side}_{finger}"] = pick(tip, np.ones(len(tip), bool), (v[tip] - j3) @ d,
                                           f"{side}_{finger}")
    return out


def _dominant_joint(model) -> np.ndarray:
    """Index (into the mannequin's joints) of each vertex's largest skinning weight."""
    w = np.asarray(model._skin_weights)
    idx = np.asarray(model._skin_joint_indices)
    return idx[np.arange(len(w)), w.argmax(1)]


class MannequinBody:
    """SMPL-X-driven ``wooden`` mannequin. ``forward`` returns world-frame metres."""

    name = "mannequin"
    gender = "neutral"

    def __init__(self, flat_hand_mean: bool = False):
        Mannequin = _require_mannequin()
        self._model = Mannequin("wooden", flat_hand_mean=flat_hand_mean)
        self._betas = np.zeros(10)
        dom = _dominant_joint(self._model)
        smplx_dom = _MANNEQUIN_TO_SMPLX[dom]
        # zero-length hand joints skin the palm: attribute them to the wrist (20 / 21).
        hand = np.array([self._model.joint_names.index("L_Hand"), self._model.joint_names.index("R_Hand")])
        smplx_dom[dom == hand[0]] = 20
        smplx_dom[dom == hand[1]] = 21
        self._skin_joint = smplx_dom
        self._landmark_ids = LANDMARK_VERTEX_IDS or derive_landmark_vertex_ids(self._model)

    @property
    def faces(self) -> np.ndarray:
        return np.asarray(self._model.faces, dtype=np.int64)

    def forward(self, params: SMPLXParams) -> BodyOutput:
        betas = np.asarray(params.betas, dtype=np.float64)[:10]
        if not np.array_equal(betas, self._betas):
            self._model.reshape(betas.astype(np.float32))
            self._betas = betas.copy()
        pose = self._model.rest_pose()
        pose["body_pose"] = np.asarray(params.body_pose, np.float32).reshape(21, 3)
        pose["hand_pose"] = np.concatenate([np.asarray(params.left_hand_pose, np.float32).reshape(15, 3),
                                            np.asarray(params.right_hand_pose, np.float32).reshape(15, 3)])
        pose["pelvis_rotation"] = np.asarray(params.global_orient, np.float32).reshape(3)
        pose["global_rotation"] = np.zeros(3, np.float32)
        pose["global_translation"] = np.asarray(params.transl, np.float32).reshape(3)
        verts = np.asarray(self._model.vertices(pose), dtype=np.float64)
        T = np.asarray(self._model.joint_transforms(pose), dtype=np.float64)
        joints = np.full((55, 3), np.nan)
        keep = _MANNEQUIN_TO_SMPLX >= 0
        joints[_MANNEQUIN_TO_SMPLX[keep]] = T[keep, :3, 3]
        landmarks = {k: verts[i].copy() for k, i in self._landmark_ids.items()}
        return BodyOutput(vertices=verts, faces=self.faces, joints=joints, landmarks=landmarks,
                          skin_joint=self._skin_joint)
