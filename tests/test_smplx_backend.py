"""The ``smplx`` body backend, run through the real smplx + torch on a generated SMPL-X-format file
(``tests/smplx_fixture.py``: a known T-pose skeleton with SMPL-X's vertex count, joint tree and
landmark vertex ids; the licensed model files are never needed)."""
from __future__ import annotations

import importlib.util
import pickle
import shutil
import sys
import time

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from synthgen.bodies.base import BodyOutput, SMPLXParams
from synthgen.config import load_scene_config
from synthgen.runner.pipeline import make_body_model
from synthgen.bodies.keypoints import SMPLX_LANDMARK_NAMES, SMPLX_PARENTS
from synthgen.bodies.smplx_backend import (LANDMARK_VERTEX_IDS, MISSING_EXTRA_MESSAGE, BodyModelError,
                                           SMPLXBody, SMPLXExtraMissingError)

from conftest import REPO, run_cli
from smplx_fixture import (BETA0_SCALE, EXPR0_DROP, HAND_MEAN_CURL, LANDMARKS, REST_JOINTS,
                           face_points, write_fake_smplx)

HAS_SMPLX = all(importlib.util.find_spec(m) is not None for m in ("smplx", "torch"))
needs_smplx = pytest.mark.skipif(not HAS_SMPLX, reason="the smplx extra is not installed")

PELVIS, L_SHOULDER, L_ELBOW, L_WRIST = 0, 16, 18, 20


@pytest.fixture(scope="session")
def smplx_model_dir(tmp_path_factory):
    """A folder holding the fake ``smplx/SMPLX_NEUTRAL.npz`` (generated once per session)."""
    d = tmp_path_factory.mktemp("smplx_models")
    write_fake_smplx(d)
    return d


@pytest.fixture(scope="session")
def flat_body(smplx_model_dir):
    """Flat hands: a zero pose is exactly the file's rest skeleton."""
    return SMPLXBody(smplx_model_dir, flat_hand_mean=True)


@pytest.fixture(scope="session")
def body(smplx_model_dir):
    return SMPLXBody(smplx_model_dir)


def descendants(j: int) -> set[int]:
    out: set[int] = set()
    for k in range(55):
        p = SMPLX_PARENTS[k]
        while p >= 0:
            if p == j:
                out.add(k)
                break
            p = SMPLX_PARENTS[p]
    return out


def rot(p: np.ndarray, pivot: np.ndarray, rv) -> np.ndarray:
    return pivot + Rotation.from_rotvec(rv).apply(np.asarray(p) - pivot)


LANDMARK_JOINT = {name: LANDMARKS[vid][0] for name, vid in LANDMARK_VERTEX_IDS.items()}


@needs_smplx
def test_loads_smplx_layout_and_output_shapes(flat_body):
    import torch

    with torch.no_grad():
        raw = flat_body._model()
    assert raw.vertices.shape == (1, 10475, 3) and raw.joints.shape == (1, 144, 3)
    out = flat_body.forward(SMPLXParams())
    assert isinstance(out, BodyOutput) and out.face.shape == (68, 3)
    assert flat_body.name == "smplx" and flat_body.gender == "neutral"
    assert out.vertices.shape == (10475, 3) and out.vertices.dtype == np.float64
    assert out.faces.shape == (20908, 3) and out.faces.max() < 10475
    assert out.joints.shape == (55, 3) and np.isfinite(out.joints).all()
    assert list(out.landmarks) == list(SMPLX_LANDMARK_NAMES)
    assert out.face.shape == (68, 3) and np.isfinite(out.face).all()
    assert out.skin_joint.shape == (10475,)
    ext = out.extended
    assert ext.shape == (144, 3) and np.isfinite(ext).all()
    # the extended array is smplx's own joint array, row for row
    np.testing.assert_allclose(ext, raw.joints[0].numpy(), atol=1e-6)


