"""A library of plausible human poses for the SMPL-X skeleton, pose sampling, AMASS motion files
and floor-contact checks. Pure numpy/scipy: a body model is only needed to evaluate a pose.

Frames and units. Poses are SMPL-X parameters: axis-angle radians in each joint's local frame,
which is SMPL-X's rest-pose body frame (Y up, +Z forward, +X the body's LEFT; rest = T-pose,
palms down). ``body_pose`` row j-1 drives SMPL-X joint j (0 left_hip ... 20 right_wrist).
A pose also carries ``root_orient``: the pelvis rotation in that *upright body frame* (e.g. the
forward pitch of the pelvis when bending over); :meth:`PoseSample.to_params` turns the body
frame into the world (Z up, metres) with a yaw, exactly as the scene sampler's
``standing_params`` does: ``global_orient = Rz(yaw) @ Rx(+90 deg) @ root_orient`` (yaw 0 faces
world -Y).

Named poses are written with anatomical angles in degrees (:class:`PoseBuilder`, axes and signs
in :mod:`synthgen.bodies.joint_limits`, checked on the mannequin by ``tests/test_poses.py``):

============  ==========================================================================
joint         positive angle (left side; the right side is its mirror image)
============  ==========================================================================
hip           flex: thigh forward (-X) · abduct: thigh out (+Z) · rotate_out: toes out (+Y)
knee          flex: shank backward (+X)
ankle / foot  dorsiflex: toes up (-X) · invert: sole inward (-Z)
spine, neck,  flex: bend forward (+X) · bend_left (-Z) · turn_left: face turns left (+Y)
head, root
collar        elevate: shrug (+Z) · protract: shoulder forward (-Y)
shoulder      raise: arm up from the T-pose (+Z) · forward: arm forward (-Y) · twist: the
              T-pose palm turns from facing down to facing forward (-X)
elbow         flex: forearm towards the upper arm (-Y) · supinate: palm turns as twist (-X)
wrist         flex: towards the palm (-Z) · radial: towards the thumb (-Y)
fingers       flex: curl towards the palm (-Z) · spread (-Y); thumb: palmar (towards the
              palm side) and across (towards the little finger)
============  ==========================================================================

Hands. ``left_hand_pose``/``right_hand_pose`` are SMPL-X parameters for a model built with
``flat_hand_mean=False`` (the default of smplx and of :class:`~synthgen.bodies.mannequin.
MannequinBody`): they are *added* to SMPL-X's relaxed hand mean, so zeros is the relaxed hand.
The library writes hands as absolute finger rotations (flat hand = 0) and subtracts the mean
(:func:`smplx_hand_mean`, the table baked in mannequin-x) once at the boundary.
"""
from __future__ import annotations

import functools
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from scipy.spatial.transform import Rotation

from .base import BodyOutput, SMPLXParams
from .joint_limits import (BODY_JOINT_NAMES, FINGER_NAMES, JOINT_LIMITS, SIDES, clamp_body_pose,
                           clamp_hand_pose, from_anatomical, joint_axes, to_anatomical)

POSTURES: tuple[str, ...] = ("standing", "sitting", "kneeling", "crouching")
HAND_POSE_NAMES: tuple[str, ...] = ("relaxed", "grasp", "pinch", "flat")

# Body frame (SMPL-X, Y up) -> world (Z up): +90 deg about X.
_BODY_TO_WORLD = Rotation.from_rotvec([np.pi / 2, 0.0, 0.0])
_MIDLINE = "spine1"   # the root uses the midline axes: flex = pitch forward, bend_left, turn_left


def _row(joint: str) -> int:
    return BODY_JOINT_NAMES.index(joint)


# --------------------------------------------------------------------------------------- hands

@functools.lru_cache(maxsize=1)
def _hand_mean_cached() -> np.ndarray:
    from mannequin import _io   # mannequin-x ships SMPL-X's neutral hand mean (Apache-2.0 table)

    m = np.asarray(_io.load_calibration().hand_mean, dtype=np.float64).reshape(2, 15, 3)
    m.setflags(write=False)
    return m


def smplx_hand_mean() -> np.ndarray:
    """SMPL-X's relaxed hand mean, (2, 15, 3) axis-angle radians, [left, right]: the absolute
    finger rotations that zero hand parameters mean when ``flat_hand_mean=False``."""
    return _hand_mean_cached().copy()


def _finger_angles(name: str) -> dict[str, tuple[float, float, float]]:
    """Absolute anatomical angles (degrees) per finger joint of a named hand pose (left hand;
    the right hand uses the same angles on mirrored axes). Fingers not listed stay flat."""
    if name == "flat":
        return {}
    if name == "grasp":
        # power grasp of a cylinder of 4-6 cm diameter lying obliquely across the palm: the
        # fingers wrap it (little finger a bit more), the opposed thumb closes over it.
        out = {}
        curls = {"index": (35, 60, 40, 4), "middle": (35, 60, 40, 0),   # MCP, PIP, DIP, spread
                 "ring": (38, 62, 40, -4), "pinky": (45, 65, 40, -8)}
        for f, (mcp, pip, dip, spread) in curls.items():
            out[f + "1"], out[f + "2"], out[f + "3"] = (mcp, spread, 0), (pip, 0, 0), (dip, 0, 0)
        out["thumb1"], out["thumb2"], out["thumb3"] = (55, 10, 45), (0, 20, 0), (0, 25, 0)
        return out
    if name == "pinch":
        # tip pinch: index and thumb tips meet (within ~6 mm on the mannequin, found by a grid
        # search); the other fingers fold out of the way.
        out = {"index1": (55, 0, 0), "index2": (60, 0, 0), "index3": (30, 0, 0)}
        for f in ("middle", "ring", "pinky"):
            out[f + "1"], out[f + "2"], out[f + "3"] = (55, 0, 0), (70, 0, 0), (30, 0, 0)
        out["thumb1"], out["thumb2"], out["thumb3"] = (60, 20, 0), (0, 20, 0), (0, 20, 0)
        return out
    raise ValueError(f"unknown hand pose {name!r}; expected one of {', '.join(HAND_POSE_NAMES)}")


