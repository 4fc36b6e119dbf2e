"""Pose library, joint limits, sampling, AMASS motion files and floor contact, evaluated on the
mannequin. World checks use yaw = +90 deg, so the body faces world +X, its left is +Y, up is +Z."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from synthgen.bodies.contact import feet_on_floor, part_heights, pose_on_floor, seat_contact
from synthgen.bodies.hand_poses import hand_pose, hand_pose_absolute, smplx_hand_mean
from synthgen.bodies.motion import MotionError, load_motion, sample_motion_pose
from synthgen.bodies.pose_library import (POSE_GROUPS, POSE_NAMES, POSTURES, NamedPose,
                                          PoseBuilder, build_named_poses)
from synthgen.bodies.pose_sampling import (PoseSample, blend_poses, classify_posture,
                                           mirror_sample, sample_betas, sample_pose)
from synthgen.bodies.base import BodyOutput, SMPLXParams
from synthgen.bodies.joint_limits import (BODY_JOINT_NAMES, JOINT_LIMITS, SIDES, body_rotvecs,
                                          clamp_rotvec, from_anatomical, hand_rotvecs,
                                          limit_violations, to_anatomical)
from synthgen.bodies.mannequin import MannequinBody

FACING_X = np.pi / 2          # yaw: body +Z (forward) -> world +X
PELVIS, KNEE_L, KNEE_R, ANKLE_L, ANKLE_R, CHEST, NECK, HEAD = 0, 4, 5, 7, 8, 9, 12, 15
ELBOW_L, ELBOW_R, WRIST_L, WRIST_R = 18, 19, 20, 21


@pytest.fixture(scope="module")
def body() -> MannequinBody:
    return MannequinBody()


@pytest.fixture(scope="module")
def lib() -> dict[str, NamedPose]:
    return build_named_poses()


@pytest.fixture(scope="module")
def placed(body, lib) -> dict[str, BodyOutput]:
    """Every named pose, noise-free, dropped on the floor z = 0 facing +X (feet planted)."""
    return {n: pose_on_floor(body, blend_poses(p, p, 0.0), yaw=FACING_X)[1] for n, p in lib.items()}


def _body_frame(body, bp=None, left_hand=None) -> BodyOutput:
    """Evaluate in SMPL-X's own body frame (Y up, +Z forward, +X left)."""
    p = SMPLXParams()
    if bp is not None:
        p.body_pose = np.asarray(bp).ravel()
    if left_hand is not None:
        p.left_hand_pose = np.asarray(left_hand).ravel()
    return body.forward(p)


# ----------------------------------------------------------------------------- axes and limits

# (joint, angle, degrees, watched SMPL-X joint or landmark, expected direction in the body frame)
SIGN_CASES = [
    ("left_knee", "flex", 40, ANKLE_L, (0, 0, -1)),            # shank swings backwards
    ("right_knee", "flex", 40, ANKLE_R, (0, 0, -1)),
    ("left_hip", "flex", 40, KNEE_L, (0, 0, 1)),               # thigh swings forward
    ("right_hip", "abduct", 30, KNEE_R, (-1, 0, 0)),           # right thigh out = body -X
    ("left_hip", "abduct", 30, KNEE_L, (1, 0, 0)),
    ("spine1", "flex", 30, HEAD, (0, 0, 1)),                   # trunk bends forward
    ("spine2", "bend_left", 20, HEAD, (1, 0, 0)),
    ("left_shoulder", "raise", 40, ELBOW_L, (0, 1, 0)),        # arm up from the T-pose
    ("right_shoulder", "raise", -40, ELBOW_R, (0, -1, 0)),     # negative lowers it
    ("left_shoulder", "forward", 40, ELBOW_L, (0, 0, 1)),
    ("right_shoulder", "forward", 40, ELBOW_R, (0, 0, 1)),
    ("left_elbow", "flex", 60, WRIST_L, (0, 0, 1)),            # T-pose forearm swings forward
    ("right_elbow", "flex", 60, WRIST_R, (0, 0, 1)),
    ("left_ankle", "dorsiflex", 20, "left_big_toe", (0, 1, 0)),  # toes up
    ("left_collar", "elevate", 20, 16, (0, 1, 0)),             # shrug lifts the shoulder joint
]


@pytest.mark.parametrize("joint, angle, deg, watch, direction", SIGN_CASES,
                         ids=[f"{c[0]}.{c[1]}" for c in SIGN_CASES])
