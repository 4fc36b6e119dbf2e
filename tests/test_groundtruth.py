"""Ground truth from real renders of constructed scenes: BOP gt_info and keypoint visibility."""
from __future__ import annotations

import numpy as np
import pytest
import trimesh

from synthgen.groundtruth.labels import Silhouette, keypoints_from_joints, object_gt
from synthgen.render import Renderer, object_label
from synthgen.scene.description import Camera, Light, MeshData, ObjectInstance, Scene

W, H = 96, 72
K = np.array([[80.0, 0, 47.3], [0, 80.0, 35.6], [0, 0, 1]])


def _plate(size: float) -> MeshData:
    tm = trimesh.creation.box((size, size, 0.002))
    return MeshData(np.asarray(tm.vertices, float), np.asarray(tm.faces, np.int64))


def _pose(x: float, y: float, z: float) -> np.ndarray:
    T = np.eye(4)
    T[:3, 3] = (x, y, z)
    return T


def _scene(objects: list[ObjectInstance]) -> Scene:
    # camera at the world origin looking along +Z: world = OpenCV camera frame
    cam = Camera(K=K, width=W, height=H, T_w2c=np.eye(4))
    light = Light("directional", (1, 1, 1), 3.0, np.eye(4))
    return Scene(0, [], objects, [], [light], [cam])


def _gt(scene: Scene, k: int, renderer: Renderer):
    cam = scene.cameras[0]
    out = renderer.render(scene, cam)
    a = renderer.render_amodal(scene, cam, [object_label(k)], canvas_scale=3)[object_label(k)]
    sil = Silhouette(a.window_depth, a.window_origin, a.offset[0], a.offset[1])
    o = scene.objects[k]
    return object_gt(k, o.obj_id, o.name, o.pose_world, cam.T_w2c, K, sil, out.depth), out


@pytest.fixture(scope="module")
def renderer():
    with Renderer(W, H, znear=0.05) as r:
        yield r


def test_half_occluded_plate_has_visib_fract_one_half(renderer):
    # a 0.4 m plate at 2 m covers 16 x 16 px; a larger plate in front hides its left half exactly
    back = ObjectInstance(1, "back", _plate(0.4), _pose(0.0, 0.0, 2.0))
    front = ObjectInstance(2, "front", _plate(0.6), _pose(-0.3, 0.0, 1.5))
    gt, _ = _gt(_scene([back, front]), 0, renderer)
    assert gt.px_count_all == pytest.approx((0.4 / 2.0 * 80) ** 2, rel=0.08)
    assert gt.visib_fract == pytest.approx(0.5, abs=0.03)
    assert gt.px_count_visib == gt.mask_visib.sum()
    assert gt.mask.sum() == gt.px_count_all            # fully inside the image
    # visible box starts at the occluder's right edge (u = 47.3 + 80 * 0 / 1.5 = 47.3)
    assert abs(gt.bbox_visib[0] - 47.3) <= 1.0


def test_truncated_object_counts_its_hidden_part(renderer):
    # centred on the left image border: half the plate is outside the image
    u_border = -0.5
    x = (u_border - K[0, 2]) / 80.0 * 2.0
    plate = ObjectInstance(1, "p", _plate(0.4), _pose(x, 0.0, 2.0))
    gt, _ = _gt(_scene([plate]), 0, renderer)
    assert gt.visib_fract == pytest.approx(0.5, abs=0.03)
    assert gt.bbox_obj[0] < 0 and gt.bbox_obj[2] == pytest.approx(16, abs=1)
    assert gt.bbox_visib[0] == 0


def test_invisible_object_gets_minus_one_boxes(renderer):
    hidden = ObjectInstance(1, "hidden", _plate(0.1), _pose(0.0, 0.0, 3.0))
    wall = ObjectInstance(2, "wall", _plate(2.0), _pose(0.0, 0.0, 1.0))
    gt, _ = _gt(_scene([hidden, wall]), 0, renderer)
    assert gt.px_count_visib == 0 and gt.visib_fract == 0.0
    # hidden, but its silhouette lies in the image: BOP (calc_gt_info) still writes no box at all
    assert gt.mask.sum() == gt.px_count_all > 0
    assert gt.bbox_visib == [-1, -1, -1, -1] and gt.bbox_obj == [-1, -1, -1, -1]