def hand_pose_absolute(name: str, side: str) -> np.ndarray:
    """Absolute finger rotations (15, 3) radians (flat hand = 0) of a named hand pose."""
    if side not in SIDES:
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    if name == "relaxed":
        return smplx_hand_mean()[SIDES.index(side)]
    table = _finger_angles(name)
    return np.stack([from_anatomical(f"{side}_{f}", np.asarray(table.get(f, (0.0, 0.0, 0.0))))
                     for f in FINGER_NAMES])


def hand_pose(name: str, side: str) -> np.ndarray:
    """SMPL-X hand parameters (45,) of a named hand pose ('relaxed', 'grasp', 'pinch', 'flat')
    for a ``flat_hand_mean=False`` model: absolute rotations minus the relaxed mean."""
    return (hand_pose_absolute(name, side) - smplx_hand_mean()[SIDES.index(side)]).ravel()


# -------------------------------------------------------------------------------- body builder

class PoseBuilder:
    """Writes a body pose as anatomical angles in degrees; :meth:`build` gives radians.

    ``set(joint, **angles)`` sets named angles of one joint (names from
    :func:`~synthgen.bodies.joint_limits.joint_axes`); ``flex`` is a shortcut; ``both(kind, ...)``
    sets the left and right joint alike (mirror-symmetric). Helpers in body terms:
    ``tilt`` (pelvis pitch), ``spine`` (spread over spine1-3), ``leg`` (segment angles in the
    sagittal plane, feet flat on the floor by default) and ``arm`` (upper-arm direction).
    """

    def __init__(self) -> None:
        self._ang = {n: np.zeros(3) for n in BODY_JOINT_NAMES}
        self._root = np.zeros(3)
        self._legs: dict[str, tuple[float, float, float]] = {}

    def set(self, joint: str, **angles: float) -> "PoseBuilder":
        names, _ = joint_axes(joint)
        for k, v in angles.items():
            if k not in names:
                raise ValueError(f"{joint} has angles {names}, not {k!r}")
            self._ang[joint][names.index(k)] = float(v)
        return self

    def flex(self, joint: str, deg: float) -> "PoseBuilder":
        """Set the joint's first anatomical angle: flex for hips, knees, spine, neck, head,
        elbows, wrists and fingers; dorsiflex for ankles and toes; raise for shoulders;
        elevate for collars; palmar for thumbs."""
        names, _ = joint_axes(joint)
        return self.set(joint, **{names[0]: deg})

    def both(self, kind: str, **angles: float) -> "PoseBuilder":
        """Same anatomical angles on ``left_<kind>`` and ``right_<kind>``."""
        for side in SIDES:
            self.set(f"{side}_{kind}", **angles)
        return self

    def tilt(self, forward: float, bend_left: float = 0.0, turn_left: float = 0.0) -> "PoseBuilder":
        """Pelvis (root) orientation relative to upright: ``forward`` pitches the pelvis and with
        it the trunk forward (degrees)."""
        self._root[:] = (forward, bend_left, turn_left)
        return self

    def spine(self, flex: float, bend_left: float = 0.0, turn_left: float = 0.0) -> "PoseBuilder":
        """Trunk bend spread over spine1/2/3 as 40/30/30 % (the lumbar spine bends most)."""
        for joint, w in (("spine1", 0.4), ("spine2", 0.3), ("spine3", 0.3)):
            self.set(joint, flex=w * flex, bend_left=w * bend_left, turn_left=w * turn_left)
        return self

    def leg(self, side: str, thigh: float, shin: float, foot: float = 0.0, abduct: float = 0.0,
            rotate_out: float = 0.0) -> "PoseBuilder":
        """Leg by segment angles in the sagittal plane of the upright body frame, degrees:
        ``thigh`` = thigh swung forward from vertical (90 = horizontal), ``shin`` = shank leaning
        forward from vertical (knee ahead of ankle; 90 = shank level with the ankle behind the
        knee, beyond 90 the ankle rises above the knee as in kneeling), ``foot`` = toes down
        from flat. Resolved against the pelvis tilt at
        :meth:`build`: hip flex = thigh + tilt, knee flex = thigh + shin, ankle dorsiflex =
        shin - foot (all rotations are about the body X axis, so they add)."""
        self._legs[side] = (thigh, shin, foot)
        self.set(f"{side}_hip", abduct=abduct, rotate_out=rotate_out)
        return self

    def arm(self, side: str, elevation: float, azimuth: float, twist: float = 0.0) -> "PoseBuilder":
        """Point the upper arm, in its parent's frame (the chest), degrees: ``elevation`` above
        horizontal (-90 hangs down, +90 straight up), ``azimuth`` from sideways towards the front
        (0 = T-pose direction, 90 = straight forward). Implemented as the shortest swing from
        the nominal rest direction (sideways; SMPL-X's rest arm also droops ~15 deg) to the
        target, so with twist 0 a lowered arm has the palm towards the thigh and the elbow
        flexes the forearm forward."""
        el, az = np.radians(elevation), np.radians(azimuth)
        d = np.array([np.cos(el) * np.cos(az), np.sin(el), np.cos(el) * np.sin(az)])
        angle = np.degrees(np.arccos(np.clip(d[0], -1.0, 1.0)))
        s = np.hypot(d[1], d[2])
        up, fwd = (angle * d[1] / s, angle * d[2] / s) if s > 1e-9 else (0.0, 0.0)
        return self.set(f"{side}_shoulder", **{"raise": up, "forward": fwd, "twist": twist})

    def angles(self) -> dict[str, np.ndarray]:
        """Resolved anatomical angles per body joint (degrees), legs included."""
        ang = {k: v.copy() for k, v in self._ang.items()}
        tilt = self._root[0]
        for side, (thigh, shin, foot) in self._legs.items():
            ang[f"{side}_hip"][0] = thigh + tilt
            ang[f"{side}_knee"][0] = thigh + shin
            ang[f"{side}_ankle"][0] = shin - foot
        return ang

    def build(self) -> tuple[np.ndarray, np.ndarray]:
        """(root_orient (3,), body_pose (21, 3)), axis-angle radians."""
        ang = self.angles()
        body = np.stack([from_anatomical(n, ang[n]) for n in BODY_JOINT_NAMES])
        return from_anatomical(_MIDLINE, self._root), body