@needs_smplx
def test_rest_pose_reproduces_the_file(flat_body, smplx_model_dir):
    out = flat_body.forward(SMPLXParams())
    np.testing.assert_allclose(out.joints, REST_JOINTS, atol=1e-5)
    np.testing.assert_allclose(flat_body.rest_joints(), REST_JOINTS, atol=1e-5)
    for name in SMPLX_LANDMARK_NAMES:   # smplx's joints 55-75 are these vertices, in this order
        vid = LANDMARK_VERTEX_IDS[name]
        np.testing.assert_allclose(out.landmarks[name], out.vertices[vid], atol=1e-6)
        np.testing.assert_allclose(out.landmarks[name], LANDMARKS[vid][1], atol=1e-5)
    # sensible places: nose in front of the head, left ear on the body's left (+X)
    head = out.joints[15]
    assert out.landmarks["nose"][2] - head[2] > 0.08
    assert out.landmarks["left_ear"][0] > head[0] + 0.05 > head[0] - 0.05 > out.landmarks["right_ear"][0]
    fp, _ = face_points()   # iBUG order: contour 0-16 then inner 17-67
    np.testing.assert_allclose(out.face, fp, atol=1e-5)
    data = np.load(smplx_model_dir / "smplx" / "SMPLX_NEUTRAL.npz")
    np.testing.assert_array_equal(out.skin_joint, data["weights"].argmax(1))


# (SMPLXParams field, 3-vector row in it, SMPL-X joint it drives)
POSE_SLOTS = [("global_orient", 0, 0)] + [
    ("body_pose", j - 1, j) for j in (1, 3, 9, 12, 13, 16, 18, 20, 21)] + [
    ("left_hand_pose", 0, 25), ("left_hand_pose", 12, 37), ("right_hand_pose", 3, 43),
    ("jaw_pose", 0, 22), ("leye_pose", 0, 23)]


@needs_smplx
@pytest.mark.parametrize("field,row,joint", POSE_SLOTS)
def test_posing_one_joint_moves_exactly_its_descendants(flat_body, field, row, joint):
    rv = np.array([0.3, -0.5, 0.4])
    p = SMPLXParams()
    pose = np.zeros_like(getattr(p, field)).reshape(-1, 3)
    pose[row] = rv
    setattr(p, field, pose.ravel())
    out = flat_body.forward(p)
    moved = set(np.where(np.abs(out.joints - REST_JOINTS).max(1) > 1e-5)[0].tolist())
    assert moved == descendants(joint)
    # every descendant turns rigidly about the posed joint (no ancestor is posed)
    for d in moved:
        np.testing.assert_allclose(out.joints[d], rot(REST_JOINTS[d], REST_JOINTS[joint], rv), atol=1e-5)
    # landmarks skinned to the joint or below it follow it rigidly, the others stay
    sub = descendants(joint) | {joint}
    for name, vid in LANDMARK_VERTEX_IDS.items():
        want = LANDMARKS[vid][1]
        if LANDMARK_JOINT[name] in sub:
            want = rot(want, REST_JOINTS[joint], rv)
        np.testing.assert_allclose(out.landmarks[name], want, atol=1e-5, err_msg=name)


@needs_smplx
def test_bent_left_elbow_turns_the_wrist_about_the_elbow(flat_body):
    p = SMPLXParams()
    bp = np.zeros((21, 3))
    bp[17] = (0.0, -1.1, 0.0)   # body_pose row 17 drives SMPL-X joint 18, the left elbow
    p.body_pose = bp.ravel()
    out = flat_body.forward(p)
    e, w = REST_JOINTS[L_ELBOW], REST_JOINTS[L_WRIST]
    np.testing.assert_allclose(out.joints[L_ELBOW], e, atol=1e-6)
    np.testing.assert_allclose(out.joints[L_SHOULDER], REST_JOINTS[L_SHOULDER], atol=1e-6)
    np.testing.assert_allclose(out.joints[L_WRIST], rot(w, e, (0.0, -1.1, 0.0)), atol=1e-5)
    a, b = w - e, out.joints[L_WRIST] - e
    angle = np.arccos(a @ b / np.linalg.norm(a) / np.linalg.norm(b))
    assert angle == pytest.approx(1.1, abs=1e-4)
    # about -Y, the left forearm (+X) swings forward (+Z): the elbow bends the natural way
    assert out.joints[L_WRIST][2] > e[2] + 0.15
    assert np.allclose(out.joints[21], REST_JOINTS[21], atol=1e-6)   # right wrist untouched


