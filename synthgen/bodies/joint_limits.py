"""Anatomical joint coordinates and plausible ranges for the SMPL-X skeleton (pure numpy/scipy).

Frames. Every SMPL-X joint's local frame is the body frame of the rest pose (a T-pose with the
palms down): Y up, +Z forward, +X the body's LEFT. A joint's axis-angle rotation turns its child
segment about the joint, expressed in that frame after its parents' rotations.

Representation (swing-twist). Each joint has three orthonormal *anatomical axes*: two swing axes
perpendicular to the segment and a twist axis along it (the rest direction of the segment, or
the vertical for the legs and spine). A local rotation is written uniquely as

    R = exp(a * A + b * B) @ exp(t * T)        (twist first, then a swing whose axis is in A-B)

and the joint's *anatomical angles* are (a, b, t) in degrees, named per joint (``flex``,
``abduct``, ``rotate_out``, ...). The signs were checked on the mannequin (see
``tests/test_poses.py``): positive ``flex`` bends a knee backwards, swings a thigh forward,
bends the trunk and head forward, flexes an elbow, curls a finger towards the palm.

Limits are a box on (a, b, t): :func:`clamp_rotvec` decomposes, clips each angle to its range
and recomposes, which is exact and continuous everywhere except at a swing of 180 deg (never
inside the table). A rotation already inside its box comes back unchanged (to float error).
The ranges are plausible active ranges of motion for an adult (rounded AAOS-style values),
deliberately a little generous; the SMPL-X spine, collar and forearm twist are spread over
several joints so their per-joint ranges are smaller than a whole-spine range.

Left and right. Axes are written for the left side and the spine; a right-side joint uses the
mirror image through the body's sagittal plane (x -> -x), under which an axis-angle vector
(x, y, z) becomes (x, -y, -z). The same angle table then means the same anatomical motion on
both sides, so mirroring a pose keeps it inside the limits.

Hand joints use absolute finger rotations (a flat hand is zero), not SMPL-X's parameters
relative to the relaxed hand mean; :mod:`synthgen.bodies.hand_poses` converts.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.spatial.transform import Rotation

from .keypoints import SMPLX_JOINT_NAMES

BODY_JOINT_NAMES: tuple[str, ...] = SMPLX_JOINT_NAMES[1:22]   # body_pose row j-1 drives joint j
FINGER_NAMES: tuple[str, ...] = tuple(n[len("left_"):] for n in SMPLX_JOINT_NAMES[25:40])
SIDES = ("left", "right")

_X, _Y, _Z = (1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)


def _neg(v):
    return tuple(-c for c in v)


_S2 = 1.0 / np.sqrt(2.0)
# The flat thumb points forward-outward at 45 deg in the palm plane (mannequin rest pose):
_THUMB_BONE = (_S2, 0.0, _S2)
_THUMB_PALMAR = (_S2, 0.0, -_S2)   # + moves the thumb tip towards the palm side (-Y)

# Anatomical axes of the LEFT side and the midline joints: ((name, axis) swing a, swing b, twist).
_LEFT_AXES: dict[str, tuple[tuple[str, tuple[float, float, float]], ...]] = {
    "hip": (("flex", _neg(_X)), ("abduct", _Z), ("rotate_out", _Y)),
    "knee": (("flex", _X), ("abduct", _Z), ("rotate_out", _Y)),
    "ankle": (("dorsiflex", _neg(_X)), ("invert", _neg(_Z)), ("rotate_out", _Y)),
    "foot": (("dorsiflex", _neg(_X)), ("invert", _neg(_Z)), ("rotate_out", _Y)),
    "collar": (("elevate", _Z), ("protract", _neg(_Y)), ("twist", _neg(_X))),
    "shoulder": (("raise", _Z), ("forward", _neg(_Y)), ("twist", _neg(_X))),
    "elbow": (("flex", _neg(_Y)), ("raise", _Z), ("supinate", _neg(_X))),
    "wrist": (("flex", _neg(_Z)), ("radial", _neg(_Y)), ("supinate", _neg(_X))),
    "finger": (("flex", _neg(_Z)), ("spread", _neg(_Y)), ("twist", _neg(_X))),
    "thumb": (("palmar", _THUMB_PALMAR), ("across", _Y), ("twist", _THUMB_BONE)),
}
_MIDLINE_AXES = (("flex", _X), ("bend_left", _neg(_Z)), ("turn_left", _Y))

# Plausible ranges in degrees, (low, high) per anatomical angle, same order as the axes.
_RANGES: dict[str, tuple[tuple[float, float], ...]] = {
    "spine1": ((-25, 45), (-20, 20), (-20, 20)),
    "spine2": ((-15, 35), (-15, 15), (-20, 20)),
    "spine3": ((-15, 30), (-15, 15), (-20, 20)),
    "neck": ((-30, 40), (-25, 25), (-40, 40)),
    "head": ((-35, 35), (-20, 20), (-40, 40)),
    "hip": ((-25, 125), (-25, 45), (-35, 45)),
    "knee": ((-3, 150), (-6, 6), (-15, 15)),
    "ankle": ((-50, 30), (-20, 30), (-20, 25)),
    "foot": ((-30, 65), (-10, 10), (-10, 10)),
    "collar": ((-10, 35), (-20, 25), (-15, 15)),
    "shoulder": ((-100, 100), (-50, 135), (-90, 90)),
    "elbow": ((-3, 145), (-10, 10), (-85, 85)),
    "wrist": ((-70, 80), (-35, 25), (-35, 35)),
    # finger twist is not an active motion, but SMPL-X's own relaxed hand mean twists the ring
    # and little fingers by up to 27 deg, so the twist range admits it.
    "finger1": ((-20, 95), (-25, 25), (-30, 30)),
    "finger2": ((-5, 110), (-12, 12), (-25, 25)),
    "finger3": ((-10, 90), (-12, 12), (-25, 25)),
    "thumb1": ((-20, 80), (-30, 70), (-30, 60)),
    "thumb2": ((-30, 40), (-15, 70), (-30, 30)),
    "thumb3": ((-20, 40), (-20, 90), (-30, 30)),
}


def _kind(joint: str) -> tuple[str, str]:
    """(side or '', table key) of a joint name such as 'left_knee', 'spine2', 'right_index3'."""
    side, _, rest = joint.partition("_")
    if side not in SIDES:
        return "", joint
    if rest[:-1] in ("index", "middle", "ring", "pinky"):
        return side, "finger"
    if rest[:-1] == "thumb":
        return side, "thumb"
    return side, rest


def _mirror(v) -> tuple[float, float, float]:
    return (v[0], -v[1], -v[2])


def joint_axes(joint: str) -> tuple[tuple[str, str, str], np.ndarray]:
    """Names of the three anatomical angles of ``joint`` and their unit axes (3, 3), rows =
    (swing a, swing b, twist) in the joint's local frame (body frame of the rest pose)."""
    side, kind = _kind(joint)
    spec = _MIDLINE_AXES if side == "" else _LEFT_AXES[kind]
    axes = np.array([_mirror(a) if side == "right" else a for _, a in spec], dtype=np.float64)
    return (spec[0][0], spec[1][0], spec[2][0]), axes