# -------------------------------------------------------------------------------- named poses

@dataclass(frozen=True)
class NamedPose:
    """One pose of the library. ``root`` (3,) and ``body`` (21, 3) axis-angle radians (module
    docstring frames); hands by name; ``partners``: poses it may be blended with;
    ``both_feet``: both feet stand flat on the floor (not walking, not kneeling)."""

    name: str
    posture: str
    root: np.ndarray
    body: np.ndarray
    left_hand: str = "relaxed"
    right_hand: str = "relaxed"
    partners: tuple[str, ...] = ()
    both_feet: bool = True


def _relaxed_arms(b: PoseBuilder, elbow: float = 12.0) -> PoseBuilder:
    """Arms hanging beside the body, palms towards the thighs, elbows slightly bent."""
    for side in SIDES:
        b.arm(side, elevation=-75, azimuth=5).flex(f"{side}_elbow", elbow)
    return b


def _standing() -> PoseBuilder:
    b = PoseBuilder()
    for side in SIDES:
        b.leg(side, thigh=2, shin=2, abduct=3, rotate_out=5)
    return _relaxed_arms(b)


def _walking_contact() -> PoseBuilder:
    """Left heel strike: left leg forward, right leg pushing off; arms swing opposite."""
    b = PoseBuilder().tilt(3).spine(2, turn_left=-4)
    b.leg("left", thigh=25, shin=-20, foot=-12)          # heel down, toes up
    b.leg("right", thigh=-12, shin=30, foot=25)          # heel up, toes on the floor
    b.flex("right_foot", 25)                              # toes bend back flat on the floor
    b.arm("left", elevation=-75, azimuth=-20).flex("left_elbow", 10)
    b.arm("right", elevation=-72, azimuth=30).flex("right_elbow", 30)
    return b


def _walking_midstance() -> PoseBuilder:
    """Left foot flat under the body, right leg swinging through; arms near the sides."""
    b = PoseBuilder().tilt(3).spine(2)
    b.leg("left", thigh=2, shin=4)
    b.leg("right", thigh=26, shin=34, foot=5)
    b.arm("left", elevation=-75, azimuth=0).flex("left_elbow", 12)
    b.arm("right", elevation=-75, azimuth=10).flex("right_elbow", 20)
    return b


def _reaching_forward() -> PoseBuilder:
    b = _standing().spine(10, turn_left=8)
    b.set("right_collar", protract=15)
    b.arm("right", elevation=8, azimuth=85, twist=-10).flex("right_elbow", 8)
    return b


def _reaching_up() -> PoseBuilder:
    """Right hand up to a high shelf: arm overhead and a little forward, shoulder shrugged,
    trunk and head extended to look up."""
    b = _standing().spine(-6)
    b.set("neck", flex=-12).set("head", flex=-12)
    b.set("right_collar", elevate=20)
    b.arm("right", elevation=72, azimuth=35, twist=40).flex("right_elbow", 12)
    return b


def _reaching_down() -> PoseBuilder:
    """Picking something up from near the floor: knees and hips bent, trunk pitched ~100 deg,
    the right arm straight down, the left hand braced on the left knee."""
    b = PoseBuilder().tilt(55).spine(45)
    for side in SIDES:
        b.leg(side, thigh=38, shin=28, abduct=8, rotate_out=8)
    b.set("neck", flex=-25).set("head", flex=-10)
    b.arm("right", elevation=-5, azimuth=85).flex("right_elbow", 5)
    b.arm("left", elevation=-40, azimuth=55).flex("left_elbow", 30)
    return b


def _bending_over() -> PoseBuilder:
    """Leaning over a counter: legs straight with the feet a little ahead of the hips, trunk
    pitched ~50 deg, both hands forward on the counter top, palms down."""
    b = PoseBuilder().tilt(28).spine(22)
    for side in SIDES:
        b.leg(side, thigh=6, shin=-4, abduct=3, rotate_out=5)
    b.set("neck", flex=-25).set("head", flex=-5)
    for side in SIDES:
        b.arm(side, elevation=-8, azimuth=80).flex(f"{side}_elbow", 25)
        b.set(f"{side}_elbow", supinate=-50).set(f"{side}_wrist", flex=-30)
    return b


