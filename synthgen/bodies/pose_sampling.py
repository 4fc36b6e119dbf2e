"""Pose sampling: draw a named pose or a slerp blend of two partners from the library, mirror it,
add Gaussian noise to every anatomical angle and clamp into the joint limits; shape coefficients;
the base posture of any pose from its leg angles. Pure numpy/scipy.

Poses are in the upright body frame of :mod:`synthgen.bodies.pose_library` (SMPL-X's rest
frame: Y up, +Z forward, +X the body's left); :meth:`PoseSample.to_params` turns it into the
world (Z up, metres) with a yaw.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np
from scipy.spatial.transform import Rotation

from .base import SMPLXParams
from .hand_poses import hand_pose_absolute, smplx_hand_mean
from .joint_limits import (BODY_JOINT_NAMES, FINGER_NAMES, JOINT_LIMITS, SIDES, clamp_body_pose,
                           clamp_hand_pose, from_anatomical, to_anatomical)
from .pose_library import POSE_GROUPS, POSE_NAMES, NamedPose, build_named_poses, mirror_pose

# Body frame (SMPL-X, Y up) -> world (Z up): +90 deg about X.
BODY_TO_WORLD = Rotation.from_rotvec([np.pi / 2, 0.0, 0.0])


def body_row(joint: str) -> int:
    """Row of ``joint`` in a (21, 3) ``body_pose``."""
    return BODY_JOINT_NAMES.index(joint)


@dataclass
class PoseSample:
    """A sampled pose in the upright body frame (:mod:`synthgen.bodies.pose_library`).

    ``body_pose`` (63,) radians; ``left/right_hand_pose`` (45,) SMPL-X parameters for a
    ``flat_hand_mean=False`` model; ``root_orient`` (3,) pelvis rotation in the upright body
    frame; ``names`` = (pose a, pose b) blended at fraction ``mix`` towards b (a == b, mix 0 when
    not blended); ``posture`` in :data:`POSTURES` (``needs_seat`` for 'sitting'); ``hands`` =
    (left, right) hand-pose names of the nearer endpoint; ``mirrored``: left/right swapped;
    ``both_feet``: both feet should stand flat on the floor (see :func:`plant_feet`).
    """

    body_pose: np.ndarray
    left_hand_pose: np.ndarray
    right_hand_pose: np.ndarray
    root_orient: np.ndarray = field(default_factory=lambda: np.zeros(3))
    names: tuple[str, str] = ("standing", "standing")
    mix: float = 0.0
    posture: str = "standing"
    hands: tuple[str, str] = ("relaxed", "relaxed")
    mirrored: bool = False
    both_feet: bool = True

    @property
    def needs_seat(self) -> bool:
        return self.posture == "sitting"

    @property
    def label(self) -> str:
        """'reaching_up', or 'standing~reaching_up@0.37' for a blend (for PersonInstance)."""
        a, b = self.names
        return a if a == b or self.mix == 0.0 else f"{a}~{b}@{self.mix:.2f}"

    def to_params(self, betas: np.ndarray | None = None, yaw: float = 0.0,
                  transl: np.ndarray | None = None, phenotype: dict | None = None) -> SMPLXParams:
        """SMPL-X parameters in the world (Z up): ``global_orient = Rz(yaw) Rx(90) root``,
        yaw in radians about +Z (0 faces world -Y); ``transl`` metres (default 0); ``phenotype``
        the shape of a backend without betas (Anny)."""
        p = SMPLXParams(phenotype=dict(phenotype) if phenotype else None)
        if betas is not None:
            p.betas = np.asarray(betas, dtype=np.float64).copy()
        root = Rotation.from_rotvec(np.array(self.root_orient, np.float64))
        R = Rotation.from_rotvec([0.0, 0.0, yaw]) * BODY_TO_WORLD * root
        p.global_orient = R.as_rotvec()
        p.body_pose = np.asarray(self.body_pose, dtype=np.float64).reshape(63).copy()
        p.left_hand_pose = np.asarray(self.left_hand_pose, dtype=np.float64).reshape(45).copy()
        p.right_hand_pose = np.asarray(self.right_hand_pose, dtype=np.float64).reshape(45).copy()
        if transl is not None:
            p.transl = np.asarray(transl, dtype=np.float64).reshape(3).copy()
        return p


def _slerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """Per-row slerp of axis-angle rotations (..., 3): Ra * exp(t * log(Ra^-1 Rb))."""
    # copies: scipy's from_rotvec refuses read-only buffers
    a2, b2 = np.array(a, np.float64).reshape(-1, 3), np.array(b, np.float64).reshape(-1, 3)
    if t == 0.0:
        return a2.copy().reshape(np.shape(a))
    if t == 1.0:
        return b2.copy().reshape(np.shape(b))
    Ra, Rb = Rotation.from_rotvec(a2), Rotation.from_rotvec(b2)
    rel = (Ra.inv() * Rb).as_rotvec()
    return (Ra * Rotation.from_rotvec(t * rel)).as_rotvec().reshape(np.shape(a))


def blend_poses(a: NamedPose, b: NamedPose, t: float) -> PoseSample:
    """Per-joint slerp from ``a`` (t=0) to ``b`` (t=1), root and absolute finger rotations
    included; no noise, no clamping."""
    if not 0.0 <= t <= 1.0:
        raise ValueError(f"blend fraction must be in [0, 1], got {t}")
    lh, rh = (_slerp(hand_pose_absolute(ha, side), hand_pose_absolute(hb, side), t)
              for side, ha, hb in (("left", a.left_hand, b.left_hand),
                                   ("right", a.right_hand, b.right_hand)))
    mean = smplx_hand_mean()
    near = a if t <= 0.5 else b
    return PoseSample(body_pose=_slerp(a.body, b.body, t).ravel(),
                      left_hand_pose=(lh - mean[0]).ravel(), right_hand_pose=(rh - mean[1]).ravel(),
                      root_orient=_slerp(a.root, b.root, t), names=(a.name, b.name), mix=float(t),
                      posture=near.posture, hands=(near.left_hand, near.right_hand),
                      both_feet=a.both_feet and b.both_feet)


def mirror_sample(s: PoseSample) -> PoseSample:
    """``s`` mirrored left <-> right (see :func:`mirror_pose`)."""
    mean = smplx_hand_mean()
    root, body, lh, rh = mirror_pose(s.root_orient, s.body_pose,
                                     np.reshape(s.left_hand_pose, (15, 3)) + mean[0],
                                     np.reshape(s.right_hand_pose, (15, 3)) + mean[1])
    return replace(s, body_pose=body.ravel(), root_orient=root,
                   left_hand_pose=(lh - mean[0]).ravel(), right_hand_pose=(rh - mean[1]).ravel(),
                   hands=(s.hands[1], s.hands[0]), mirrored=not s.mirrored)


def perturb(s: PoseSample, rng: np.random.Generator, noise_deg: float, hand_noise_deg: float,
            limits: Mapping[str, np.ndarray] | None = JOINT_LIMITS) -> PoseSample:
    """Gaussian noise (std in degrees) on every anatomical angle of every body and finger joint;
    then the ankles are re-solved so that each foot keeps its orientation in the body frame (a
    flat foot stays flat); then every joint is clamped into ``limits`` (None: no clamping; a
    clamped ankle may tilt its foot a little). The root is left alone: it holds the posture (a
    tilted pelvis) and the scene sampler owns the heading."""
    body = np.asarray(s.body_pose, dtype=np.float64).reshape(21, 3).copy()
    if noise_deg > 0:
        feet = foot_orientations(s.root_orient, body)
        noise = rng.normal(0.0, noise_deg, size=(21, 3))
        body = np.stack([from_anatomical(n, to_anatomical(n, body[i]) + noise[i])
                         for i, n in enumerate(BODY_JOINT_NAMES)])
        # the ankles absorb the leg noise so each foot keeps its orientation (flat stays flat)
        body = solve_ankles(s.root_orient, body, feet)
    mean = smplx_hand_mean()
    hands = []
    for k, side in enumerate(SIDES):
        h = np.reshape(s.left_hand_pose if k == 0 else s.right_hand_pose, (15, 3)) + mean[k]
        if hand_noise_deg > 0:
            noise = rng.normal(0.0, hand_noise_deg, size=(15, 3))
            names = [f"{side}_{f}" for f in FINGER_NAMES]
            h = np.stack([from_anatomical(n, to_anatomical(n, h[i]) + noise[i])
                          for i, n in enumerate(names)])
        if limits is not None:
            h = clamp_hand_pose(side, h, limits)
        hands.append((h - mean[k]).ravel())
    if limits is not None:
        body = clamp_body_pose(body, limits)
    return replace(s, body_pose=body.ravel(), left_hand_pose=hands[0], right_hand_pose=hands[1])


def foot_orientations(root: np.ndarray, body: np.ndarray) -> list[Rotation]:
    """Orientation of each ankle's frame (the foot) in the upright body frame, [left, right]."""
    R0 = Rotation.from_rotvec(np.array(root, np.float64))
    out = []
    for side in SIDES:
        R = R0
        for j in ("hip", "knee", "ankle"):
            R = R * Rotation.from_rotvec(np.array(body[body_row(f"{side}_{j}")]))
        out.append(R)
    return out


