"""benchmarks/realism.py plumbing: crop geometry, the readers' pixel frames and joint order, the
landmark -> limb joint mapping, PCK by hand, bad input; and, where a Python with mediapipe is
at hand (the .realism venv), the pose worker on a real COCO person."""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
import realism as R  # noqa: E402

COCO_MINI = REPO / "tests" / "data" / "coco_mini"

# MediaPipe Pose's 33 landmarks in its PoseLandmark order (left = the person's left).
BLAZEPOSE33 = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_pinky",
    "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb", "left_hip",
    "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel",
    "right_heel", "left_foot_index", "right_foot_index")


def _joints(xy, v=2):
    out = np.zeros((12, 3))
    out[: len(xy), :2] = xy
    out[: len(xy), 2] = v
    return out


def test_square_box_and_crop_mapping_by_hand():
    j = _joints([[10, 20], [110, 70], [60, 45]])
    assert R.person_size(j) == 100.0
    box = R.square_box(j, 1.5)              # side 150 around the centre (60, 45)
    assert (box.x0, box.y0, box.side) == (-15.0, -30.0, 150.0)
    np.testing.assert_allclose(R.to_crop([[60, 45], [-15, -30], [135, 120]], box, 256),
                               [[128, 128], [0, 0], [256, 256]])
    pts = np.array([[3.25, 7.5], [100.0, 1.0]])
    np.testing.assert_allclose(R.from_crop(R.to_crop(pts, box, 256), box, 256), pts)
    # unlabelled rows (v = 0, at 0, 0) do not enter the box
    j[5] = [0, 0, 0]
    assert R.square_box(j, 1.5) == box


def test_cut_puts_an_image_point_on_its_crop_pixel_and_pads_black():
    img = np.full((120, 160, 3), 40, np.uint8)
    img[52, 37] = 255                       # pixel (row 52, col 37): centre (37.5, 52.5)
    box = R.Box(x0=-20.0, y0=10.0, side=80.0)    # 80 px -> 256 px: 3.2x
    crop = R.cut(img, box, 256)
    assert crop.shape == (256, 256, 3) and crop.dtype == np.uint8
    u, v = R.to_crop([37.5, 52.5], box, 256)     # (184.0, 136.0)
    row, col = np.unravel_index(np.argmax(crop[:, :, 0]), crop.shape[:2])
    assert abs(col + 0.5 - u) <= 1.0 and abs(row + 0.5 - v) <= 1.0
    # image x < 0 is outside: black; inside the grey background survives
    assert crop[:, : int(20 * 3.2) - 2].max() == 0
    assert crop[200, 100, 0] == 40


def test_cut_shrinks_with_antialiasing():
    # a 1-px checkerboard shrunk 4x averages to mid grey instead of aliasing to black or white
    img = ((np.indices((400, 400)).sum(0) % 2) * 255).astype(np.uint8)[..., None].repeat(3, 2)
    crop = R.cut(img, R.Box(0.0, 0.0, 400.0), 100)
    assert abs(float(crop[10:90, 10:90].mean()) - 127.5) < 10 and crop[10:90, 10:90].std() < 20


def test_limb_predictions_match_by_name_left_stays_left():
    lm = np.zeros((1, 33, 3))
    lm[0, :, 0] = np.arange(33)             # x = the landmark's index in BlazePose's order
    pred = R.limb_predictions(lm, BLAZEPOSE33)
    assert pred.shape == (1, 12, 2)
    got = dict(zip(R.LIMB_JOINTS, pred[0, :, 0].astype(int)))
    assert got == {"left_shoulder": 11, "right_shoulder": 12, "left_elbow": 13,
                   "right_elbow": 14, "left_wrist": 15, "right_wrist": 16, "left_hip": 23,
                   "right_hip": 24, "left_knee": 25, "right_knee": 26, "left_ankle": 27,
                   "right_ankle": 28}
    # a reordered landmark list maps by name, not by position
    order = np.random.default_rng(3).permutation(33)
    again = R.limb_predictions(lm[:, order], [BLAZEPOSE33[i] for i in order])
    np.testing.assert_array_equal(again, pred)
    with pytest.raises(R.RealismError, match="right_ankle"):
        R.limb_predictions(lm[:, :28], BLAZEPOSE33[:28])


def test_mirror_swaps_left_and_right():
    assert [R.LIMB_JOINTS[m] for m in R.MIRROR] == [
        "right_shoulder", "left_shoulder", "right_elbow", "left_elbow", "right_wrist",
        "left_wrist", "right_hip", "left_hip", "right_knee", "left_knee", "right_ankle",
        "left_ankle"]


