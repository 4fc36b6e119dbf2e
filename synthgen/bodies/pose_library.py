"""A library of plausible human poses for the SMPL-X skeleton: named poses written as anatomical
angles (:class:`PoseBuilder`), their mirror images, their blend partners and groups. Pure numpy;
:mod:`synthgen.bodies.pose_sampling` draws from it.

Frames and units. Poses are SMPL-X parameters: axis-angle radians in each joint's local frame,
which is SMPL-X's rest-pose body frame (Y up, +Z forward, +X the body's LEFT; rest = T-pose,
palms down). ``body_pose`` row j-1 drives SMPL-X joint j (0 left_hip ... 20 right_wrist).
A pose also carries ``root_orient``: the pelvis rotation in that *upright body frame* (e.g. the
forward pitch of the pelvis when bending over);
:meth:`~synthgen.bodies.pose_sampling.PoseSample.to_params` turns the body frame into the world
(Z up, metres) with a yaw, exactly as the scene sampler's ``standing_params`` does:
``global_orient = Rz(yaw) @ Rx(+90 deg) @ root_orient`` (yaw 0 faces world -Y).

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

Hands are named (:mod:`synthgen.bodies.hand_poses`): ``relaxed`` is SMPL-X's hand mean.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .hand_poses import smplx_hand_mean
from .joint_limits import BODY_JOINT_NAMES, SIDES, from_anatomical, joint_axes

POSTURES: tuple[str, ...] = ("standing", "sitting", "kneeling", "crouching")

_MIDLINE = "spine1"   # the root uses the midline axes: flex = pitch forward, bend_left, turn_left


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
    """One pose of the library. ``root`` (3,) and ``body`` (21, 3) axis-angle radians (frames
    in the module docstring); hands by name; ``partners``: poses it may be blended with;
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
