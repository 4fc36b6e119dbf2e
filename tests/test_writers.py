"""Writers: save/load round trips, byte stability, a written shard read back by COCO tools."""
from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
import trimesh
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
from scipy.spatial.distance import pdist
from scipy.spatial.transform import Rotation

from conftest import REPO, TINY_ARGS, run_cli

from synthgen.groundtruth.masks import bbox_from_mask
from synthgen.groundtruth.records import FrameRecord, ObjectGT, PersonGT
from synthgen.writers import (ModelGeometry, compute_model_info, load_camera, load_coco, load_dataset_json,
                              load_depth, load_json, load_manifest, load_mask, load_model_ply,
                              load_models_info, load_scene_camera, load_scene_gt,
                              load_scene_gt_info, load_scene_humans, merge_coco_parts,
                              merge_manifest_parts, save_camera, save_coco, save_dataset_json,
                              save_json, save_manifest, save_model_ply, save_models, save_models_info,
                              save_scene_camera, save_scene_gt, save_scene_gt_info,
                              save_scene_humans, write_shard_files)
from synthgen.writers.bop import depth_to_uint16, load_image
from synthgen.writers.humans import person_entry

W, H = 32, 24
DEPTH_SCALE = 0.1
CATEGORIES = {3: "mug", 7: "bowl"}
K = np.array([[30.0, 0.0, 15.3], [0.0, 31.0, 11.7], [0.0, 0.0, 1.0]])


# ------------------------------------------------------------------------------------------
# Hand-made frames
# ------------------------------------------------------------------------------------------

def _rect(y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    m = np.zeros((H, W), dtype=bool)
    m[y0:y1, x0:x1] = True
    return m


def _keypoints(rng: np.random.Generator, n: int, mask: np.ndarray, vis: np.ndarray) -> np.ndarray:
    """(n, 3) keypoints on pixels of ``mask`` with the given visibility (0 -> u = v = 0)."""
    ys, xs = np.nonzero(mask)
    idx = rng.integers(0, len(xs), n)
    k = np.zeros((n, 3))
    k[:, 0] = xs[idx] + rng.uniform(-0.4, 0.4, n)
    k[:, 1] = ys[idx] + rng.uniform(-0.4, 0.4, n)
    k[:, 2] = vis
    k[vis == 0, :2] = 0.0
    return k


def _person(rng: np.random.Generator, mask: np.ndarray, person_id: int) -> PersonGT:
    vis17 = np.array([2, 2, 1, 0, 2, 2, 2, 1, 2, 2, 0, 2, 2, 1, 2, 2, 2])
    k17 = _keypoints(rng, 17, mask, vis17)
    vis133 = np.zeros(133, dtype=int)
    vis133[:17] = vis17
    vis133[17:20] = [2, 1, 0]          # some foot points
    vis133[91:100] = 2                  # part of the left hand; face and right hand unlabelled
    k133 = _keypoints(rng, 133, mask, vis133)
    k133[:17] = k17
    joints = rng.normal(size=(55, 3)) * 0.3 + [0.0, 0.0, 3.0]
    joints[22:25] = np.nan              # mannequin: no jaw / eyes
    smplx = {"betas": rng.normal(size=10).tolist(), "global_orient": [0.1, -0.2, 0.3],
             "body_pose": rng.normal(size=63).tolist(), "transl": [0.5, -1.0, 0.0]}
    return PersonGT(
        person_id=person_id, body_model="mannequin", gender="neutral", smplx=smplx,
        joints_3d_cam=joints, keypoints_coco17=k17, keypoints_wholebody133=k133,
        mask_visib=mask, bbox_visib=bbox_from_mask(mask), bbox_amodal=bbox_from_mask(mask),
        visib_fract=0.9, held_object_gt_ids=[0])


def _object(rng: np.random.Generator, amodal: np.ndarray, visib: np.ndarray, obj_id: int,
            with_amodal: bool) -> ObjectGT:
    n_all, n_vis = int(amodal.sum()), int(visib.sum())
    return ObjectGT(
        gt_id=0, obj_id=obj_id, name=CATEGORIES[obj_id],
        R_m2c=Rotation.random(random_state=int(rng.integers(1 << 30))).as_matrix(),
        t_m2c=np.array([0.05, -0.0123456789, 1.234]) + rng.normal(size=3) * 0.01,
        mask_visib=visib, mask=amodal if with_amodal else None,
        bbox_obj=bbox_from_mask(amodal), bbox_visib=bbox_from_mask(visib),
        px_count_all=n_all, px_count_valid=n_all, px_count_visib=n_vis,
        visib_fract=n_vis / n_all)


def _frame(rng: np.random.Generator, im_id: int, obj_id: int, with_amodal: bool) -> FrameRecord:
    person_mask = _rect(6, 23, 14 + im_id, 26 + im_id)
    person_mask[6:9, 14 + im_id:17 + im_id] = False       # not a plain rectangle
    amodal = _rect(3 + im_id, 14, 4, 18)
    visib = amodal & ~person_mask
    depth = rng.uniform(0.3, 5.0, (H, W)).astype(np.float32)
    depth[0, :5] = 0.0                                     # no measurement
    depth[1, :3] = [6.55, 6.6, 50.0]                       # 6.55 m fits, beyond 6.5535 m does not
    return FrameRecord(
        split="train_synth", scene_id=3, im_id=im_id, view_id=im_id, frame_id=10 + im_id,
        seed=1234, width=W, height=H, K=K.copy(),
        R_w2c=Rotation.random(random_state=im_id).as_matrix(),
        t_w2c=np.array([0.1, 0.2, 2.5]) * (im_id + 1),
        rgb=rng.integers(0, 256, (H, W, 3), dtype=np.uint8), depth=depth,
        depth_gt=np.clip(depth + 0.001, 0.0, 6.0).astype(np.float32),
        objects=[_object(rng, amodal, visib, obj_id, with_amodal)],
        persons=[_person(rng, person_mask, person_id=0)])


@pytest.fixture(scope="module")
def frames() -> list[FrameRecord]:
    rng = np.random.default_rng(42)
    return [_frame(rng, 0, 3, True), _frame(rng, 1, 7, False)]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory, frames) -> Path:
    """A dataset root with one shard written twice (second copy for byte comparison)."""
    root = tmp_path_factory.mktemp("ds")
    write_shard_files(root / "train_synth" / "000003", frames, depth_scale=DEPTH_SCALE,
                      categories=CATEGORIES)
    write_shard_files(root / "again" / "000003", frames, depth_scale=DEPTH_SCALE,
                      categories=CATEGORIES)
    coco = merge_coco_parts([root / "train_synth" / "000003" / "coco_part.json"], CATEGORIES)
    (root / "annotations").mkdir()
    save_coco(root / "annotations" / "coco_train_synth.json", coco)
    return root