def test_pck_by_hand():
    rng = np.random.default_rng(0)
    a = np.column_stack([rng.uniform(0, 100, (12, 2)), np.full(12, 2.0)])
    b = a.copy()
    b[6:, :] = 0                            # person b: 6 visible joints
    b[2, 2] = 1                             # ... one of them hidden (v = 1)
    joints = np.stack([a, b])
    sizes = np.array([100.0, 50.0])
    perfect = joints[:, :, :2].copy()
    r = R.pck(perfect, joints, sizes, np.array([True, True]))
    assert r["pck"] == 1.0 and r["pck_detected"] == 1.0 and r["scored"] == 12 + 5
    pred = perfect.copy()
    pred[0, :3, 0] += 10.01                 # just past 0.1 x 100 px: 3 misses
    pred[0, 3, 1] += 9.99                   # just inside: a hit
    pred[1, :, 0] += 4.0                    # within 0.1 x 50 px
    r = R.pck(pred, joints, sizes, np.array([True, True]))
    assert r["correct"] == 9 + 5 and r["pck"] == pytest.approx(14 / 17)
    assert r["per_joint"]["left_shoulder"] == 0.5 and r["per_joint"]["left_ankle"] == 1.0
    assert r["per_joint"]["left_wrist"] == 1.0 and r["per_joint"]["right_elbow"] == 1.0
    # b undetected: its 5 visible joints are misses for PCK, left out of PCK among detected
    r = R.pck(np.where(np.array([True, False])[:, None, None], pred, np.nan), joints, sizes,
              np.array([True, False]))
    assert r["pck"] == pytest.approx(9 / 17) and r["pck_detected"] == pytest.approx(9 / 12)
    # hidden joints count with min_v=1
    r = R.pck(pred, joints, sizes, np.array([True, True]), min_v=1)
    assert r["scored"] == 18 and r["correct"] == 15


def test_coco_reader_frame_order_and_selection(tmp_path):
    names = ["nose", "left_eye", "right_eye", "left_ear", "right_ear"] + list(R.LIMB_JOINTS)
    kp = [0, 0, 0] * 5
    for i in range(12):
        kp += [100 + i, 200 + i, 1 if i == 3 else 2] if i < 10 else [0, 0, 0]
    small = [0, 0, 0] * 5 + [10, 10, 2] * 6 + [12, 12, 2] * 6     # 2 px: too small
    few = [0, 0, 0] * 5 + [100, 100, 2] * 5 + [0, 0, 0] * 7
    few[15 + 3 * 4] = 300                                         # big but 5 joints
    data = {"images": [{"id": 7, "file_name": "rgb/a.png", "width": 640, "height": 480}],
            "categories": [{"id": 1, "name": "person", "keypoints": names}],
            "annotations": [{"id": 3, "image_id": 7, "category_id": 1, "keypoints": kp},
                            {"id": 1, "image_id": 7, "category_id": 1, "keypoints": small},
                            {"id": 2, "image_id": 7, "category_id": 1, "keypoints": few}]}
    (tmp_path / "annotations").mkdir()
    (tmp_path / "annotations" / "coco_train_synth.json").write_text(json.dumps(data))
    people = R.synthetic_people(tmp_path)
    assert [p.ref for p in people] == ["coco_train_synth.json#1", "coco_train_synth.json#2",
                                       "coco_train_synth.json#3"]
    p = people[2]
    assert p.image == tmp_path / "rgb/a.png"
    np.testing.assert_allclose(p.joints[0], [100.5, 200.5, 2])    # left_shoulder, +0.5
    np.testing.assert_allclose(p.joints[3], [103.5, 203.5, 1])    # right_elbow, hidden
    np.testing.assert_allclose(p.joints[10:], 0)                  # ankles unlabelled
    assert [q.ref for q in R.selected(people, 6, 40, None)] == []  # #3 is only 9 px wide
    assert [q.ref for q in R.selected(people, 6, 9, None)] == ["coco_train_synth.json#3"]
    assert [q.ref for q in R.selected(people, 5, 1, 1)] == ["coco_train_synth.json#1"]


def test_lspet_reader_order_and_one_based_frame(tmp_path):
    import scipy.io

    j = np.zeros((14, 3, 3))
    for k in range(14):
        j[k, :, 1] = [10 * k + 1, 5 * k + 1, 1]      # image 2: joint k at (10k + 1, 5k + 1)
    j[0, 2, 1] = 0                                    # right ankle unlabelled
    j[:, 2, [0, 2]] = 1
    scipy.io.savemat(tmp_path / "joints.mat", {"joints": j})
    people = R.lspet_people(tmp_path, 2, 3)
    assert [p.image.name for p in people] == ["im00002.jpg", "im00003.jpg"]
    got = people[0].joints
    # LSP order: 9 = left shoulder, 8 = right shoulder, 11 = left wrist, 5 = left ankle
    np.testing.assert_allclose(got[0], [90.5, 45.5, 2])
    np.testing.assert_allclose(got[1], [80.5, 40.5, 2])
    np.testing.assert_allclose(got[4], [110.5, 55.5, 2])
    np.testing.assert_allclose(got[10], [50.5, 25.5, 2])
    np.testing.assert_allclose(got[11], [0, 0, 0])                # right ankle unlabelled
    with pytest.raises(R.RealismError, match="1-3"):
        R.lspet_people(tmp_path, 2, 4)