def test_anatomical_axis_signs_on_the_mannequin(body, joint, angle, deg, watch, direction):
    rest = _body_frame(body)
    bp = np.zeros((21, 3))
    b = PoseBuilder().set(joint, **{angle: deg})
    bp[BODY_JOINT_NAMES.index(joint)] = b.build()[1][BODY_JOINT_NAMES.index(joint)]
    moved = _body_frame(body, bp)
    get = (lambda o: o.landmarks[watch]) if isinstance(watch, str) else (lambda o: o.joints[watch])
    d = get(moved) - get(rest)
    assert np.linalg.norm(d) > 0.02
    assert d @ np.asarray(direction, float) / np.linalg.norm(d) > 0.5, d


def test_finger_flex_curls_towards_the_palm(body):
    """T-pose palms face -Y: a flexed finger's tip goes down, for both hands."""
    for side in SIDES:
        h = np.zeros((15, 3))
        for k in range(3):
            h[k] = from_anatomical(f"{side}_index{k + 1}", np.array([45.0, 0, 0]))
        p = SMPLXParams()
        setattr(p, f"{side}_hand_pose", (h - smplx_hand_mean()[SIDES.index(side)]).ravel())
        tip = body.forward(p).landmarks[f"{side}_index"]
        flat = body.forward(SMPLXParams(**{f"{side}_hand_pose": hand_pose("flat", side)}))
        assert tip[1] < flat.landmarks[f"{side}_index"][1] - 0.03


def test_anatomical_roundtrip_and_clamp():
    rng = np.random.default_rng(3)
    for joint, lim in JOINT_LIMITS.items():
        inside = rng.uniform(lim[:, 0], lim[:, 1])
        rv = from_anatomical(joint, inside)
        np.testing.assert_allclose(to_anatomical(joint, rv), inside, atol=1e-9)
        np.testing.assert_allclose(clamp_rotvec(joint, rv), rv, atol=1e-9)   # inside: unchanged
        wild = rng.normal(0.0, 1.5, size=3)                                   # up to ~4 rad
        c = clamp_rotvec(joint, wild)
        ang = to_anatomical(joint, c)
        assert (ang >= lim[:, 0] - 1e-6).all() and (ang <= lim[:, 1] + 1e-6).all(), (joint, ang)
        np.testing.assert_allclose(clamp_rotvec(joint, c), c, atol=1e-9)     # idempotent


def test_right_side_limits_mirror_the_left():
    rng = np.random.default_rng(4)
    for name in ("hip", "knee", "shoulder", "elbow", "wrist", "collar", "index2", "thumb1"):
        a = rng.uniform(-30, 30, size=3)
        left = from_anatomical(f"left_{name}", a)
        right = from_anatomical(f"right_{name}", a)
        np.testing.assert_allclose(right, left * [1, -1, -1], atol=1e-12)


# ------------------------------------------------------------------------------- named poses

def test_every_named_pose_is_within_limits_and_labelled(lib):
    for name, p in lib.items():
        assert limit_violations(body_rotvecs(p.body)) == [], name
        for side, hand in zip(SIDES, (p.left_hand, p.right_hand)):
            assert limit_violations(hand_rotvecs(side, hand_pose_absolute(hand, side))) == [], name
        assert p.posture in POSTURES
        assert classify_posture(p.body, p.root) == p.posture, name
        for q in p.partners:       # blends never change the base posture
            assert lib[q].posture == p.posture and name in lib[q].partners + (q,), (name, q)
    for group, members in POSE_GROUPS.items():
        assert all(m in lib for m in members), group
    assert {"standing", "walking", "reaching_forward", "reaching_up", "reaching_down", "crouching",
            "kneeling", "sitting", "bending_over", "two_handed_manipulation",
            "carrying"} <= set(POSE_NAMES)


