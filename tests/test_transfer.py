"""The transfer benchmarks' plumbing and metrics on tiny inputs (never the training itself, which
runs as a benchmark): PCK and ADD(-S) against hand-computed values, the fixed LSPET blocks, and
the crop / augmentation / heatmap coordinate chain of ``benchmarks/transfer/keypoints.py``."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.spatial.transform import Rotation

from conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks" / "transfer"))

import heatmaps  # noqa: E402
import kpdata  # noqa: E402
import metrics  # noqa: E402


def _person(box: float = 100.0) -> np.ndarray:
    """12 labelled joints whose box is ``box`` px square (corners included)."""
    xy = np.array([[0, 0], [box, 0], [0, box], [box, box]] + [[box / 2, box / 2]] * 8, np.float64)
    return np.concatenate([xy + 50, np.ones((12, 1))], axis=1)


def test_pck_of_perfect_and_shifted_predictions():
    gt = np.stack([_person(100.0), _person(50.0)])
    assert metrics.pck(gt[..., :2], gt)[0] == 1.0
    # threshold 0.2 x 100 = 20 px for the first person, 10 px for the second
    shifted = gt[..., :2] + [15.0, 0.0]
    total, per_joint = metrics.pck(shifted, gt)
    assert total == pytest.approx(0.5)          # all of person 0, none of person 1
    np.testing.assert_allclose(per_joint, 0.5)
    # six of person 0's joints 25 px off: 18 of the 24 joints hit
    pred = gt[..., :2].copy()
    pred[0, :6] += [0.0, 25.0]
    assert metrics.pck(pred, gt)[0] == pytest.approx(18 / 24)
    # unlabelled joints are not scored, wherever they are predicted
    gt2 = gt.copy()
    gt2[0, :6, 2] = 0
    assert metrics.pck(pred, gt2)[0] == pytest.approx(1.0)
    # the box is of the labelled joints only: without the first four (the corners) it is empty
    gt3 = gt.copy()
    gt3[0, :4, 2] = 0
    assert metrics.joint_box_size(gt3)[0] == 0.0 and metrics.joint_box_size(gt3)[1] == 50.0


def test_add_and_adds_of_known_poses():
    rng = np.random.default_rng(0)
    pts = rng.normal(size=(500, 3)) * 40.0       # millimetres
    R = Rotation.from_euler("xyz", [10, 20, 30], degrees=True).as_matrix()
    t = np.array([10.0, -5.0, 800.0])
    assert metrics.add(R, t, R, t, pts) == 0.0
    assert metrics.adds(R, t, R, t, pts) == 0.0
    offset = np.array([3.0, 4.0, 0.0])           # 5 mm
    assert metrics.add(R, t + offset, R, t, pts) == pytest.approx(5.0)
    # a body of revolution turned about its axis: ADD sees the turn, ADD-S does not
    ang = np.tile(np.linspace(0, 2 * np.pi, 360, endpoint=False), 2)   # two rings, 1 deg apart
    ring = np.stack([30 * np.cos(ang), 30 * np.sin(ang), np.repeat([0.0, 20.0], 360)], 1)
    turn = Rotation.from_euler("z", 37, degrees=True).as_matrix()
    assert metrics.add(R @ turn, t, R, t, ring) > 15.0
    assert metrics.adds(R @ turn, t, R, t, ring) < 0.2
    assert metrics.add_or_adds(R @ turn, t, R, t, ring, symmetric=True) < 0.2
    assert metrics.is_symmetric({"symmetries_continuous": [{"axis": [0, 0, 1], "offset": [0, 0, 0]}]})
    assert not metrics.is_symmetric({"diameter": 100.0})


def test_lspet_blocks_are_fixed_and_disjoint():
    people = [kpdata.Person(Path(f"/x/im{i:05d}.jpg"), _person()) for i in range(1, 5001)]
    pool, test = kpdata.split_blocks(people)
    pool_ids = {kpdata.lspet_number(p.image) for p in pool}
    test_ids = {kpdata.lspet_number(p.image) for p in test}
    assert not pool_ids & test_ids
    assert test_ids == set(range(4001, 5001)) and pool_ids == set(range(1, 4001))
    # subsets are nested per seed, differ between seeds, and never leave the pool
    a100, a500 = kpdata.real_subset(pool, 100, 0), kpdata.real_subset(pool, 500, 0)
    assert [p.image for p in a100] == [p.image for p in a500[:100]]
    assert {p.image for p in a100} != {p.image for p in kpdata.real_subset(pool, 100, 1)}
    assert kpdata.lspet_number(Path("im0012.jpg")) == 12   # LSP's 4-digit names too
    with pytest.raises(ValueError, match="asked for 5000"):
        kpdata.real_subset(pool, 5000, 0)


def _coco(tmp_path: Path, joints: list[np.ndarray], size=(200, 160)) -> Path:
    """A COCO keypoint file over one black image with a white 9x9 dot at joint 4 (left wrist) of
    each person."""
    img = np.zeros((size[1], size[0], 3), np.uint8)
    anns = []
    for k, j in enumerate(joints):
        x, y = np.round(j[4, :2]).astype(int)
        img[y - 4:y + 5, x - 4:x + 5] = 255
        kp = np.zeros((17, 3))
        kp[5:] = j
        kp[5:, 2] *= 2
        anns.append({"id": k + 1, "image_id": 1, "category_id": 1, "iscrowd": 0, "keypoints": kp.ravel().tolist()})
    Image.fromarray(img).save(tmp_path / "im00001.png")
    path = tmp_path / "coco.json"
    path.write_text(json.dumps({"images": [{"id": 1, "file_name": "im00001.png", "width": size[0], "height": size[1]}],
                                "annotations": anns, "categories": [{"id": 1, "name": "person"}]}))
    return path


def _joints(rng, n: int) -> list[np.ndarray]:
    out = []
    for _ in range(n):
        xy = rng.uniform([40, 30], [160, 130], size=(12, 2))
        out.append(np.concatenate([xy, np.ones((12, 1))], axis=1))
    return out


def test_coco_people_filters_and_crops_land_on_the_joints(tmp_path: Path):
    rng = np.random.default_rng(1)
    few = _joints(rng, 1)[0]
    few[4:, 2] = 0                               # 4 labelled joints: below min_joints
    people = kpdata.load_coco_people(_coco(tmp_path, _joints(rng, 2) + [few]))
    assert len(people) == 2
    crops = kpdata.make_crops(people, size=32)
    assert crops.images.shape == (2, 48, 48, 3)
    for i in range(2):
        x, y = np.round(crops.points[i, 4, :2]).astype(int)
        assert crops.images[i, y, x].min() > 200                     # the dot is where the joint is
        np.testing.assert_allclose(crops.to_image(crops.points[:, :, :2])[i], people[i].joints[:, :2], atol=1e-9)


def test_heatmap_targets_decode_back_to_the_joints_and_augmentation_moves_them(tmp_path: Path):
    pytest.importorskip("torch")
    aug = heatmaps.Augment(flip_order=kpdata.FLIP_ORDER)
    rng = np.random.default_rng(2)
    people = kpdata.load_coco_people(_coco(tmp_path, _joints(rng, 3)))
    s = 64
    crops = kpdata.make_crops(people, size=s)
    hm = s // 4
    # no augmentation: joints -> Gaussian targets -> decoded peaks -> image, within half a
    # heatmap pixel (argmax + quarter step) of where they were
    idx = np.arange(3)
    _, j = heatmaps.batch(crops, idx, s, None)
    target, w = heatmaps.targets(j, hm)
    assert float(w.min()) == 1.0
    back = heatmaps.heatmap_to_image(heatmaps.decode(target.numpy())[0], crops, hm)
    px_per_hm = crops.scale * crops.images.shape[1] / crops.context / hm
    err = np.linalg.norm(back - np.stack([p.joints[:, :2] for p in people]), axis=-1)
    assert (err <= 0.5 * np.sqrt(2) * px_per_hm[:, None] + 1e-6).all()
    # augmented (scale, rotation, mirror, shift): the dot of joint 4 follows the joint, which a
    # mirror renames to joint 5
    mirrored_seen = unmirrored_seen = 0
    draws = np.random.default_rng(3)
    for _ in range(6):
        x, j = heatmaps.batch(crops, idx, s, draws, aug)
        img = x.numpy() + 0.5
        for b in range(3):
            for row in (4, 5):
                u, v = (4 * j[b, row, :2] + 1.5).round().astype(int)
                if 0 <= u < s and 0 <= v < s and img[b, :, v, u].min() > 0.4:
                    mirrored_seen += row == 5
                    unmirrored_seen += row == 4
    assert mirrored_seen > 0 and unmirrored_seen > 0


# ---- object pose recipe ---------------------------------------------------------------------

def test_farthest_points_pick_the_corners_of_a_cube_deterministically():
    import objdata

    rng = np.random.default_rng(4)
    corners = np.array([[x, y, z] for x in (-50, 50) for y in (-50, 50) for z in (-50, 50)], np.float64)
    inner = rng.uniform(-40, 40, size=(300, 3))
    verts = np.concatenate([inner[:150], corners, inner[150:]])
    picked = objdata.farthest_points(verts, 8, objdata.bbox_centre(verts))
    assert {tuple(p) for p in picked} == {tuple(c) for c in corners}
    np.testing.assert_array_equal(picked, objdata.farthest_points(verts, 8, objdata.bbox_centre(verts)))


def test_source_frame_pose_and_pnp_recover_a_known_pose():
    pytest.importorskip("cv2")
    import objdata

    K = np.array([[572.4, 0, 325.3], [0, 573.6, 242.0], [0, 0, 1]])
    R = Rotation.from_euler("xyz", [30, -20, 75], degrees=True).as_matrix()
    t = np.array([40.0, -30.0, 900.0])
    centre = np.array([3.0, -2.0, 5.0])
    pts = np.random.default_rng(5).uniform(-60, 60, size=(9, 3))
    # a pose of the centred frame, moved to the source frame, maps source points alike
    Rs, ts = objdata.to_source_frame(R, t, centre)
    np.testing.assert_allclose((pts - centre) @ R.T + t, pts @ Rs.T + ts, atol=1e-9)
    uv = objdata.project(K, Rs, ts, pts)
    pose = objdata.solve_pose(K, pts, uv, np.ones(9))
    assert pose is not None
    assert metrics.add(pose[0], pose[1], Rs, ts, pts) < 1e-3
    # too few confident points: no pose
    assert objdata.solve_pose(K, pts, uv, np.array([1, 1, 1, 1, 1, 0, 0, 0, 0.05])) is None


def test_bop_scene_instances_ids_and_blocks(tmp_path: Path):
    import objdata
    from synthgen.writers.bop import save_scene_camera, save_scene_gt, save_scene_gt_info

    scene = tmp_path / "000002"
    (scene / "rgb").mkdir(parents=True)
    K = [572.4, 0, 325.3, 0, 573.6, 242.0, 0, 0, 1]
    gt, info, cam = {}, {}, {}
    for im in (3, 8):
        Image.new("RGB", (64, 48)).save(scene / "rgb" / f"{im:06d}.jpg")
        gt[im] = [{"obj_id": 6, "cam_R_m2c": np.eye(3), "cam_t_m2c": [0, 0, 800.0]},
                  {"obj_id": 2, "cam_R_m2c": np.eye(3), "cam_t_m2c": [10, 0, 800.0]}]
        info[im] = [dict(bbox_obj=[1, 2, 10, 10], bbox_visib=[1, 2, 10, 10], px_count_all=100, px_count_valid=100,
                         px_count_visib=v, visib_fract=v / 100) for v in (50, 5)]
        cam[im] = {"cam_K": K, "depth_scale": 1.0}
    save_scene_gt(scene / "scene_gt.json", gt)
    save_scene_gt_info(scene / "scene_gt_info.json", info)
    save_scene_camera(scene / "scene_camera.json", cam)
    # synthgen ids -> the BOP folder's ids; instances under 10 % visible are left out
    (tmp_path / "dataset.json").write_text(json.dumps({"objects": {
        "6": {"name": "lmo_obj_000005", "ref": "bop:/data/lmo/models#5"}, "2": {"name": "mug", "ref": "builtin:mug"}}}))
    id_map = objdata.synthgen_source_ids(tmp_path / "dataset.json")
    assert id_map == {6: 5}
    insts = objdata.load_bop_scene(scene, id_map, centres={5: np.array([0.0, 0.0, 10.0])})
    assert [(i.im_id, i.obj_id) for i in insts] == [(3, 5), (8, 5)]
    np.testing.assert_allclose(insts[0].t, [0, 0, 790.0])            # moved to the source frame
    assert insts[0].image.name == "000003.jpg" and insts[0].K[0, 0] == 572.4
    # LM-O blocks: first frames fine-tune, a gap, the rest test; disjoint
    many = [objdata.Instance(Path("x"), im, 1, np.eye(3), np.eye(3), np.zeros(3), np.zeros(4), 1.0)
            for im in range(0, 280, 2)]
    ft, test = objdata.real_blocks(many)
    assert len({i.im_id for i in ft}) == 40 and len({i.im_id for i in test}) == 90
    assert max(i.im_id for i in ft) + 2 * 10 < min(i.im_id for i in test)


def test_object_augmentation_never_mirrors():
    import heatmaps as hm

    A, _ = hm.affines(500, np.random.default_rng(6), 1.25, hm.Augment(rotation_deg=20.0))
    assert (np.linalg.det(A) > 0).all()
    A, _ = hm.affines(500, np.random.default_rng(6), 1.25, hm.Augment(flip_order=tuple(range(12))))
    assert (np.linalg.det(A) < 0).any()