def _quiet(fn, *args):
    with contextlib.redirect_stdout(io.StringIO()):
        return fn(*args)


# ------------------------------------------------------------------------------------------
# Shard contents
# ------------------------------------------------------------------------------------------

def test_shard_file_set(dataset):
    shard = dataset / "train_synth" / "000003"
    names = sorted(str(p.relative_to(shard)) for p in shard.rglob("*") if p.is_file())
    assert names == sorted([
        "coco_part.json", "manifest_part.jsonl", "scene_camera.json", "scene_gt.json",
        "scene_gt_info.json", "scene_humans.json",
        "rgb/000000.png", "rgb/000001.png", "depth/000000.png", "depth/000001.png",
        "depth_gt/000000.png", "depth_gt/000001.png",
        "mask/000000_000000.png",                      # frame 1's object has no amodal mask
        "mask_visib/000000_000000.png", "mask_visib/000001_000000.png",
        # people: visible masks named {im_id}_{person_id}; these PersonGTs carry no amodal mask
        "mask_visib_person/000000_000000.png", "mask_visib_person/000001_000000.png"])
    assert not (shard / "DONE").exists()


def test_shard_is_byte_stable(dataset):
    a, b = dataset / "train_synth" / "000003", dataset / "again" / "000003"
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files
    for rel in files:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


def test_shard_images_depth_and_masks_decode(dataset, frames):
    shard = dataset / "train_synth" / "000003"
    for f in frames:
        stem = f"{f.im_id:06d}"
        np.testing.assert_array_equal(load_image(shard / "rgb" / f"{stem}.png"), f.rgb)
        raw = (shard / "depth" / f"{stem}.png").read_bytes()
        assert raw[24] == 16 and raw[25] == 0          # PNG IHDR: 16-bit greyscale
        for sub, truth in (("depth", f.depth), ("depth_gt", f.depth_gt)):
            got = load_depth(shard / sub / f"{stem}.png", DEPTH_SCALE)
            t = truth.astype(np.float64)
            storable = (t > 0) & (t * 1000.0 / DEPTH_SCALE <= 65535)
            assert np.abs(got[storable] - t[storable]).max() <= DEPTH_SCALE / 2 / 1000 + 1e-12
            assert np.all(got[~storable] == 0)
        got = load_depth(shard / "depth" / f"{stem}.png", DEPTH_SCALE)
        assert got[1, 0] == pytest.approx(6.55, abs=1e-6) and got[1, 1] == 0 and got[1, 2] == 0
        raw_mask = load_image(shard / "mask_visib" / f"{stem}_000000.png")
        assert raw_mask.dtype == np.uint8 and set(np.unique(raw_mask)) == {0, 255}
        np.testing.assert_array_equal(load_mask(shard / "mask_visib" / f"{stem}_000000.png"),
                                      f.objects[0].mask_visib)
    np.testing.assert_array_equal(load_mask(shard / "mask" / "000000_000000.png"),
                                  frames[0].objects[0].mask)


def test_depth_encoding_rounds_and_drops_unrepresentable():
    d = np.array([[0.0, 0.00004, 0.00006, 1.23456, 6.5535, 6.55356, -1.0, np.nan, np.inf]])
    v = depth_to_uint16(d, 0.1)
    assert v.dtype == np.uint16
    assert v.tolist() == [[0, 0, 1, 12346, 65535, 0, 0, 0, 0]]


