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
        x, y = np.round(crops.joints[i, 4, :2]).astype(int)
        assert crops.images[i, y, x].min() > 200                     # the dot is where the joint is
        np.testing.assert_allclose(crops.to_image(crops.joints[:, :, :2])[i], people[i].joints[:, :2], atol=1e-9)


def test_heatmap_targets_decode_back_to_the_joints_and_augmentation_moves_them(tmp_path: Path):
    pytest.importorskip("torch")
    import keypoints as kp

    rng = np.random.default_rng(2)
    people = kpdata.load_coco_people(_coco(tmp_path, _joints(rng, 3)))
    size = kp.SIZES["smoke"]
    crops = kpdata.make_crops(people, size=size.crop * 2)
    s = size.crop * 2
    hm = s // 4
    # no augmentation: joints -> Gaussian targets -> decoded peaks -> image, within half a
    # heatmap pixel (argmax + quarter step) of where they were
    idx = np.arange(3)
    _, j = kp._batch(crops, idx, s, None)
    target, w = kp._targets(j, hm)
    assert float(w.min()) == 1.0
    back = kp.heatmap_to_image(kp.decode_heatmaps(target.numpy()), crops, hm)
    px_per_hm = crops.scale * crops.images.shape[1] / crops.context / hm
    err = np.linalg.norm(back - np.stack([p.joints[:, :2] for p in people]), axis=-1)
    assert (err <= 0.5 * np.sqrt(2) * px_per_hm[:, None] + 1e-6).all()
    # augmented (scale, rotation, mirror, shift): the dot of joint 4 follows the joint, which a
    # mirror renames to joint 5
    mirrored_seen = unmirrored_seen = 0
    aug = np.random.default_rng(3)
    for _ in range(6):
        x, j = kp._batch(crops, idx, s, aug)
        img = x.numpy() + 0.5
        for b in range(3):
            for row in (4, 5):
                u, v = (4 * j[b, row, :2] + 1.5).round().astype(int)
                if 0 <= u < s and 0 <= v < s and img[b, :, v, u].min() > 0.4:
                    mirrored_seen += row == 5
                    unmirrored_seen += row == 4
    assert mirrored_seen > 0 and unmirrored_seen > 0
