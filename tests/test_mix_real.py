"""``synthgen mix`` readers of real datasets as they ship: LSP / LSPET ``joints.mat``, MPII's
mmpose-style JSON list and real BOP scenes (``scene_gt.json`` + ``scene_camera.json`` + JPEG or
PNG ``rgb/``).

Every fixture is built by the test: a ``joints.mat`` written with ``scipy.io.savemat`` over copies
of the COCO val2017 images in tests/data/coco_mini (LSPET's own images have no open licence and
stay out of the repository), an MPII JSON over the same images, a BOP scene of two tiny JPEG
frames. The main flow of each reader runs ``python -m synthgen.mix``; bad-input variants call the
same entry point in-process.
"""
from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from test_mix import COCO17, IMAGES, load, mix_cli, mix_inproc, one_line_error

#: The coco_mini images in file order, with their (width, height).
PHOTOS = [("000000000785.jpg", 640, 425), ("000000040083.jpg", 500, 333),
          ("000000196141.jpg", 640, 429), ("000000197388.jpg", 640, 392)]
LSP14 = ["right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle",
         "right_wrist", "right_elbow", "right_shoulder", "left_shoulder", "left_elbow",
         "left_wrist", "neck", "head_top"]


def _self_ap(path: Path) -> float:
    """Keypoint AP of a COCO file's labelled persons scored against itself (pycocotools)."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(path))
        res = [{"image_id": a["image_id"], "category_id": 1, "keypoints": a["keypoints"],
                "score": 1.0} for a in gt.dataset["annotations"] if a["num_keypoints"] > 0]
        ev = COCOeval(gt, gt.loadRes(res), "keypoints")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return float(ev.stats[0])


# --------------------------------------------------------------------------------------------
# LSP / LSPET joints.mat
# --------------------------------------------------------------------------------------------

def _lsp_joints(n: int) -> np.ndarray:
    """``n x 14 x 3`` joints: person k's joint j at (100 + 10 j + k, 50 + 7 j), all labelled."""
    j = np.zeros((n, 14, 3))
    for k in range(n):
        j[k, :, 0] = 100 + 10 * np.arange(14) + k
        j[k, :, 1] = 50 + 7 * np.arange(14)
        j[k, :, 2] = 1
    return j


def _lsp_folder(tmp_path: Path, joints: np.ndarray, *, layout: str = "lspet",
                digits: int | None = None, name: str = "lspet", var: str = "joints") -> Path:
    """``tmp/<name>/joints.mat`` (``joints`` given as N x 14 x 3, written in ``layout``'s
    orientation) over ``images/im<k>.jpg`` copies of the coco_mini photos."""
    root = tmp_path / name
    (root / "images").mkdir(parents=True)
    digits = digits or (5 if layout == "lspet" else 4)
    for k in range(len(joints)):
        shutil.copyfile(IMAGES / PHOTOS[k][0], root / "images" / f"im{k + 1:0{digits}d}.jpg")
    mat = np.transpose(joints, (1, 2, 0) if layout == "lspet" else (2, 1, 0))
    scipy.io.savemat(root / "joints.mat", {var: mat})
    return root / "joints.mat"