def _two_handed() -> PoseBuilder:
    b = _standing().spine(8)
    b.set("neck", flex=15)
    for side in SIDES:
        b.arm(side, elevation=-65, azimuth=30).flex(f"{side}_elbow", 75)
        b.set(f"{side}_elbow", supinate=-55).set(f"{side}_wrist", flex=-10)
    return b


def _carrying() -> PoseBuilder:
    b = _standing().spine(-4)
    for side in SIDES:
        b.arm(side, elevation=-78, azimuth=5).flex(f"{side}_elbow", 88)
    return b


def _crouching() -> PoseBuilder:
    b = PoseBuilder().tilt(30).spine(20)
    for side in SIDES:
        b.leg(side, thigh=88, shin=28, abduct=12, rotate_out=12)
    b.set("neck", flex=-20)
    for side in SIDES:
        b.arm(side, elevation=-50, azimuth=70).flex(f"{side}_elbow", 30)
    return b


def _kneeling() -> PoseBuilder:
    """Both knees on the floor, toes tucked, trunk upright; hands working in front."""
    b = PoseBuilder().tilt(8).spine(6)
    for side in SIDES:
        # shin > 90: the shank rises backwards from the knee to the ankle; the foot points
        # down and the toes bend back flat, so knee and toes both touch (tuned on the mannequin)
        b.leg(side, thigh=5, shin=104, foot=88, abduct=4)
        b.flex(f"{side}_foot", 55)
    for side in SIDES:
        b.arm(side, elevation=-55, azimuth=50).flex(f"{side}_elbow", 60)
    return b


def _kneeling_one_knee() -> PoseBuilder:
    """Left knee on the floor, right foot planted in front (a genuflect to work low)."""
    b = PoseBuilder().tilt(8).spine(8)
    b.leg("left", thigh=0, shin=104, foot=88, abduct=4).flex("left_foot", 55)
    b.leg("right", thigh=105, shin=-5, abduct=4)       # front knee above the hip, foot ahead
    b.arm("left", elevation=-75, azimuth=5).flex("left_elbow", 15)
    b.arm("right", elevation=-55, azimuth=70).flex("right_elbow", 45)
    return b


def _sitting() -> PoseBuilder:
    """Upright on a chair-height seat: thighs level, shanks vertical, hands on the thighs."""
    b = PoseBuilder().tilt(-4).spine(6)
    for side in SIDES:
        b.leg(side, thigh=88, shin=4, abduct=6, rotate_out=5)
        b.arm(side, elevation=-72, azimuth=25).flex(f"{side}_elbow", 60)
    return b


def _sitting_working() -> PoseBuilder:
    """Seated at a table: trunk leaning in, both hands in front at table height."""
    b = PoseBuilder().tilt(5).spine(12)
    for side in SIDES:
        b.leg(side, thigh=85, shin=-5, abduct=6, rotate_out=5)
        b.arm(side, elevation=-45, azimuth=50).flex(f"{side}_elbow", 75)
        b.set(f"{side}_elbow", supinate=-50)
    return b


def mirror_pose(root: np.ndarray, body: np.ndarray, left_hand_abs: np.ndarray,
                right_hand_abs: np.ndarray):
    """Mirror image through the body's sagittal plane (x -> -x): left and right joints swap and
    each axis-angle (x, y, z) becomes (x, -y, -z). Hands are absolute rotations (15, 3).
    Returns (root, body (21, 3), left_hand_abs, right_hand_abs)."""
    m = np.array([1.0, -1.0, -1.0])
    body = np.asarray(body, dtype=np.float64).reshape(21, 3)
    src = [BODY_JOINT_NAMES.index(_swap_side(n)) for n in BODY_JOINT_NAMES]
    return (np.asarray(root) * m, body[src] * m, np.asarray(right_hand_abs).reshape(15, 3) * m,
            np.asarray(left_hand_abs).reshape(15, 3) * m)


def _swap_side(name: str) -> str:
    if name.startswith("left_"):
        return "right_" + name[5:]
    if name.startswith("right_"):
        return "left_" + name[6:]
    return name


def _make(name, posture, builder: PoseBuilder, hands=("relaxed", "relaxed"), partners=(),
          both_feet=True):
    root, body = builder.build()
    return NamedPose(name, posture, root, body, hands[0], hands[1], tuple(partners), both_feet)


def _mirrored(p: NamedPose, name: str, partners: Sequence[str]) -> NamedPose:
    mean = smplx_hand_mean()
    root, body, _, _ = mirror_pose(p.root, p.body, mean[0], mean[1])
    return NamedPose(name, p.posture, root, body, p.right_hand, p.left_hand, tuple(partners),
                     p.both_feet)


