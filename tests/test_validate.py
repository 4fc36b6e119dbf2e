"""synthgen validate: a freshly rendered dataset is sound; each kind of damage is reported.

The kitchen is rendered once for the module through the CLI at 320x240 (large enough that a
1 degree rotation of a sizeable object moves its silhouette and its depth measurably); every test
works on its own copy.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from conftest import REPO, copy_dataset, run_cli
from conftest import problem_lines as lines

from synthgen.bodies.keypoints import COCO17_FROM_SMPLX, NUM_SMPLX_JOINTS
from synthgen.validate import DatasetUnreadable, Report, format_report, validate_dataset
from synthgen.validate.poses import Instance, spread_sample
from synthgen.writers.bop import (load_image, load_models_info, load_scene_gt, load_scene_gt_info,
                                  save_png, save_scene_gt)
from synthgen.writers.coco import load_coco, save_coco
from synthgen.writers.jsonio import load_json, save_json

ARGS = ("frames=2", "views_per_scene=2", "camera.width=320", "camera.height=240",
        "camera.person_target_prob=1")
SCENE = Path("train_synth") / "000000"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("validate") / "kitchen"
    r = run_cli("render", REPO / "scenes" / "kitchen.yaml", *ARGS, "-o", out, "--quiet")
    assert r.returncode == 0, r.stderr
    return out


@pytest.fixture
def dataset(rendered: Path, tmp_path: Path) -> Path:
    return copy_dataset(rendered, tmp_path)


def test_clean_dataset_is_sound(dataset: Path):
    calls = []
    report = validate_dataset(dataset, sample=0, progress=lambda *a: calls.append(a))
    assert report.ok, format_report(report)
    text = format_report(report)
    assert text.splitlines()[-1] == f"{dataset}: sound (0 problems)"
    c = report.counts
    n_gt = sum(len(v) for v in load_scene_gt(dataset / SCENE / "scene_gt.json").values())
    assert c["images"] == 2 and c["scenes"] == 1 and c["object_instances"] == n_gt
    # rgb + depth + depth_gt per image, mask + mask_visib per instance and per person in each
    # image, one PLY per model
    assert c["files_decoded"] == 2 * 3 + 2 * n_gt + 2 * c["persons"] + c["models"]
    assert c["persons"] == 2 and c["keypoints"] > 2 * (17 + 133)
    # flags of in-image joint keypoints re-derived from depth_gt and mask_visib_person
    assert c["keypoint_flags"] > 20
    # surface landmarks (nose ... fingertips) of the rebuilt bodies: every row of both fields
    # (COCO-17's 5 and WholeBody's 89) re-projected, the labelled in-image ones re-derived
    assert c["landmarks"] == c["persons"] * (5 + 89) and c["landmark_flags"] > 10
    assert ("landmarks", c["persons"], c["persons"]) in calls
    # sample=0: every instance with pixels in its amodal mask is re-rendered, and matches
    in_image = sum(int((load_image(p) > 0).any()) for p in (dataset / SCENE / "mask").iterdir())
    assert c["poses_rendered"] == len(report.poses) == in_image > 20
    assert min(p.iou for p in report.poses) >= 0.99
    assert sum(p.behind_px for p in report.poses) <= 2
    assert sum(p.depth_px for p in report.poses) > 1000
    n = len(report.poses)
    assert calls[0] == ("scenes", 0, 1) and ("scenes", 1, 1) in calls
    assert calls[-1] == ("poses", n, n) and ("poses", 0, n) in calls


def test_pose_sample_is_seeded(dataset: Path):
    a = validate_dataset(dataset, sample=10, seed=3)
    b = validate_dataset(dataset, sample=10, seed=3)
    c = validate_dataset(dataset, sample=10, seed=4)
    assert a.ok and a.counts["poses_rendered"] == len(a.poses) == 10

    def key(r):
        return sorted((p.im_id, p.gt_id) for p in r.poses)

    assert key(a) == key(b) and key(a) != key(c)
    assert len(set(key(a))) == 10


def test_format_report_lists_problems_then_counts():
    report = Report(out=Path("OUT"))
    report.counts.update(images=2, scenes=1)
    for i in range(3):
        report.add("files", f"a/{i}.png", "missing")
    report.add("pose", "scene_gt.json image 0 gt 1 (obj 2)", "IoU 0.9")
    text = format_report(report, max_per_check=2).splitlines()
    assert text == ["files: a/0.png: missing", "files: a/1.png: missing",
                    "files: ... and 1 more files problems",
                    "pose: scene_gt.json image 0 gt 1 (obj 2): IoU 0.9",
                    "checked: 1 scenes, 2 images",
                    "OUT: 4 problems (files 3, pose 1)"]
    with pytest.raises(ValueError):
        report.add("nonsense", "x", "y")


def test_sample_is_seeded_and_spread_over_scenes():
    def inst(scene: int, gt: int) -> Instance:
        return Instance("s", scene, 0, gt, 1, Path("."), np.eye(3), 8, 8, 0.1, np.eye(3),
                        np.zeros(3), 5)

    pool = [inst(s, g) for s in range(3) for g in range(10)]
    a = spread_sample(pool, 6, np.random.default_rng(4))
    b = spread_sample(pool, 6, np.random.default_rng(4))
    assert [(i.scene_id, i.gt_id) for i in a] == [(i.scene_id, i.gt_id) for i in b]
    assert sorted(i.scene_id for i in a) == [0, 0, 1, 1, 2, 2]
    assert len({(i.scene_id, i.gt_id) for i in a}) == 6
    assert spread_sample(pool, 0, np.random.default_rng(0)) == pool


def _pose_target(out: Path) -> tuple[int, int]:
    """(im_id, gt_id) of the largest instance lying wholly inside the image whose model has no
    continuous symmetry (a rotation about a symmetry axis rightly changes nothing)."""
    info = load_scene_gt_info(out / SCENE / "scene_gt_info.json")
    gts = load_scene_gt(out / SCENE / "scene_gt.json")
    models = load_models_info(out / "models" / "models_info.json")
    best = None
    for im_id, infos in info.items():
        for gt_id, i in enumerate(infos):
            x, y, w, h = i["bbox_obj"]
            inside = x >= 0 and y >= 0 and x + w < 320 and y + h < 240
            obj = gts[im_id][gt_id]["obj_id"]
            if inside and "symmetries_continuous" not in models[obj] and i["px_count_visib"] > 0:
                if best is None or i["px_count_all"] > best[0]:
                    best = (i["px_count_all"], im_id, gt_id)
    assert best is not None and best[0] >= 300, best
    return best[1], best[2]


def test_pose_rotated_by_one_degree_is_reported(dataset: Path):
    im_id, gt_id = _pose_target(dataset)
    path = dataset / SCENE / "scene_gt.json"
    gts = load_scene_gt(path)
    gt = gts[im_id][gt_id]
    # 1 degree about the axis through the object's centre (the model origin, at cam_t_m2c)
    # across the view direction: the silhouette changes and half the surface comes forward.
    view = gt["cam_t_m2c"].reshape(3) / np.linalg.norm(gt["cam_t_m2c"])
    axis = np.cross(view, [0.0, 1.0, 0.0])
    axis /= np.linalg.norm(axis)
    gt["cam_R_m2c"] = Rotation.from_rotvec(np.deg2rad(1.0) * axis).as_matrix() @ gt["cam_R_m2c"]
    save_scene_gt(path, gts)

    report = validate_dataset(dataset, sample=0)
    item = f"train_synth/000000/scene_gt.json image {im_id} gt {gt_id} (obj {gt['obj_id']})"
    pose_lines = [p for p in report.problems if p.check == "pose"]
    assert pose_lines and all(p.item == item for p in pose_lines), lines(report)
    assert {p.check for p in report.problems} == {"pose"}, lines(report)
    result = [p for p in report.poses if (p.im_id, p.gt_id) == (im_id, gt_id)]
    assert len(result) == 1 and not result[0].ok
    # the depth comparison sees it (the silhouette of a compact object barely changes: IoU just
    # under 1)
    assert result[0].iou < 1.0 and result[0].behind_px > 0.1 * result[0].depth_px, result[0]
    assert all(p.ok for p in report.poses if (p.im_id, p.gt_id) != (im_id, gt_id))
    assert any(f"pose: {item}: " in line for line in format_report(report).splitlines())


def test_keypoint_moved_by_two_pixels_is_reported(dataset: Path):
    path = dataset / SCENE / "scene_humans.json"
    humans = load_json(path)
    person = humans["0"][0]
    rows = person["keypoints_coco17"]
    # a labelled body point whose source is a skinned joint (projection known from the file)
    k = next(i for i, r in enumerate(rows) if r[2] > 0 and COCO17_FROM_SMPLX[i] < NUM_SMPLX_JOINTS)
    rows[k][0] += 2.0
    save_json(path, humans)

    report = validate_dataset(dataset, poses=False)
    assert {p.check for p in report.problems} == {"keypoints"}, lines(report)
    name = ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
            "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
            "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle")[k]
    where = f"train_synth/000000/scene_humans.json image 0 person {person['person_id']}"
    projection = [ln for ln in lines(report)
                  if ln.startswith(f"keypoints: {where} keypoints_coco17[{k}] ({name}): ")
                  and "differs from the projection" in ln]
    assert len(projection) == 1 and projection[0].endswith("by 2.000 px"), lines(report)
    # the COCO file still has the true point: the disagreement is named there too
    coco_line = [ln for ln in lines(report)
                 if ln.startswith("keypoints: annotations/coco_train_synth.json annotation ")]
    assert len(coco_line) == 1, lines(report)
    assert f"(scene 0 image 0 person {person['person_id']}) keypoints[{k}] ({name}): " \
        in coco_line[0] and coco_line[0].endswith("(2.000 px apart)"), coco_line


def test_deleted_mask_is_reported(dataset: Path):
    victim = dataset / SCENE / "mask_visib" / "000001_000002.png"
    victim.unlink()
    report = validate_dataset(dataset, poses=False)
    assert "files: train_synth/000000/mask_visib/000001_000002.png: missing" in lines(report)
    assert {p.check for p in report.problems} == {"files"}, lines(report)
    assert not report.ok
    assert format_report(report).splitlines()[-1] == f"{dataset}: 1 problem (files 1)"


def test_corrupted_rle_area_is_reported(dataset: Path):
    path = dataset / "annotations" / "coco_train_synth.json"
    coco = load_coco(path)
    ann = next(a for a in coco["annotations"] if a["category_id"] != 1)
    true_area = ann["area"]
    ann["area"] = true_area + 7
    save_coco(path, coco)
    report = validate_dataset(dataset, poses=False)
    image = next(i for i in coco["images"] if i["id"] == ann["image_id"])
    item = (f"annotations/coco_train_synth.json annotation {ann['id']} "
            f"(scene {image['scene_id']} image {image['im_id']} gt {ann['gt_id']})")
    assert f"consistency: {item}: area {true_area + 7} but the RLE has {true_area} px" \
        in lines(report), lines(report)
    assert {p.item for p in report.problems} == {item}, lines(report)


def test_broken_json_is_reported_without_traceback(dataset: Path):
    path = dataset / SCENE / "scene_gt_info.json"
    path.write_text(path.read_text()[:200])  # cut mid-file
    report = validate_dataset(dataset, poses=False)
    broken = [p for p in report.problems if p.check == "json"]
    assert len(broken) == 1 and broken[0].item == "train_synth/000000/scene_gt_info.json"
    assert broken[0].what.startswith("invalid JSON: ")
    assert report.counts["images"] == 2  # the other files were still checked
    assert "Traceback" not in format_report(report)


def test_schema_findings_name_the_key_path(dataset: Path):
    path = dataset / SCENE / "scene_camera.json"
    cams = load_json(path)
    del cams["1"]["cam_K"]
    cams["0"]["depth_scale"] = "0.1"
    save_json(path, cams)
    report = validate_dataset(dataset, poses=False)
    got = lines(report)
    assert "schema: train_synth/000000/scene_camera.json: 1.cam_K: missing" in got, got
    assert ("schema: train_synth/000000/scene_camera.json: 0.depth_scale: expected a number, "
            "found string") in got, got


def test_unreadable_out_raises(tmp_path: Path):
    with pytest.raises(DatasetUnreadable, match="no such directory"):
        validate_dataset(tmp_path / "nowhere")
    (tmp_path / "file").write_text("x")
    with pytest.raises(DatasetUnreadable, match="not a directory"):
        validate_dataset(tmp_path / "file")
    # an empty folder is readable, just not a dataset: problems, no exception
    (tmp_path / "empty").mkdir()
    report = validate_dataset(tmp_path / "empty")
    assert "files: dataset.json: missing" in lines(report) and not report.ok


def test_camera_json_claiming_one_K_for_zoomed_images_is_reported(dataset: Path):
    cam = load_json(dataset / "camera.json")
    assert cam["intrinsics"] == "nominal"          # the kitchen zooms per view
    cam["intrinsics"] = "exact"
    del cam["focal_scale"]
    save_json(dataset / "camera.json", cam)
    report = validate_dataset(dataset, poses=False)
    # both views have a K of their own; neither is camera.json's nominal one
    assert sorted(p.item for p in report.problems) == [
        "train_synth/000000/scene_camera.json image 0", "train_synth/000000/scene_camera.json image 1"], lines(report)
    assert all("(intrinsics: exact)" in p.what for p in report.problems)
    # a zoom range that leaves out the views' factors is reported too
    cam.update(intrinsics="nominal", focal_scale=[1.5, 2.0])
    save_json(dataset / "camera.json", cam)
    report = validate_dataset(dataset, poses=False)
    assert len(report.problems) == 2 and all("in [1.5, 2.0]" in p.what for p in report.problems), lines(report)


def test_invisible_instance_with_a_box_is_reported(dataset: Path):
    path = dataset / SCENE / "scene_gt_info.json"
    infos = load_json(path)
    gt_id, info = next((g, i) for g, i in enumerate(infos["0"]) if i["px_count_visib"] > 0)
    # a visible instance whose bbox_obj was lost, and the rule for persons
    info["bbox_obj"] = [-1, -1, -1, -1]
    save_json(path, infos)
    humans_path = dataset / SCENE / "scene_humans.json"
    humans = load_json(humans_path)
    humans["1"][0]["bbox_amodal"] = [-1, -1, -1, -1]
    save_json(humans_path, humans)
    report = validate_dataset(dataset, poses=False)
    got = lines(report)
    assert any(f"scene_gt_info.json image 0 gt {gt_id}: bbox_obj [-1, -1, -1, -1] but the amodal mask has" in g
               for g in got), got
    assert any("scene_humans.json image 1 person" in g and "bbox_amodal [-1, -1, -1, -1] but bbox_visib" in g
               for g in got), got


def test_person_masks_are_checked(dataset: Path):
    humans = load_json(dataset / SCENE / "scene_humans.json")
    person = next(p for p in humans["0"] if p["px_count_visib"] > 0)
    stem = f"000000_{person['person_id']:06d}.png"
    (dataset / SCENE / "mask_person" / stem).unlink()
    visib_path = dataset / SCENE / "mask_visib_person" / stem
    visib = load_image(visib_path).copy()
    r, c = np.argwhere(visib == 0)[0]
    visib[r, c] = 255                       # one pixel more than the annotations say
    save_png(visib_path, visib)
    report = validate_dataset(dataset, poses=False)
    got = lines(report)
    assert f"files: train_synth/000000/mask_person/{stem}: missing" in got, got
    item = f"train_synth/000000/scene_humans.json image 0 person {person['person_id']}"
    n = person["px_count_visib"]
    assert f"consistency: {item}: px_count_visib {n} but the visible mask has {n + 1} px" in got, got
    assert any(f"segmentation differs from train_synth/000000/mask_visib_person/{stem} in 1 px" in g
               for g in got), got


def test_joint_flag_contradicting_depth_is_reported(dataset: Path):
    """A joint pushed 0.5 m back along its camera ray keeps its 2-D keypoint (the projection
    check passes), but its v=2 flag no longer fits depth_gt: the surface at its pixel is then
    far in front of it."""
    path = dataset / SCENE / "scene_humans.json"
    humans = load_json(path)
    person = next(p for p in humans["0"] if p["px_count_visib"] > 0)
    k, row = next((k, r) for k, r in enumerate(person["keypoints_coco17"])
                  if r[2] == 2 and COCO17_FROM_SMPLX[k] < NUM_SMPLX_JOINTS)
    j = int(COCO17_FROM_SMPLX[k])
    p = np.asarray(person["joints_3d_cam"][j])
    person["joints_3d_cam"][j] = (p * (p[2] + 0.5) / p[2]).tolist()
    save_json(path, humans)
    report = validate_dataset(dataset, poses=False)
    assert report.counts["keypoint_flags"] > 20
    item = f"train_synth/000000/scene_humans.json image 0 person {person['person_id']} keypoints_coco17[{k}]"
    flagged = [p for p in report.problems if p.item.startswith(item)]
    assert len(flagged) == 1 and flagged[0].check == "keypoints", lines(report)
    assert "v=2 but at pixel" in flagged[0].what and "cm in front of the joint" in flagged[0].what
    # the same joint feeds WholeBody row k too; nothing else is reported
    assert {p.check for p in report.problems} == {"keypoints"}, lines(report)
    assert len(report.problems) == 2, lines(report)


@pytest.fixture(scope="module")
def hundred(tmp_path_factory) -> Path:
    """The kitchen at 160x120, 4 views of one scene: over 100 object instances (26 per image),
    40 or more of them in view."""
    out = tmp_path_factory.mktemp("hundred") / "kitchen"
    r = run_cli("render", REPO / "scenes" / "kitchen.yaml", "frames=4", "views_per_scene=4",
                "camera.width=160", "camera.height=120", "-o", out, "--quiet")
    assert r.returncode == 0, r.stderr
    return out


def test_one_degree_error_in_one_of_a_hundred_instances_is_found(hundred: Path, tmp_path: Path):
    """By default every instance is re-rendered (a sample of 50 could miss the one bad label),
    over --workers processes; the report names exactly the perturbed instance and does not
    depend on the number of workers."""
    out = tmp_path / "kitchen"
    shutil.copytree(hundred, out)
    gts = load_scene_gt(out / SCENE / "scene_gt.json")
    assert sum(len(v) for v in gts.values()) >= 100
    info = load_scene_gt_info(out / SCENE / "scene_gt_info.json")
    models = load_models_info(out / "models" / "models_info.json")
    # the largest instance wholly inside the image, without a continuous symmetry
    _, im_id, gt_id = max((i["px_count_all"], im, g) for im, infos in info.items() for g, i in enumerate(infos)
                          if i["bbox_obj"][0] >= 0 and i["bbox_obj"][1] >= 0
                          and i["bbox_obj"][0] + i["bbox_obj"][2] < 160 and i["bbox_obj"][1] + i["bbox_obj"][3] < 120
                          and "symmetries_continuous" not in models[gts[im][g]["obj_id"]])
    gt = gts[im_id][gt_id]
    gt["cam_R_m2c"] = Rotation.from_euler("x", 1.0, degrees=True).as_matrix() @ gt["cam_R_m2c"]
    save_scene_gt(out / SCENE / "scene_gt.json", gts)

    r = run_cli("validate", out, "--workers", "2", "--quiet")
    assert r.returncode == 1, r.stdout + r.stderr
    text = r.stdout.splitlines()
    item = f"train_synth/000000/scene_gt.json image {im_id} gt {gt_id} (obj {gt['obj_id']})"
    pose_lines = [ln for ln in text if ln.startswith("pose: ")]
    assert pose_lines and all(ln.startswith(f"pose: {item}: ") for ln in pose_lines), text
    assert text[-1].endswith(f"{len(pose_lines)} problem{'s' if len(pose_lines) > 1 else ''} "
                             f"(pose {len(pose_lines)})"), text
    # every instance with pixels in its amodal mask was re-rendered
    in_image = sum(int((load_image(p) > 0).any()) for p in (out / SCENE / "mask").iterdir())
    assert f"{in_image} poses re-rendered" in text[-2] and in_image >= 40, text[-2]
    # one process gives the same report
    report = validate_dataset(out, workers=1)
    assert lines(report) == pose_lines and report.counts["poses_rendered"] == in_image