def test_lspet_joints_mat_end_to_end_maps_by_name_and_evaluates(tmp_path):
    joints = _lsp_joints(3)
    joints[1, 0, :] = [-30.0, -26.1, 0]          # right ankle not labelled (outside the image)
    joints[2, 5, :] = [700.0, 20.0, 1]           # left ankle labelled outside the image
    mat = _lsp_folder(tmp_path, joints)
    assert scipy.io.loadmat(mat)["joints"].shape == (14, 3, 3)
    out = tmp_path / "out"
    r = mix_cli("--lsp", mat, "-o", out)
    assert r.returncode == 0, r.stderr
    path = out / "annotations" / "coco_train.json"
    coco = load(path)
    assert [(i["source_file_name"], i["source_image_id"], i["width"], i["height"])
            for i in coco["images"]] == [(f"im{k:05d}.jpg", k, PHOTOS[k - 1][1], PHOTOS[k - 1][2])
                                         for k in (1, 2, 3)]
    assert {i["source_name"] for i in coco["images"]} == {"lspet"}  # the .mat's folder
    anns = coco["annotations"]
    assert [a["image_id"] for a in anns] == [1, 2, 3]
    for k, a in enumerate(anns):
        kp = a["keypoints"]
        assert len(kp) == 51 and kp[:15] == [0] * 15    # nose, eyes, ears: no LSP counterpart
        for lsp_j, name in enumerate(LSP14[:12]):       # each limb joint lands on its name
            c = COCO17.index(name)
            x, y, flag = joints[k, lsp_j]
            assert kp[3 * c:3 * c + 3] == ([x, y, 2] if flag else [0, 0, 0]), (k, name)
        labelled = joints[k, :12][joints[k, :12, 2] > 0]
        assert a["num_keypoints"] == len(labelled)
    # The box: labelled joints (neck and head top included), clipped to the image; area w * h.
    lab = joints[0][joints[0, :, 2] > 0]
    x0, y0, x1, y1 = lab[:, 0].min(), lab[:, 1].min(), lab[:, 0].max(), lab[:, 1].max()
    assert anns[0]["bbox"] == [x0, y0, x1 - x0, y1 - y0]
    assert anns[0]["area"] == (x1 - x0) * (y1 - y0)
    assert anns[2]["bbox"][0] + anns[2]["bbox"][2] == 640.0  # clipped at the image's right edge
    assert anns[2]["keypoints"][3 * COCO17.index("left_ankle")] == 700.0  # the joint is not
    assert "segmentation" not in anns[0]
    rep = load(out / "mix_report.json")["sources"]["lspet"]
    m = rep["keypoint_mapping"]["person"]
    assert (m["schema"], m["dropped"]) == ("lsp14", ["neck", "head_top"])
    assert m["unmatched"] == ["nose", "left_eye", "right_eye", "left_ear", "right_ear"]
    assert m["labelled_points_dropped"] == 6
    vis = rep["keypoint_visibility"]
    assert (vis["v1"], vis["v2"]) == (0, 35)  # LSPET has no occlusion flag: never v=1
    assert "lsp14 -> coco17; dropped: neck, head_top" in r.stdout
    assert _self_ap(path) == pytest.approx(1.0)


def test_lsp_original_orientation_flag_means_occluded(tmp_path):
    joints = _lsp_joints(2)
    joints[0, 0, 2] = 1   # LSP: 1 = occluded
    joints[0, 1, 2] = 0   # 0 = visible
    joints[1, :, 2] = 0
    mat = _lsp_folder(tmp_path, joints, layout="lsp", name="lsp_dataset")
    assert scipy.io.loadmat(mat)["joints"].shape == (3, 14, 2)
    out = tmp_path / "out"
    rc, _, err = mix_inproc("--lsp", mat, "--name", "lsp", "-o", out)
    assert rc == 0, err
    coco = load(out / "annotations" / "coco_train.json")
    assert [i["source_file_name"] for i in coco["images"]] == ["im0001.jpg", "im0002.jpg"]
    kp = coco["annotations"][0]["keypoints"]
    assert kp[3 * COCO17.index("right_ankle") + 2] == 1   # occluded: labelled, not visible
    assert kp[3 * COCO17.index("right_knee") + 2] == 2
    assert coco["annotations"][0]["num_keypoints"] == 12   # every LSP joint is labelled
    assert {v for v in coco["annotations"][1]["keypoints"][17::3]} == {2}


def test_lsp_image_names_are_detected_by_what_exists(tmp_path):
    # An LSPET-shaped file over LSP-style 4-digit names (a re-saved LSP file, say).
    mat = _lsp_folder(tmp_path, _lsp_joints(2), layout="lspet", digits=4)
    out = tmp_path / "out"
    rc, _, err = mix_inproc("--lsp", mat, "-o", out)
    assert rc == 0, err
    assert [i["source_file_name"] for i in load(out / "annotations" / "coco_train.json")
            ["images"]] == ["im0001.jpg", "im0002.jpg"]