@needs_smplx
def test_global_orient_turns_about_the_pelvis_then_transl_is_added(flat_body):
    go, tr = np.array([np.pi / 2, 0.2, -0.7]), np.array([1.5, -2.0, 0.3])
    rest = flat_body.forward(SMPLXParams())
    out = flat_body.forward(SMPLXParams(global_orient=go, transl=tr))
    pivot = REST_JOINTS[PELVIS]
    assert np.linalg.norm(pivot) > 0.3   # the fake pelvis is off the origin, so this is a real check
    np.testing.assert_allclose(out.joints, rot(rest.joints, pivot, go) + tr, atol=1e-5)
    np.testing.assert_allclose(out.vertices, rot(rest.vertices, pivot, go) + tr, atol=1e-5)
    np.testing.assert_allclose(out.face, rot(rest.face, pivot, go) + tr, atol=1e-5)
    np.testing.assert_allclose(out.landmarks["nose"], rot(rest.landmarks["nose"], pivot, go) + tr, atol=1e-5)
    np.testing.assert_allclose(out.joints[PELVIS], pivot + tr, atol=1e-6)


@needs_smplx
def test_betas_and_expression_reach_the_model(flat_body):
    betas = np.zeros(10)
    betas[0] = 1.0
    out = flat_body.forward(SMPLXParams(betas=betas))
    want = REST_JOINTS.copy()
    want[:, 1] = REST_JOINTS[0, 1] + (1 + BETA0_SCALE) * (REST_JOINTS[:, 1] - REST_JOINTS[0, 1])
    np.testing.assert_allclose(out.joints, want, atol=1e-5)
    np.testing.assert_allclose(flat_body.rest_joints(betas), want, atol=1e-5)
    # a shorter betas vector is zero-padded; non-zero entries the model cannot use are an error
    np.testing.assert_allclose(flat_body.forward(SMPLXParams(betas=[1.0])).joints, want, atol=1e-6)
    with pytest.raises(ValueError, match="betas has 12 values"):
        flat_body.forward(SMPLXParams(betas=np.r_[np.zeros(11), 0.5]))

    expr = np.zeros(10)
    expr[0] = 1.0
    rest = flat_body.forward(SMPLXParams())
    out = flat_body.forward(SMPLXParams(expression=expr))
    delta = out.face - rest.face
    lip = [65, 66, 67]   # iBUG inner lower lip: expression 0 drops it
    np.testing.assert_allclose(delta[lip], [[0.0, -EXPR0_DROP, 0.0]] * 3, atol=1e-6)
    assert np.abs(np.delete(delta, lip, axis=0)).max() < 1e-7
    np.testing.assert_allclose(out.joints, rest.joints, atol=1e-7)


@needs_smplx
def test_jaw_moves_the_mouth_not_the_eyes(flat_body):
    fp, skin = face_points()
    rv = np.array([0.4, 0.0, 0.0])   # open the mouth
    out = flat_body.forward(SMPLXParams(jaw_pose=rv))
    jaw = REST_JOINTS[22]
    for k in range(68):
        want = rot(fp[k], jaw, rv) if skin[k] == 22 else fp[k]
        np.testing.assert_allclose(out.face[k], want, atol=1e-5, err_msg=f"face point {k}")
    assert out.face[57][1] < fp[57][1] - 0.005   # outer lower lip went down