def test_named_poses_do_what_their_names_say(placed):
    st = placed["standing"].joints
    assert 0.85 < st[PELVIS, 2] < 1.05 and 1.45 < st[HEAD, 2] < 1.7
    up = placed["reaching_up"].joints
    assert up[WRIST_R, 2] > up[HEAD, 2] + 0.2                       # wrist above the head
    fw = placed["reaching_forward"].joints
    assert fw[WRIST_R, 0] > fw[CHEST, 0] + 0.4                       # well in front of the chest
    assert abs(fw[WRIST_R, 2] - fw[16, 2]) < 0.2 + 0.1               # about shoulder height
    dn = placed["reaching_down"].joints
    assert dn[WRIST_R, 2] < 0.45 and dn[WRIST_R, 0] > dn[PELVIS, 0] + 0.15
    for low, margin in (("crouching", 0.3), ("kneeling", 0.3), ("kneeling_one_knee", 0.25),
                        ("sitting", 0.25)):
        assert placed[low].joints[PELVIS, 2] < st[PELVIS, 2] - margin, low
    h = part_heights(placed["kneeling"])
    assert max(h["left_shin"], h["right_shin"]) < 0.015              # both knees down
    assert placed["kneeling"].joints[[KNEE_L, KNEE_R], 2].max() < 0.1
    h1 = part_heights(placed["kneeling_one_knee"])
    assert h1["left_shin"] < 0.015 and h1["right_foot"] < 0.01 and h1["right_shin"] > 0.05
    for phase in ("walking_contact_left", "walking_contact_right"):
        j = placed[phase].joints
        assert abs(j[ANKLE_L, 0] - j[ANKLE_R, 0]) > 0.4, phase       # feet apart along the heading
    assert placed["walking_contact_left"].joints[ANKLE_L, 0] > placed["walking_contact_left"].joints[ANKLE_R, 0]
    two = placed["two_handed_manipulation"].joints
    for w, e in ((WRIST_L, ELBOW_L), (WRIST_R, ELBOW_R)):
        assert two[w, 0] > two[CHEST, 0] + 0.15                       # in front
        assert abs(two[w, 2] - two[e, 2]) < 0.12                       # roughly elbow height
        assert 0.9 < two[w, 2] < 1.2                                   # over a counter top
    car = placed["carrying"].joints
    assert min(car[WRIST_L, 0], car[WRIST_R, 0]) > car[PELVIS, 0] + 0.12
    assert abs(car[WRIST_L, 2] - car[ELBOW_L, 2]) < 0.08              # forearms level
    assert 0.2 < car[WRIST_L, 1] - car[WRIST_R, 1] < 0.5              # holding something between
    bend = placed["bending_over"].joints
    assert bend[HEAD, 2] < st[HEAD, 2] - 0.1 and bend[HEAD, 0] > bend[PELVIS, 0] + 0.25
    assert min(bend[WRIST_L, 0], bend[WRIST_R, 0]) > bend[PELVIS, 0] + 0.35
    assert 0.7 < bend[WRIST_L, 2] < 1.0                                # hands on a counter
    seat = seat_contact(placed["sitting"])
    assert 0.38 < seat.height < 0.5                                    # a chair-height seat
    assert seat.center_xy[0] < placed["sitting"].joints[KNEE_L, 0] - 0.1   # behind the knees


def _dist_to_spine(j: np.ndarray, p: np.ndarray) -> float:
    chain = [PELVIS, 3, 6, CHEST, NECK]
    out = np.inf
    for a, b in zip(chain[:-1], chain[1:]):
        ab = j[b] - j[a]
        t = np.clip((p - j[a]) @ ab / (ab @ ab), 0.0, 1.0)
        out = min(out, float(np.linalg.norm(p - (j[a] + t * ab))))
    return out


def test_hands_stay_out_of_the_torso(placed):
    for name, out in placed.items():
        for w in (WRIST_L, WRIST_R):
            assert _dist_to_spine(out.joints, out.joints[w]) > 0.18, (name, w)


def test_feet_planted_on_the_floor(placed, lib):
    for name, out in placed.items():
        assert feet_on_floor(out), name
        if lib[name].both_feet:
            assert feet_on_floor(out, both=True), name


def test_hand_poses(body):
    def tips_to_palm(name):
        out = _body_frame(body, left_hand=hand_pose(name, "left"))
        palm = out.joints[[WRIST_L, 25, 28, 31, 34]].mean(axis=0)
        return {t: np.linalg.norm(out.landmarks[f"left_{t}"] - palm)
                for t in ("thumb", "index", "middle", "ring", "pinky")}, out
    flat, _ = tips_to_palm("flat")
    relaxed, _ = tips_to_palm("relaxed")
    grasp, _ = tips_to_palm("grasp")
    _, pinch = tips_to_palm("pinch")
    fingers = ("index", "middle", "ring", "pinky")
    mean = lambda d: np.mean([d[f] for f in fingers])   # noqa: E731
    assert all(grasp[f] < flat[f] - 0.005 for f in fingers + ("thumb",))
    assert mean(grasp) < mean(flat) - 0.02 and mean(grasp) < mean(relaxed) - 0.005
    assert np.linalg.norm(pinch.landmarks["left_thumb"] - pinch.landmarks["left_index"]) < 0.012
    np.testing.assert_array_equal(hand_pose("relaxed", "right"), np.zeros(45))
    with pytest.raises(ValueError, match="unknown hand pose"):
        hand_pose("spock", "left")