def test_lsp_images_option_and_config_file(tmp_path):
    mat = _lsp_folder(tmp_path, _lsp_joints(2))
    moved = tmp_path / "photos"
    (mat.parent / "images").rename(moved)
    cfg = tmp_path / "mix.yaml"
    cfg.write_text(f"output: out\nsources:\n  - {{type: lsp, path: {mat}, images: photos, "
                   f"split: val}}\n")
    rc, _, err = mix_inproc("--config", cfg)
    assert rc == 0, err
    coco = load(tmp_path / "out" / "annotations" / "coco_val.json")
    assert len(coco["images"]) == 2
    assert all((tmp_path / "out" / i["file_name"]).resolve().parent == moved.resolve()
               for i in coco["images"])


def _bad_lsp(tmp_path: Path, case: str) -> tuple[Path, list[str]]:
    """A broken LSP input and the words its one-line error must hold."""
    joints = _lsp_joints(2)
    if case == "no_joints_variable":
        mat = _lsp_folder(tmp_path, joints, var="pts")
        return mat, ["no variable 'joints'", "found: pts"]
    if case == "wrong_shape":
        mat = _lsp_folder(tmp_path, joints)
        scipy.io.savemat(mat, {"joints": np.zeros((16, 3, 2))})
        return mat, ["'joints' has shape 16x3x2", "14x3xN", "3x14xN"]
    if case == "nan":
        joints[1, 4, 1] = np.nan
        return _lsp_folder(tmp_path, joints), ["image 2 (im00002.jpg)", "joint 4 (left_knee)",
                                               "y is nan"]
    if case == "inf":
        joints[0, 13, 0] = np.inf
        return _lsp_folder(tmp_path, joints), ["image 1", "joint 13 (head_top) x is inf"]
    if case == "bad_flag":
        joints[0, 2, 2] = 2
        return _lsp_folder(tmp_path, joints), ["image 1", "joint 2 (right_hip) flag is 2",
                                               "expected 0 or 1"]
    if case == "missing_image":
        mat = _lsp_folder(tmp_path, joints)
        (mat.parent / "images" / "im00002.jpg").unlink()
        return mat, ["image 2", "image file not found", "im00002.jpg or im0002.jpg"]
    if case == "not_a_mat_file":
        mat = _lsp_folder(tmp_path, joints)
        mat.write_bytes(b"these are not the joints you are looking for\n" * 4)
        return mat, ["not a MATLAB .mat file"]
    if case == "truncated_file":
        mat = _lsp_folder(tmp_path, joints)
        mat.write_bytes(b"MATLAB")
        return mat, ["not a MATLAB .mat file"]
    if case == "nothing_labelled":
        joints[1, :, 2] = 0
        return _lsp_folder(tmp_path, joints), ["image 2", "no joint is labelled"]
    raise AssertionError(case)


LSP_BAD = ("no_joints_variable", "wrong_shape", "nan", "inf", "bad_flag", "missing_image",
           "not_a_mat_file", "truncated_file", "nothing_labelled")
LSP_SKIPPABLE = {"nan": "bad_number", "inf": "bad_number", "bad_flag": "bad_entry",
                 "missing_image": "missing_image", "nothing_labelled": "bad_entry"}


def _bad_input_report(tmp_path, option: str, path, words, skippable: str | None = None,
                      source: str | None = None) -> dict | None:
    """Read a bad ``path`` with ``option``: one line naming the file and ``words``; then, for a
    bad entry (``skippable``: its kind) rather than a bad file, ``--skip-bad`` drops it, counts
    it, and the source's report entry is returned."""
    out = tmp_path / "out"
    rc, _, err = mix_inproc(option, path, "-o", out)
    msg = one_line_error(rc, err, out)
    for w in [str(path), *words]:
        assert w in msg, (w, msg)
    if skippable is None:
        return None
    rc, _, err = mix_inproc(option, path, "--skip-bad", "-o", out)
    assert rc == 0, err
    rep = load(out / "mix_report.json")["sources"][source]
    assert rep["bad_entries"] == {skippable: 1}
    return rep


@pytest.mark.parametrize("case", LSP_BAD)
def test_lsp_bad_input_is_one_line_naming_the_file(tmp_path, case):
    mat, words = _bad_lsp(tmp_path, case)
    rep = _bad_input_report(tmp_path, "--lsp", mat, words, LSP_SKIPPABLE.get(case), "lspet")
    if rep is not None:  # a bad image, not a bad file
        assert (rep["available"], rep["dropped_images"]) == (1, 1)


# --------------------------------------------------------------------------------------------
# MPII, mmpose's JSON list
# --------------------------------------------------------------------------------------------