def test_shard_bop_json_in_mm(dataset, frames):
    shard = dataset / "train_synth" / "000003"
    cams = load_scene_camera(shard / "scene_camera.json")
    gts = load_scene_gt(shard / "scene_gt.json")
    infos = load_scene_gt_info(shard / "scene_gt_info.json")
    humans = load_scene_humans(shard / "scene_humans.json")
    assert sorted(cams) == sorted(gts) == sorted(infos) == sorted(humans) == [0, 1]
    for f in frames:
        c = cams[f.im_id]
        np.testing.assert_allclose(c["cam_K"], f.K, rtol=0, atol=1e-12)
        np.testing.assert_allclose(c["cam_R_w2c"], f.R_w2c, rtol=0, atol=1e-12)
        np.testing.assert_allclose(c["cam_t_w2c"], f.t_w2c.reshape(3, 1) * 1000, rtol=0, atol=1e-6)
        assert c["depth_scale"] == DEPTH_SCALE
        o = f.objects[0]
        (g,) = gts[f.im_id]
        assert g["obj_id"] == o.obj_id
        np.testing.assert_allclose(g["cam_R_m2c"], o.R_m2c, rtol=0, atol=1e-12)
        np.testing.assert_allclose(g["cam_t_m2c"], o.t_m2c.reshape(3, 1) * 1000, rtol=0, atol=1e-6)
        (i,) = infos[f.im_id]
        assert i == {"bbox_obj": o.bbox_obj, "bbox_visib": o.bbox_visib,
                     "px_count_all": o.px_count_all, "px_count_valid": o.px_count_valid,
                     "px_count_visib": o.px_count_visib, "visib_fract": o.visib_fract}
        (p,) = humans[f.im_id]
        np.testing.assert_array_equal(p["cam_t_w2c"], f.t_w2c)        # metres here
        np.testing.assert_array_equal(p["keypoints_coco17"], f.persons[0].keypoints_coco17)
        assert p["held_object_gt_ids"] == [0]
    assert (shard / "scene_humans.json").read_text().splitlines()[1] == '  "units": "m",'


def test_manifest_part(dataset, frames):
    lines = load_manifest(dataset / "train_synth" / "000003" / "manifest_part.jsonl")
    assert [ln["im_id"] for ln in lines] == [0, 1]
    assert lines[1] == {"image": "train_synth/000003/rgb/000001.png", "source": "synthetic",
                        "split": "train_synth", "scene_id": 3, "im_id": 1, "view_id": 1,
                        "frame_id": 11, "seed": 1234, "width": W, "height": H,
                        "persons": 1, "objects": 1}
    assert all((dataset / ln["image"]).is_file() for ln in lines)


# ------------------------------------------------------------------------------------------
# COCO
# ------------------------------------------------------------------------------------------

def test_merged_coco_loads_and_masks_match(dataset, frames):
    path = dataset / "annotations" / "coco_train_synth.json"
    coco = _quiet(COCO, str(path))
    assert sorted(coco.getImgIds()) == [1, 2]
    cats = coco.loadCats(coco.getCatIds())
    assert [(c["id"], c["name"]) for c in cats] == [(1, "person"), (4, "mug"), (8, "bowl")]
    assert len(cats[0]["keypoints"]) == 17 and cats[0]["keypoints"][16] == "right_ankle"
    assert [16, 14] in cats[0]["skeleton"] and len(cats[0]["skeleton"]) == 19
    by_im = {f.im_id: f for f in frames}
    n = 0
    for img in coco.loadImgs(coco.getImgIds()):
        assert (dataset / img["file_name"]).is_file()
        f = by_im[img["im_id"]]
        assert (img["width"], img["height"], img["split"], img["scene_id"]) == (W, H, "train_synth", 3)
        for ann in coco.loadAnns(coco.getAnnIds(imgIds=img["id"])):
            n += 1
            truth = (f.persons[0].mask_visib if ann["category_id"] == 1
                     else f.objects[ann["gt_id"]].mask_visib)
            np.testing.assert_array_equal(coco.annToMask(ann).astype(bool), truth)
            assert ann["area"] == int(truth.sum())
            x, y, w, h = bbox_from_mask(truth)
            assert ann["bbox"] == [x, y, w + 1, h + 1]
            assert isinstance(ann["segmentation"]["counts"], str) and ann["iscrowd"] == 0
    assert n == 4
    assert [a["id"] for a in coco.dataset["annotations"]] == [1, 2, 3, 4]


def test_person_annotation_wholebody_fields(dataset, frames):
    coco = load_coco(dataset / "annotations" / "coco_train_synth.json")
    ann = next(a for a in coco["annotations"] if a["category_id"] == 1 and a["image_id"] == 1)
    p = frames[0].persons[0]
    kp = np.array(ann["keypoints"]).reshape(17, 3)
    np.testing.assert_array_equal(kp, p.keypoints_coco17)
    assert ann["num_keypoints"] == int((p.keypoints_coco17[:, 2] > 0).sum()) == 15
    assert kp[3].tolist() == [0, 0, 0]
    assert len(ann["foot_kpts"]) == 18 and ann["foot_valid"] is True
    assert ann["face_kpts"] == [0] * 204 and ann["face_valid"] is False
    assert ann["face_box"] == [0, 0, 0, 0]
    assert ann["righthand_valid"] is False and ann["righthand_box"] == [0, 0, 0, 0]
    lh = p.keypoints_wholebody133[91:112]
    np.testing.assert_array_equal(np.array(ann["lefthand_kpts"]).reshape(21, 3), lh)
    pts = lh[lh[:, 2] > 0, :2]
    assert ann["lefthand_valid"] is True
    np.testing.assert_allclose(ann["lefthand_box"], [*pts.min(0), *(pts.max(0) - pts.min(0))])
    assert "foot_box" not in ann and "im_id" not in ann


def test_object_annotation_fields(dataset):
    coco = load_coco(dataset / "annotations" / "coco_train_synth.json")
    objs = [a for a in coco["annotations"] if a["category_id"] != 1]
    assert [(a["image_id"], a["obj_id"], a["gt_id"], a["category_id"]) for a in objs] == \
        [(1, 3, 0, 4), (2, 7, 0, 8)]
    for a in objs:  # zero keypoint fields, so keypoint tools ignore objects instead of failing
        assert a["num_keypoints"] == 0 and a["keypoints"] == [0] * 51
        assert len(a["face_kpts"]) == 204 and not any(a["face_kpts"]) and a["face_valid"] is False


