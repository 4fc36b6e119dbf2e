"""The 68 face landmarks on Anny's mesh (synthgen.bodies.anny_face): the stored table is the
output of its written rule, the points sit where the iBUG-300W markup puts them on a young adult,
a child and an elderly heavy body, and they move with the skin when the head turns."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from synthgen.bodies import anny_backend
from synthgen.bodies.base import SMPLXParams
from synthgen.bodies.keypoints import SMPLX_JOINT_NAMES

pytestmark = pytest.mark.skipif(not anny_backend.cache_is_built(),
                                reason="Anny's cache is not built (make runs `synthgen setup`)")

from synthgen.bodies import anny_face as af  # noqa: E402

PHENOTYPES = {"reference": None, "child": {"age": 0.3}, "elderly_heavy": {"age": 1.0, "weight": 0.9}}
J = {n: i for i, n in enumerate(SMPLX_JOINT_NAMES)}


def _n(*ibug):   # iBUG's 1-based numbers -> rows
    return [i - 1 for i in ibug]


@pytest.fixture(scope="module")
def body():
    return anny_backend.AnnyBody()


@pytest.fixture(scope="module")
def rest(body):
    """68 points (Anny's model frame: Z up, facing -Y, +X the subject's left) per phenotype."""
    return {name: af.face68_points(af.rest_vertices(body, ph)) for name, ph in PHENOTYPES.items()}


def test_table_is_the_rules_output(body):
    derived = af.derive_face68(body)
    assert derived.dtype == af.FACE68_DTYPE and derived.shape == (68,) == af.FACE68.shape
    # compared as points on two different bodies: a point on a shared edge may be stored under
    # either triangle, and both give the same point on every mesh
    for ph in (None, PHENOTYPES["elderly_heavy"]):
        v = af.rest_vertices(body, ph)
        np.testing.assert_allclose(af.face68_points(v, derived), af.face68_points(v), rtol=0, atol=1e-5)


def test_every_point_lies_on_a_skin_triangle(body):
    from anny.face_segmentation import get_face_segmentation_mask

    skin = get_face_segmentation_mask(body._model, ["head"]).numpy()
    tris = [frozenset(t) for t in body.faces[skin].tolist()]
    parts = set(tris)
    for t in tris:
        a, b, c = sorted(t)
        parts |= {frozenset((a, b)), frozenset((b, c)), frozenset((a, c)), frozenset((a,)), frozenset((b,)),
                  frozenset((c,))}
    w = af.FACE68["weights"]
    assert np.all(w >= 0) and np.allclose(w.sum(1), 1.0, atol=1e-12)
    for k, (ids, ws) in enumerate(zip(af.FACE68["vertices"], w)):
        assert frozenset(ids[ws > 0].tolist()) in parts, f"point {k + 1} is not on one head-skin triangle"


@pytest.mark.parametrize("name", list(PHENOTYPES))
def test_left_right_mirror_symmetry(rest, name):
    p = rest[name]
    mirrored = p[list(af.MIRROR68)] * np.array([-1.0, 1.0, 1.0])
    assert np.linalg.norm(p - mirrored, axis=1).max() < 0.002
    assert sorted(af.MIRROR68) == list(range(68))
    assert all(af.MIRROR68[af.MIRROR68[i]] == i for i in range(68))
    assert np.abs(p[_n(9, 28, 29, 30, 31, 34, 52, 58, 63, 67), 0]).max() < 1e-4   # on the midline


@pytest.mark.parametrize("name", list(PHENOTYPES))
def test_the_markup_is_ordered_like_ibugs(rest, name):
    p = rest[name]
    x, y, z = p[:, 0], p[:, 1], p[:, 2]   # +X the subject's left, -Y forward, Z up
    brows, eyes = _n(*range(18, 28)), _n(*range(37, 49))
    mouth = _n(*range(49, 69))
    # eyebrows above the eyes above the nose tip above the mouth above the chin
    assert z[brows].min() > z[eyes].max() + 0.004
    assert z[eyes].min() > z[_n(31)][0] + 0.02
    assert z[_n(*range(31, 37))].min() > z[mouth].max() + 0.005
    assert z[mouth].min() > z[_n(9)][0] + 0.01
    assert int(np.argmin(z)) == _n(9)[0]                     # the chin is the lowest point
    assert int(np.argmin(y)) == _n(31)[0]                    # the nose tip the most forward
    # jaw: from the subject's right ear side down to the chin and up to the left, at eye height
    jaw = _n(*range(1, 18))
    assert np.all(np.diff(x[jaw]) > 0)
    assert np.all(np.diff(z[jaw][:9]) < 0) and np.all(np.diff(z[jaw][8:]) > 0)
    # at the outer eye corners' height: by the rule on the reference body, near it on the others
    assert abs(z[_n(1)][0] - z[_n(37)][0]) < (0.0005 if name == "reference" else 0.005)
    # each group runs from the image's left to its right (subject's right to left)
    for group in (brows, _n(32, 33, 34, 35, 36), _n(37, 38, 39, 40), _n(43, 44, 45, 46),
                  _n(*range(49, 56)), _n(61, 62, 63, 64, 65)):
        assert np.all(np.diff(x[group]) > 0), group
    for group in (_n(40, 41, 42, 37), _n(46, 47, 48, 43), _n(55, 56, 57, 58, 59, 60, 49), _n(65, 66, 67, 68, 61)):
        assert np.all(np.diff(x[group]) < 0), group
    # eye corners: right eye entirely on the subject's right, outer corners outside the inner ones
    assert x[_n(37)] < x[_n(40)] < -0.01 and 0.01 < x[_n(43)] < x[_n(46)]
    for upper, lower in ((_n(38, 39), _n(41, 42)), (_n(44, 45), _n(47, 48))):
        assert z[upper].min() > z[lower].max() + 0.003
    # nose bridge straight down the midline; the columella base below the nostrils' points
    assert np.all(np.diff(z[_n(28, 29, 30, 31)]) < -0.005)
    assert z[_n(34)] < z[_n(33, 35)].min()
    # lips: upper outer lip above the inner lips above the lower outer lip; corners together
    assert z[_n(52)] > z[_n(63)] + 0.003 and z[_n(67)] > z[_n(58)] + 0.005 and z[_n(63)] >= z[_n(67)]
    # (the outer corner is on the lip mask's border, the inner one where the lips meet, a few mm
    # behind it; on the elderly heavy face the inner one ends up 1 mm further out)
    for outer, inner, s in ((49, 61, 1.0), (55, 65, -1.0)):
        assert np.linalg.norm(p[outer - 1] - p[inner - 1]) < 0.006
        assert s * (x[outer - 1] - x[inner - 1]) < 0.0015


def test_points_are_in_front_of_the_ears_and_agree_with_annys_coco_points(body):
    for ph in PHENOTYPES.values():
        out = body.forward(SMPLXParams(phenotype=ph))   # body frame: Y up, +Z forward
        p = af.face68_points(out.vertices)
        lm = out.landmarks
        assert p[:, 2].min() > max(lm["left_ear"][2], lm["right_ear"][2]) + 0.01
        # Anny's own COCO regressor: eyes at our eye openings (not swapped), nose by our nose tip
        for side, rows, other in (("left", _n(*range(43, 49)), _n(*range(37, 43))),
                                  ("right", _n(*range(37, 43)), _n(*range(43, 49)))):
            d = np.linalg.norm(lm[f"{side}_eye"] - p[rows].mean(0))
            assert d < 0.01 and d < np.linalg.norm(lm[f"{side}_eye"] - p[other].mean(0)) - 0.03
        assert np.linalg.norm(lm["nose"] - p[_n(31)][0]) < 0.02


def test_points_move_with_the_skin_when_the_head_turns(body):
    pose = np.zeros((21, 3))
    pose[J["neck"] - 1] = Rotation.from_euler("y", 35, degrees=True).as_rotvec()
    pose[J["head"] - 1] = Rotation.from_euler("x", 20, degrees=True).as_rotvec()
    ph = PHENOTYPES["child"]
    still = body.forward(SMPLXParams(phenotype=ph))
    turned = body.forward(SMPLXParams(phenotype=ph, body_pose=pose.ravel(), global_orient=np.array([0.0, 0.6, 0.0]),
                                      transl=np.array([0.3, 0.0, -1.0])))
    a, b = af.face68_points(still.vertices), af.face68_points(turned.vertices)
    assert np.linalg.norm(b - a, axis=1).min() > 0.05                # they did move
    # ... rigidly with the head (the face is skinned to the head bone): best rigid fit
    ca, cb = a.mean(0), b.mean(0)
    R, _ = Rotation.align_vectors(b - cb, a - ca)
    resid = np.linalg.norm(R.apply(a - ca) + cb - b, axis=1)
    assert resid.max() < 0.003
    # batched evaluation gives the same points
    both = af.face68_points(np.stack([still.vertices, turned.vertices]))
    assert both.shape == (2, 68, 3) and np.allclose(both[1], b)