# ----------------------------------------------------------------------------------- sampling

def _same(a: PoseSample, b: PoseSample) -> bool:
    return (a.names == b.names and a.mix == b.mix and a.mirrored == b.mirrored
            and all(np.array_equal(getattr(a, k), getattr(b, k))
                    for k in ("body_pose", "left_hand_pose", "right_hand_pose", "root_orient")))


def test_sampling_is_seeded(lib):
    a = [sample_pose(np.random.default_rng(11), poses=lib) for _ in range(3)]
    assert _same(a[0], a[1]) and _same(a[1], a[2])
    rng1, rng2 = np.random.default_rng(5), np.random.default_rng(5)
    s1 = [sample_pose(rng1, poses=lib) for _ in range(5)]
    s2 = [sample_pose(rng2, poses=lib) for _ in range(5)]
    assert all(_same(x, y) for x, y in zip(s1, s2))
    assert not _same(s1[0], s1[1])


def test_samples_stay_within_limits_after_noise(lib):
    rng = np.random.default_rng(7)
    seen = set()
    for _ in range(40):
        s = sample_pose(rng, noise_deg=12.0, poses=lib)
        seen.add(s.posture)
        assert s.body_pose.shape == (63,) and s.left_hand_pose.shape == (45,)
        assert limit_violations(body_rotvecs(s.body_pose)) == [], s.label
        mean = smplx_hand_mean()
        for k, side in enumerate(SIDES):
            h = np.reshape(s.left_hand_pose if k == 0 else s.right_hand_pose, (15, 3)) + mean[k]
            assert limit_violations(hand_rotvecs(side, h)) == [], s.label
        assert s.needs_seat == (s.posture == "sitting")
    assert seen == set(POSTURES)


def test_weights_pick_only_weighted_poses(lib):
    rng = np.random.default_rng(8)
    names = {sample_pose(rng, weights={"walking": 1.0, "sitting": 0.0}, interpolate=False,
                           poses=lib).names[0] for _ in range(12)}
    assert names <= set(POSE_GROUPS["walking"]) and len(names) > 1
    with pytest.raises(ValueError, match="unknown pose 'dancing'"):
        sample_pose(rng, name="dancing", poses=lib)


def test_interpolation_endpoints_and_midpoint(lib):
    kw = dict(name="reaching_up", noise_deg=0.0, mirror=False, poses=lib)
    s0 = sample_pose(np.random.default_rng(1), mix=0.0, **kw)
    s1 = sample_pose(np.random.default_rng(1), mix=1.0, **kw)
    a, b = lib["reaching_up"], lib[s1.names[1]]
    assert s0.names == s1.names and s1.names[1] in a.partners
    np.testing.assert_allclose(s0.body_pose, a.body.ravel(), atol=1e-9)
    np.testing.assert_allclose(s1.body_pose, b.body.ravel(), atol=1e-9)
    np.testing.assert_allclose(s1.right_hand_pose, hand_pose(b.right_hand, "right"), atol=1e-9)
    np.testing.assert_allclose(s0.right_hand_pose, hand_pose(a.right_hand, "right"), atol=1e-9)
    mid = blend_poses(a, b, 0.5)
    Ra, Rm, Rb = (Rotation.from_rotvec(np.reshape(x, (21, 3)))
                  for x in (a.body, mid.body_pose, b.body))
    np.testing.assert_allclose((Ra.inv() * Rm).magnitude(), (Rm.inv() * Rb).magnitude(), atol=1e-9)


def test_mirror_swaps_sides(body, lib):
    s = blend_poses(lib["reaching_up"], lib["reaching_up"], 0.0)
    m = mirror_sample(s)
    assert limit_violations(body_rotvecs(m.body_pose)) == []
    out = pose_on_floor(body, m, yaw=FACING_X)[1].joints
    assert out[WRIST_L, 2] > out[HEAD, 2] + 0.2 and out[WRIST_R, 2] < out[HEAD, 2]
    back = mirror_sample(m)
    np.testing.assert_allclose(back.body_pose, s.body_pose, atol=1e-12)
    np.testing.assert_allclose(back.left_hand_pose, s.left_hand_pose, atol=1e-12)


