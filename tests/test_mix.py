"""``synthgen mix`` (the sim-to-real exporter) end to end on real files.

A small synthgen dataset (4 images, 2 scenes x 2 views, 96x72, a person in view) is rendered once
per module through the CLI and mixed with real COCO val2017 data (tests/data/coco_mini: 4 images,
14 persons, COCO-17 and COCO-WholeBody). Main flows run ``python -m synthgen.mix`` in a
subprocess; the many bad-input variants call the same entry point in-process (same argv parsing,
same exit codes) to keep the file fast.
"""
from __future__ import annotations

import contextlib
import copy
import io
import json
import shutil
import subprocess
import sys
import zlib
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, run_cli

DATA = Path(__file__).resolve().parent / "data" / "coco_mini"
COCO_JSON = DATA / "person_keypoints.json"
WB_JSON = DATA / "coco_wholebody.json"
IMAGES = DATA / "images"
COCO17 = ["nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
          "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip",
          "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle"]
CROWDPOSE14 = ["left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist",
               "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
               "right_ankle", "head", "neck"]

#: COCO-WholeBody annotation fields and their values for an invalid part.
WHOLEBODY_ZEROS = {"foot_kpts": [0] * 18, "face_kpts": [0] * 204, "lefthand_kpts": [0] * 63,
                   "righthand_kpts": [0] * 63, "face_box": [0, 0, 0, 0],
                   "lefthand_box": [0, 0, 0, 0], "righthand_box": [0, 0, 0, 0],
                   "foot_valid": False, "face_valid": False, "lefthand_valid": False,
                   "righthand_valid": False}
WHOLEBODY_FIELDS = tuple(WHOLEBODY_ZEROS)
#: COCO-WholeBody OKS sigmas of mmpose's meta: body (COCO), feet, face (68), hands (2 x 21).
WHOLEBODY_SIGMAS = np.array(
    [.026, .025, .025, .035, .035, .079, .079, .072, .072, .062, .062, .107, .107, .087, .087,
     .089, .089]
    + [.068, .066, .066, .092, .094, .094]
    + [.042, .043, .044, .043, .040, .035, .031, .025, .020, .023, .029, .032, .037, .038, .043,
       .041, .045, .013, .012, .011, .011, .012, .012, .011, .011, .013, .015, .009, .007, .007,
       .007, .012, .009, .008, .016, .010, .017, .011, .009, .011, .009, .007, .013, .008, .011,
       .012, .010, .034, .008, .008, .009, .008, .008, .007, .010, .008, .009, .009, .009, .007,
       .007, .008, .011, .008, .008, .008, .01, .008]
    + 2 * [.029, .022, .035, .037, .047, .026, .025, .024, .035, .018, .024, .022, .026, .017,
           .021, .021, .032, .02, .019, .022, .031])


def mix_cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "synthgen.mix", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def mix_inproc(*args) -> tuple[int, str, str]:
    from synthgen.mix.__main__ import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main([str(a) for a in args])
    return rc, out.getvalue(), err.getvalue()


def load(path: Path):
    return json.loads(Path(path).read_text())


def manifest(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]


def one_line_error(rc: int, err: str, out: Path) -> str:
    assert rc == 2, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert not out.exists(), "nothing may be written on bad input"
    assert not list(out.parent.glob(f".{out.name}.mix-*")), "no temporary folder may be left"
    return lines[0]


def without(d: dict, *keys: str) -> dict:
    return {k: v for k, v in d.items() if k not in keys}