MPII16 = ["right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle",
          "pelvis", "thorax", "upper_neck", "head_top", "right_wrist", "right_elbow",
          "right_shoulder", "left_shoulder", "left_elbow", "left_wrist"]


def _mpii_item(image: str, k: int, vis=None) -> dict:
    """Person ``k`` on ``image``: joint j at (50 + 9 j + 100 k, 40 + 6 j), as mmpose ships it
    (unlabelled joints at -1, -1)."""
    vis = vis if vis is not None else [1] * 16
    joints = [[50.0 + 9 * j + 100 * k, 40.0 + 6 * j] if v else [-1.0, -1.0]
              for j, v in enumerate(vis)]
    return {"joints_vis": vis, "joints": joints, "image": image, "scale": 1.5 + k,
            "center": [120.0 + 100 * k, 90.0]}


def _mpii_folder(tmp_path: Path, items: list[dict], images: tuple[str, ...] = ()) -> Path:
    """mmpose's layout: ``mpii/annotations/mpii_train.json`` and ``mpii/images/`` holding
    ``images`` (copies of coco_mini photos, in order)."""
    root = tmp_path / "mpii"
    (root / "annotations").mkdir(parents=True)
    (root / "images").mkdir()
    for name, (photo, _, _) in zip(images, PHOTOS):
        shutil.copyfile(IMAGES / photo, root / "images" / name)
    path = root / "annotations" / "mpii_train.json"
    path.write_text(json.dumps(items))
    return path


def test_mpii_json_end_to_end_groups_persons_by_image_and_evaluates(tmp_path):
    vis = [1] * 16
    vis[0] = vis[15] = 0  # right ankle and left wrist not labelled
    items = [_mpii_item("015601864.jpg", 0), _mpii_item("015601864.jpg", 1, vis),
             _mpii_item("015599452.jpg", 0)]
    path = _mpii_folder(tmp_path, items, ("015601864.jpg", "015599452.jpg"))
    out = tmp_path / "out"
    r = mix_cli("--mpii", path, "-o", out)  # images/ beside annotations/: mmpose's layout
    assert r.returncode == 0, r.stderr
    coco_path = out / "annotations" / "coco_train.json"
    coco = load(coco_path)
    assert [(i["source_file_name"], i["source_image_id"], i["width"], i["height"])
            for i in coco["images"]] == [("015601864.jpg", 15601864, 640, 425),
                                         ("015599452.jpg", 15599452, 500, 333)]
    assert {i["source_name"] for i in coco["images"]} == {"mpii_train"}
    anns = coco["annotations"]
    assert [a["image_id"] for a in anns] == [1, 1, 2]  # one COCO image per MPII image
    for a, item in zip(anns, items):
        kp = a["keypoints"]
        assert kp[:15] == [0] * 15
        for j, name in enumerate(MPII16):
            if name in COCO17:
                c = COCO17.index(name)
                want = ([*item["joints"][j], 2] if item["joints_vis"][j] else [0, 0, 0])
                assert kp[3 * c:3 * c + 3] == want, name
        assert (a["center"], a["scale"]) == (item["center"], item["scale"])  # kept as read
        lab = [p for p, v in zip(item["joints"], item["joints_vis"]) if v]
        x0, y0 = min(p[0] for p in lab), min(p[1] for p in lab)
        x1, y1 = max(p[0] for p in lab), max(p[1] for p in lab)
        assert a["bbox"] == [x0, y0, x1 - x0, y1 - y0] and a["area"] == (x1 - x0) * (y1 - y0)
    assert [a["num_keypoints"] for a in anns] == [12, 10, 12]
    rep = load(out / "mix_report.json")["sources"]["mpii_train"]
    m = rep["keypoint_mapping"]["person"]
    assert m["schema"] == "mpii16"
    assert m["dropped"] == ["pelvis", "thorax", "upper_neck", "head_top"]
    assert m["labelled_points_dropped"] == 12
    assert rep["keypoint_visibility"]["v1"] == 0
    assert _self_ap(coco_path) == pytest.approx(1.0)