def build_named_poses() -> dict[str, NamedPose]:
    """The pose library (built on call; :data:`POSE_GROUPS` groups the walking phases).

    Partners share the posture, so a blend never needs a seat halfway. One-sided poses
    (reaching, kneeling on one knee) use the right arm/left knee; sampling mirrors them."""
    P = {}
    P["standing"] = _make("standing", "standing", _standing(), partners=(
        "reaching_forward", "reaching_up", "two_handed_manipulation", "carrying", "bending_over",
        "walking_midstance_left", "walking_midstance_right"))
    P["walking_contact_left"] = _make("walking_contact_left", "standing", _walking_contact(),
                                      partners=("walking_midstance_right", "walking_midstance_left"),
                                      both_feet=False)
    P["walking_midstance_left"] = _make("walking_midstance_left", "standing", _walking_midstance(),
                                        partners=("walking_contact_left", "walking_contact_right",
                                                  "standing"), both_feet=False)
    P["walking_contact_right"] = _mirrored(P["walking_contact_left"], "walking_contact_right",
                                           ("walking_midstance_left", "walking_midstance_right"))
    P["walking_midstance_right"] = _mirrored(P["walking_midstance_left"], "walking_midstance_right",
                                             ("walking_contact_right", "walking_contact_left",
                                              "standing"))
    P["reaching_forward"] = _make("reaching_forward", "standing", _reaching_forward(),
                                  hands=("relaxed", "grasp"),
                                  partners=("standing", "reaching_up", "two_handed_manipulation"))
    P["reaching_up"] = _make("reaching_up", "standing", _reaching_up(), hands=("relaxed", "grasp"),
                             partners=("standing", "reaching_forward"))
    P["reaching_down"] = _make("reaching_down", "standing", _reaching_down(),
                               hands=("relaxed", "grasp"), partners=("bending_over",))
    P["bending_over"] = _make("bending_over", "standing", _bending_over(), hands=("flat", "flat"),
                              partners=("standing", "reaching_down", "two_handed_manipulation"))
    P["two_handed_manipulation"] = _make(
        "two_handed_manipulation", "standing", _two_handed(), hands=("grasp", "pinch"),
        partners=("standing", "carrying", "reaching_forward", "bending_over"))
    P["carrying"] = _make("carrying", "standing", _carrying(), hands=("grasp", "grasp"),
                          partners=("standing", "two_handed_manipulation"))
    P["crouching"] = _make("crouching", "crouching", _crouching())
    P["kneeling"] = _make("kneeling", "kneeling", _kneeling(), hands=("relaxed", "grasp"),
                          both_feet=False)
    P["kneeling_one_knee"] = _make("kneeling_one_knee", "kneeling", _kneeling_one_knee(),
                                   hands=("relaxed", "grasp"), both_feet=False)
    P["sitting"] = _make("sitting", "sitting", _sitting(), partners=("sitting_working",))
    P["sitting_working"] = _make("sitting_working", "sitting", _sitting_working(),
                                 hands=("flat", "grasp"), partners=("sitting",))
    return P


POSE_GROUPS: Mapping[str, tuple[str, ...]] = {
    "walking": ("walking_contact_left", "walking_midstance_left", "walking_contact_right",
                "walking_midstance_right"),
}
"""Group name -> member poses; ``sample_pose(name=group)`` picks a member uniformly."""

POSE_NAMES: tuple[str, ...] = (
    "standing", "walking", "reaching_forward", "reaching_up", "reaching_down", "crouching",
    "kneeling", "kneeling_one_knee", "sitting", "sitting_working", "bending_over",
    "two_handed_manipulation", "carrying")
"""What ``sample_pose`` draws from by default (uniformly): named poses and groups."""


# ------------------------------------------------------------------------------------ sampling

@dataclass
class PoseSample:
    """A sampled pose in the upright body frame (module docstring).

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
                  transl: np.ndarray | None = None) -> SMPLXParams:
        """SMPL-X parameters in the world (Z up): ``global_orient = Rz(yaw) Rx(90) root``,
        yaw in radians about +Z (0 faces world -Y); ``transl`` metres (default 0)."""
        p = SMPLXParams()
        if betas is not None:
            p.betas = np.asarray(betas, dtype=np.float64).copy()
        root = Rotation.from_rotvec(np.array(self.root_orient, np.float64))
        R = Rotation.from_rotvec([0.0, 0.0, yaw]) * _BODY_TO_WORLD * root
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
        feet = _foot_orientations(s.root_orient, body)
        noise = rng.normal(0.0, noise_deg, size=(21, 3))
        body = np.stack([from_anatomical(n, to_anatomical(n, body[i]) + noise[i])
                         for i, n in enumerate(BODY_JOINT_NAMES)])
        # the ankles absorb the leg noise so each foot keeps its orientation (flat stays flat)
        body = _solve_ankles(s.root_orient, body, feet)
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


def _foot_orientations(root: np.ndarray, body: np.ndarray) -> list[Rotation]:
    """Orientation of each ankle's frame (the foot) in the upright body frame, [left, right]."""
    R0 = Rotation.from_rotvec(np.array(root, np.float64))
    out = []
    for side in SIDES:
        R = R0
        for j in ("hip", "knee", "ankle"):
            R = R * Rotation.from_rotvec(np.array(body[_row(f"{side}_{j}")]))
        out.append(R)
    return out


def _solve_ankles(root: np.ndarray, body: np.ndarray, feet: list[Rotation]) -> np.ndarray:
    """``body`` with each ankle set so the foot has orientation ``feet[side]``."""
    body = np.array(body, np.float64).reshape(21, 3)
    R0 = Rotation.from_rotvec(np.array(root, np.float64))
    for side, target in zip(SIDES, feet):
        shank = R0 * Rotation.from_rotvec(body[_row(f"{side}_hip")]) * \
            Rotation.from_rotvec(body[_row(f"{side}_knee")])
        body[_row(f"{side}_ankle")] = (shank.inv() * target).as_rotvec()
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
        Rt = R0 * Rotation.from_rotvec(bp[_row(f"{side}_hip")])
        Rs = Rt * Rotation.from_rotvec(bp[_row(f"{side}_knee")])
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