def test_object_outside_the_image_gets_minus_one_boxes(renderer):
    # left of the image, but on the 3x canvas: px_count_all counts it, no pixel is in the image
    plate = ObjectInstance(1, "p", _plate(0.2), _pose(-1.5, 0.0, 2.0))
    gt, _ = _gt(_scene([plate]), 0, renderer)
    assert gt.px_count_all > 50 and gt.mask.sum() == 0 and gt.px_count_visib == 0
    assert gt.bbox_obj == [-1, -1, -1, -1] and gt.bbox_visib == [-1, -1, -1, -1]
    assert gt.visib_fract == 0.0


def test_keypoint_visibility_rules(renderer):
    wall = ObjectInstance(1, "wall", _plate(0.5), _pose(0.3, 0.0, 1.0))
    _, out = _gt(_scene([wall]), 0, renderer)
    pts = np.array([
        [0.3, 0.0, 1.0 - 0.001],   # landmark on the visible wall surface -> 2
        [0.3, 0.0, 1.5],           # landmark behind the wall -> 1
        [-0.3, 0.0, 1.0],          # landmark in front of background (depth 0): nothing hides it -> 2
        [5.0, 0.0, 1.0],           # outside the image -> 0
        [np.nan, np.nan, np.nan],  # no source -> 0
    ])
    kp = keypoints_from_joints(pts, np.ones(5, bool), K, out.depth, out.seg == object_label(0))
    assert kp[:, 2].tolist() == [2, 1, 2, 0, 0]
    assert kp[3].tolist() == [0, 0, 0]
    np.testing.assert_allclose(kp[0, :2], K[:2, :2] @ (pts[0, :2] / pts[0, 2]) + K[:2, 2])


def test_bop_visibility_rule_on_hand_built_arrays():
    """object_gt's gt_info from a constructed silhouette and scene depth: bop19's rule (visible
    where d_model - d_scene <= delta along the ray, or the scene has no depth), counts over the
    whole silhouette for px_count_all, sensor-valid pixels for px_count_valid, unclipped bbox_obj."""
    Kh = np.array([[1e6, 0.0, 1.0], [0.0, 1e6, 1.0], [0.0, 0.0, 1.0]])  # rays ~ the optical axis
    own = np.array([[2.0, 2.0, 2.0, 0.0, 2.0],       # its last column lies right of the 4-px image
                    [2.0, 2.0, 2.0, 2.0, 2.0],
                    [0.0, 0.0, 0.0, 0.0, 0.0]], np.float32)
    sil = Silhouette(own, (0, 0), 0, 0)
    scene = np.array([[2.0, 1.99, 0.0, 1.0],          # same / 10 mm in front / no depth / -
                      [1.98, 1.986, 2.5, 1.0],        # 20 mm in front / 14 mm / behind / 1 m
                      [3.0, 3.0, 3.0, 3.0]], np.float32)
    gt = object_gt(0, 1, "o", np.eye(4), np.eye(4), Kh, sil, scene, visib_delta=0.015)
    np.testing.assert_array_equal(np.asarray(gt.mask_visib), [[1, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0]])
    np.testing.assert_array_equal(np.asarray(gt.mask), [[1, 1, 1, 0], [1, 1, 1, 1], [0, 0, 0, 0]])
    assert (gt.px_count_all, gt.px_count_valid, gt.px_count_visib) == (9, 6, 5)
    assert gt.visib_fract == 5 / 9
    assert gt.bbox_visib == [0, 0, 2, 1] and gt.bbox_obj == [0, 0, 4, 1]
    # a larger delta takes in the pixel 20 mm behind the occluder, not the one 1 m behind
    wide = object_gt(0, 1, "o", np.eye(4), np.eye(4), Kh, sil, scene, visib_delta=0.025)
    assert wide.px_count_visib == 6 and not np.asarray(wide.mask_visib)[1, 3]
    # px_count_valid follows the sensor's depth when given (a dropped-out pixel is not valid)
    valid = scene > 0
    valid[1, 0] = False
    assert object_gt(0, 1, "o", np.eye(4), np.eye(4), Kh, sil, scene, depth_valid=valid).px_count_valid == 5