def test_mpii_images_option_wins_over_the_layout(tmp_path):
    path = _mpii_folder(tmp_path, [_mpii_item("a.jpg", 0)])
    elsewhere = tmp_path / "photos"
    elsewhere.mkdir()
    shutil.copyfile(IMAGES / PHOTOS[3][0], elsewhere / "a.jpg")
    out = tmp_path / "out"
    rc, _, err = mix_inproc("--mpii", path, "--images", elsewhere, "-o", out)
    assert rc == 0, err
    img = load(out / "annotations" / "coco_train.json")["images"][0]
    assert (img["width"], img["height"]) == (640, 392)
    assert "source_image_id" not in img  # a stem that is not a number
    assert (out / img["file_name"]).resolve() == (elsewhere / "a.jpg").resolve()


def _bad_mpii(tmp_path: Path, case: str) -> tuple[Path, list[str]]:
    good = _mpii_item("000000001.jpg", 0)
    bad = _mpii_item("000000002.jpg", 0)
    words = ["item #1 (000000002.jpg)"]
    if case == "short_joints":
        bad["joints"] = bad["joints"][:14]
        words += ["joints has 14 entries, expected 16"]
    elif case == "short_vis":
        bad["joints_vis"] = bad["joints_vis"][:15]
        words += ["joints_vis has 15 values, expected 16"]
    elif case == "nan_joint":
        bad["joints"][3][1] = float("nan")
        words += ["joints[3] holds nan"]
    elif case == "string_joint":
        bad["joints"][3][0] = "12"
        words += ["joints[3] holds '12'"]
    elif case == "infinite_scale":
        bad["scale"] = float("inf")
        words += ["scale is inf"]
    elif case == "nothing_labelled":
        bad["joints_vis"] = [0] * 16
        words += ["no joint is labelled"]
    elif case == "missing_image":
        words += ["image file not found"]
    elif case == "no_image_field":
        del bad["image"]
        words = ["item #1", "lacks a valid 'image'"]
    elif case == "not_a_list":
        path = _mpii_folder(tmp_path, [], ("000000001.jpg",))
        path.write_text(json.dumps({"annotations": [good]}))
        return path, ["expected mmpose's MPII JSON list", "found dict"]
    elif case == "broken_json":
        path = _mpii_folder(tmp_path, [], ("000000001.jpg",))
        path.write_text('[{"image": "000000001.jpg", ')
        return path, ["broken JSON at line 1"]
    else:
        raise AssertionError(case)
    images = ("000000001.jpg",) if case == "missing_image" else ("000000001.jpg",
                                                                  "000000002.jpg")
    return _mpii_folder(tmp_path, [good, bad], images), words


MPII_SKIPPABLE = {"short_joints": "keypoint_length", "short_vis": "keypoint_length",
                  "nan_joint": "bad_number", "string_joint": "bad_number",
                  "infinite_scale": "bad_number", "nothing_labelled": "bad_entry",
                  "missing_image": "missing_image", "no_image_field": "bad_entry"}


@pytest.mark.parametrize("case", [*MPII_SKIPPABLE, "not_a_list", "broken_json"])
def test_mpii_bad_input_is_one_line_naming_the_file(tmp_path, case):
    path, words = _bad_mpii(tmp_path, case)
    rep = _bad_input_report(tmp_path, "--mpii", path, words, MPII_SKIPPABLE.get(case), "mpii_train")
    if rep is not None:
        assert rep["available"] == 1
        assert rep["dropped_annotations"] == 1


@pytest.mark.parametrize("reader", ["mpii", "lsp"])
def test_image_paths_leading_out_of_the_root_are_refused_even_with_skip_bad(tmp_path, reader):
    secret = tmp_path / "secret.jpg"
    shutil.copyfile(IMAGES / PHOTOS[0][0], secret)
    if reader == "mpii":  # a '..' name
        path = _mpii_folder(tmp_path, [_mpii_item("../../secret.jpg", 0)])
        words = ["item #0 (../../secret.jpg)", "outside the image root"]
    else:                 # a link inside the root that leads out
        path = _lsp_folder(tmp_path, _lsp_joints(1))
        (path.parent / "images" / "im00001.jpg").unlink()
        (path.parent / "images" / "im00001.jpg").symlink_to(secret)
        words = ["image 1 (im00001.jpg)", "outside the image root"]
    out = tmp_path / "out"
    rc, _, err = mix_inproc(f"--{reader}", path, "--skip-bad", "-o", out)
    msg = one_line_error(rc, err, out)
    for w in [str(path), str(secret), *words]:
        assert w in msg, (w, msg)