def test_coco_eval_against_itself_is_perfect(dataset):
    gt = _quiet(COCO, str(dataset / "annotations" / "coco_train_synth.json"))
    anns = gt.dataset["annotations"]
    results = {
        "bbox": [{"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"],
                  "score": 1.0} for a in anns],
        "segm": [{"image_id": a["image_id"], "category_id": a["category_id"],
                  "segmentation": a["segmentation"], "score": 1.0} for a in anns],
        "keypoints": [{"image_id": a["image_id"], "category_id": 1, "keypoints": a["keypoints"],
                       "score": 1.0} for a in anns if a["category_id"] == 1],
    }
    for iou_type, res in results.items():
        dt = _quiet(gt.loadRes, res)
        ev = COCOeval(gt, dt, iou_type)
        _quiet(ev.evaluate)
        _quiet(ev.accumulate)
        _quiet(ev.summarize)
        assert ev.stats[0] == pytest.approx(1.0), iou_type


def test_wholebody_eval_with_xtcocotools_is_perfect(dataset):
    # mmpose reads and evaluates COCO-WholeBody through xtcocotools, over every annotation.
    xt_coco = pytest.importorskip("xtcocotools.coco")
    xt_eval = pytest.importorskip("xtcocotools.cocoeval")
    gt = _quiet(xt_coco.COCO, str(dataset / "annotations" / "coco_train_synth.json"))
    parts = ("keypoints", "foot_kpts", "face_kpts", "lefthand_kpts", "righthand_kpts")
    for ann in gt.dataset["annotations"]:  # what mmpose's CocoWholeBodyDataset concatenates
        assert len([x for k in parts for x in ann[k]]) == 133 * 3
    res = [{"image_id": a["image_id"], "category_id": 1, "score": 1.0, **{k: a[k] for k in parts}}
           for a in gt.dataset["annotations"] if a["category_id"] == 1]
    dt = _quiet(gt.loadRes, res)
    ev = xt_eval.COCOeval(gt, dt, "keypoints_wholebody", np.full(133, 0.05), use_area=True)
    ev.params.useSegm = None
    _quiet(ev.evaluate)
    _quiet(ev.accumulate)
    _quiet(ev.summarize)
    assert ev.stats[0] == pytest.approx(1.0)


def test_merge_assigns_ids_in_part_order(tmp_path, frames):
    a, b = tmp_path / "a", tmp_path / "b"
    write_shard_files(a, frames[:1], categories=CATEGORIES)
    write_shard_files(b, frames[1:], categories=CATEGORIES, rgb_format="jpg", jpeg_quality=80)
    coco = merge_coco_parts([b / "coco_part.json", a / "coco_part.json"], CATEGORIES)
    assert [(i["id"], i["im_id"]) for i in coco["images"]] == [(1, 1), (2, 0)]
    assert coco["images"][0]["file_name"] == "train_synth/000003/rgb/000001.jpg"
    assert (b / "rgb" / "000001.jpg").read_bytes()[:2] == b"\xff\xd8"
    assert [a_["image_id"] for a_ in coco["annotations"]] == [1, 1, 2, 2]
    assert [a_["id"] for a_ in coco["annotations"]] == [1, 2, 3, 4]
    with pytest.raises(ValueError):
        merge_coco_parts([a / "coco_part.json"], {7: "bowl"})  # obj 3 has no category


def test_streamed_coco_merge_writes_the_same_bytes(tmp_path, frames):
    """save_merged_coco (one part in memory at a time, the runner's way) gives the bytes of
    save_coco(merge_coco_parts(...)), parts with no annotations included, and the same errors."""
    from synthgen.writers import save_merged_coco

    parts = []
    for k, (sub, extra) in enumerate([(frames[:1], {}), (frames[1:], {"rgb_format": "jpg"}), (frames, {})]):
        d = tmp_path / f"p{k}"
        write_shard_files(d, sub, categories=CATEGORIES, **extra)
        parts.append(d / "coco_part.json")
    empty = tmp_path / "empty_part.json"
    save_coco(empty, {"images": [dict(load_coco(parts[0])["images"][0], im_id=9)], "annotations": []})
    for order in ([parts[1], empty, parts[0], parts[2]], [empty], []):
        save_coco(tmp_path / "ref.json", merge_coco_parts(order, CATEGORIES))
        n = save_merged_coco(tmp_path / "streamed.json", order, CATEGORIES)
        assert (tmp_path / "streamed.json").read_bytes() == (tmp_path / "ref.json").read_bytes()
        ref = load_coco(tmp_path / "ref.json")
        assert n == (len(ref["images"]), len(ref["annotations"]))
    assert n == (0, 0) and load_coco(tmp_path / "streamed.json")["images"] == []
    with pytest.raises(ValueError, match="category_id"):
        save_merged_coco(tmp_path / "bad.json", [parts[0]], {7: "bowl"})


def test_invisible_object_has_no_coco_annotation_but_stays_in_bop(tmp_path, frames):
    f = frames[0]
    hidden = ObjectGT(**{**f.objects[0].__dict__, "mask_visib": np.zeros((H, W), bool),
                         "bbox_visib": [-1, -1, -1, -1], "px_count_visib": 0, "visib_fract": 0.0})
    fr = FrameRecord(**{**f.__dict__, "objects": [hidden]})
    write_shard_files(tmp_path, [fr], categories=CATEGORIES)
    part = load_coco(tmp_path / "coco_part.json")
    assert [a["category_id"] for a in part["annotations"]] == [1]
    assert len(load_scene_gt(tmp_path / "scene_gt.json")[0]) == 1
    assert load_scene_gt_info(tmp_path / "scene_gt_info.json")[0][0]["bbox_visib"] == [-1] * 4
    assert not load_mask(tmp_path / "mask_visib" / "000000_000000.png").any()