@pytest.fixture(scope="module")
def synth(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "kitchen"
    r = run_cli("render", REPO / "scenes" / "kitchen.yaml", "frames=4", "views_per_scene=2",
                "camera.width=96", "camera.height=72", "camera.person_target_prob=1", "-o", out,
                "--quiet")
    assert r.returncode == 0, r.stderr
    return out


@pytest.fixture(scope="module")
def base_mix(synth, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """4 synthetic + 4 real images at ratio 0.5 (the sizes allow at most 8)."""
    out = tmp_path_factory.mktemp("mix") / "mix"
    r = mix_cli("--synthetic", synth, "--coco", COCO_JSON, "--images", IMAGES,
                "--synthetic-ratio", "0.5", "-o", out)
    assert r.returncode == 0, r.stderr
    return out, r


def _coco_subset(tmp_path: Path, name: str, image_ids: set[int]) -> Path:
    data = load(COCO_JSON)
    data["images"] = [i for i in data["images"] if i["id"] in image_ids]
    data["annotations"] = [a for a in data["annotations"] if a["image_id"] in image_ids]
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


# --------------------------------------------------------------------------------------------
# Mixing with real COCO
# --------------------------------------------------------------------------------------------

def test_ratio_half_counts_cocoeval_and_real_annotations_unchanged(base_mix, synth):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    out, r = base_mix
    path = out / "annotations" / "coco_train.json"
    coco = load(path)
    assert sorted(p.name for p in (out / "annotations").iterdir()) == ["coco_train.json"]
    images = coco["images"]
    assert Counter(i["source"] for i in images) == {"synthetic": 4, "real": 4}
    assert [i["id"] for i in images] == list(range(1, 9))
    assert {i["split"] for i in images} == {"train"}
    assert Counter(i["source_name"] for i in images) == {"kitchen": 4, "person_keypoints": 4}
    assert [a["id"] for a in coco["annotations"]] == list(range(1, len(coco["annotations"]) + 1))
    assert {a["image_id"] for a in coco["annotations"]} <= {i["id"] for i in images}
    assert coco["categories"][0]["name"] == "person" and coco["categories"][0]["id"] == 1
    assert coco["categories"][0]["keypoints"] == COCO17
    for img in images:  # default: relative to OUT, and it resolves from OUT
        assert not Path(img["file_name"]).is_absolute()
        assert (out / img["file_name"]).is_file()

    # Every real annotation survives unchanged apart from its ids and the COCO-WholeBody fields
    # the synthetic persons have, written invalid (zeros) on the real ones.
    src = load(COCO_JSON)
    new_id = {i["source_image_id"]: i["id"] for i in images if i["source"] == "real"}
    assert sorted(new_id) == sorted(i["id"] for i in src["images"])
    got = [a for a in coco["annotations"] if a["image_id"] in set(new_id.values())]
    assert len(got) == len(src["annotations"]) == 14
    for a_in, a_out in zip(src["annotations"], got):
        assert a_out["image_id"] == new_id[a_in["image_id"]]
        assert json.dumps(without(a_out, "id", "image_id", *WHOLEBODY_FIELDS), sort_keys=True) == \
            json.dumps(without(a_in, "id", "image_id"), sort_keys=True)
        assert {k: a_out[k] for k in WHOLEBODY_FIELDS} == WHOLEBODY_ZEROS
    # ... and so does every synthetic one (category ids compared by name).
    syn = load(synth / "annotations" / "coco_train_synth.json")
    syn_names = {c["id"]: c["name"] for c in syn["categories"]}
    out_names = {c["id"]: c["name"] for c in coco["categories"]}
    got_syn = [a for a in coco["annotations"] if a["image_id"] not in set(new_id.values())]
    assert len(got_syn) == len(syn["annotations"])
    for a_in, a_out in zip(syn["annotations"], got_syn):
        assert out_names[a_out["category_id"]] == syn_names[a_in["category_id"]]
        assert without(a_out, "id", "image_id", "category_id") == \
            without(a_in, "id", "image_id", "category_id")

    # pycocotools loads it, and keypoint COCOeval of the file against itself gives AP 1.0.
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(path))
        res = [{"image_id": a["image_id"], "category_id": 1, "keypoints": a["keypoints"],
                "score": 1.0} for a in coco["annotations"]
               if a["category_id"] == 1 and a["num_keypoints"] > 0]
        ev = COCOeval(gt, gt.loadRes(res), "keypoints")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    assert len(res) == 12 + 4  # 12 labelled real persons, 4 synthetic ones
    assert ev.stats[0] == pytest.approx(1.0)

    # Manifest: synthgen's schema, one line per image, in COCO order.
    lines = manifest(out)
    assert [ln["image"] for ln in lines] == [i["file_name"] for i in images]
    assert Counter(ln["source"] for ln in lines) == {"synthetic": 4, "real": 4}
    keys = {"image", "source", "split", "scene_id", "im_id", "view_id", "frame_id", "seed",
            "width", "height", "persons", "objects"}
    assert all(keys <= set(ln) for ln in lines)
    real_lines = [ln for ln in lines if ln["source"] == "real"]
    assert [ln["source_im_id"] for ln in real_lines] == [i["id"] for i in src["images"]]
    assert {ln["source_scene_id"] for ln in real_lines} == {-1}  # a photo has no scene
    # (split, scene_id, im_id): the source's index in the mix and the image's id in the mix
    assert [(ln["scene_id"], ln["im_id"]) for ln in lines] == \
        [(0 if i["source"] == "synthetic" else 1, i["id"]) for i in images]
    assert [ln["image_id"] for ln in lines] == [i["id"] for i in images]
    syn_lines = [ln for ln in lines if ln["source"] == "synthetic"]
    assert [(ln["source_scene_id"], ln["source_im_id"]) for ln in syn_lines] == \
        [(i["scene_id"], i["im_id"]) for i in images if i["source"] == "synthetic"]
    assert sum(ln["persons"] for ln in real_lines) == 14

    # Report: counts per source and split, keypoint visibility per source.
    rep = load(out / "mix_report.json")
    train = rep["splits"]["train"]
    assert (train["images"], train["synthetic"], train["real"]) == (8, 4, 4)
    assert train["synthetic_fraction"] == 0.5
    vis = rep["sources"]["person_keypoints"]["keypoint_visibility"]
    flat_v = [a["keypoints"][k] for a in src["annotations"] for k in range(2, 51, 3)]
    assert vis["persons"] == 14
    assert (vis["v0"], vis["v1"], vis["v2"]) == tuple(flat_v.count(v) for v in (0, 1, 2))
    assert rep["sources"]["kitchen"]["keypoint_visibility"]["persons"] == 4
    assert "person_keypoints" in r.stdout and "kitchen" in r.stdout and "50% syn" in r.stdout


def _quiet(fn, *args, **kwargs):
    with contextlib.redirect_stdout(io.StringIO()):
        return fn(*args, **kwargs)


def _self_eval(module, gt, iou_type: str, res: list[dict], *args, **kwargs) -> float:
    """AP of ``res`` against ``gt`` with ``module.COCOeval`` (pycocotools or xtcocotools)."""
    ev = module.COCOeval(gt, _quiet(gt.loadRes, res), iou_type, *args, **kwargs)
    if iou_type == "keypoints_wholebody":
        ev.params.useSegm = None
    for step in (ev.evaluate, ev.accumulate, ev.summarize):
        _quiet(step)
    return float(ev.stats[0])


def test_mixed_file_has_area_and_wholebody_fields_everywhere_and_evaluates(synth, tmp_path):
    """A train file of synthetic persons (WholeBody), real COCO-17 persons without ``area`` (one
    without a segmentation either) and real COCO-WholeBody persons: pycocotools' keypoint and box
    COCOeval and xtcocotools' WholeBody COCOeval run on it and score its own ground truth 1.0."""
    from pycocotools import coco as pycoco, cocoeval as pyeval
    from pycocotools import mask as mask_utils
    xt_coco = pytest.importorskip("xtcocotools.coco")
    xt_eval = pytest.importorskip("xtcocotools.cocoeval")

    data = load(COCO_JSON)
    for a in data["annotations"]:
        del a["area"]
    box_only = data["annotations"][6]
    del box_only["segmentation"]
    no_area = tmp_path / "no_area.json"
    no_area.write_text(json.dumps(data))
    out = tmp_path / "out"
    rc, _, err = mix_inproc("--synthetic", synth, "--coco", no_area, "--images", IMAGES,
                            "--wholebody", WB_JSON, "--images", IMAGES, "-q", "-o", out)
    assert rc == 0, err
    path = out / "annotations" / "coco_train.json"
    coco = load(path)
    kind = {i["id"]: i["source_name"] for i in coco["images"]}
    by_source = {name: [a for a in coco["annotations"] if kind[a["image_id"]] == name]
                 for name in ("kitchen", "no_area", "coco_wholebody")}
    assert [len(v) > 0 for v in by_source.values()] == [True] * 3
    size = {i["id"]: (i["height"], i["width"]) for i in data["images"]}
    # area: pycocotools' pixel count of the polygons (close to COCO's own polygon area), or w*h
    original = load(COCO_JSON)["annotations"]
    for a_in, a_src, a_out in zip(data["annotations"], original, by_source["no_area"]):
        if a_in is box_only:
            assert a_out["area"] == a_in["bbox"][2] * a_in["bbox"][3]
            continue
        h, w = size[a_in["image_id"]]
        rle = mask_utils.merge(mask_utils.frPyObjects(a_in["segmentation"], h, w))
        assert a_out["area"] == int(mask_utils.area(rle))
        assert a_out["area"] == pytest.approx(a_src["area"], rel=0.05, abs=30)
        assert {k: a_out[k] for k in WHOLEBODY_FIELDS} == WHOLEBODY_ZEROS
    for a_in, a_out in zip(load(WB_JSON)["annotations"], by_source["coco_wholebody"]):
        assert without(a_out, "id", "image_id") == without(a_in, "id", "image_id")
    for a in coco["annotations"]:
        assert "area" in a and "bbox" in a and set(WHOLEBODY_FIELDS) <= set(a)
    rep = load(out / "mix_report.json")["splits"]["train"]
    n_objects = sum(1 for a in by_source["kitchen"] if a["category_id"] != 1)
    assert rep["wholebody_fields_completed"] == 14  # the real COCO-17 persons; synthgen's own
    assert n_objects > 0                             # objects carry the fields already

    persons = [a for a in coco["annotations"] if a["category_id"] == 1 and a["num_keypoints"]]
    assert {kind[a["image_id"]] for a in persons} == set(by_source)
    gt = _quiet(pycoco.COCO, str(path))
    kp_res = [{"image_id": a["image_id"], "category_id": 1, "keypoints": a["keypoints"],
               "score": 1.0} for a in persons]
    box_res = [{"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"],
                "score": 1.0} for a in coco["annotations"]]
    assert _self_eval(pyeval, gt, "keypoints", kp_res) == pytest.approx(1.0)
    assert _self_eval(pyeval, gt, "bbox", box_res) == pytest.approx(1.0)
    parts = ("keypoints", "foot_kpts", "face_kpts", "lefthand_kpts", "righthand_kpts")
    xt_res = [{"image_id": a["image_id"], "category_id": 1, "score": 1.0,
               **{k: a[k] for k in parts}} for a in persons]
    xt_gt = _quiet(xt_coco.COCO, str(path))
    assert _self_eval(xt_eval, xt_gt, "keypoints_wholebody", xt_res, WHOLEBODY_SIGMAS,
                      use_area=True) == pytest.approx(1.0)