# ------------------------------------------------------------------------------------- contact

# Body parts by the dominant skinning joint of their vertices (SMPL-X indices, as in
# BodyOutput.skin_joint).
PART_SKIN_JOINTS: Mapping[str, tuple[int, ...]] = {
    "left_foot": (7, 10), "right_foot": (8, 11),     # ankle (heel) and foot (toes)
    "left_shin": (4,), "right_shin": (5,),           # the knee joint moves the shank: knee-down
    "seat": (0, 1, 2),                               # pelvis and thighs: buttocks on a seat
    "left_hand": (20,) + tuple(range(25, 40)), "right_hand": (21,) + tuple(range(40, 55)),
}

CONTACTS: Mapping[str, str] = {
    "standing": "both feet on the floor (walking: at least one); nothing else below the knees.",
    "crouching": "both feet flat on the floor; the seat part stays above the floor.",
    "kneeling": "a shin (just below the knee) and the tucked toes of that leg on the floor; "
                "for one knee, the other foot flat on the floor.",
    "sitting": "both feet on the floor and the seat part (buttocks, back of the thighs) on a "
               "seat whose top is at seat_contact().height, covering seat_contact().points_xy.",
}
"""What touches what per posture (floor z = the lowest vertex after the sampler drops the body)."""


def part_heights(body: BodyOutput, floor_z: float = 0.0) -> dict[str, float]:
    """Lowest point (metres above ``floor_z``, world Z up) of each :data:`PART_SKIN_JOINTS` part."""
    z = np.asarray(body.vertices)[:, 2]
    sj = np.asarray(body.skin_joint)
    return {part: float(z[np.isin(sj, joints)].min() - floor_z)
            for part, joints in PART_SKIN_JOINTS.items() if np.isin(sj, joints).any()}


def feet_on_floor(body: BodyOutput, floor_z: float = 0.0, tol: float = 0.01,
                  both: bool = False) -> bool:
    """True when the lowest foot point (heel, sole or toes: vertices whose dominant joint is an
    ankle or foot, SMPL-X 7, 8, 10, 11) is within ``tol`` metres of the floor plane z =
    ``floor_z`` (world Z up) and no vertex of the body is below ``floor_z - tol``. ``both``
    requires each foot to touch (standing, crouching, sitting; not mid-swing walking)."""
    h = part_heights(body, floor_z)
    if float(np.asarray(body.vertices)[:, 2].min()) < floor_z - tol:
        return False
    feet = [h["left_foot"], h["right_foot"]]
    return all(abs(f) <= tol for f in feet) if both else abs(min(feet)) <= tol


@dataclass(frozen=True)
class SeatContact:
    """Where a seated body meets its seat (world, metres, Z up): ``height`` of the seat top
    above the floor (the lowest buttock/thigh point) and ``points_xy`` (N, 2), the world xy of
    the seat-part vertices within the contact band, i.e. the footprint the seat must support
    (buttocks to mid-thigh)."""

    height: float
    points_xy: np.ndarray

    @property
    def center_xy(self) -> np.ndarray:
        return self.points_xy.mean(axis=0)


def seat_contact(body: BodyOutput, floor_z: float = 0.0, band: float = 0.03) -> SeatContact:
    """The seat a posed, floor-placed body needs: its top at the lowest seat-part point (pelvis
    and thigh vertices, :data:`PART_SKIN_JOINTS` 'seat') and its footprint the seat-part
    vertices within ``band`` metres of that height."""
    v = np.asarray(body.vertices)
    sel = v[np.isin(np.asarray(body.skin_joint), PART_SKIN_JOINTS["seat"])]
    lo = sel[:, 2].min()
    return SeatContact(height=float(lo - floor_z), points_xy=sel[sel[:, 2] <= lo + band, :2].copy())


def _extend_leg(s: PoseSample, side: str, deg: float) -> PoseSample:
    """Straighten the ``side`` leg by ``deg`` (knee flex -deg, hip flex -deg/2; negative bends
    it), the ankle re-solved so the foot keeps its orientation."""
    body = np.asarray(s.body_pose, dtype=np.float64).reshape(21, 3).copy()
    feet = _foot_orientations(s.root_orient, body)
    for joint, k in ((f"{side}_knee", 1.0), (f"{side}_hip", 0.5)):
        a = to_anatomical(joint, body[_row(joint)])
        a[0] -= k * deg
        body[_row(joint)] = from_anatomical(joint, a)
    return replace(s, body_pose=_solve_ankles(s.root_orient, body, feet).ravel())