@needs_smplx
def test_hand_mean_is_added_unless_flat(body, flat_body):
    out = body.forward(SMPLXParams())
    i1, i2, i3 = 25, 26, 27   # left index
    np.testing.assert_allclose(out.joints[i1], REST_JOINTS[i1], atol=1e-6)
    np.testing.assert_allclose(out.joints[i2], rot(REST_JOINTS[i2], REST_JOINTS[i1], (0, 0, -HAND_MEAN_CURL)),
                               atol=1e-5)
    assert out.joints[i3][1] < REST_JOINTS[i3][1] - 0.005   # curled down, palm side
    # a hand pose of minus the mean flattens it again, as flat_hand_mean does for zero poses
    mean = np.tile([0.0, 0.0, -HAND_MEAN_CURL], 15)
    flat = body.forward(SMPLXParams(left_hand_pose=-mean, right_hand_pose=mean))
    np.testing.assert_allclose(flat.joints, flat_body.forward(SMPLXParams()).joints, atol=1e-5)
    assert not body.flat_hand_mean and flat_body.flat_hand_mean


@needs_smplx
def test_same_params_pose_the_mannequin_arm_the_same_way(flat_body):
    from synthgen.bodies.mannequin import MannequinBody

    man = MannequinBody()
    go = Rotation.from_rotvec([0.0, 0.0, 0.6]) * Rotation.from_rotvec([np.pi / 2, 0.0, 0.0])
    bp = np.zeros((21, 3))
    bp[15] = (0.0, 0.2, -1.0)   # left shoulder down and a little forward
    bp[17] = (0.0, -1.2, 0.0)   # left elbow bent
    bp[19] = (0.3, 0.0, 0.4)    # left wrist
    p = SMPLXParams(global_orient=go.as_rotvec(), body_pose=bp.ravel())
    R = {j: Rotation.from_rotvec(bp[j - 1]) for j in (16, 18, 20)}
    # global rotation of each segment: root, then the chain's local rotations (spine and collar zero)
    G = {16: go * R[16], 18: go * R[16] * R[18], 20: go * R[16] * R[18] * R[20]}
    bones = [(16, 18), (18, 20), (20, 28)]   # upper arm, forearm, wrist -> middle finger base

    def unit(v):
        return v / np.linalg.norm(v)

    def angle(a, b):
        return np.degrees(np.arccos(np.clip(unit(a) @ unit(b), -1, 1)))

    rest = {m: m.forward(SMPLXParams()).joints for m in (man, flat_body)}
    posed = {m: m.forward(p).joints for m in (man, flat_body)}
    for a, b in bones:
        for m in (man, flat_body):
            # each model turns its own rest bone by the rotation SMPL-X semantics prescribe
            want = G[a].apply(rest[m][b] - rest[m][a])
            assert angle(posed[m][b] - posed[m][a], want) < 0.2, (m.name, a, b)
        # and the two posed bones keep the small angle their rest bones had: same rotation
        r = angle(rest[man][b] - rest[man][a], rest[flat_body][b] - rest[flat_body][a])
        q = angle(posed[man][b] - posed[man][a], posed[flat_body][b] - posed[flat_body][a])
        assert q == pytest.approx(r, abs=0.2)
        assert G[a].magnitude() > 0.5   # a large rotation, so agreement is not by chance


def test_missing_model_dir_names_the_expected_file(tmp_path):
    d = tmp_path / "nowhere"
    with pytest.raises(BodyModelError) as e:
        SMPLXBody(d)
    msg = str(e.value)
    assert "\n" not in msg and isinstance(e.value, ValueError)
    assert str(d / "smplx" / "SMPLX_NEUTRAL.npz") in msg and str(d / "SMPLX_NEUTRAL.npz") in msg
    assert "smpl-x.is.tue.mpg.de" in msg and "redistribution" in msg
    with pytest.raises(BodyModelError, match="SMPLX_FEMALE.npz"):
        SMPLXBody(d, gender="female")
    with pytest.raises(BodyModelError, match="gender must be one of"):
        SMPLXBody(d, gender="other")