def test_mixed_manifest_passes_validates_manifest_check(synth, tmp_path):
    """Lines used to carry the sources' ids (-1 for a photo's scene), so a COCO file mixed twice,
    or an image drawn twice with replacement, gave duplicate (split, scene_id, im_id) keys, which
    synthgen validate reports; and a curriculum's lines were not in (split, ...) order."""
    from synthgen.validate.checks import DatasetChecker
    from synthgen.validate.report import Report

    out = tmp_path / "out"
    rc, _, err = mix_inproc("--synthetic", synth, "--coco", COCO_JSON, "--images", IMAGES,
                            "--coco", COCO_JSON, "--images", IMAGES, "--total", "9",
                            "--replacement", "--curriculum", "0.5", "-q", "-o", out)
    assert rc == 0, err
    report = Report(out)
    DatasetChecker(out, report).load_manifest()  # validate's schema, order and duplicate checks
    assert report.problems == [] and report.counts["manifest_lines"] == 9 + 8 + 8
    lines = manifest(out)
    keys = [(ln["split"], ln["scene_id"], ln["im_id"]) for ln in lines]
    assert len(set(keys)) == len(keys) and keys == sorted(keys)
    assert [ln["split"] for ln in lines] == ["finetune"] * 16 + ["pretrain"] * 9
    src_keys = [(ln["split"], ln["source_scene_id"], ln["source_im_id"]) for ln in lines]
    assert len(set(src_keys)) < len(src_keys)  # what the old lines held: duplicates
    # every line names an image of the mix, by its COCO id
    ids = {i["id"]: i["file_name"] for split in ("pretrain", "finetune")
           for i in load(out / "annotations" / f"coco_{split}.json")["images"]}
    assert {ln["im_id"]: ln["image"] for ln in lines} == ids