def test_bad_input_is_one_line_exit_2(tmp_path, capsys):
    assert R.main(["-o", str(tmp_path / "w"), "--synthetic", f"a={tmp_path / 'none'}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--synthetic a" in err[0] and "not a directory" in err[0]
    assert R.main(["-o", str(tmp_path / "w"), "--synthetic", f"lspet={tmp_path}"]) == 2
    assert "not 'lspet'" in capsys.readouterr().err
    assert R.main(["-o", str(tmp_path / "w"), "--lspet-images", "9-3"]) == 2
    assert "FIRST-LAST" in capsys.readouterr().err
    (tmp_path / "annotations").mkdir()
    assert R.main(["-o", str(tmp_path / "w"), "--synthetic", f"a={tmp_path}"]) == 2
    assert "no annotations/coco_*.json" in capsys.readouterr().err
    # --render never renders over a non-empty folder without --overwrite
    (tmp_path / "w" / "m").mkdir(parents=True)
    (tmp_path / "w" / "m" / "x").write_text("")
    (tmp_path / "joints.mat").write_text("")
    assert R.main(["-o", str(tmp_path / "w"), "--render", "m=", "--lspet", str(tmp_path)]) == 2
    assert "not empty (give --overwrite" in capsys.readouterr().err
    assert R.main(["-o", str(tmp_path / "w"), "--frames", "0"]) == 2
    assert "--frames: out of range, found 0" in capsys.readouterr().err


def _pose_python() -> Path | None:
    if R.DEFAULT_POSE_PYTHON.exists():
        return R.DEFAULT_POSE_PYTHON
    if importlib.util.find_spec("mediapipe") is not None:
        return Path(sys.executable)
    return None


@pytest.mark.skipif(importlib.util.find_spec("mediapipe") is not None,
                    reason="this Python has mediapipe")
def test_pose_worker_without_mediapipe_is_one_line_exit_2(tmp_path):
    np.save(tmp_path / "c.npy", np.zeros((1, 64, 64, 3), np.uint8), allow_pickle=False)
    with pytest.raises(R.RealismError, match="cannot import mediapipe.*realism extra"):
        R.run_pose(Path(sys.executable), tmp_path / "c.npy", tmp_path / "o.npz", 0.5)


@pytest.mark.skipif(_pose_python() is None or not (R.DEFAULT_LSPET / "joints.mat").is_file(),
                    reason="no Python with mediapipe (.realism venv) or no LSPET folder")
@pytest.mark.slow
def test_main_end_to_end_on_coco_mini_and_three_lspet_images(tmp_path, capsys):
    data = json.loads((COCO_MINI / "person_keypoints.json").read_text())
    for im in data["images"]:
        im["file_name"] = "images/" + im["file_name"]
    (tmp_path / "set" / "annotations").mkdir(parents=True)
    (tmp_path / "set" / "annotations" / "coco_val.json").write_text(json.dumps(data))
    (tmp_path / "set" / "images").symlink_to(COCO_MINI / "images")
    work = tmp_path / "work"
    assert R.main(["-o", str(work), "--synthetic", f"coco={tmp_path / 'set'}",
                   "--lspet-images", "1-3", "--pose-python", str(_pose_python())]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("set ") and "coco " in out and "lspet " in out
    res = json.loads((work / "results.json").read_text())
    coco, lspet = res["sets"]
    # 12 of coco_mini's 14 persons have >= 6 limb joints labelled and a 40 px box
    assert (coco["name"], coco["candidates"], coco["persons"]) == ("coco", 14, 12)
    assert coco["detected"] == 9 and coco["pck_pct"] > 50 and coco["pck_lr_swapped_pct"] < 25
    assert (lspet["candidates"], lspet["persons"]) == (3, 3)
    # the model is deterministic: the same crops give the same landmarks
    again = R.run_pose(_pose_python(), work / "crops_coco.npy", tmp_path / "again.npz", 0.5)
    with np.load(work / "pose_coco.npz", allow_pickle=False) as first:
        np.testing.assert_array_equal(again["landmarks"], first["landmarks"])
    assert res["settings"]["margin"] == 1.5 and res["settings"]["lspet_images"] == "1-3"
    assert (work / "sheet_coco.png").is_file() and (work / "crops_lspet.npy").is_file()
