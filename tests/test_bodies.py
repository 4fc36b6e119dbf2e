"""The mannequin backend: SMPL-X parameter mapping, joints, landmarks."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from synthgen.bodies.base import SMPLXParams
from synthgen.bodies.keypoints import (COCO17_FROM_SMPLX, SMPLX_PARENTS, WHOLEBODY133_FROM_SMPLX,
                                       extended_joints)
from synthgen.bodies.mannequin import LANDMARK_VERTEX_IDS, MannequinBody, derive_landmark_vertex_ids


@pytest.fixture(scope="module")
def body() -> MannequinBody:
    return MannequinBody()


def test_landmark_table_follows_the_written_rule(body):
    assert derive_landmark_vertex_ids(body._model) == LANDMARK_VERTEX_IDS


def test_rest_joints_follow_smplx_layout(body):
    out = body.forward(SMPLXParams())
    j = out.joints
    assert j.shape == (55, 3)
    assert np.isnan(j[22:25]).all() and np.isfinite(j[:22]).all() and np.isfinite(j[25:]).all()
    # SMPL-X body frame: Y up, +X the body's left
    assert j[15, 1] > j[12, 1] > j[0, 1] > j[4, 1] > j[7, 1]        # head > neck > pelvis > knee > ankle
    assert j[16, 0] > 0 > j[17, 0] and j[20, 0] > 0 > j[21, 0]        # left shoulder/wrist at +X
    # every finger joint hangs below its own wrist in the chain
    for k in range(25, 40):
        p = k
        while SMPLX_PARENTS[p] not in (20, -1):
            p = SMPLX_PARENTS[p]
        assert SMPLX_PARENTS[p] == 20


def test_bent_elbow_moves_wrist_not_shoulder(body):
    rest = body.forward(SMPLXParams())
    p = SMPLXParams()
    bp = np.zeros((21, 3))
    bp[17] = (0.0, -np.pi / 2, 0.0)  # body_pose row 17 drives SMPL-X joint 18, the left elbow
    p.body_pose = bp.ravel()
    bent = body.forward(p)
    np.testing.assert_allclose(bent.joints[16], rest.joints[16], atol=1e-6)
    np.testing.assert_allclose(bent.joints[18], rest.joints[18], atol=1e-6)
    forearm = np.linalg.norm(rest.joints[20] - rest.joints[18])
    assert np.linalg.norm(bent.joints[20] - bent.joints[18]) == pytest.approx(forearm, abs=1e-5)
    # the wrist swings about the elbow by 90 degrees
    a, b = rest.joints[20] - rest.joints[18], bent.joints[20] - bent.joints[18]
    angle = np.degrees(np.arccos(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b))))
    assert angle == pytest.approx(90.0, abs=0.5)


def test_global_orient_and_transl_are_smplx_root_semantics(body):
    rest = body.forward(SMPLXParams())
    p = SMPLXParams()
    R = Rotation.from_rotvec([np.pi / 2, 0.0, 0.3])
    p.global_orient = R.as_rotvec()
    p.transl = np.array([1.0, 2.0, 0.5])
    out = body.forward(p)
    pelvis = rest.joints[0]
    expected = R.apply(rest.joints[:22] - pelvis) + pelvis + p.transl
    np.testing.assert_allclose(out.joints[:22], expected, atol=1e-4)


def test_landmarks_move_rigidly_with_parent_joint(body):
    parent = {"nose": 15, "left_eye": 15, "right_eye": 15, "left_ear": 15, "right_ear": 15,
              "left_big_toe": 10, "left_heel": 7, "left_index": 27, "right_thumb": 54}
    rest = body.forward(SMPLXParams())
    p = SMPLXParams()
    bp = np.zeros((21, 3))
    bp[14] = (0.3, 0.4, 0.0)     # head (joint 15)
    bp[6] = (0.5, 0.0, 0.0)      # left ankle (joint 7)
    p.body_pose = bp.ravel()
    lh = np.zeros((15, 3))
    lh[2] = (0.0, 0.0, 0.6)      # left_index3
    p.left_hand_pose = lh.ravel()
    posed = body.forward(p)
    for name, j in parent.items():
        d_rest = np.linalg.norm(rest.landmarks[name] - rest.joints[j])
        d_posed = np.linalg.norm(posed.landmarks[name] - posed.joints[j])
        assert d_posed == pytest.approx(d_rest, abs=2e-3), name
    assert np.linalg.norm(posed.landmarks["nose"] - rest.landmarks["nose"]) > 0.02


def test_wholebody_ranges_follow_the_spec_and_have_one_source():
    """formats.md's WholeBody-133 index ranges, defined once: the COCO writer, the validator, the
    preview's hand bones and the mix tool read the same table."""
    from synthgen.bodies.keypoints import WHOLEBODY133_BODY, WHOLEBODY133_NAMES, WHOLEBODY133_PARTS
    from synthgen.mix.keypoints import WHOLEBODY_KPT_FIELDS
    from synthgen.validate.keypoints import COCO_FIELDS
    from synthgen.validate.schema import WHOLEBODY_PART_SIZES
    from synthgen.viz.overlay import HAND_RANGES
    from synthgen.writers import coco

    assert WHOLEBODY133_BODY == (0, 17)
    assert WHOLEBODY133_PARTS == {"foot": (17, 23), "face": (23, 91), "lefthand": (91, 112),
                                  "righthand": (112, 133)}
    assert WHOLEBODY133_NAMES[91] == "left_hand_root" and WHOLEBODY133_NAMES[112] == "right_hand_root"
    assert not hasattr(coco, "WHOLEBODY_PARTS")   # no second name for the one table
    assert list(COCO_FIELDS.items()) == [("keypoints", (0, 17)), ("foot_kpts", (17, 23)),
                                         ("face_kpts", (23, 91)), ("lefthand_kpts", (91, 112)),
                                         ("righthand_kpts", (112, 133))]
    assert WHOLEBODY_PART_SIZES == {"foot": 6, "face": 68, "lefthand": 21, "righthand": 21}
    assert HAND_RANGES == ((91, 112), (112, 133))
    assert WHOLEBODY_KPT_FIELDS == (("foot_kpts", 6), ("face_kpts", 68), ("lefthand_kpts", 21),
                                    ("righthand_kpts", 21))