def test_shard_rejects_mixed_scenes_and_unknown_objects(tmp_path, frames):
    other = FrameRecord(**{**frames[1].__dict__, "scene_id": 4})
    with pytest.raises(ValueError, match="scene_id"):
        write_shard_files(tmp_path, [frames[0], other], categories=CATEGORIES)
    with pytest.raises(ValueError, match="obj_id"):
        write_shard_files(tmp_path, frames, categories={3: "mug"})


# ------------------------------------------------------------------------------------------
# Paired save/load round trips and the JSON layout
# ------------------------------------------------------------------------------------------

def _twice(tmp_path: Path, name: str, save, *args) -> Path:
    """Save twice, assert identical bytes, return the path."""
    p1, p2 = tmp_path / f"1_{name}", tmp_path / f"2_{name}"
    save(p1, *args)
    save(p2, *args)
    assert p1.read_bytes() == p2.read_bytes()
    return p1


def test_scene_camera_and_gt_roundtrip(tmp_path):
    rng = np.random.default_rng(3)
    cams, gts, infos = {}, {}, {}
    for im_id in range(12):  # > 10 ids: numeric key order must hold ("10" after "9")
        t = rng.normal(size=3) * 1234.5678
        cams[im_id] = {"cam_K": K, "depth_scale": 0.1,
                       "cam_R_w2c": Rotation.random(random_state=im_id).as_matrix(),
                       "cam_t_w2c": t}
        gts[im_id] = [{"obj_id": 5, "cam_R_m2c": Rotation.random(random_state=100 + im_id).as_matrix(),
                       "cam_t_m2c": rng.normal(size=(3, 1)) * 500}]
        infos[im_id] = [{"bbox_obj": [1, 2, 3, 4], "bbox_visib": [-1, -1, -1, -1],
                         "px_count_all": 10, "px_count_valid": 9, "px_count_visib": 0,
                         "visib_fract": 0.0}]
    p = _twice(tmp_path, "scene_camera.json", save_scene_camera, cams)
    back = load_scene_camera(p)
    assert list(back) == list(range(12))
    for im_id, c in cams.items():
        np.testing.assert_array_equal(back[im_id]["cam_K"], K)
        np.testing.assert_array_equal(back[im_id]["cam_R_w2c"], c["cam_R_w2c"])
        assert back[im_id]["cam_t_w2c"].shape == (3, 1)
        np.testing.assert_array_equal(back[im_id]["cam_t_w2c"].ravel(), c["cam_t_w2c"])
    assert isinstance(cams[0]["cam_K"], np.ndarray)  # input not modified
    lines = p.read_text().splitlines()
    assert len(lines) == 14 and lines[0] == "{" and lines[-1] == "}"
    assert [ln.split(":")[0].strip() for ln in lines[1:-1]] == [f'"{i}"' for i in range(12)]

    p = _twice(tmp_path, "scene_gt.json", save_scene_gt, gts)
    back = load_scene_gt(p)
    for im_id, g in gts.items():
        assert back[im_id][0]["obj_id"] == 5
        np.testing.assert_array_equal(back[im_id][0]["cam_R_m2c"], g[0]["cam_R_m2c"])
        np.testing.assert_array_equal(back[im_id][0]["cam_t_m2c"], g[0]["cam_t_m2c"])
    p = _twice(tmp_path, "scene_gt_info.json", save_scene_gt_info, infos)
    assert load_scene_gt_info(p) == infos


def test_camera_json_roundtrip(tmp_path):
    p = _twice(tmp_path, "camera.json", save_camera, K, W, H, 0.1)
    c = load_camera(p)
    np.testing.assert_array_equal(c["K"], np.array([[30.0, 0, 15.3], [0, 31.0, 11.7], [0, 0, 1]]))
    assert (c["width"], c["height"], c["depth_scale"]) == (W, H, 0.1)
    assert json.loads(p.read_text()) == {"cx": 15.3, "cy": 11.7, "fx": 30.0, "fy": 31.0,
                                         "width": W, "height": H, "depth_scale": 0.1,
                                         "intrinsics": "exact"}
    assert c["intrinsics"] == "exact" and c["focal_scale"] is None


def test_camera_json_says_whether_its_K_is_every_images(tmp_path):
    # a zoom range: the nominal K, the range, and "nominal"
    p = _twice(tmp_path, "camera.json", save_camera, K, W, H, 0.1, (0.9, 1.2))
    raw = json.loads(p.read_text())
    assert (raw["fx"], raw["fy"], raw["intrinsics"], raw["focal_scale"]) == (30.0, 31.0, "nominal", [0.9, 1.2])
    c = load_camera(p)
    assert c["intrinsics"] == "nominal" and c["focal_scale"] == (0.9, 1.2)
    np.testing.assert_array_equal(c["K"], K)
    # one fixed factor: every image has K with fx, fy times it, so the file holds that K
    p = _twice(tmp_path, "camera.json", save_camera, K, W, H, 0.1, (1.1, 1.1))
    raw = json.loads(p.read_text())
    assert (raw["fx"], raw["fy"], raw["cx"], raw["intrinsics"]) == (30.0 * 1.1, 31.0 * 1.1, 15.3, "exact")
    assert "focal_scale" not in raw
    # bop_toolkit's load_cam_params reads these keys only (inout.py); the extra ones are ignored
    assert {"cx", "cy", "fx", "fy", "width", "height", "depth_scale"} <= set(raw)


