"""The anny body backend: SMPL-X-convention poses drive it as the docstring of
synthgen.bodies.anny_backend states, its phenotype shapes it, and its outputs keep the contract
the rest of the pipeline relies on (SMPL-X forward kinematics on its rest joints)."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from synthgen.bodies import anny_backend
from synthgen.bodies.base import SMPLXParams
from synthgen.bodies.keypoints import SMPLX_JOINT_NAMES
from synthgen.bodies.kinematics import forward_kinematics

J = {n: i for i, n in enumerate(SMPLX_JOINT_NAMES)}

pytestmark = pytest.mark.skipif(not anny_backend.cache_is_built(),
                                reason="Anny's cache is not built (make runs `synthgen setup`)")


@pytest.fixture(scope="module")
def body():
    return anny_backend.AnnyBody(flat_hand_mean=True)


def _body_pose(**joints_deg) -> np.ndarray:
    bp = np.zeros((21, 3))
    for name, rv in joints_deg.items():
        bp[J[name] - 1] = np.deg2rad(rv)
    return bp.ravel()


def test_rest_pose_is_smplx_t_pose_with_anny_proportions(body):
    out = body.forward(SMPLXParams())
    j = out.joints
    # body frame: Y up, +Z forward, +X the body's left; arms horizontal out to the sides
    for side, s in (("left", 1.0), ("right", -1.0)):
        arm = j[J[f"{side}_wrist"]] - j[J[f"{side}_shoulder"]]
        assert s * arm[0] > 0.4 and abs(arm[1]) < 0.15 * np.linalg.norm(arm)   # SMPL-X's: 6 deg down
        leg = j[J[f"{side}_ankle"]] - j[J[f"{side}_hip"]]
        assert leg[1] < -0.7 and abs(leg[0]) < 0.15
    assert j[J["head"], 1] > j[J["neck"], 1] > j[J["pelvis"], 1]
    # the nose is in front of the head (+Z) and the toes in front of the heels
    assert out.landmarks["nose"][2] > j[J["head"], 2] + 0.05
    assert out.landmarks["left_big_toe"][2] > out.landmarks["left_heel"][2] + 0.15
    assert np.isnan(j[J["jaw"]]).all() and not np.isnan(np.delete(j, J["jaw"], axis=0)).any()
    # every driven segment points where SMPL-X's rest skeleton (mannequin-x's template) points it
    ref = anny_backend._reference_rest_joints()
    for a, b in (("left_shoulder", "left_elbow"), ("right_elbow", "right_wrist"), ("left_hip", "left_knee"),
                 ("left_index1", "left_index2"), ("right_knee", "right_ankle")):
        d, r = j[J[b]] - j[J[a]], ref[J[b]] - ref[J[a]]
        assert np.dot(d, r) / np.linalg.norm(d) / np.linalg.norm(r) > 1 - 1e-9, (a, b)
    # the trunk keeps Anny's upright rest (SMPL-X's regressed neck -> head line leans sideways):
    # the eyes are level and the face looks straight ahead
    le, re = out.landmarks["left_eye"], out.landmarks["right_eye"]
    assert abs(le[1] - re[1]) < 0.002 and abs(le[2] - re[2]) < 0.003 and le[0] - re[0] > 0.05
    assert out.face.shape == (68, 3) and np.isfinite(out.face).all()


def test_bent_elbow_moves_the_wrist_as_smplx_does(body):
    straight = body.forward(SMPLXParams()).joints
    # SMPL-X: the left elbow bends about the body's vertical (-Y) axis, bringing the forearm forward
    bent = body.forward(SMPLXParams(body_pose=_body_pose(left_elbow=(0, -90, 0)))).joints
    e, w0, w1 = straight[J["left_elbow"]], straight[J["left_wrist"]], bent[J["left_wrist"]]
    forearm = np.linalg.norm(w0 - e)
    assert np.allclose(bent[J["left_elbow"]], e, atol=1e-9)          # the elbow itself stays
    expected = e + Rotation.from_euler("y", -90, degrees=True).apply(w0 - e)
    assert np.linalg.norm(w1 - expected) < 1e-9
    assert w1[2] > e[2] + 0.9 * forearm                               # in front of the elbow
    assert np.allclose(bent[J["right_wrist"]], straight[J["right_wrist"]])
    # the skin follows: the hand's vertices moved with the wrist, the right hand's did not
    v0 = body.forward(SMPLXParams()).vertices
    v1 = body.forward(SMPLXParams(body_pose=_body_pose(left_elbow=(0, -90, 0)))).vertices
    sj = body.forward(SMPLXParams()).skin_joint
    assert np.linalg.norm(v1[sj == J["left_wrist"]] - v0[sj == J["left_wrist"]], axis=1).min() > 0.1
    assert np.abs(v1[sj == J["right_wrist"]] - v0[sj == J["right_wrist"]]).max() < 1e-9


def test_joints_follow_smplx_kinematics_on_the_rest_joints(body):
    rng = np.random.default_rng(4)
    ph = {"gender": 0.9, "age": 0.4, "muscle": 0.3, "weight": 0.7, "height": 0.2, "proportions": 0.6}
    rest = body.rest_joints(ph)
    p = SMPLXParams(global_orient=rng.normal(0, 0.6, 3), body_pose=rng.normal(0, 0.3, 63),
                    left_hand_pose=rng.normal(0, 0.2, 45), right_hand_pose=rng.normal(0, 0.2, 45),
                    transl=np.array([1.0, -2.0, 0.5]), phenotype=ph)
    posed, _ = forward_kinematics(rest, p)
    out = body.forward(p)
    assert np.nanmax(np.abs(out.joints - posed)) < 1e-9
    # global_orient rotates about the pelvis, which sits at its rest position + transl
    assert np.allclose(out.joints[0], rest[0] + p.transl, atol=1e-12)


def test_phenotype_changes_height_and_build_and_children_are_shorter(body):
    def stature(**ph):
        v = body.forward(SMPLXParams(phenotype=ph)).vertices
        return v[:, 1].max() - v[:, 1].min()

    def waist(**ph):
        v = body.forward(SMPLXParams(phenotype=ph)).vertices
        j = body.rest_joints(ph)
        band = np.abs(v[:, 1] - j[J["spine1"], 1]) < 0.02
        return np.ptp(v[band, 0])

    adult = float(anny_backend.age_from_years(30.0))
    child = float(anny_backend.age_from_years(8.0))
    assert stature(age=adult, height=0.9) > stature(age=adult, height=0.1) + 0.1
    assert stature(age=child) < stature(age=adult) - 0.25
    assert waist(age=adult, weight=0.9) > waist(age=adult, weight=0.1) + 0.025
    assert anny_backend.years_from_age(anny_backend.age_from_years(70.0)) == pytest.approx(70.0)


def test_hand_mean_is_added_unless_flat(body):
    curled = anny_backend.AnnyBody(flat_hand_mean=False).forward(SMPLXParams()).joints
    flat = body.forward(SMPLXParams()).joints
    # SMPL-X's relaxed mean hand curls the fingers: the tips move, the wrists do not
    assert np.allclose(curled[J["left_wrist"]], flat[J["left_wrist"]])
    assert np.linalg.norm(curled[J["left_middle3"]] - flat[J["left_middle3"]]) > 0.01


def test_missing_cache_is_one_line(tmp_path):
    code = ("import sys; from synthgen.cli import main; "
            "sys.exit(main(['render', 'scenes/kitchen.yaml', '-o', sys.argv[1], 'frames=1']))")
    env = {"ANNY_CACHE_DIR": str(tmp_path / "nocache"), "PATH": "/usr/bin:/bin",
           "PYOPENGL_PLATFORM": "egl", "PYGLET_HEADLESS": "1"}
    r = subprocess.run([sys.executable, "-c", code, str(tmp_path / "out")], capture_output=True, text=True,
                       env=env, cwd=str(anny_backend.Path(__file__).resolve().parents[1]))
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "synthgen setup" in lines[0] and "nocache" in lines[0]
    assert not (tmp_path / "out").exists()


def test_calibrated_phenotypes_give_real_statures(body):
    from synthgen.config.schema import PhenotypeConfig
    from synthgen.scene.people import sample_phenotype

    rng = np.random.default_rng(1)
    adult = PhenotypeConfig(child_share=0.0, elderly_share=0.0)
    men, women = [], []
    for _ in range(40):
        ph = sample_phenotype(adult, rng)
        assert 18.0 <= ph.pop("age_years") <= 65.0
        v = body.forward(SMPLXParams(phenotype=ph)).vertices
        (men if ph["gender"] <= 0.5 else women).append(np.ptp(v[:, 1]))   # T-pose: Y extent = stature
    assert 1.70 < np.median(men) < 1.88 and np.median(women) < np.median(men)
    assert min(men + women) > 1.40 and max(men + women) < 2.10
    kids = PhenotypeConfig(child_share=1.0, elderly_share=0.0, child_age_years=[6.0, 8.0])
    ph = sample_phenotype(kids, rng)
    ph.pop("age_years")
    assert np.ptp(body.forward(SMPLXParams(phenotype=ph)).vertices[:, 1]) < 1.45
    # uniform: every value inside its range, same draws for the same seed
    uni = PhenotypeConfig(distribution="uniform", height=[0.2, 0.3], weight=[0.6, 0.7])
    a, b = sample_phenotype(uni, np.random.default_rng(5)), sample_phenotype(uni, np.random.default_rng(5))
    assert a == b and 0.2 <= a["height"] <= 0.3 and 0.6 <= a["weight"] <= 0.7