def test_extended_joints_put_the_face_contour_after_the_inner_landmarks():
    """A 68-point face (contour 0-16, inner 17-67) lands at extended rows 127-143 and 76-126, and
    WholeBody's face rows 23-90 read it back in its own order."""
    face = np.arange(68 * 3, dtype=float).reshape(68, 3)
    ext = extended_joints(np.zeros((55, 3)), {}, face)
    np.testing.assert_array_equal(ext[127:144], face[:17])
    np.testing.assert_array_equal(ext[76:127], face[17:])
    np.testing.assert_array_equal(ext[WHOLEBODY133_FROM_SMPLX][23:91], face)
    assert np.isnan(ext[55:76]).all()


def test_keypoint_maps_pick_the_right_sources(body):
    out = body.forward(SMPLXParams())
    ext = extended_joints(out.joints, out.landmarks)
    coco = ext[COCO17_FROM_SMPLX]
    assert np.isfinite(coco).all()
    np.testing.assert_allclose(coco[9], out.joints[20])   # left_wrist
    np.testing.assert_allclose(coco[0], out.landmarks["nose"])
    assert coco[1, 0] > coco[2, 0]                         # left eye on the body's left (+X)
    wb = ext[WHOLEBODY133_FROM_SMPLX]
    assert np.isnan(wb[23:91]).all()                       # mannequin: no face source -> v=0
    np.testing.assert_allclose(wb[91], out.joints[20])     # left hand root = wrist
    np.testing.assert_allclose(wb[95], out.landmarks["left_thumb"])