@pytest.mark.parametrize("zoom", [None, "1.1"])
def test_camera_json_against_scene_camera_of_a_render(tmp_path, tiny_dataset, zoom):
    """The kitchen at 64x48: with the default zoom range every cam_K is camera.json's nominal K
    with fx, fy times one factor in focal_scale; with a fixed factor every cam_K is exactly
    camera.json's K."""
    out = tiny_dataset
    if zoom is not None:
        out = tmp_path / "zoom"
        r = run_cli("render", REPO / "scenes" / "kitchen.yaml", *TINY_ARGS, f"camera.focal_scale=[{zoom},{zoom}]",
                    "-o", out, "--quiet")
        assert r.returncode == 0, r.stderr
    cam = load_camera(out / "camera.json")
    Ks = [c["cam_K"] for d in sorted((out / "train_synth").iterdir())
          for c in load_scene_camera(d / "scene_camera.json").values()]
    assert len(Ks) == 2
    K0 = cam["K"]
    if zoom is None:
        # the scene's configured zoom range (kitchen.yaml), as dataset.json records it
        lo, hi = load_dataset_json(out / "dataset.json")["config"]["camera"]["focal_scale"]
        assert cam["intrinsics"] == "nominal" and cam["focal_scale"] == (lo, hi) and lo < hi
        for Ki in Ks:
            s = Ki[0, 0] / K0[0, 0]
            assert lo <= s <= hi and Ki[1, 1] == pytest.approx(s * K0[1, 1], rel=1e-12)
            np.testing.assert_array_equal(Ki[:2, 2], K0[:2, 2])
        assert Ks[0][0, 0] != Ks[1][0, 0]      # two views, two zooms: no single K is the truth
    else:
        assert cam["intrinsics"] == "exact" and cam["focal_scale"] is None
        for Ki in Ks:
            np.testing.assert_array_equal(Ki, K0)


def test_scene_humans_roundtrip_with_nan_joints(tmp_path, frames):
    f = frames[0]
    humans = {0: [person_entry(f.persons[0], f.R_w2c, f.t_w2c)], 1: []}
    p = _twice(tmp_path, "scene_humans.json", save_scene_humans, humans)
    back = load_scene_humans(p)
    assert sorted(back) == [0, 1] and back[1] == []
    (q,) = back[0]
    src = f.persons[0]
    np.testing.assert_array_equal(q["joints_3d_cam"], src.joints_3d_cam)  # NaN rows equal too
    assert np.isnan(q["joints_3d_cam"][22:25]).all()
    np.testing.assert_array_equal(q["keypoints_wholebody133"], src.keypoints_wholebody133)
    np.testing.assert_array_equal(q["cam_R_w2c"], f.R_w2c)
    np.testing.assert_array_equal(q["smplx"]["body_pose"], src.smplx["body_pose"])
    assert q["joint_names"] == "smplx55" and q["body_model"] == "mannequin"
    assert q["bbox_visib"] == src.bbox_visib and q["visib_fract"] == 0.9
    assert "NaN" not in p.read_text()
    json.loads(p.read_text())  # strict JSON


def test_models_ply_and_info_roundtrip(tmp_path):
    mesh = trimesh.creation.icosphere(subdivisions=2, radius=0.04)
    verts = mesh.vertices * [1.0, 1.5, 0.5]        # an ellipsoid, metres
    save_model_ply(tmp_path / "obj_000001.ply", verts, mesh.faces)
    save_model_ply(tmp_path / "again.ply", verts, mesh.faces)
    assert (tmp_path / "obj_000001.ply").read_bytes() == (tmp_path / "again.ply").read_bytes()
    model = load_model_ply(tmp_path / "obj_000001.ply")
    # PLY stores float32 (as BOP models): exact against the float32 of the mm values.
    np.testing.assert_array_equal(model["pts"], (verts * 1000).astype(np.float32))
    np.testing.assert_array_equal(model["faces"], mesh.faces)
    n = model["normals"]
    np.testing.assert_allclose(np.linalg.norm(n, axis=1), 1.0, atol=1e-5)
    # Outward normals on a centred convex shape point away from the origin.
    assert (np.sum(n * model["pts"], axis=1) > 0).all()

    info = compute_model_info(model["pts"])
    assert info["diameter"] == pytest.approx(pdist(model["pts"]).max(), abs=1e-9)
    assert info["diameter"] == pytest.approx(120.0, abs=0.5)   # long axis 2 * 40 mm * 1.5
    assert info["min_y"] == pytest.approx(-60.0, abs=0.5)
    assert info["size_z"] == pytest.approx(40.0, abs=0.5)
    sym = {**info, "symmetries_discrete": [np.diag([-1.0, -1.0, 1.0, 1.0])],
           "symmetries_continuous": [{"axis": [0, 0, 1], "offset": [0, 0, 0]}]}
    p = _twice(tmp_path, "models_info.json", save_models_info, {1: sym, 12: info})
    back = load_models_info(p)
    assert sorted(back) == [1, 12] and back[12] == info
    assert back[1]["symmetries_discrete"] == [[-1.0, 0, 0, 0, 0, -1.0, 0, 0, 0, 0, 1.0, 0, 0, 0, 0, 1.0]]
    assert back[1]["symmetries_continuous"] == [{"axis": [0.0, 0.0, 1.0], "offset": [0.0, 0.0, 0.0]}]