def test_total_with_replacement_is_seeded_and_deterministic(synth, tmp_path):
    args = ["--synthetic", synth, "--coco", COCO_JSON, "--images", IMAGES, "--total", "12",
            "--synthetic-ratio", "0.25", "--seed", "3", "-q"]
    rc, _, err = mix_inproc(*args, "-o", tmp_path / "a")
    assert "--replacement" in one_line_error(rc, err, tmp_path / "a")  # 9 real out of 4

    for name in ("a", "b"):
        rc, _, err = mix_inproc(*args, "--replacement", "-o", tmp_path / name)
        assert rc == 0, err
    a, b = tmp_path / "a", tmp_path / "b"
    for rel in ("annotations/coco_train.json", "manifest.jsonl", "mix_report.json"):
        assert (a / rel).read_bytes() == (b / rel).read_bytes()
    images = load(a / "annotations" / "coco_train.json")["images"]
    assert Counter(i["source"] for i in images) == {"synthetic": 3, "real": 9}
    # The draw is Generator.choice seeded by (seed, split, source index), indices sorted.
    src_ids = [i["id"] for i in load(COCO_JSON)["images"]]
    rng = np.random.default_rng(np.random.SeedSequence([3, zlib.crc32(b"train"), 1]))
    expected = [src_ids[k] for k in np.sort(rng.choice(4, size=9, replace=True))]
    assert [i["source_image_id"] for i in images if i["source"] == "real"] == expected
    rep = load(a / "mix_report.json")["splits"]["train"]["sources"]["person_keypoints"]
    assert rep["images"] == 9 and rep["unique_images"] == len(set(expected))


