"""``synthgen mix`` against hostile or broken inputs, every input format: image paths that lead
out of their folder, non-finite numbers.

No render here: each test builds the few files it needs (a COCO file over the real coco_mini
images, a JSONL manifest, a two-image BOP folder, a one-image synthgen-style dataset) and runs the
``synthgen mix`` entry point in-process (same argv parsing and exit codes as the CLI).
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from test_mix import COCO_JSON, IMAGES, load, manifest, mix_inproc, one_line_error

MODES = ("copy", "symlink", "absolute", "relative")
SECRET = b"secret bytes outside every image root\n"


def _coco(tmp_path: Path, edit=None) -> Path:
    data = load(COCO_JSON)
    if edit is not None:
        edit(data)
    path = tmp_path / "person_keypoints.json"
    path.write_text(json.dumps(data))
    return path


def _image_copy(tmp_path: Path) -> Path:
    imgs = tmp_path / "images"
    shutil.copytree(IMAGES, imgs)
    return imgs


def _manifest(tmp_path: Path, images: list[str], annotations=None) -> Path:
    lines = []
    for k, image in enumerate(images):
        rec = {"image": image, "source": "real", "split": "train", "width": 640, "height": 480}
        if annotations is not None:
            rec["annotations"] = annotations[k]
        lines.append(json.dumps(rec))
    path = tmp_path / "real.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def _bop(tmp_path: Path, n_images: int = 2) -> Path:
    """A BOP folder ``bop/test/000001`` with ``n_images`` 8x6 images, one 3x2-pixel instance each
    (scene_gt_info only, no masks)."""
    scene = tmp_path / "bop" / "test" / "000001"
    (scene / "rgb").mkdir(parents=True)
    gt, info = {}, {}
    for im in range(n_images):
        Image.fromarray(np.full((6, 8, 3), 40 * im, np.uint8)).save(scene / "rgb" / f"{im:06d}.png")
        gt[str(im)] = [{"obj_id": 1, "cam_R_m2c": [1, 0, 0, 0, 1, 0, 0, 0, 1],
                        "cam_t_m2c": [0, 0, 500]}]
        info[str(im)] = [{"bbox_obj": [2, 1, 2, 1], "bbox_visib": [2, 1, 2, 1],
                          "px_count_all": 6, "px_count_valid": 6, "px_count_visib": 6,
                          "visib_fract": 1.0}]
    (scene / "scene_gt.json").write_text(json.dumps(gt))
    (scene / "scene_gt_info.json").write_text(json.dumps(info))
    return tmp_path / "bop"


def _synthetic(tmp_path: Path, file_name: str) -> Path:
    """A one-image synthgen-style dataset whose COCO image is ``file_name``."""
    root = tmp_path / "synth"
    (root / "annotations").mkdir(parents=True)
    (root / "train_synth" / "000000" / "rgb").mkdir(parents=True)
    Image.fromarray(np.zeros((6, 8, 3), np.uint8)).save(
        root / "train_synth" / "000000" / "rgb" / "000000.png")
    line = {"image": "train_synth/000000/rgb/000000.png", "source": "synthetic",
            "split": "train_synth", "scene_id": 0, "im_id": 0, "view_id": 0, "frame_id": 0,
            "seed": 1, "width": 8, "height": 6, "persons": 0, "objects": 0}
    (root / "manifest.jsonl").write_text(json.dumps(line) + "\n")
    coco = {"images": [{"id": 1, "file_name": file_name, "width": 8, "height": 6,
                        "split": "train_synth", "scene_id": 0, "im_id": 0}],
            "annotations": [], "categories": [{"id": 1, "name": "person"}]}
    (root / "annotations" / "coco_train_synth.json").write_text(json.dumps(coco))
    return root


# --------------------------------------------------------------------------------------------
# Image paths stay inside their root
# --------------------------------------------------------------------------------------------

def _escape_case(tmp_path: Path, case: str) -> tuple[list, list[str]]:
    """(source args, words the one-line error must hold) for an input whose image leads out."""
    secret = tmp_path / "secret.jpg"
    secret.write_bytes(SECRET)
    if case == "coco_etc_passwd":  # the audit's input, verbatim
        def edit(d):
            d["images"][0]["file_name"] = "../../../../etc/passwd"
        path = _coco(tmp_path, edit)
        return (["--coco", path, "--images", IMAGES],
                [str(path), "image id 785", "'../../../../etc/passwd'", "outside the image root"])
    if case == "coco_dotdot":
        imgs = _image_copy(tmp_path)

        def edit(d):
            d["images"][1]["file_name"] = "../secret.jpg"
        path = _coco(tmp_path, edit)
        return (["--coco", path, "--images", imgs],
                [str(path), "image id 40083", "'../secret.jpg'", str(imgs.resolve())])
    if case == "coco_absolute":
        def edit(d):
            d["images"][2]["file_name"] = str(secret)
        path = _coco(tmp_path, edit)
        return (["--coco", path, "--images", IMAGES],
                [str(path), "image id 196141", str(secret), "outside the image root"])
    if case == "coco_symlink":  # a link inside the root that leads out
        imgs = _image_copy(tmp_path)
        (imgs / "000000000785.jpg").unlink()
        (imgs / "000000000785.jpg").symlink_to(secret)
        path = _coco(tmp_path)
        return (["--coco", path, "--images", imgs],
                [str(path), "image id 785", "'000000000785.jpg'", str(secret)])
    if case == "coco_linked_folder":  # a linked sub-folder of the root leads out too
        imgs = _image_copy(tmp_path)
        (imgs / "sub").symlink_to(tmp_path)

        def edit(d):
            d["images"][3]["file_name"] = "sub/secret.jpg"
        path = _coco(tmp_path, edit)
        return (["--coco", path, "--images", imgs],
                [str(path), "image id 197388", "'sub/secret.jpg'", str(secret)])
    if case == "manifest_dotdot":
        (tmp_path / "m").mkdir()
        path = _manifest(tmp_path / "m", ["images/000000000785.jpg", "../secret.jpg"])
        shutil.copytree(IMAGES, tmp_path / "m" / "images")
        return (["--manifest", path], [str(path), "line 2", "'../secret.jpg'",
                                       "outside the image root"])
    if case == "manifest_absolute":
        path = _manifest(tmp_path, [str(IMAGES / "000000000785.jpg"), str(secret)])
        return (["--manifest", path, "--images", IMAGES],
                [str(path), "line 2", str(secret), "outside the image root"])
    if case == "bop_symlink":
        root = _bop(tmp_path)
        img = root / "test" / "000001" / "rgb" / "000001.png"
        img.unlink()
        img.symlink_to(secret)
        return (["--bop", root], [str(root / "test" / "000001" / "scene_gt.json"), "image 1",
                                  "rgb/000001.png", "outside the BOP folder"])
    if case == "synthetic_dotdot":
        root = _synthetic(tmp_path, "../secret.jpg")
        return (["--synthetic", root], [str(root / "annotations" / "coco_train_synth.json"),
                                        "image id 1", "'../secret.jpg'",
                                        "outside the dataset folder"])
    raise AssertionError(case)


ESCAPES = ("coco_etc_passwd", "coco_dotdot", "coco_absolute", "coco_symlink",
           "coco_linked_folder", "manifest_dotdot", "manifest_absolute", "bop_symlink",
           "synthetic_dotdot")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", ESCAPES)
def test_image_paths_outside_their_root_are_refused_in_every_mode(tmp_path, case, mode):
    src_args, words = _escape_case(tmp_path, case)
    out = tmp_path / "out"
    for extra in ([], ["--skip-bad"]):  # never a skippable entry: the file is not trusted
        rc, _, err = mix_inproc(*src_args, "--image-mode", mode, *extra, "-o", out)
        msg = one_line_error(rc, err, out)  # exit 2, one line, nothing written
        for w in words:
            assert w in msg, (w, msg)
    # nothing anywhere holds the secret's bytes (no copy, no link)
    for f in tmp_path.rglob("*"):
        if f.is_file() and not f.is_symlink() and f.name != "secret.jpg":
            assert f.read_bytes() != SECRET, f


def test_paths_that_stay_inside_the_root_are_kept(tmp_path):
    # '..' that stays inside, and a link to another image of the root, are fine; --images copy
    # stores the resolved path below the root for the former, the link's own name for the latter.
    imgs = _image_copy(tmp_path)
    (imgs / "sub").mkdir()
    shutil.move(imgs / "000000040083.jpg", imgs / "sub" / "000000040083.jpg")
    (imgs / "000000196141.jpg").unlink()
    (imgs / "alias.jpg").symlink_to(imgs / "sub" / "000000040083.jpg")

    def edit(d):
        d["images"][1]["file_name"] = "sub/../sub/./000000040083.jpg"
        d["images"][2]["file_name"] = "alias.jpg"
    path = _coco(tmp_path, edit)
    out = tmp_path / "out"
    rc, _, err = mix_inproc("--coco", path, "--images", imgs, "--images", "copy", "-o", out)
    assert rc == 0, err
    names = [i["file_name"] for i in load(out / "annotations" / "coco_train.json")["images"]]
    assert names == ["images/person_keypoints/000000000785.jpg",
                     "images/person_keypoints/sub/000000040083.jpg",
                     "images/person_keypoints/alias.jpg",
                     "images/person_keypoints/000000197388.jpg"]
    assert (out / names[2]).read_bytes() == (IMAGES / "000000040083.jpg").read_bytes()
    assert not (out / names[2]).is_symlink()
    assert [ln["image"] for ln in manifest(out)] == names


# --------------------------------------------------------------------------------------------
# Numbers are finite
# --------------------------------------------------------------------------------------------

def _number_case(tmp_path: Path, case: str) -> tuple[list, list[str], int]:
    """(source args, words the one-line error must hold, images left after --skip-bad)."""
    nan, inf = float("nan"), float("inf")
    data = load(COCO_JSON)
    ann = data["annotations"][1]  # the first person of image 40083 (3 persons)
    label = f"annotation id {ann['id']} (image id 40083)"
    if case.startswith("coco_"):
        field, k, value, text = {
            "coco_keypoint_nan": ("keypoints", 16, nan, "keypoints[16] is nan"),
            "coco_keypoint_inf": ("keypoints", 3, -inf, "keypoints[3] is -inf"),
            "coco_keypoint_string": ("keypoints", 0, "12", "keypoints[0] is '12'"),
            "coco_bbox_inf": ("bbox", 2, inf, "bbox[2] is inf"),
            "coco_area_nan": ("area", None, nan, "area is nan"),
            "coco_polygon_nan": ("segmentation", None, nan, "segmentation[0][1] is nan"),
        }[case]
        if field == "area":
            ann["area"] = value
        elif field == "segmentation":
            ann["segmentation"][0][1] = value
        else:
            ann[field][k] = value
        path = tmp_path / "person_keypoints.json"
        path.write_text(json.dumps(data))  # NaN / Infinity / -Infinity, as Python writes them
        assert "NaN" in path.read_text() or "Infinity" in path.read_text() or field == "keypoints"
        return ["--coco", path, "--images", IMAGES], [str(path), label, text], 3
    if case == "wholebody_face_nan":
        data = load(COCO_JSON.parent / "coco_wholebody.json")
        ann = data["annotations"][1]
        ann["face_kpts"][7] = nan
        path = tmp_path / "wb.json"
        path.write_text(json.dumps(data))
        return (["--wholebody", path, "--images", IMAGES],
                [str(path), f"annotation id {ann['id']}", "face_kpts[7] is nan"], 3)
    if case == "manifest_keypoint_nan":
        anns = [[{k: v for k, v in a.items() if k not in ("id", "image_id", "category_id")}
                 for a in data["annotations"] if a["image_id"] == img["id"]]
                for img in data["images"]]
        anns[2][0]["keypoints"][5] = nan
        path = _manifest(tmp_path, [f"images/{i['file_name']}" for i in data["images"]], anns)
        return (["--manifest", path, "--images", COCO_JSON.parent],
                [str(path), "line 3", "annotation 0", "keypoints[5] is nan"], 3)
    if case in ("bop_pose_nan", "bop_box_inf"):
        root = _bop(tmp_path)
        scene = root / "test" / "000001"
        if case == "bop_pose_nan":
            gt = load(scene / "scene_gt.json")
            gt["1"][0]["cam_t_m2c"][2] = nan
            (scene / "scene_gt.json").write_text(json.dumps(gt))
            words = ["image 1", "instance 0", "cam_t_m2c", "nan"]
        else:
            info = load(scene / "scene_gt_info.json")
            info["0"][0]["bbox_visib"][3] = inf
            (scene / "scene_gt_info.json").write_text(json.dumps(info))
            words = ["image 0", "instance 0", "bbox_visib[3] is inf"]
        return ["--bop", root], [str(scene / "scene_gt.json"), *words], 1
    raise AssertionError(case)


NUMBER_CASES = ("coco_keypoint_nan", "coco_keypoint_inf", "coco_keypoint_string", "coco_bbox_inf",
                "coco_area_nan", "coco_polygon_nan", "wholebody_face_nan",
                "manifest_keypoint_nan", "bop_pose_nan", "bop_box_inf")


@pytest.mark.parametrize("case", NUMBER_CASES)
def test_nan_and_inf_in_inputs_are_one_line_or_skipped(tmp_path, case):
    src_args, words, left = _number_case(tmp_path, case)
    out = tmp_path / "out"
    rc, _, err = mix_inproc(*src_args, "-o", out)
    msg = one_line_error(rc, err, out)
    for w in words:
        assert w in msg, (w, msg)

    rc, _, err = mix_inproc(*src_args, "--skip-bad", "-o", out)
    assert rc == 0, err
    coco_text = (out / "annotations" / "coco_train.json").read_text()
    assert len(json.loads(coco_text)["images"]) == left  # the image with the bad value is gone
    assert "NaN" not in coco_text and "Infinity" not in coco_text
    rep = next(iter(load(out / "mix_report.json")["sources"].values()))
    assert rep["bad_entries"] == {"bad_number": 1}


# --------------------------------------------------------------------------------------------
# Every annotation has a box and an area
# --------------------------------------------------------------------------------------------

def _real_manifest_with(tmp_path: Path, anns: list[dict]) -> Path:
    """A one-image manifest (000000000785.jpg, 640x425) whose line carries ``anns``."""
    path = tmp_path / "m.jsonl"
    path.write_text(json.dumps({"image": "000000000785.jpg", "source": "real", "split": "train",
                                "annotations": anns}) + "\n")
    return path


def test_box_and_area_are_derived_as_coco_converters_do(tmp_path):
    from pycocotools import mask as mask_utils

    person = load(COCO_JSON)["annotations"][0]
    kp = person["keypoints"]
    mask = np.zeros((425, 640), np.uint8)
    mask[100:130, 200:240] = 1  # 30 x 40 pixels
    counts, run, prev = [], 0, 0  # uncompressed (column-major) RLE, as COCO's iscrowd uses
    for v in np.asfortranarray(mask).reshape(-1, order="F"):
        if v != prev:
            counts.append(run)
            run, prev = 0, v
        run += 1
    counts.append(run)
    anns = [{"keypoints": kp, "bbox": [10, 20, 30.5, 40]},                    # LSPET-like
            {"keypoints": kp, "segmentation": person["segmentation"]},         # polygon only
            {"category": "ball", "segmentation": {"size": [425, 640], "counts": counts},
             "iscrowd": 1},                                                   # uncompressed RLE
            {"keypoints": kp, "bbox": [1, 2, 3, 4], "area": 7.5}]              # kept as read
    path = _real_manifest_with(tmp_path, anns)
    out = tmp_path / "out"
    rc, _, err = mix_inproc("--manifest", path, "--images", IMAGES, "-o", out)
    assert rc == 0, err
    got = load(out / "annotations" / "coco_train.json")["annotations"]
    assert (got[0]["bbox"], got[0]["area"]) == ([10, 20, 30.5, 40], 30.5 * 40)
    rle = mask_utils.merge(mask_utils.frPyObjects(person["segmentation"], 425, 640))
    assert got[1]["area"] == int(mask_utils.area(rle))
    assert got[1]["bbox"] == [float(v) for v in mask_utils.toBbox(rle)]
    assert (got[2]["area"], got[2]["bbox"]) == (1200, [200.0, 100.0, 40.0, 30.0])
    assert (got[3]["bbox"], got[3]["area"]) == ([1, 2, 3, 4], 7.5)


@pytest.mark.parametrize("ann, words", [
    ({"keypoints": [0] * 51}, ["lacks 'bbox' and 'segmentation'"]),
    ({"bbox": [1, 2, -3, 4]}, ["bbox is [1, 2, -3, 4]", "w, h >= 0"]),
    ({"bbox": [1, 2, 3]}, ["bbox is [1, 2, 3]"]),
    ({"segmentation": [[1, 2, 3, 4]]}, ["segmentation", "polygon"]),
    ({"segmentation": {"counts": "abc"}}, ["segmentation", "RLE"]),
])
def test_annotations_without_usable_geometry_are_bad_entries(tmp_path, ann, words):
    path = _real_manifest_with(tmp_path, [ann])
    out = tmp_path / "out"
    rc, _, err = mix_inproc("--manifest", path, "--images", IMAGES, "-o", out)
    msg = one_line_error(rc, err, out)
    for w in [str(path), "line 1", "annotation 0", *words]:
        assert w in msg, (w, msg)