# --------------------------------------------------------------------------------------------
# Real BOP scenes: scene_gt + scene_camera + scene_gt_info, JPEG rgb/, no masks, no depth
# --------------------------------------------------------------------------------------------

CAM_K = [572.4114, 0.0, 325.2611, 0.0, 573.57043, 242.04899, 0.0, 0.0, 1.0]


def _bop_real(tmp_path: Path, *, gt_info: bool = True, suffix: str = ".jpg") -> Path:
    """``lm/test/000002``, a real-style BOP scene of two 32x24 frames (im_id 3 and 8, as LM-O
    numbers them): frame 3 shows objects 1 and 5 (5 fully occluded), frame 8 object 1;
    ``scene_camera.json`` and ``scene_gt_info.json``, JPEG images, ``models/models_info.json``.
    """
    from PIL import Image

    root = tmp_path / "lm"
    scene = root / "test" / "000002"
    (scene / "rgb").mkdir(parents=True)
    (root / "models").mkdir()
    (root / "models" / "models_info.json").write_text(json.dumps(
        {"1": {"diameter": 102.1}, "5": {"diameter": 247.5}, "6": {"diameter": 124.3}}))
    pose = {"cam_R_m2c": [1, 0, 0, 0, 1, 0, 0, 0, 1], "cam_t_m2c": [10.5, -3.0, 900.0]}
    gt = {"3": [{**pose, "obj_id": 1}, {**pose, "obj_id": 5}], "8": [{**pose, "obj_id": 1}]}
    info = {"3": [{"bbox_obj": [4, 5, 10, 8], "bbox_visib": [4, 5, 9, 7], "px_count_all": 90,
                   "px_count_valid": 90, "px_count_visib": 61, "visib_fract": 0.68},
                  {"bbox_obj": [1, 1, 5, 5], "bbox_visib": [-1, -1, -1, -1], "px_count_all": 30,
                   "px_count_valid": 30, "px_count_visib": 0, "visib_fract": 0.0}],
            "8": [{"bbox_obj": [0, 2, 31, 20], "bbox_visib": [0, 2, 31, 20],
                   "px_count_all": 500, "px_count_valid": 500, "px_count_visib": 480,
                   "visib_fract": 0.96}]}
    cams = {k: {"cam_K": CAM_K, "depth_scale": 1.0} for k in gt}
    for k in gt:
        Image.fromarray(np.full((24, 32, 3), 30 * int(k), np.uint8)).save(
            scene / "rgb" / f"{int(k):06d}{suffix}", quality=90)
    (scene / "scene_gt.json").write_text(json.dumps(gt))
    (scene / "scene_camera.json").write_text(json.dumps(cams))
    if gt_info:
        (scene / "scene_gt_info.json").write_text(json.dumps(info))
    return root


@pytest.mark.parametrize("form, name", [("dataset", "lm"), ("split", "lm_test"),
                                        ("scene", "lm_test_000002")])