def test_save_models_takes_metres_and_writes_millimetres(tmp_path):
    box = trimesh.creation.box((0.1, 0.2, 0.3))                       # metres, centred
    turn = np.diag([-1.0, -1.0, 1.0, 1.0])
    turn[:3, 3] = [0.0, 0.0, 0.005]                                    # 5 mm along z
    models = {7: ModelGeometry(box.vertices, box.faces,
                               symmetries_continuous=[{"axis": [0, 0, 1], "offset": [0.01, 0.0, 0.02]}],
                               symmetries_discrete=[turn]),
              3: ModelGeometry(box.vertices * 0.5, box.faces)}
    save_models(tmp_path / "models", models)
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == \
        ["models_info.json", "obj_000003.ply", "obj_000007.ply"]
    info = load_models_info(tmp_path / "models" / "models_info.json")
    assert sorted(info) == [3, 7]
    assert info[7]["diameter"] == pytest.approx(1000 * np.sqrt(0.1**2 + 0.2**2 + 0.3**2), rel=1e-12)
    assert (info[7]["min_x"], info[7]["size_y"], info[7]["size_z"]) == pytest.approx((-50.0, 200.0, 300.0))
    assert info[7]["symmetries_continuous"] == [{"axis": [0, 0, 1], "offset": [10.0, 0.0, 20.0]}]
    assert info[7]["symmetries_discrete"] == [[-1.0, 0, 0, 0, 0, -1.0, 0, 0, 0, 0, 1.0, 5.0, 0, 0, 0, 1.0]]
    assert turn[2, 3] == 0.005                                         # the caller's matrix stays in metres
    assert info[3]["size_x"] == pytest.approx(50.0) and "symmetries_discrete" not in info[3]
    np.testing.assert_array_equal(load_model_ply(tmp_path / "models" / "obj_000007.ply")["pts"],
                                  (box.vertices * 1000).astype(np.float32))
    # the bytes the runner wrote before save_models owned the conversion: PLY from metres,
    # models_info from the mm entries built by hand
    save_model_ply(tmp_path / "obj_000007.ply", box.vertices, box.faces)
    entry = {**compute_model_info(box.vertices * 1000.0),
             "symmetries_continuous": [{"axis": [0, 0, 1], "offset": [10.0, 0.0, 20.0]}],
             "symmetries_discrete": [np.array([[-1.0, 0, 0, 0], [0, -1.0, 0, 0], [0, 0, 1.0, 5.0], [0, 0, 0, 1.0]])]}
    save_models_info(tmp_path / "models_info.json", {7: entry, 3: compute_model_info(box.vertices * 500.0)})
    for name in ("obj_000007.ply", "models_info.json"):
        assert (tmp_path / "models" / name).read_bytes() == (tmp_path / name).read_bytes(), name


def test_model_ply_vertex_colors(tmp_path):
    mesh = trimesh.creation.box((0.1, 0.2, 0.3))
    colors = np.tile(np.array([[10, 200, 30, 255]], np.uint8), (len(mesh.vertices), 1))
    save_model_ply(tmp_path / "m.ply", mesh.vertices, mesh.faces, vertex_colors=colors)
    model = load_model_ply(tmp_path / "m.ply")
    np.testing.assert_array_equal(model["colors"], colors[:, :3])
    assert compute_model_info(model["pts"])["diameter"] == pytest.approx(
        1000 * np.sqrt(0.1**2 + 0.2**2 + 0.3**2), rel=1e-6)


def test_coco_manifest_and_dataset_json_roundtrip(tmp_path):
    coco = {"images": [{"id": 1, "file_name": "a.png", "width": 2, "height": 2}],
            "annotations": [{"id": 1, "image_id": 1, "bbox": [0.0, 0.0, 1.0, 1.0]},
                            {"id": 2, "image_id": 1, "bbox": [1.0, 1.0, 1.0, 1.0]}],
            "categories": [{"id": 1, "name": "person"}]}
    p = _twice(tmp_path, "coco.json", save_coco, coco)
    assert load_coco(p) == coco
    lines = p.read_text().splitlines()
    assert lines[1] == '  "annotations": [' and lines[2].startswith('    {"bbox"')
    assert len(lines) == 12   # one image / annotation / category per line

    recs = [{"image": f"s/{i}.png", "split": s, "scene_id": sc, "im_id": i, "source": "synthetic"}
            for s, sc, i in [("b", 0, 0), ("a", 2, 1), ("a", 2, 0), ("a", 10, 0)]]
    save_manifest(tmp_path / "p1.jsonl", recs[:2])
    save_manifest(tmp_path / "p2.jsonl", recs[2:])
    merged = merge_manifest_parts([tmp_path / "p2.jsonl", tmp_path / "p1.jsonl"])
    assert [(r["split"], r["scene_id"], r["im_id"]) for r in merged] == \
        [("a", 2, 0), ("a", 2, 1), ("a", 10, 0), ("b", 0, 0)]
    p = _twice(tmp_path, "manifest.jsonl", save_manifest, merged)
    assert load_manifest(p) == merged
    assert p.read_text().count("\n") == 4
    with pytest.raises(ValueError, match="duplicate"):
        merge_manifest_parts([tmp_path / "p1.jsonl", tmp_path / "p1.jsonl"])
    # streamed merge: parts in dataset order give the same bytes; out of order is refused
    from synthgen.writers import save_merged_manifest

    save_manifest(tmp_path / "q1.jsonl", [recs[2], recs[1]])
    save_manifest(tmp_path / "q2.jsonl", [recs[3]])
    save_manifest(tmp_path / "q3.jsonl", [recs[0]])
    q = [tmp_path / f"q{i}.jsonl" for i in (1, 2, 3)]
    assert save_merged_manifest(tmp_path / "streamed.jsonl", q) == 4
    assert (tmp_path / "streamed.jsonl").read_bytes() == p.read_bytes()
    with pytest.raises(ValueError, match="q1.jsonl.*comes before"):
        save_merged_manifest(tmp_path / "bad.jsonl", [q[1], q[0]])
    with pytest.raises(ValueError, match="duplicates"):
        save_merged_manifest(tmp_path / "bad.jsonl", [q[1], q[1]])

    info = {"generator": "synthgen", "version": "0.1.0", "seed": 7,
            "config": {"scene": {"n": 3, "ratio": 0.25}}, "obj_assets": {"1": "mug"},
            "images_per_split": {"train_synth": 4}, "time_s": 1.5}
    p = _twice(tmp_path, "dataset.json", save_dataset_json, info)
    assert load_dataset_json(p) == info


