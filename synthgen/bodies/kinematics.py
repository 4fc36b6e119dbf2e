"""SMPL-X forward kinematics and two-bone arm IK on joint positions (pure numpy + scipy).

In SMPL-X every joint's rest frame is aligned with the body frame, so a posed skeleton follows
from the rest joints alone: the global rotation of joint j is G[j] = G[parent(j)] @ R_local[j]
(G[root] = R(global_orient)) and its position is
P[j] = P[parent(j)] + G[parent(j)] @ (J_rest[j] - J_rest[parent(j)]), P[root] = J_rest[root] + transl.
This is what both backends compute for their joints (the mannequin's ``pelvis_rotation`` rotates
about the pelvis like SMPL-X's root), so IK solved here holds for the skinned output too.
Frames: whatever frame ``J_rest`` is in (the body frame: Y up, +Z forward, +X the body's left),
rotated into the world by ``global_orient`` and shifted by ``transl``; metres.
"""
from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from .base import SMPLXParams
from .keypoints import SMPLX_PARENTS

# SMPL-X joint indices used below
L_SHOULDER, R_SHOULDER, L_ELBOW, R_ELBOW, L_WRIST, R_WRIST = 16, 17, 18, 19, 20, 21


def local_rotations(p: SMPLXParams) -> np.ndarray:
    """(55, 3, 3) local rotation matrices: root, 21 body joints, jaw, eyes, 2 x 15 hand joints."""
    rv = np.zeros((55, 3))
    rv[0] = np.asarray(p.global_orient, float).reshape(3)
    rv[1:22] = np.asarray(p.body_pose, float).reshape(21, 3)
    rv[22] = np.asarray(p.jaw_pose, float).reshape(3)
    rv[23] = np.asarray(p.leye_pose, float).reshape(3)
    rv[24] = np.asarray(p.reye_pose, float).reshape(3)
    rv[25:40] = np.asarray(p.left_hand_pose, float).reshape(15, 3)
    rv[40:55] = np.asarray(p.right_hand_pose, float).reshape(15, 3)
    return Rotation.from_rotvec(rv).as_matrix()


def forward_kinematics(rest_joints: np.ndarray, p: SMPLXParams) -> tuple[np.ndarray, np.ndarray]:
    """Posed joint positions (55, 3) and global rotations (55, 3, 3) from rest joints (55, 3)
    (rows may be NaN for joints a backend lacks; they stay NaN but do not break their children:
    SMPL-X's jaw/eyes have no children)."""
    R = local_rotations(p)
    G = np.zeros((55, 3, 3))
    P = np.zeros((55, 3))
    for j, parent in enumerate(SMPLX_PARENTS):
        if parent < 0:
            G[j] = R[j]
            P[j] = rest_joints[j] + np.asarray(p.transl, float).reshape(3)
        else:
            G[j] = G[parent] @ R[j]
            P[j] = P[parent] + G[parent] @ (rest_joints[j] - rest_joints[parent])
    return P, G


def _set_local(p: SMPLXParams, joint: int, R_local: np.ndarray) -> None:
    bp = np.asarray(p.body_pose, float).reshape(21, 3).copy()
    bp[joint - 1] = Rotation.from_matrix(R_local).as_rotvec()
    p.body_pose = bp.ravel()