@needs_smplx
def test_other_layouts_and_a_broken_file(smplx_model_dir, tmp_path):
    src = smplx_model_dir / "smplx" / "SMPLX_NEUTRAL.npz"
    # only the female file is there: it is found for gender='female', the neutral one is not
    (tmp_path / "flat").mkdir()
    shutil.copy(src, tmp_path / "flat" / "SMPLX_FEMALE.npz")
    body = SMPLXBody(tmp_path / "flat", gender="female", flat_hand_mean=True)
    assert body.gender == "female" and body.model_file == tmp_path / "flat" / "SMPLX_FEMALE.npz"
    np.testing.assert_allclose(body.forward(SMPLXParams()).joints, REST_JOINTS, atol=1e-5)
    with pytest.raises(BodyModelError, match="SMPLX_NEUTRAL.npz"):
        SMPLXBody(tmp_path / "flat")
    assert SMPLXBody(src).model_file == src   # the file itself
    # the .pkl download, in the smplx/ subfolder: loaded only when the folder is trusted
    pkl = tmp_path / "pkl" / "smplx" / "SMPLX_NEUTRAL.pkl"
    pkl.parent.mkdir(parents=True)
    with np.load(src) as data:
        pkl.write_bytes(pickle.dumps({k: data[k] for k in data.files}))
    body = SMPLXBody(tmp_path / "pkl", flat_hand_mean=True, trust_pickle=True)
    assert body.model_file == pkl
    np.testing.assert_allclose(body.forward(SMPLXParams()).joints, REST_JOINTS, atol=1e-5)
    with pytest.raises(BodyModelError, match="is a pickle, which can run code"):
        SMPLXBody(tmp_path / "pkl")
    bad = tmp_path / "bad" / "smplx" / "SMPLX_NEUTRAL.npz"
    bad.parent.mkdir(parents=True)
    bad.write_text("not a model")
    with pytest.raises(BodyModelError, match="is not a .npz archive: found a file starting with b'not '") as e:
        SMPLXBody(tmp_path / "bad")
    assert "\n" not in str(e.value) and str(bad) in str(e.value)
    # a .npz lacking an array smplx needs
    with np.load(src) as data:
        arrays = {k: data[k] for k in data.files if k != "posedirs"}
    short = tmp_path / "short" / "SMPLX_NEUTRAL.npz"
    short.parent.mkdir()
    np.savez(short, **arrays)
    with pytest.raises(BodyModelError, match=r"SMPLX_NEUTRAL.npz lacks the array 'posedirs' \(it holds J_reg"):
        SMPLXBody(short.parent)


@pytest.mark.parametrize("module", ["smplx", "torch"])
def test_missing_extra_is_one_line(smplx_model_dir, monkeypatch, module):
    monkeypatch.setitem(sys.modules, module, None)   # makes `import <module>` raise ImportError
    with pytest.raises(ImportError) as e:
        SMPLXBody(smplx_model_dir)
    assert isinstance(e.value, SMPLXExtraMissingError)
    assert str(e.value) == MISSING_EXTRA_MESSAGE
    assert str(e.value) == "the 'smplx' body model needs the smplx extra: pip install 'synthgen[smplx]'"


@needs_smplx
def test_bad_parameter_shapes_are_rejected(flat_body):
    with pytest.raises(ValueError, match="body_pose must have 63 values, found 60"):
        flat_body.forward(SMPLXParams(body_pose=np.zeros(60)))


@needs_smplx
def test_forward_is_fast(flat_body):
    p = SMPLXParams(body_pose=np.full(63, 0.1))
    flat_body.forward(p)
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        flat_body.forward(p)
        times.append(time.perf_counter() - t0)
    assert np.median(times) < 0.1


# --- no model file runs code (issue 14, point 1) -------------------------------------------------