def test_noisy_planted_poses_keep_both_feet_flat(body, lib):
    rng = np.random.default_rng(21)
    for name in ("sitting", "crouching", "standing", "sitting_working"):
        s = sample_pose(rng, name=name, noise_deg=6.0, poses=lib)
        out = pose_on_floor(body, s, yaw=float(rng.uniform(0, 6.28)))[1]
        assert feet_on_floor(out, both=True, tol=0.01), name
        z, sj = out.vertices[:, 2], out.skin_joint
        for heel, toes in ((7, 10), (8, 11)):   # heel and toes both down: the sole is flat
            assert z[sj == heel].min() < 0.02 and z[sj == toes].min() < 0.02, name


def test_sample_betas():
    b = sample_betas(np.random.default_rng(2), -1.0, 2.0, n=16)
    assert b.shape == (16,) and b.min() >= -1.0 and b.max() <= 2.0 and b.std() > 0.3
    np.testing.assert_array_equal(b, sample_betas(np.random.default_rng(2), -1.0, 2.0, n=16))


def test_to_params_places_the_body_upright(body, lib):
    s = blend_poses(lib["standing"], lib["standing"], 0.0)
    out = body.forward(s.to_params(yaw=0.0))
    j = out.joints
    assert j[HEAD, 2] > j[PELVIS, 2] + 0.5                        # Z up
    assert out.landmarks["nose"][1] < j[HEAD, 1] - 0.05           # yaw 0 faces world -Y
    assert j[16, 0] > j[17, 0]                                    # facing -Y, the left is +X


# ------------------------------------------------------------------------------------- motion

def _amass(path, width, T=4, **extra):
    rng = np.random.default_rng(width)
    poses = rng.normal(0.0, 0.2, size=(T, width))
    data = dict(poses=poses, trans=rng.normal(size=(T, 3)), betas=np.arange(16) * 0.1,
                gender=np.array("female"), mocap_framerate=np.array(120.0))
    data.update(extra)
    np.savez(path, **{k: v for k, v in data.items() if v is not None})
    return poses, data


def test_load_smplh_motion_maps_columns(tmp_path):
    poses, data = _amass(tmp_path / "walk_poses.npz", 156)
    m = load_motion(tmp_path / "walk_poses.npz")
    mean = smplx_hand_mean().reshape(2, 45)
    assert m.layout == "smplh" and m.num_frames == 4 and m.gender == "female" and m.fps == 120.0
    np.testing.assert_array_equal(m.global_orient, poses[:, 0:3])
    np.testing.assert_array_equal(m.body_pose, poses[:, 3:66])
    np.testing.assert_allclose(m.left_hand_pose, poses[:, 66:111] - mean[0])   # absolute -> param
    np.testing.assert_allclose(m.right_hand_pose, poses[:, 111:156] - mean[1])
    np.testing.assert_array_equal(m.jaw_pose, 0.0)
    np.testing.assert_array_equal(m.trans, data["trans"])
    p = m.params(2)
    np.testing.assert_array_equal(p.betas, data["betas"][:10])
    np.testing.assert_array_equal(p.transl, data["trans"][2])
    raw = load_motion(tmp_path / "walk_poses.npz", hands_absolute=False)
    np.testing.assert_array_equal(raw.left_hand_pose, poses[:, 66:111])


def test_load_smplx_motion_maps_columns(tmp_path):
    poses, _ = _amass(tmp_path / "x.npz", 165, gender=np.array(b"male"), mocap_framerate=None,
                      mocap_frame_rate=np.array(30.0))
    m = load_motion(tmp_path / "x.npz")
    mean = smplx_hand_mean().reshape(2, 45)
    assert m.layout == "smplx" and m.gender == "male" and m.fps == 30.0
    np.testing.assert_array_equal(m.body_pose, poses[:, 3:66])
    np.testing.assert_array_equal(m.jaw_pose, poses[:, 66:69])
    np.testing.assert_array_equal(m.leye_pose, poses[:, 69:72])
    np.testing.assert_array_equal(m.reye_pose, poses[:, 72:75])
    np.testing.assert_allclose(m.left_hand_pose, poses[:, 75:120] - mean[0])
    np.testing.assert_allclose(m.right_hand_pose, poses[:, 120:165] - mean[1])