def reach(rest_joints: np.ndarray, p: SMPLXParams, side: str, target: np.ndarray,
          pole: np.ndarray | None = None, iterations: int = 3) -> float:
    """Bend the ``side`` ('left'/'right') arm so its wrist reaches ``target`` (world metres),
    editing ``p.body_pose`` in place; returns the remaining wrist-target distance (metres).

    Two-bone IK: the elbow's flexion sets the shoulder-wrist distance (law of cosines, about the
    elbow's current hinge axis), then the shoulder turns the arm onto the target by the smallest
    rotation, swung about the shoulder-target axis so the elbow points towards ``pole`` (default:
    down). Targets out of reach leave the arm stretched towards them.
    """
    S, E, W = (L_SHOULDER, L_ELBOW, L_WRIST) if side == "left" else (R_SHOULDER, R_ELBOW, R_WRIST)
    target = np.asarray(target, float)
    for _ in range(iterations):
        P, G = forward_kinematics(rest_joints, p)
        a = np.linalg.norm(P[E] - P[S])
        b = np.linalg.norm(P[W] - P[E])
        d = np.clip(np.linalg.norm(target - P[S]), abs(a - b) + 1e-4, a + b - 1e-4)
        # 1) elbow: current and wanted interior angle at the elbow
        u, v = P[S] - P[E], P[W] - P[E]
        cur = np.arccos(np.clip(u @ v / (a * b), -1.0, 1.0))
        want = np.arccos(np.clip((a * a + b * b - d * d) / (2 * a * b), -1.0, 1.0))
        axis = np.cross(u, v)
        if np.linalg.norm(axis) < 1e-6:
            # straight arm: flex about the axis that bends the forearm forward and up (body frame
            # +Z forward), expressed in world via the upper arm's global rotation
            fwd = G[0] @ np.array([0.0, 0.0, 1.0])
            axis = np.cross(u, fwd)
        axis /= np.linalg.norm(axis)
        # rotating v about `axis` by (want - cur) changes the interior angle by that amount
        R_w = Rotation.from_rotvec(axis * (want - cur)).as_matrix()
        G_new = R_w @ G[E]
        _set_local(p, E, G[SMPLX_PARENTS[E]].T @ G_new)
        # 2) shoulder: turn shoulder->wrist onto shoulder->target
        P, G = forward_kinematics(rest_joints, p)
        sw, st = P[W] - P[S], target - P[S]
        R_align = _min_rotation(sw, st)
        # swing about the target axis so the elbow points to the pole
        pole_dir = np.asarray(pole, float) if pole is not None else np.array([0.0, 0.0, -1.0])
        elbow = R_align @ (P[E] - P[S])
        ax = st / np.linalg.norm(st)
        e_perp = elbow - (elbow @ ax) * ax
        p_perp = pole_dir - (pole_dir @ ax) * ax
        if np.linalg.norm(e_perp) > 1e-6 and np.linalg.norm(p_perp) > 1e-6:
            ang = np.arctan2(np.cross(e_perp, p_perp) @ ax, e_perp @ p_perp)
            R_align = Rotation.from_rotvec(ax * ang).as_matrix() @ R_align
        _set_local(p, S, G[SMPLX_PARENTS[S]].T @ R_align @ G[S])
    P, _ = forward_kinematics(rest_joints, p)
    return float(np.linalg.norm(P[W] - target))


def _min_rotation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Smallest rotation taking direction ``a`` to direction ``b``."""
    a = a / np.linalg.norm(a)
    b = b / np.linalg.norm(b)
    axis = np.cross(a, b)
    s, c = np.linalg.norm(axis), float(a @ b)
    if s < 1e-9:
        if c > 0:
            return np.eye(3)
        perp = np.cross(a, [1.0, 0.0, 0.0])
        if np.linalg.norm(perp) < 1e-6:
            perp = np.cross(a, [0.0, 1.0, 0.0])
        return Rotation.from_rotvec(perp / np.linalg.norm(perp) * np.pi).as_matrix()
    return Rotation.from_rotvec(axis / s * np.arctan2(s, c)).as_matrix()


def palm_frame(joints: np.ndarray, side: str) -> np.ndarray:
    """A 4x4 world frame on the palm of one hand from its joints: origin between the wrist and the
    middle finger's base, x along the hand (wrist -> middle1), z out of the palm (the side the
    fingers curl to), y completing the right-handed frame (towards the thumb for the left hand,
    away from it for the right)."""
    w, idx, mid, pinky = (20, 25, 28, 31) if side == "left" else (21, 40, 43, 46)
    x = joints[mid] - joints[w]
    x /= np.linalg.norm(x)
    across = joints[idx] - joints[pinky]
    n = np.cross(x, across) if side == "left" else np.cross(across, x)
    n -= (n @ x) * x
    z = n / np.linalg.norm(n)
    y = np.cross(z, x)
    T = np.eye(4)
    T[:3, :3] = np.column_stack([x, y, z])
    T[:3, 3] = joints[w] + 0.55 * (joints[mid] - joints[w])
    return T