def solve_ankles(root: np.ndarray, body: np.ndarray, feet: list[Rotation]) -> np.ndarray:
    """``body`` with each ankle set so the foot has orientation ``feet[side]``."""
    body = np.array(body, np.float64).reshape(21, 3)
    R0 = Rotation.from_rotvec(np.array(root, np.float64))
    for side, target in zip(SIDES, feet):
        shank = R0 * Rotation.from_rotvec(body[body_row(f"{side}_hip")]) * \
            Rotation.from_rotvec(body[body_row(f"{side}_knee")])
        body[body_row(f"{side}_ankle")] = (shank.inv() * target).as_rotvec()
    return body


def _resolve(name: str, rng: np.random.Generator, poses: Mapping[str, NamedPose]) -> str:
    if name in POSE_GROUPS:
        members = POSE_GROUPS[name]
        return members[int(rng.integers(len(members)))]
    if name in poses:
        return name
    known = sorted(set(poses) | set(POSE_GROUPS))
    raise ValueError(f"unknown pose {name!r}; expected one of {', '.join(known)}")


def sample_pose(rng: np.random.Generator, name: str | None = None,
                weights: Mapping[str, float] | None = None, noise_deg: float = 4.0,
                interpolate: bool = True, limits: Mapping[str, np.ndarray] | None = JOINT_LIMITS,
                mirror: bool | None = None, mix: float | None = None,
                hand_noise_deg: float | None = None,
                poses: Mapping[str, NamedPose] | None = None) -> PoseSample:
    """Draw a plausible pose.

    ``name``: a pose or group (``POSE_GROUPS``); None draws one from ``weights`` (name or group
    -> relative weight; default uniform over :data:`POSE_NAMES`). With ``interpolate`` and a pose
    that has partners, a partner is drawn and the two are slerped per joint at fraction ``mix``
    (default uniform in [0, 1]). ``mirror``: swap left/right (None: with probability 1/2).
    Then Gaussian noise of ``noise_deg`` (fingers: ``hand_noise_deg``, default half) on every
    anatomical angle and clamping into ``limits`` (None: no clamping). Same ``rng`` state ->
    same pose.
    """
    poses = build_named_poses() if poses is None else poses
    if name is None:
        w = dict(weights) if weights else {n: 1.0 for n in POSE_NAMES}
        names = list(w)
        p = np.array([float(w[n]) for n in names])
        if (p < 0).any() or p.sum() <= 0 or not np.isfinite(p).all():
            raise ValueError(f"pose weights must be >= 0 with a positive sum, got {w}")
        name = names[int(rng.choice(len(names), p=p / p.sum()))]
    a = poses[_resolve(name, rng, poses)]
    b = a
    if interpolate and a.partners:
        b = poses[a.partners[int(rng.integers(len(a.partners)))]]
    t = float(rng.uniform(0.0, 1.0)) if mix is None else float(mix)
    if b is a:
        t = 0.0
    s = blend_poses(a, b, t)
    if mirror is None:
        mirror = bool(rng.random() < 0.5)
    if mirror:
        s = mirror_sample(s)
    hand_noise = noise_deg / 2.0 if hand_noise_deg is None else hand_noise_deg
    return perturb(s, rng, noise_deg, hand_noise, limits)