def test_dataset_json_bytes_and_round_trip(tmp_path):
    """The bytes finalize wrote before it called save_dataset_json (dumps_json, UTF-8), and a
    file read back and saved again is the same file."""
    from synthgen.writers.jsonio import dumps_json

    info = {"generator": "synthgen", "version": "0.1.0", "seed": 3, "scenes": 2,
            "images": {"train_synth": 4}, "objects": {"1": {"ref": "builtin:mug", "name": "mug"}},
            "keypoint_schemas": {"coco17": ["nose", "left_eye"], "joints_3d": "smplx55"},
            "config": {"camera": {"width": 64, "fov_deg": [50.0, 60.0]}, "name": "k\u00fcche"},
            "renderer": {"vendor": "Mesa"}, "seconds": 1.234}
    save_dataset_json(tmp_path / "dataset.json", info)
    raw = (tmp_path / "dataset.json").read_bytes()
    assert raw == dumps_json(info).encode()
    back = load_dataset_json(tmp_path / "dataset.json")
    assert back == info and back["config"]["name"] == "k\u00fcche"
    save_dataset_json(tmp_path / "again.json", back)
    assert (tmp_path / "again.json").read_bytes() == raw


def test_json_writer_floats_and_numpy(tmp_path):
    v = np.float32(0.1)
    save_json(tmp_path / "x.json", {"b": np.array([v, 2.5, 1e-300]), "a": np.int64(3),
                                    "c": (True, None)})
    assert (tmp_path / "x.json").read_text() == (
        '{\n  "a": 3,\n  "b": [0.10000000149011612, 2.5, 1e-300],\n  "c": [true, null]\n}\n')
    assert load_json(tmp_path / "x.json")["b"][0] == float(v)
    with pytest.raises(TypeError):
        save_json(tmp_path / "y.json", {"a": object()})


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf"), np.float32("nan")])
@pytest.mark.parametrize("wrap", [lambda x: {"k": x}, lambda x: {"k": [1.0, x]},
                                  lambda x: {"k": np.array([[1.0, x]])}, lambda x: [{"a": {"b": (x,)}}]],
                         ids=["scalar", "list", "array", "nested"])
def test_json_writer_refuses_nan_and_infinity(tmp_path, bad, wrap):
    """No synthgen JSON file may hold NaN/Infinity (not JSON) or hide them as null: the writer
    raises, and writes nothing; the manifest/marker line writer does the same."""
    from synthgen.writers.jsonio import NonFiniteError, dumps_line

    with pytest.raises(NonFiniteError, match="JSON has no NaN or infinity"):
        save_json(tmp_path / "x.json", wrap(bad), expand_lists=True)
    assert not (tmp_path / "x.json").exists()
    with pytest.raises(NonFiniteError):
        dumps_line(wrap(bad))
    # a deliberate null (scene_humans.json's joints without a source) is still written as null
    assert dumps_line({"k": [None, [1.0, 2.0]]}) == '{"k": [null, [1.0, 2.0]]}'


def test_a_rendered_dataset_holds_null_only_for_joints_without_a_source(tiny_dataset):
    """Every JSON file of a render is strict JSON (no NaN/Infinity), and the one place a number
    may be null is a whole ``joints_3d_cam`` row of ``scene_humans.json`` (an SMPL-X joint the
    mannequin does not have), as dataset-layout.md documents."""
    def refuse(token):
        raise AssertionError(f"{token} in a JSON file")

    def nulls(value, path):
        if value is None:
            yield path
        elif isinstance(value, dict):
            for k, v in value.items():
                yield from nulls(v, path + (k,))
        elif isinstance(value, list):
            for v in value:
                yield from nulls(v, path + ("[]",))

    files = sorted(tiny_dataset.rglob("*.json")) + sorted(tiny_dataset.rglob("*.jsonl"))
    assert any(f.name == "scene_humans.json" for f in files)
    null_rows = 0
    for f in files:
        lines = f.read_text().splitlines() if f.suffix == ".jsonl" else [f.read_text()]
        for text in lines:
            for path in nulls(json.loads(text, parse_constant=refuse), ()):
                assert f.name == "scene_humans.json" and path[-2:] == ("joints_3d_cam", "[]"), (f, path)
                null_rows += 1
    assert null_rows > 0     # the mannequin lacks some SMPL-X joints (jaw, eyes, ...)