def test_motion_frame_keeps_the_world_root_and_stands_upright(tmp_path, body):
    T = 3
    poses = np.zeros((T, 156))
    # AMASS Z-up: an upright body is SMPL's Y-up frame turned +90 deg about X, then any heading
    roots = Rotation.from_rotvec([0, 0, 0.7]) * Rotation.from_rotvec([np.pi / 2, 0, 0])
    poses[:, 0:3] = roots.as_rotvec()
    poses[:, 3:66] = build_named_poses()["walking_contact_left"].body.ravel()
    poses[:, 66:156] = np.tile(smplx_hand_mean().reshape(90), (T, 1))   # relaxed, absolute
    np.savez(tmp_path / "m.npz", poses=poses, trans=np.zeros((T, 3)), betas=np.zeros(16))
    m = load_motion(tmp_path / "m.npz")
    s = sample_motion_pose(m, np.random.default_rng(0))
    assert s.posture == "standing" and s.names[0].startswith("motion:m.npz#")
    np.testing.assert_allclose(s.left_hand_pose, 0.0, atol=1e-12)
    p = s.to_params(yaw=0.0)
    assert (Rotation.from_rotvec(p.global_orient).inv() * roots).magnitude() < 1e-9  # kept
    p2 = s.to_params(yaw=0.5)    # the sampler's yaw turns the file's heading about world Z
    expect = Rotation.from_rotvec([0, 0, 0.5]) * roots
    assert (Rotation.from_rotvec(p2.global_orient).inv() * expect).magnitude() < 1e-9
    j = body.forward(p).joints
    assert j[HEAD, 2] > j[PELVIS, 2] + 0.5


def _write(path, **arrays):
    np.savez(path, **arrays)
    return path


BAD = {
    "no_poses": (dict(trans=np.zeros((2, 3)), betas=np.zeros(16)), "poses", "to be present"),
    "width": (dict(poses=np.zeros((2, 100)), trans=np.zeros((2, 3)), betas=np.zeros(16)),
              "poses", "(T, 156)"),
    "flat": (dict(poses=np.zeros(156), trans=np.zeros((1, 3)), betas=np.zeros(16)), "poses", "(156,)"),
    "nan": (dict(poses=np.full((2, 156), np.nan), trans=np.zeros((2, 3)), betas=np.zeros(16)),
            "poses", "non-finite"),
    "trans": (dict(poses=np.zeros((2, 156)), trans=np.zeros((3, 3)), betas=np.zeros(16)),
              "trans", "(3, 3)"),
    "betas": (dict(poses=np.zeros((2, 156)), trans=np.zeros((2, 3)), betas=np.zeros(5)),
              "betas", "(5,)"),
    "no_betas": (dict(poses=np.zeros((2, 165)), trans=np.zeros((2, 3))), "betas", "to be present"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_motion_files_give_one_line_errors(tmp_path, case):
    arrays, key, found = BAD[case]
    path = _write(tmp_path / f"{case}.npz", **arrays)
    with pytest.raises(MotionError) as exc:
        load_motion(path)
    msg = str(exc.value)
    assert "\n" not in msg and f"{case}.npz" in msg and f"'{key}'" in msg, msg
    assert "expected" in msg and "found" in msg and found in msg, msg
    assert isinstance(exc.value, ValueError)


def test_unreadable_motion_files(tmp_path):
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"this is not a zip archive\n" * 3)
    for path in (junk, tmp_path / "missing.npz"):
        with pytest.raises(MotionError) as exc:
            load_motion(path)
        assert "\n" not in str(exc.value) and path.name in str(exc.value)


# ------------------------------------------------------------------------------------ contact

def _shifted(out: BodyOutput, dz: float) -> BodyOutput:
    d = np.array([0.0, 0.0, dz])
    return BodyOutput(vertices=out.vertices + d, faces=out.faces, joints=out.joints + d,
                      landmarks={k: v + d for k, v in out.landmarks.items()},
                      skin_joint=out.skin_joint)


def test_feet_on_floor_detects_lifted_and_sunk_bodies(placed):
    st = placed["standing"]
    assert feet_on_floor(st) and feet_on_floor(st, both=True)
    assert not feet_on_floor(_shifted(st, 0.03))          # hovering 3 cm
    assert not feet_on_floor(_shifted(st, -0.03))         # sunk 3 cm into the floor
    assert feet_on_floor(_shifted(st, 0.5), floor_z=0.5)  # on a raised floor
    mid = placed["walking_midstance_left"]
    assert feet_on_floor(mid) and not feet_on_floor(mid, both=True)   # swing foot in the air
    # kneeling touches the floor with the knees, not only the feet
    kn = placed["kneeling"]
    assert feet_on_floor(kn) and min(part_heights(kn)["left_shin"], 1.0) < 0.015