def test_weights_and_per_source_counts(synth, tmp_path):
    # --synthetic OUT:3 weighs 3:1 against the real source: --total 4 gives 3 + 1.
    out = tmp_path / "w"
    rc, _, err = mix_inproc(f"--synthetic={synth}:3", "--coco", COCO_JSON, "--images", IMAGES,
                            "--total", "4", "-q", "-o", out)
    assert rc == 0, err
    images = load(out / "annotations" / "coco_train.json")["images"]
    assert Counter(i["source"] for i in images) == {"synthetic": 3, "real": 1}
    out = tmp_path / "c"
    rc, _, err = mix_inproc("--synthetic", synth, "--count", "1", "--coco", COCO_JSON,
                            "--images", IMAGES, "--count", "2", "-q", "-o", out)
    assert rc == 0, err
    images = load(out / "annotations" / "coco_train.json")["images"]
    assert Counter(i["source"] for i in images) == {"synthetic": 1, "real": 2}
    rc, _, err = mix_inproc("--synthetic", synth, "--count", "1", "--coco", COCO_JSON,
                            "--images", IMAGES, "-o", tmp_path / "bad")
    assert "'count'" in one_line_error(rc, err, tmp_path / "bad")


# --------------------------------------------------------------------------------------------
# Label harmonisation
# --------------------------------------------------------------------------------------------

def test_wholebody_to_coco17_keeps_body_keypoints_bit_exact(tmp_path):
    out = tmp_path / "wb"
    rc, stdout, err = mix_inproc("--wholebody", WB_JSON, "--images", IMAGES, "-o", out)
    assert rc == 0, err
    src = load(WB_JSON)["annotations"]
    got = load(out / "annotations" / "coco_train.json")["annotations"]
    assert len(got) == len(src) == 14
    for a_in, a_out in zip(src, got):
        # JSON text equality: same numbers with the same int/float types
        assert json.dumps(a_out["keypoints"]) == json.dumps(a_in["keypoints"])
        assert without(a_out, "id", "image_id") == without(a_in, "id", "image_id")
    m = load(out / "mix_report.json")["sources"]["coco_wholebody"]["keypoint_mapping"]["person"]
    assert m["schema"] == "wholebody133" and m["unmatched"] == []
    assert len(m["dropped"]) == 116 and m["dropped"][:2] == ["left_big_toe", "left_small_toe"]
    assert "116 names outside COCO-17 (kept in the WholeBody fields)" in stdout

    out2 = tmp_path / "wb_drop"
    rc, _, err = mix_inproc("--wholebody", WB_JSON, "--images", IMAGES, "--wholebody-fields",
                            "drop", "-o", out2)
    assert rc == 0, err
    for a_in, a_out in zip(src, load(out2 / "annotations" / "coco_train.json")["annotations"]):
        assert json.dumps(a_out["keypoints"]) == json.dumps(a_in["keypoints"])
        assert not any(k.endswith(("_kpts", "_valid", "_box")) for k in a_out)


def test_crowdpose14_to_coco17_reports_dropped_and_unmatched(tmp_path):
    # A CrowdPose-style file made from the real COCO annotations: 12 body joints as they are,
    # head = the nose, neck = the shoulders' midpoint (labelled when both shoulders are).
    data = load(COCO_JSON)
    originals = copy.deepcopy(data["annotations"])
    data["categories"][0]["keypoints"] = CROWDPOSE14
    labelled_extra = 0
    for ann in data["annotations"]:
        kp = ann["keypoints"]
        ls, rs = kp[15:18], kp[18:21]
        neck = ([(ls[0] + rs[0]) / 2, (ls[1] + rs[1]) / 2, 2] if ls[2] and rs[2] else [0, 0, 0])
        ann["keypoints"] = kp[15:] + kp[0:3] + neck
        ann["num_keypoints"] = sum(1 for v in ann["keypoints"][2::3] if v > 0)
        labelled_extra += (kp[2] > 0) + (neck[2] > 0)
    crowd = tmp_path / "crowdpose_style.json"
    crowd.write_text(json.dumps(data))
    out = tmp_path / "out"
    r = mix_cli("--coco", crowd, "--images", IMAGES, "-o", out)
    assert r.returncode == 0, r.stderr
    got = load(out / "annotations" / "coco_train.json")["annotations"]
    for a_coco, a_out in zip(originals, got):
        assert a_out["keypoints"][:15] == [0] * 15  # nose, eyes, ears: v=0, x=y=0
        assert a_out["keypoints"][15:] == a_coco["keypoints"][15:]
        assert a_out["num_keypoints"] == sum(1 for v in a_coco["keypoints"][17::3] if v > 0)
    m = load(out / "mix_report.json")["sources"]["crowdpose_style"]["keypoint_mapping"]["person"]
    assert m["schema"] == "crowdpose14"
    assert m["dropped"] == ["head", "neck"]
    assert m["unmatched"] == ["nose", "left_eye", "right_eye", "left_ear", "right_ear"]
    assert m["labelled_points_dropped"] == labelled_extra > 0
    assert ("dropped: head, neck; unmatched, written v=0: nose, left_eye, right_eye, left_ear, "
            "right_ear") in r.stdout