def sample_betas(rng: np.random.Generator, lo: float = -1.5, hi: float = 1.5,
                 n: int = 10) -> np.ndarray:
    """``n`` SMPL-X shape coefficients uniform in [lo, hi] (unitless, in standard deviations)."""
    if not lo <= hi:
        raise ValueError(f"betas range must have lo <= hi, got [{lo}, {hi}]")
    return rng.uniform(lo, hi, size=int(n))


# ---------------------------------------------------------------------------- posture from angles

# Nominal adult thigh and shank lengths (metres) for the body-model-free posture test.
_THIGH_M, _SHANK_M = 0.40, 0.42


def classify_posture(body_pose: np.ndarray, root_orient: np.ndarray | None = None) -> str:
    """Base posture from the leg segments in the upright body frame (no body model needed):

    - kneeling: a shank within 35 deg of level with the ankle behind the knee (it rests on it);
    - standing: both thighs within 50 deg of vertical;
    - sitting: both thighs beyond 50 deg and the ankles more than 0.25 m ahead of the hips
      (nominal segment lengths), so the pelvis is not over the feet and needs a seat;
    - crouching: otherwise (thighs raised, pelvis over the feet).
    Exact for the named poses; approximate for arbitrary mocap frames (feet tucked under a
    chair read as crouching)."""
    bp = np.array(body_pose, dtype=np.float64).reshape(21, 3)
    R0 = Rotation.from_rotvec(np.zeros(3) if root_orient is None
                              else np.array(root_orient, np.float64))
    down = np.array([0.0, -1.0, 0.0])
    thigh_angle, shank_angle, shank_dir, lead = [], [], [], []
    for side in SIDES:
        Rt = R0 * Rotation.from_rotvec(bp[body_row(f"{side}_hip")])
        Rs = Rt * Rotation.from_rotvec(bp[body_row(f"{side}_knee")])
        t, d = Rt.apply(down), Rs.apply(down)
        thigh_angle.append(np.degrees(np.arccos(np.clip(t @ down, -1.0, 1.0))))
        shank_angle.append(np.degrees(np.arccos(np.clip(d @ down, -1.0, 1.0))))
        shank_dir.append(d)
        lead.append(_THIGH_M * t[2] + _SHANK_M * d[2])   # ankle ahead of hip along +Z
    if any(a > 55.0 and d[2] < 0.0 for a, d in zip(shank_angle, shank_dir)):
        return "kneeling"
    if max(thigh_angle) < 50.0:
        return "standing"
    if min(thigh_angle) > 50.0 and min(lead) > 0.25:
        return "sitting"
    return "crouching"