def _default_limits() -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for joint in BODY_JOINT_NAMES + SMPLX_JOINT_NAMES[25:55]:
        side, kind = _kind(joint)
        key = kind if side == "" or kind in ("hip", "knee", "ankle", "foot", "collar", "shoulder",
                                             "elbow", "wrist") else kind + joint[-1]
        out[joint] = np.array(_RANGES[key], dtype=np.float64)
        out[joint].setflags(write=False)
    return out


JOINT_LIMITS: Mapping[str, np.ndarray] = _default_limits()
"""Joint name -> (3, 2) degrees: (low, high) of each anatomical angle of :func:`joint_axes`.
Covers the 21 body joints and the 30 finger joints (absolute finger rotations)."""


def to_anatomical(joint: str, rotvecs: np.ndarray) -> np.ndarray:
    """Anatomical angles (..., 3) in degrees of local axis-angle rotations (..., 3) radians."""
    _, axes = joint_axes(joint)
    rv = np.array(rotvecs, dtype=np.float64)   # a copy: scipy refuses read-only buffers
    q = Rotation.from_rotvec(rv.reshape(-1, 3)).as_quat()           # x, y, z, w
    q = np.where(q[:, 3:4] < 0.0, -q, q)                              # w >= 0: angle in [0, pi]
    t_axis = axes[2]
    proj = q[:, :3] @ t_axis
    norm = np.hypot(proj, q[:, 3])
    ok = norm > 1e-9                                                  # else a 180 deg swing
    twist_angle = np.where(ok, 2.0 * np.arctan2(proj, np.where(ok, q[:, 3], 1.0)), 0.0)
    twist = Rotation.from_rotvec(twist_angle[:, None] * t_axis)
    swing = (Rotation.from_quat(q) * twist.inv()).as_rotvec()
    out = np.stack([swing @ axes[0], swing @ axes[1], twist_angle], axis=-1)
    return np.degrees(out).reshape(rv.shape)