def test_real_bop_scene_reads_as_shipped_from_any_folder_level(tmp_path, form, name):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    root = _bop_real(tmp_path)
    arg = {"dataset": root, "split": root / "test", "scene": root / "test" / "000002"}[form]
    out = tmp_path / "out"
    r = mix_cli("--bop", arg, "-o", out) if form == "scene" else None
    if r is None:
        rc, _, err = mix_inproc("--bop", arg, "-o", out)
        assert rc == 0, err
    else:
        assert r.returncode == 0, r.stderr
    path = out / "annotations" / "coco_train.json"
    coco = load(path)
    imgs = coco["images"]
    assert [(i["scene_id"], i["im_id"], i["width"], i["height"], i["source_split"])
            for i in imgs] == [(2, 3, 32, 24, "test"), (2, 8, 32, 24, "test")]
    assert all(i["cam_K"] == CAM_K and i["depth_scale"] == 1.0 for i in imgs)
    assert {i["source_name"] for i in imgs} == {name}
    assert all((out / i["file_name"]).resolve().suffix == ".jpg" for i in imgs)
    cats = {c["id"]: c["name"] for c in coco["categories"]}
    anns = coco["annotations"]
    # The fully occluded instance (bbox_visib -1, no visible pixel) is skipped.
    assert [(a["image_id"], cats[a["category_id"]], a["gt_id"]) for a in anns] == \
        [(1, "obj_000001", 0), (2, "obj_000001", 0)]
    # BOP's bbox_visib w is x_max - x_min: COCO's pixel-edge box is one pixel wider and higher.
    assert [(a["bbox"], a["area"]) for a in anns] == [([4.0, 5.0, 10.0, 8.0], 61),
                                                      ([0.0, 2.0, 32.0, 21.0], 480)]
    assert anns[0]["cam_t_m2c"] == [10.5, -3.0, 900.0] and "segmentation" not in anns[0]
    # models_info's objects are categories even when no image shows them (object 6).
    assert sorted(cats.values()) == ["obj_000001", "obj_000005", "obj_000006", "person"]
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(path))
        res = [{"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"],
                "score": 1.0} for a in anns]
        ev = COCOeval(gt, gt.loadRes(res), "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    assert ev.stats[0] == pytest.approx(1.0)


def test_real_bop_scene_png_and_from_split(tmp_path):
    root = _bop_real(tmp_path, suffix=".png")
    out = tmp_path / "out"
    rc, _, err = mix_inproc("--bop", root, "--from-split", "test", "-o", out)
    assert rc == 0, err
    assert [Path(i["file_name"]).name for i in load(out / "annotations" / "coco_train.json")
            ["images"]] == ["000003.png", "000008.png"]
    out2 = tmp_path / "out2"
    rc, _, err = mix_inproc("--bop", root / "test", "--from-split", "train", "-o", out2)
    msg = one_line_error(rc, err, out2)
    assert "from_split 'train' is not a BOP split" in msg and "found test" in msg


def _bad_bop(tmp_path: Path, case: str) -> tuple[list, list[str]]:
    root = _bop_real(tmp_path, gt_info=case != "no_gt_info")
    scene = root / "test" / "000002"
    if case == "no_gt_info":
        return ["--bop", root], [str(scene), "no scene_gt_info.json and no mask_visib/"]
    if case == "missing_frame":
        (scene / "rgb" / "000008.jpg").unlink()
        return ["--bop", scene], [str(scene / "scene_gt.json"), "image 8",
                                  "image file not found"]
    if case == "unreadable_frame":
        (scene / "rgb" / "000008.jpg").write_bytes(b"not a jpeg")
        return ["--bop", root / "test"], [str(scene / "scene_gt.json"), "image 8",
                                          "not a readable image"]
    if case == "broken_camera":
        (scene / "scene_camera.json").write_text('{"3": {"cam_K": [572.4')
        return ["--bop", root], [str(scene / "scene_camera.json"), "broken JSON"]
    if case == "camera_nan":
        cams = load(scene / "scene_camera.json")
        cams["8"]["cam_K"][0] = float("nan")
        (scene / "scene_camera.json").write_text(json.dumps(cams))
        return ["--bop", root], [str(scene / "scene_gt.json"), "image 8", "cam_K"]
    if case == "scene_not_named_by_id":
        named = root / "test" / "kitchen"
        scene.rename(named)
        return ["--bop", named], [str(named), "not named by a scene id"]
    raise AssertionError(case)


@pytest.mark.parametrize("case", ["no_gt_info", "missing_frame", "unreadable_frame",
                                  "broken_camera", "camera_nan", "scene_not_named_by_id"])
def test_real_bop_bad_input_is_one_line_naming_the_file(tmp_path, case):
    args, words = _bad_bop(tmp_path, case)
    out = tmp_path / "out"
    rc, _, err = mix_inproc(*args, "-o", out)
    msg = one_line_error(rc, err, out)
    for w in words:
        assert w in msg, (w, msg)


def _mpii_release_mat(path: Path, people: dict[str, list[list[tuple]]],
                      train: list[int]) -> Path:
    """MPII's release layout written with savemat: ``RELEASE.annolist(i).image.name`` and
    ``annorect(r).annopoints.point(p)`` = (x, y, id, is_visible) for ``people[name]`` (one list of
    points per person; an empty list: a person without annopoints), ``scale``, ``objpos``."""
    rect_dt = [(k, "O") for k in ("x1", "y1", "x2", "y2", "annopoints", "scale", "objpos")]
    al = np.zeros((1, len(people)), dtype=[("image", "O"), ("annorect", "O")])
    empty = np.zeros((0, 0))
    for i, (name, persons) in enumerate(people.items()):
        rects = np.zeros((1, len(persons)), dtype=rect_dt)
        for r, points in enumerate(persons):
            pts = np.zeros((1, len(points)), dtype=[(k, "O") for k in ("x", "y", "id",
                                                                       "is_visible")])
            for p, pt in enumerate(points):
                pts[0, p] = pt
            rects[0, r] = (1.0, 2.0, 30.0, 40.0, {"point": pts} if points else empty,
                           2.5 + r, {"x": 100.0 + r, "y": 80.0})
        al[0, i] = ({"name": name}, rects if persons else empty)
    scipy.io.savemat(path, {"RELEASE": {"annolist": al, "img_train": np.array([train])}})
    return path


def test_mpii_release_mat_reads_annotated_training_persons(tmp_path):
    json_path = _mpii_folder(tmp_path, [], ("000000001.jpg", "000000002.jpg",
                                            "000000003.jpg"))
    person = [(50.0 + 9 * j, 40.0 + 6 * j, j, "1") for j in range(16)]
    person[13] = (167.0, 118.0, 13, "0")        # left shoulder occluded
    person[3] = (77.0, 58.0, 3, np.zeros((0, 0)))  # is_visible absent: visible
    del person[15]                              # left wrist not annotated
    mat = _mpii_release_mat(json_path.parent / "mpii_human_pose_v1_u12_1.mat", {
        "000000001.jpg": [person, []],          # the second person has no annopoints
        "000000002.jpg": [person],              # a test image (img_train 0): skipped
        "000000003.jpg": [[(60.0, 70.0, 10, 1), (90.0, 75.0, 12, 1)]]}, [1, 0, 1])
    out = tmp_path / "out"
    r = mix_cli("--mpii", mat, "-o", out)
    assert r.returncode == 0, r.stderr
    coco = load(out / "annotations" / "coco_train.json")
    assert [i["source_file_name"] for i in coco["images"]] == ["000000001.jpg", "000000003.jpg"]
    a, b = coco["annotations"]
    kp = a["keypoints"]
    v = {n: kp[3 * COCO17.index(n) + 2] for n in COCO17}
    assert (v["left_shoulder"], v["left_hip"], v["right_ankle"], v["left_wrist"]) == (1, 2, 2, 0)
    assert kp[3 * COCO17.index("left_shoulder"):3 * COCO17.index("left_shoulder") + 2] == \
        [167.0, 118.0]
    assert a["num_keypoints"] == 11 and (a["scale"], a["center"]) == (2.5, [100.0, 80.0])
    assert b["bbox"] == [60.0, 70.0, 30.0, 5.0] and b["num_keypoints"] == 2
    rep = load(out / "mix_report.json")["sources"]["mpii_human_pose_v1_u12_1"]
    assert rep["keypoint_mapping"]["person"]["schema"] == "mpii16"
    assert rep["keypoint_visibility"]["v1"] == 1
    assert _self_ap(out / "annotations" / "coco_train.json") == pytest.approx(1.0)


@pytest.mark.parametrize("case, words", [
    ("no_release", ["no struct 'RELEASE'", "found: joints"]),
    ("bad_point_id", ["annolist #1, annorect #1", "point id 16"]),
    ("nan_point", ["annolist #1, annorect #1", "joints[2] holds nan"]),
])
def test_mpii_release_mat_bad_input_is_one_line(tmp_path, case, words):
    json_path = _mpii_folder(tmp_path, [], ("000000001.jpg",))
    mat = json_path.parent / "mpii.mat"
    if case == "no_release":
        scipy.io.savemat(mat, {"joints": np.zeros((14, 3, 1))})
    else:
        pt = (float("nan"), 5.0, 2, 1) if case == "nan_point" else (4.0, 5.0, 16, 1)
        _mpii_release_mat(mat, {"000000001.jpg": [[(1.0, 2.0, 0, 1), pt]]}, [1])
    _bad_input_report(tmp_path, "--mpii", mat, words)