def test_category_map_renames_and_drops(synth, tmp_path):
    cmap = tmp_path / "map.yaml"
    cmap.write_text("mug: cup\nknife: null\nunicorn: horse\n")
    out = tmp_path / "out"
    rc, stdout, err = mix_inproc("--synthetic", synth, "--category-map", cmap, "-o", out)
    assert rc == 0, err
    syn = load(synth / "annotations" / "coco_train_synth.json")
    names_in = Counter({c["id"]: c["name"] for c in syn["categories"]}[a["category_id"]]
                       for a in syn["annotations"])
    coco = load(out / "annotations" / "coco_train.json")
    names = {c["id"]: c["name"] for c in coco["categories"]}
    assert "cup" in names.values() and not {"mug", "knife"} & set(names.values())
    names_out = Counter(names[a["category_id"]] for a in coco["annotations"])
    assert names_out["cup"] == names_in["mug"] and "knife" not in names_out
    rep = load(out / "mix_report.json")
    assert rep["sources"]["kitchen"]["annotations_dropped_by_category_map"] == names_in["knife"]
    assert rep["category_map_unused"] == ["unicorn"]


# --------------------------------------------------------------------------------------------
# Splits and curriculum
# --------------------------------------------------------------------------------------------

def test_validation_split_stays_real(synth, tmp_path):
    train = _coco_subset(tmp_path, "train.json", {196141, 197388})
    val = _coco_subset(tmp_path, "val.json", {785, 40083})
    out = tmp_path / "out"
    rc, _, err = mix_inproc("--synthetic", synth, "--coco", train, "--images", IMAGES,
                            "--coco", val, "--images", IMAGES, "--split", "val",
                            "--synthetic-ratio", "0.5", "-o", out)
    assert rc == 0, err
    tr = load(out / "annotations" / "coco_train.json")
    va = load(out / "annotations" / "coco_val.json")
    assert Counter(i["source"] for i in tr["images"]) == {"synthetic": 2, "real": 2}
    assert [i["source_image_id"] for i in va["images"]] == [785, 40083]
    assert {i["source"] for i in va["images"]} == {"real"} and len(va["annotations"]) == 4
    assert not {i["id"] for i in tr["images"]} & {i["id"] for i in va["images"]}  # global ids
    assert {ln["source"] for ln in manifest(out) if ln["split"] == "val"} == {"real"}
    assert load(out / "mix_report.json")["splits"]["val"]["real_only"] is True

    bad = tmp_path / "bad"
    rc, _, err = mix_inproc("--synthetic", synth, "--split", "val", "--coco", val, "--images",
                            IMAGES, "-o", bad)
    msg = one_line_error(rc, err, bad)
    assert "'val'" in msg and "real only" in msg
    rc, _, err = mix_inproc("--coco", train, "--images", IMAGES, "--coco", COCO_JSON,
                            "--images", IMAGES, "--split", "val", "-o", bad)
    assert "000000196141.jpg" in one_line_error(rc, err, bad)  # in train and in val


def test_curriculum_writes_pretrain_and_finetune(synth, tmp_path):
    out = tmp_path / "cur"
    r = mix_cli("--synthetic", synth, "--coco", COCO_JSON, "--images", IMAGES,
                "--curriculum", repr(1 / 3), "-o", out)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (out / "annotations").iterdir()) == \
        ["coco_finetune.json", "coco_pretrain.json"]
    pre = load(out / "annotations" / "coco_pretrain.json")["images"]
    fin = load(out / "annotations" / "coco_finetune.json")["images"]
    assert Counter(i["source"] for i in pre) == {"synthetic": 4}
    # all 4 real + round(4 * (1/3) / (2/3)) = 2 synthetic: synthetic is 1/3 of the set
    assert Counter(i["source"] for i in fin) == {"real": 4, "synthetic": 2}
    rep = load(out / "mix_report.json")["splits"]
    assert rep["finetune"]["synthetic_fraction"] == pytest.approx(1 / 3)
    assert rep["pretrain"]["synthetic_fraction"] == 1.0
    assert Counter(ln["split"] for ln in manifest(out)) == {"pretrain": 4, "finetune": 6}


# --------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------