def from_anatomical(joint: str, angles_deg: np.ndarray) -> np.ndarray:
    """Local axis-angle (..., 3) radians of anatomical angles (..., 3) degrees (inverse of
    :func:`to_anatomical` inside the table's ranges)."""
    _, axes = joint_axes(joint)
    a = np.radians(np.asarray(angles_deg, dtype=np.float64)).reshape(-1, 3)
    swing = Rotation.from_rotvec(a[:, 0:1] * axes[0] + a[:, 1:2] * axes[1])
    twist = Rotation.from_rotvec(a[:, 2:3] * axes[2])
    return (swing * twist).as_rotvec().reshape(np.shape(angles_deg))


def clamp_rotvec(joint: str, rotvecs: np.ndarray,
                 limits: Mapping[str, np.ndarray] = JOINT_LIMITS) -> np.ndarray:
    """``rotvecs`` (..., 3) of ``joint`` with each anatomical angle clipped to its range."""
    lim = np.asarray(limits[joint], dtype=np.float64)
    ang = to_anatomical(joint, rotvecs)
    return from_anatomical(joint, np.clip(ang, lim[:, 0], lim[:, 1]))


def clamp_body_pose(body_pose: np.ndarray,
                    limits: Mapping[str, np.ndarray] = JOINT_LIMITS) -> np.ndarray:
    """A body_pose (63,) or (21, 3) clamped joint by joint; returns (21, 3) radians."""
    bp = np.asarray(body_pose, dtype=np.float64).reshape(21, 3)
    return np.stack([clamp_rotvec(name, bp[i], limits) for i, name in enumerate(BODY_JOINT_NAMES)])


def clamp_hand_pose(side: str, hand_abs: np.ndarray,
                    limits: Mapping[str, np.ndarray] = JOINT_LIMITS) -> np.ndarray:
    """Absolute finger rotations (45,) or (15, 3) of the ``side`` hand, clamped; (15, 3)."""
    h = np.asarray(hand_abs, dtype=np.float64).reshape(15, 3)
    return np.stack([clamp_rotvec(f"{side}_{f}", h[i], limits) for i, f in enumerate(FINGER_NAMES)])


def limit_violations(joint_rotvecs: Mapping[str, np.ndarray], tol_deg: float = 0.5,
                     limits: Mapping[str, np.ndarray] = JOINT_LIMITS) -> list[str]:
    """One readable line per anatomical angle outside its range by more than ``tol_deg``."""
    out = []
    for joint, rv in joint_rotvecs.items():
        names, _ = joint_axes(joint)
        ang = to_anatomical(joint, rv)
        lim = np.asarray(limits[joint])
        for k in range(3):
            if not lim[k, 0] - tol_deg <= ang[k] <= lim[k, 1] + tol_deg:
                out.append(f"{joint}.{names[k]} = {ang[k]:.1f} deg outside "
                           f"[{lim[k, 0]:.0f}, {lim[k, 1]:.0f}]")
    return out


def body_rotvecs(body_pose: np.ndarray) -> dict[str, np.ndarray]:
    """body_pose (63,) or (21, 3) -> {joint name: (3,) axis-angle}."""
    bp = np.asarray(body_pose, dtype=np.float64).reshape(21, 3)
    return {name: bp[i] for i, name in enumerate(BODY_JOINT_NAMES)}


def hand_rotvecs(side: str, hand_abs: np.ndarray) -> dict[str, np.ndarray]:
    """Absolute finger rotations (45,) or (15, 3) -> {'<side>_<finger>': (3,) axis-angle}."""
    h = np.asarray(hand_abs, dtype=np.float64).reshape(15, 3)
    return {f"{side}_{f}": h[i] for i, f in enumerate(FINGER_NAMES)}