def plant_feet(body_model, sample: PoseSample, betas: np.ndarray | None = None,
               tol: float = 0.003, max_iter: int = 5) -> PoseSample:
    """Bring both feet of a ``both_feet`` pose to the same floor height (within ``tol`` metres).

    SMPL-X's skeleton is not left/right symmetric (the hips differ by ~1 cm in height) and pose
    noise moves each foot, so a symmetric crouch or seated pose leaves one foot a few cm in the
    air. This straightens the higher leg (or, if that knee is nearly straight, bends the lower
    one) by a secant search on the body model; feet keep their orientation. Returns the sample
    unchanged when it is not ``both_feet``. ``body_model``: anything with ``forward``."""
    if not sample.both_feet:
        return sample

    def gap(s: PoseSample) -> float:
        h = part_heights(body_model.forward(s.to_params(betas=betas)))
        return h["left_foot"] - h["right_foot"]

    d = gap(sample)
    if abs(d) <= tol:
        return sample
    high, low = ("left", "right") if d > 0 else ("right", "left")
    bp = np.reshape(sample.body_pose, (21, 3))
    knee = to_anatomical(f"{high}_knee", bp[_row(f"{high}_knee")])[0]
    side, sign = (high, 1.0) if knee > 8.0 else (low, -1.0)
    # secant search for the degrees of straightening x that zero the signed gap f(x)
    x0, f0 = 0.0, d
    x1 = 3.0 * sign
    best = sample
    for _ in range(max_iter):
        s1 = _extend_leg(sample, side, x1)
        f1 = gap(s1)
        if abs(f1) < abs(d):
            best, d = s1, f1
        if abs(f1) <= tol or f1 == f0:
            break
        x0, f0, x1 = x1, f1, x1 - f1 * (x1 - x0) / (f1 - f0)
        x1 = float(np.clip(x1, -25.0, 25.0))
    return best


def pose_on_floor(body_model, sample: PoseSample, betas: np.ndarray | None = None,
                  yaw: float = 0.0, xy: Sequence[float] = (0.0, 0.0), floor_z: float = 0.0,
                  plant: bool = True) -> tuple[SMPLXParams, BodyOutput]:
    """Evaluate ``sample`` with ``body_model`` and translate it so the pelvis is above ``xy`` and
    the lowest vertex touches the floor z = ``floor_z`` (world, metres), as the scene sampler's
    ``place_person`` does; with ``plant``, :func:`plant_feet` first levels the feet of a
    ``both_feet`` pose. Returns the parameters (``transl`` set) and the shifted output."""
    if plant:
        sample = plant_feet(body_model, sample, betas)
    params = sample.to_params(betas=betas, yaw=yaw)
    out = body_model.forward(params)
    shift = np.array([xy[0] - out.joints[0, 0], xy[1] - out.joints[0, 1],
                      floor_z - out.vertices[:, 2].min()])
    params.transl = np.asarray(params.transl, dtype=np.float64) + shift
    shifted = BodyOutput(vertices=out.vertices + shift, faces=out.faces, joints=out.joints + shift,
                         landmarks={k: v + shift for k, v in out.landmarks.items()},
                         skin_joint=out.skin_joint)
    return params, shifted


# -------------------------------------------------------------------------------- motion files

class MotionError(ValueError):
    """A motion file that cannot be used; the message is one line naming file, key, expected
    and found."""


# AMASS ``poses`` layouts, column ranges (all axis-angle radians, 3 per joint):
#   smplh  156 = root 0:3 | body 3:66 (21 joints) | left hand 66:111 | right hand 111:156
#   smplx  165 = root 0:3 | body 3:66 | jaw 66:69 | leye 69:72 | reye 72:75 | left hand 75:120
#                | right hand 120:165
#   smpl    72 = root 0:3 | body 3:66 | SMPL's two hand joints 66:72 (dropped: SMPL-X has fingers)
#   body    66 = root 0:3 | body 3:66 (hands relaxed)
_LAYOUTS = {156: "smplh", 165: "smplx", 72: "smpl", 66: "body"}


@dataclass
class Motion:
    """A motion sequence in SMPL-X parameter terms. Arrays have T rows.

    ``global_orient`` (T, 3) is the file's root orientation, kept as the body's orientation
    relative to the *world* (AMASS is Z up, like our world, so an AMASS sequence stands
    upright); ``trans`` (T, 3) metres; ``left/right_hand_pose`` (T, 45) SMPL-X parameters for a
    ``flat_hand_mean=False`` model (AMASS stores absolute finger rotations; the mean is
    subtracted at load unless ``hands_absolute=False``); jaw/eye poses zero where the layout has
    none; ``betas`` as stored (16 for AMASS; SMPLXParams takes the first 10).
    """

    path: str
    layout: str
    global_orient: np.ndarray
    body_pose: np.ndarray
    left_hand_pose: np.ndarray
    right_hand_pose: np.ndarray
    jaw_pose: np.ndarray
    leye_pose: np.ndarray
    reye_pose: np.ndarray
    trans: np.ndarray
    betas: np.ndarray
    gender: str = "neutral"
    fps: float | None = None

    @property
    def num_frames(self) -> int:
        return int(self.body_pose.shape[0])

    def params(self, frame: int) -> SMPLXParams:
        """Frame ``frame`` as world SMPL-X parameters, the file's root and translation kept."""
        p = SMPLXParams()
        p.betas = np.asarray(self.betas[:10], dtype=np.float64).copy()
        for k in ("global_orient", "body_pose", "left_hand_pose", "right_hand_pose", "jaw_pose",
                  "leye_pose", "reye_pose"):
            setattr(p, k, np.asarray(getattr(self, k)[frame], dtype=np.float64).copy())
        p.transl = np.asarray(self.trans[frame], dtype=np.float64).copy()
        return p


def _fail(path, key, expected, found) -> MotionError:
    return MotionError(f"{path}: key '{key}' expected {expected}, found {found}")


def _shape_str(a) -> str:
    return f"shape {tuple(np.shape(a))}"