def _bad_case(tmp_path: Path, case: str) -> tuple[list, list[str], dict]:
    """(source args, words the error names, expected after --skip-bad)."""
    data = load(COCO_JSON)
    path = tmp_path / "person_keypoints.json"
    if case == "missing_image":
        imgs = tmp_path / "images"
        imgs.mkdir()
        for f in IMAGES.iterdir():
            if f.name != "000000197388.jpg":
                shutil.copyfile(f, imgs / f.name)
        path.write_text(json.dumps(data))
        return (["--coco", path, "--images", imgs],
                [str(path), "image id 197388", "000000197388.jpg", "not found"],
                {"images": 3, "annotations": 9, "bad": {"missing_image": 1}})
    if case == "keypoint_length":
        ann = data["annotations"][1]  # first person of image 40083 (3 persons)
        ann["keypoints"] = ann["keypoints"][:48]
        path.write_text(json.dumps(data))
        return (["--coco", path, "--images", IMAGES],
                [str(path), f"annotation id {ann['id']}", "48 values", "expected 51"],
                {"images": 3, "annotations": 11, "bad": {"keypoint_length": 1}})
    if case == "duplicate_annotation_id":
        a4, a5 = data["annotations"][4], data["annotations"][5]  # both in image 196141 (5)
        a5["id"] = a4["id"]
        path.write_text(json.dumps(data))
        return (["--coco", path, "--images", IMAGES],
                [str(path), f"annotation id {a4['id']}", "duplicate annotation id"],
                {"images": 3, "annotations": 9, "bad": {"duplicate_id": 1}})
    if case == "duplicate_image_id":
        data["images"][3]["id"] = data["images"][2]["id"]  # 197388 claims 196141's id
        path.write_text(json.dumps(data))
        return (["--coco", path, "--images", IMAGES],
                [str(path), "image id 196141", "duplicate image id"],
                # the 5 annotations of 197388 now name no image: bad entries of their own
                {"images": 2, "annotations": 4, "bad": {"duplicate_id": 1, "bad_entry": 5}})
    if case == "broken_json_line":
        # A JSONL manifest of the real images with their annotations; line 3 is cut short.
        anns = {}
        for a in data["annotations"]:
            anns.setdefault(a["image_id"], []).append(without(a, "id", "image_id",
                                                              "category_id"))
        lines = [json.dumps({"image": f"images/{i['file_name']}", "source": "real",
                             "split": "train", "width": i["width"], "height": i["height"],
                             "annotations": anns[i["id"]]}) for i in data["images"]]
        lines[2] = lines[2][:40]
        path = tmp_path / "real.jsonl"
        path.write_text("\n".join(lines) + "\n")
        return (["--manifest", path, "--images", DATA],
                [str(path), "line 3", "broken JSON"],
                {"images": 3, "annotations": 9, "bad": {"broken_json": 1}})
    raise AssertionError(case)


@pytest.mark.parametrize("case", ["missing_image", "keypoint_length", "duplicate_annotation_id",
                                  "duplicate_image_id", "broken_json_line"])
def test_bad_entries_are_named_or_skipped_and_counted(tmp_path, case):
    src_args, words, expected = _bad_case(tmp_path, case)
    out = tmp_path / "out"
    rc, _, err = mix_inproc(*src_args, "-o", out)
    msg = one_line_error(rc, err, out)
    for w in words:
        assert w in msg, (w, msg)

    rc, stdout, err = mix_inproc(*src_args, "--skip-bad", "-o", out)
    assert rc == 0, err
    coco = load(out / "annotations" / "coco_train.json")
    assert len(coco["images"]) == expected["images"]
    assert len(coco["annotations"]) == expected["annotations"]
    rep = next(iter(load(out / "mix_report.json")["sources"].values()))
    assert rep["bad_entries"] == expected["bad"]
    assert rep["dropped_images"] == 4 - expected["images"]
    assert "skipped bad entries" in stdout


def test_broken_coco_json_fails_even_with_skip_bad(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text(COCO_JSON.read_text()[:5000])
    out = tmp_path / "out"
    rc, _, err = mix_inproc("--coco", broken, "--images", IMAGES, "--skip-bad", "-o", out)
    msg = one_line_error(rc, err, out)
    assert str(broken) in msg and "broken JSON at line" in msg


def test_mix_config_yaml_and_its_key_errors(synth, base_mix, tmp_path):
    cfg = tmp_path / "mix.yaml"
    cfg.write_text(f"synthetic_ratio: 0.5\nsources:\n"
                   f"  - {{type: synthetic, path: {synth}}}\n"
                   f"  - {{type: coco, path: {COCO_JSON}, images: {IMAGES}}}\n")
    out = tmp_path / "out"
    rc, _, err = mix_inproc("--config", cfg, "-o", out)
    assert rc == 0, err
    base, _ = base_mix
    for rel in ("annotations/coco_train.json", "manifest.jsonl"):
        assert (out / rel).read_bytes() == (base / rel).read_bytes()

    for text, words in ((cfg.read_text() + "sourcs: []\n", ["'sourcs'"]),
                        (cfg.read_text().replace("type: coco,", "type: coco, wieght: 2,"),
                         ["sources[1]", "'wieght'"]),
                        (cfg.read_text().replace("0.5", "1.5"), ["synthetic_ratio", "1.5"])):
        cfg.write_text(text)
        bad = tmp_path / "bad"
        rc, _, err = mix_inproc("--config", cfg, "-o", bad)
        msg = one_line_error(rc, err, bad)
        assert str(cfg) in msg and all(w in msg for w in words), msg


# --------------------------------------------------------------------------------------------
# Paths and output folder
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["copy", "symlink", "absolute", "relative"])
def test_image_modes_resolve_from_out(synth, tmp_path, mode):
    out = tmp_path / "out"
    rc, _, err = mix_inproc("--synthetic", synth, "--coco", COCO_JSON, "--images", IMAGES,
                            "--images", mode, "-o", out)
    assert rc == 0, err
    images = load(out / "annotations" / "coco_train.json")["images"]
    assert len(images) == 8
    originals = {"kitchen": synth, "person_keypoints": IMAGES}
    for img in images:
        f = out / img["file_name"]
        assert f.is_file(), img["file_name"]
        if mode in ("copy", "symlink"):
            assert img["file_name"].startswith(f"images/{img['source_name']}/")
            rel = img["file_name"].split("/", 2)[2]
            original = originals[img["source_name"]] / rel
            assert f.is_symlink() == (mode == "symlink")
            assert f.read_bytes() == original.read_bytes()
            if mode == "symlink":
                assert f.resolve() == original.resolve()
        else:
            assert Path(img["file_name"]).is_absolute() == (mode == "absolute")
            assert not (out / "images").exists()
    assert [ln["image"] for ln in manifest(out)] == [i["file_name"] for i in images]