class _Payload:
    """Unpickling this creates ``marker``: the stand-in for an attacker's code."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _fixture_arrays(smplx_model_dir) -> dict:
    with np.load(smplx_model_dir / "smplx" / "SMPLX_NEUTRAL.npz") as data:
        return {k: data[k] for k in data.files}


def _malicious_model_dirs(smplx_model_dir, tmp_path, marker):
    """Model folders that run code (create ``marker``) when loaded the way smplx loads them:
    a .pkl whose v_template unpickles the payload, and a .npz whose v_template is an object array
    holding it (np.load(allow_pickle=True) unpickles it)."""
    arrays = _fixture_arrays(smplx_model_dir)
    evil = dict(arrays, v_template=np.array([_Payload(marker)], dtype=object))
    pkl = tmp_path / "pkl_model" / "SMPLX_NEUTRAL.pkl"
    pkl.parent.mkdir()
    pkl.write_bytes(pickle.dumps(evil))
    npz = tmp_path / "npz_model" / "SMPLX_NEUTRAL.npz"
    npz.parent.mkdir()
    np.savez(npz, **evil)
    return pkl, npz


@needs_smplx
def test_model_is_the_one_smplx_loads_from_the_file(smplx_model_dir):
    """Handing smplx the arrays gives the model smplx.create builds from the (trusted) file:
    the same buffers and, for a pose using every parameter, the same vertices and joints."""
    import smplx
    import torch

    rng = np.random.default_rng(7)
    p = SMPLXParams(betas=rng.normal(size=10), expression=rng.normal(size=10),
                    global_orient=rng.normal(0, 0.5, 3), body_pose=rng.normal(0, 0.3, 63),
                    left_hand_pose=rng.normal(0, 0.3, 45), right_hand_pose=rng.normal(0, 0.3, 45),
                    jaw_pose=rng.normal(0, 0.2, 3), leye_pose=rng.normal(0, 0.2, 3),
                    reye_pose=rng.normal(0, 0.2, 3), transl=rng.normal(size=3))
    f32 = lambda a: torch.as_tensor(np.asarray(a, np.float64).reshape(1, -1), dtype=torch.float32)
    for flat in (False, True):
        body = SMPLXBody(smplx_model_dir, flat_hand_mean=flat)
        ref = smplx.create(str(smplx_model_dir), model_type="smplx", gender="neutral", use_pca=False,
                           use_face_contour=True, num_betas=10, num_expression_coeffs=10,
                           flat_hand_mean=flat, ext="npz")
        ours = body._model.state_dict()
        theirs = ref.state_dict()
        assert ours.keys() == theirs.keys() and len(ours) > 20
        for k in theirs:
            assert torch.equal(ours[k], theirs[k]), k
        out = body.forward(p)
        with torch.no_grad():
            r = ref(betas=f32(p.betas), expression=f32(p.expression), global_orient=f32(p.global_orient),
                    body_pose=f32(p.body_pose), left_hand_pose=f32(p.left_hand_pose),
                    right_hand_pose=f32(p.right_hand_pose), jaw_pose=f32(p.jaw_pose),
                    leye_pose=f32(p.leye_pose), reye_pose=f32(p.reye_pose), transl=f32(p.transl))
        np.testing.assert_array_equal(out.vertices, r.vertices[0].numpy().astype(np.float64))
        np.testing.assert_array_equal(out.extended, r.joints[0].numpy().astype(np.float64))
        assert np.abs(out.joints - REST_JOINTS).max() > 0.1   # the pose did move the body


@needs_smplx
def test_loading_never_unpickles(smplx_model_dir, monkeypatch):
    """Neither synthgen nor smplx unpickles anything while building the model: every np.load is
    called with allow_pickle=False and pickle.load is never called."""
    loads, pickles = [], []
    real_load = np.load

    def spy_load(*args, **kwargs):
        loads.append(kwargs.get("allow_pickle", False))
        return real_load(*args, **kwargs)

    def spy_pickle(*args, **kwargs):
        pickles.append(args)
        raise AssertionError("pickle.load called")

    monkeypatch.setattr(np, "load", spy_load)
    monkeypatch.setattr(pickle, "load", spy_pickle)
    monkeypatch.setattr(pickle, "loads", spy_pickle)
    body = SMPLXBody(smplx_model_dir, flat_hand_mean=True)
    np.testing.assert_allclose(body.forward(SMPLXParams()).joints, REST_JOINTS, atol=1e-5)
    assert loads == [False] and pickles == []


@needs_smplx
def test_malicious_model_files_run_nothing(smplx_model_dir, tmp_path):
    marker = tmp_path / "pwned"
    pkl, npz = _malicious_model_dirs(smplx_model_dir, tmp_path, marker)
    with pytest.raises(BodyModelError) as e:
        SMPLXBody(pkl.parent)
    msg = str(e.value)
    assert "\n" not in msg and str(pkl) in msg and "humans.trust_pickle=true" in msg and ".npz" in msg
    with pytest.raises(BodyModelError) as e:
        SMPLXBody(npz.parent)
    msg = str(e.value)
    assert "\n" not in msg and str(npz) in msg and "array 'v_template' is refused" in msg
    assert "Object arrays cannot be loaded when allow_pickle=False" in msg
    # trust_pickle never extends to .npz: the object array is refused all the same
    with pytest.raises(BodyModelError, match="array 'v_template' is refused"):
        SMPLXBody(npz.parent, trust_pickle=True)
    # a pickle under a .npz name is not tried as a pickle
    disguised = tmp_path / "disguised" / "SMPLX_NEUTRAL.npz"
    disguised.parent.mkdir()
    disguised.write_bytes(pkl.read_bytes())
    with pytest.raises(BodyModelError, match="is not a .npz archive: found a pickle"):
        SMPLXBody(disguised.parent, trust_pickle=True)
    assert not marker.exists()
    # the files are live: loading them the way smplx does runs the payload
    with np.load(npz, allow_pickle=True) as data:
        data["v_template"]
    assert marker.exists()
    marker.unlink()
    pickle.loads(pkl.read_bytes())
    assert marker.exists()


@needs_smplx
def test_unused_object_members_are_never_read(smplx_model_dir, tmp_path):
    """The released SMPL-X .npz files hold object arrays smplx does not use (``joint2num``,
    ``part2num``): the model loads and they are never unpickled."""
    marker = tmp_path / "pwned"
    arrays = _fixture_arrays(smplx_model_dir)
    path = tmp_path / "SMPLX_NEUTRAL.npz"
    np.savez(path, **arrays, joint2num=np.array([_Payload(marker)], dtype=object),
             part2num=np.array({"head": 15}, dtype=object))
    body = SMPLXBody(tmp_path, flat_hand_mean=True)
    np.testing.assert_allclose(body.forward(SMPLXParams()).joints, REST_JOINTS, atol=1e-5)
    assert not marker.exists()


@needs_smplx
def test_humans_trust_pickle_lets_a_trusted_pkl_load(smplx_model_dir, tmp_path):
    pkl = tmp_path / "smplx" / "SMPLX_NEUTRAL.pkl"
    pkl.parent.mkdir()
    pkl.write_bytes(pickle.dumps(_fixture_arrays(smplx_model_dir)))
    base = ["humans.model=smplx", f"humans.model_dir={tmp_path}", "humans.flat_hand_mean=true"]
    cfg = load_scene_config(REPO / "scenes" / "kitchen.yaml", base)
    assert cfg.humans.trust_pickle is False
    with pytest.raises(BodyModelError, match="is a pickle"):
        make_body_model(cfg)
    cfg = load_scene_config(REPO / "scenes" / "kitchen.yaml", base + ["humans.trust_pickle=true"])
    body = make_body_model(cfg)
    assert body.model_file == pkl
    np.testing.assert_allclose(body.forward(SMPLXParams()).joints, REST_JOINTS, atol=1e-5)


@needs_smplx
@pytest.mark.parametrize("kind", ["pkl", "npz"])
def test_malicious_model_through_the_cli_is_one_line(smplx_model_dir, tmp_path, kind):
    marker = tmp_path / "pwned"
    pkl, npz = _malicious_model_dirs(smplx_model_dir, tmp_path, marker)
    bad = pkl if kind == "pkl" else npz
    out = tmp_path / "out"
    r = run_cli("render", REPO / "scenes" / "kitchen.yaml", "frames=1", "camera.width=64",
                "camera.height=48", "humans.model=smplx", f"humans.model_dir={bad.parent}",
                "-o", out, "--quiet")
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and str(bad) in lines[0] and "Traceback" not in r.stderr
    assert ("is a pickle, which can run code" if kind == "pkl" else "array 'v_template' is refused") in lines[0]
    assert not marker.exists() and not out.exists()