def load_motion(path: str | os.PathLike, hands_absolute: bool = True) -> Motion:
    """Read an AMASS-style ``.npz`` (keys ``poses`` (T, 156|165|72|66), ``trans`` (T, 3),
    ``betas`` (n,) n >= 10, optional ``gender`` and ``mocap_framerate``/``mocap_frame_rate``);
    see :class:`Motion` for the mapping. Raises :class:`MotionError` (one line) on a bad file."""
    path = os.fspath(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            keys = set(npz.files)

            def get(key: str):
                try:
                    return np.asarray(npz[key])
                except ValueError as exc:  # object arrays need pickle: refused
                    raise _fail(path, key, "a numeric array", f"unreadable data ({exc})") from None

            for key in ("poses", "trans", "betas"):
                if key not in keys:
                    raise _fail(path, key, "to be present", f"keys {sorted(keys)}")
            poses, trans, betas = get("poses"), get("trans"), get("betas")
            gender = "neutral"
            if "gender" in keys:
                try:
                    g = npz["gender"]
                    g = g.item()
                    gender = (g.decode() if isinstance(g, bytes) else str(g)).strip()
                except (ValueError, AttributeError):
                    gender = "neutral"
            fps = None
            for k in ("mocap_framerate", "mocap_frame_rate"):
                if k in keys:
                    fps = float(np.asarray(get(k)).reshape(-1)[0])
    except MotionError:
        raise
    except (OSError, ValueError, EOFError) as exc:
        msg = " ".join(str(exc).split())
        raise MotionError(f"{path}: cannot read as .npz ({type(exc).__name__}: {msg})") from None

    expected = "shape (T, 156) SMPL-H, (T, 165) SMPL-X, (T, 72) SMPL or (T, 66) with T >= 1"
    if poses.ndim != 2 or poses.shape[1] not in _LAYOUTS or poses.shape[0] < 1:
        raise _fail(path, "poses", expected, _shape_str(poses))
    if not np.issubdtype(poses.dtype, np.number) or not np.isfinite(poses).all():
        raise _fail(path, "poses", "finite numbers", "non-finite or non-numeric values")
    T = poses.shape[0]
    if trans.shape != (T, 3) or not np.issubdtype(trans.dtype, np.number):
        raise _fail(path, "trans", f"shape ({T}, 3) to match poses", _shape_str(trans))
    if not np.isfinite(trans).all():
        raise _fail(path, "trans", "finite numbers", "non-finite values")
    if betas.ndim != 1 or betas.shape[0] < 10 or not np.issubdtype(betas.dtype, np.number):
        raise _fail(path, "betas", "shape (n,) with n >= 10 (AMASS: 16)", _shape_str(betas))

    poses = poses.astype(np.float64)
    layout = _LAYOUTS[poses.shape[1]]
    zeros3 = np.zeros((T, 3))
    jaw, leye, reye = zeros3, zeros3.copy(), zeros3.copy()
    if layout == "smplh":
        lh, rh = poses[:, 66:111], poses[:, 111:156]
    elif layout == "smplx":
        jaw, leye, reye = poses[:, 66:69], poses[:, 69:72], poses[:, 72:75]
        lh, rh = poses[:, 75:120], poses[:, 120:165]
    else:
        lh = rh = None
    mean = smplx_hand_mean().reshape(2, 45)
    if lh is None:
        lh, rh = np.zeros((T, 45)), np.zeros((T, 45))   # relaxed hands
    elif hands_absolute:
        lh, rh = lh - mean[0], rh - mean[1]
    return Motion(path=path, layout=layout, global_orient=poses[:, 0:3].copy(),
                  body_pose=poses[:, 3:66].copy(), left_hand_pose=np.array(lh),
                  right_hand_pose=np.array(rh), jaw_pose=np.array(jaw), leye_pose=np.array(leye),
                  reye_pose=np.array(reye), trans=trans.astype(np.float64),
                  betas=betas.astype(np.float64), gender=gender or "neutral", fps=fps)


def sample_motion_pose(motion: Motion, rng: np.random.Generator, frame: int | None = None,
                       noise_deg: float = 0.0,
                       limits: Mapping[str, np.ndarray] | None = None) -> PoseSample:
    """One frame of ``motion`` (uniform when ``frame`` is None) as a :class:`PoseSample`.

    The file's world root orientation R is kept: ``root_orient = Rx(90)^-1 R`` so that
    :meth:`PoseSample.to_params` gives ``global_orient = Rz(yaw) R`` (the scene sampler adds the
    yaw and a translation). Mocap is not clamped unless ``limits`` is given; ``posture`` comes
    from :func:`classify_posture`."""
    if frame is None:
        frame = int(rng.integers(motion.num_frames))
    if not 0 <= frame < motion.num_frames:
        raise ValueError(f"frame {frame} outside [0, {motion.num_frames})")
    root = (_BODY_TO_WORLD.inv() * Rotation.from_rotvec(motion.global_orient[frame])).as_rotvec()
    body = motion.body_pose[frame].copy()
    tag = f"motion:{os.path.basename(motion.path)}#{frame}"
    s = PoseSample(body_pose=body, left_hand_pose=motion.left_hand_pose[frame].copy(),
                   right_hand_pose=motion.right_hand_pose[frame].copy(), root_orient=root,
                   names=(tag, tag), mix=0.0, posture=classify_posture(body, root),
                   hands=("motion", "motion"))
    if noise_deg > 0 or limits is not None:
        s = perturb(s, rng, noise_deg, noise_deg / 2.0, limits)
    return s