def test_output_is_atomic_and_not_overwritten_without_flag(synth, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    args = ["--synthetic", synth, "-q"]
    rc, _, err = mix_inproc(*args, "-o", out)
    assert rc == 2 and "--overwrite" in err and len(err.strip().splitlines()) == 1
    assert (out / "keep.txt").read_text() == "mine"
    rc, _, err = mix_inproc(*args, "-o", out, "--overwrite")
    assert rc == 0, err
    assert not (out / "keep.txt").exists() and (out / "annotations" / "coco_train.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporary folders left
    rc, _, err = mix_inproc(*args, "-o", synth, "--overwrite")  # would delete its own input
    assert rc == 2 and "holds input" in err and (synth / "manifest.jsonl").is_file()


# --------------------------------------------------------------------------------------------
# BOP input
# --------------------------------------------------------------------------------------------

def test_bop_source_boxes_from_masks_and_from_gt_info(synth, tmp_path):
    syn = load(synth / "annotations" / "coco_train_synth.json")
    key_of = {i["id"]: (i["scene_id"], i["im_id"]) for i in syn["images"]}
    expected = {(*key_of[a["image_id"]], a["gt_id"]): a for a in syn["annotations"]
                if "gt_id" in a}
    out = tmp_path / "bop"
    rc, _, err = mix_inproc("--bop", synth, "--as", "synthetic", "-o", out)
    assert rc == 0, err
    coco = load(out / "annotations" / "coco_train.json")
    names = {c["id"]: c["name"] for c in coco["categories"]}
    syn_names = {c["id"]: c["name"] for c in syn["categories"]}
    img_key = {i["id"]: (i["scene_id"], i["im_id"]) for i in coco["images"]}
    got = {(*img_key[a["image_id"]], a["gt_id"]): a for a in coco["annotations"]}
    assert got.keys() == expected.keys()  # the visible instances, as synthgen's COCO has them
    for k, a in got.items():
        e = expected[k]
        assert (a["bbox"], a["area"], a["segmentation"]) == (e["bbox"], e["area"],
                                                            e["segmentation"])
        assert names[a["category_id"]] == syn_names[e["category_id"]]
        assert a["num_keypoints"] == 0 and len(a["cam_t_m2c"]) == 3

    # Without mask_visib: the box comes from scene_gt_info (BOP w = x_max - x_min -> COCO w + 1).
    bop = tmp_path / "bop_nomask"
    shutil.copytree(synth, bop, ignore=shutil.ignore_patterns("mask*", "depth*"))
    out2 = tmp_path / "bop2"
    rc, _, err = mix_inproc("--bop", bop, "-o", out2)
    assert rc == 0, err
    coco2 = load(out2 / "annotations" / "coco_train.json")
    img_key = {i["id"]: (i["scene_id"], i["im_id"]) for i in coco2["images"]}
    infos = {int(d.name): load(d / "scene_gt_info.json") for d in (bop / "train_synth").iterdir()}
    n = 0
    for a in coco2["annotations"]:
        scene, im = img_key[a["image_id"]]
        info = infos[scene][str(im)][a["gt_id"]]
        x, y, w, h = info["bbox_visib"]
        assert a["bbox"] == [x, y, w + 1, h + 1] and a["area"] == info["px_count_visib"] > 0
        assert "segmentation" not in a
        n += 1
    assert n == sum(1 for d in infos.values() for im in d.values() for i in im
                    if i["px_count_visib"] > 0)
    assert {i["source"] for i in coco2["images"]} == {"real"}
