"""End to end through the CLI: `synthgen render` writes a real, loadable dataset."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import trimesh
from pycocotools.coco import COCO

from conftest import REPO, TINY_ARGS, run_cli

from synthgen.writers.bop import load_depth, load_mask, load_scene_camera, load_scene_gt
from synthgen.writers.humans import load_scene_humans

SCENE = REPO / "scenes" / "kitchen.yaml"


def test_layout_files_exist(tiny_dataset: Path):
    out = tiny_dataset
    for rel in ["dataset.json", "manifest.jsonl", "DONE", "camera.json", "models/models_info.json",
                "annotations/coco_train_synth.json"]:
        assert (out / rel).is_file(), rel
    scene = out / "train_synth" / "000000"
    for rel in ["rgb/000000.png", "rgb/000001.png", "depth/000000.png", "depth_gt/000001.png",
                "scene_camera.json", "scene_gt.json", "scene_gt_info.json", "scene_humans.json", "DONE"]:
        assert (scene / rel).is_file(), rel
    gt = load_scene_gt(scene / "scene_gt.json")
    assert set(gt) == {0, 1}
    n_obj = len(gt[0])
    assert n_obj >= 5
    masks = sorted(p.name for p in (scene / "mask_visib").iterdir())
    assert masks[0] == "000000_000000.png" and len(masks) == 2 * n_obj
    manifest = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert [(m["scene_id"], m["im_id"]) for m in manifest] == [(0, 0), (0, 1)]
    assert manifest[0]["persons"] == 1 and manifest[0]["objects"] == n_obj
    info = json.loads((out / "dataset.json").read_text())
    assert info["generator"] == "synthgen" and info["config"]["frames"] == 2
    assert info["config"]["camera"]["width"] == 64


def test_coco_loads_and_matches_masks(tiny_dataset: Path):
    coco = COCO(str(tiny_dataset / "annotations" / "coco_train_synth.json"))
    assert len(coco.getImgIds()) == 2
    cats = coco.loadCats(coco.getCatIds())
    assert cats[0]["id"] == 1 and cats[0]["name"] == "person" and len(cats[0]["keypoints"]) == 17
    persons = coco.loadAnns(coco.getAnnIds(catIds=[1]))
    assert len(persons) >= 1
    for ann in persons:
        assert len(ann["keypoints"]) == 51
        assert ann["num_keypoints"] == sum(1 for v in ann["keypoints"][2::3] if v > 0)
    objects = [a for a in coco.loadAnns(coco.getAnnIds()) if a["category_id"] != 1]
    assert objects, "no visible object annotation at all"
    for ann in objects:
        img = coco.loadImgs(ann["image_id"])[0]
        scene_dir = tiny_dataset / img["split"] / f"{img['scene_id']:06d}"
        mask = load_mask(scene_dir / "mask_visib" / f"{img['im_id']:06d}_{ann['gt_id']:06d}.png")
        np.testing.assert_array_equal(coco.annToMask(ann).astype(bool), mask)


def test_objects_project_where_their_masks_are(tiny_dataset: Path):
    """Each object's model, posed with cam_R_m2c / cam_t_m2c (mm) and projected with cam_K,
    covers its visible mask: the pose labels and the pixels agree."""
    scene = tiny_dataset / "train_synth" / "000000"
    cams = load_scene_camera(scene / "scene_camera.json")
    gts = load_scene_gt(scene / "scene_gt.json")
    checked = 0
    for im_id, gt in gts.items():
        K = cams[im_id]["cam_K"]
        for gt_id, g in enumerate(gt):
            mask = load_mask(scene / "mask_visib" / f"{im_id:06d}_{gt_id:06d}.png")
            if not mask.any():
                continue
            mesh = trimesh.load(tiny_dataset / "models" / f"obj_{g['obj_id']:06d}.ply", process=False)
            pts = mesh.vertices @ g["cam_R_m2c"].T + g["cam_t_m2c"].reshape(1, 3)
            uv = pts[:, :2] / pts[:, 2:3] * [K[0, 0], K[1, 1]] + [K[0, 2], K[1, 2]]
            rows, cols = np.nonzero(mask)
            # every mask pixel centre lies inside the projected model's box (+-1 px for coverage)
            assert cols.min() >= uv[:, 0].min() - 1 and cols.max() <= uv[:, 0].max() + 1
            assert rows.min() >= uv[:, 1].min() - 1 and rows.max() <= uv[:, 1].max() + 1
            # and the model's projection reaches into the image
            assert uv[:, 0].max() >= -0.5 and uv[:, 0].min() < 64 - 0.5
            assert uv[:, 1].max() >= -0.5 and uv[:, 1].min() < 48 - 0.5
            checked += 1
    assert checked >= 1


def test_depth_agrees_with_object_pose(tiny_dataset: Path):
    """Depth at a visible object pixel is within the object's z-extent in the camera frame."""
    scene = tiny_dataset / "train_synth" / "000000"
    gts = load_scene_gt(scene / "scene_gt.json")
    depth = load_depth(scene / "depth_gt" / "000000.png", 0.1) * 1000.0  # metres -> mm
    checked = 0
    for gt_id, g in enumerate(gts[0]):
        mask = load_mask(scene / "mask_visib" / f"000000_{gt_id:06d}.png")
        if mask.sum() < 2:
            continue
        mesh = trimesh.load(tiny_dataset / "models" / f"obj_{g['obj_id']:06d}.ply", process=False)
        z = (mesh.vertices @ g["cam_R_m2c"].T + g["cam_t_m2c"].reshape(1, 3))[:, 2]
        d = depth[mask]
        assert d.min() >= z.min() - 1.0 and d.max() <= z.max() + 1.0
        checked += 1
    assert checked >= 1


def test_keypoints_are_projections_of_3d_joints(tiny_dataset: Path):
    from synthgen.bodies.keypoints import COCO17_FROM_SMPLX

    scene = tiny_dataset / "train_synth" / "000000"
    assert json.loads((scene / "scene_humans.json").read_text())["units"] == "m"
    humans = load_scene_humans(scene / "scene_humans.json")
    cams = load_scene_camera(scene / "scene_camera.json")
    person = humans[0][0]
    K = cams[0]["cam_K"]
    kp = np.array(person["keypoints_coco17"], dtype=float)
    j3 = np.array(person["joints_3d_cam"], dtype=float)
    # COCO-17 body joints 5-16 come from SMPL-X skinned joints (shoulders .. ankles)
    for c in range(5, 17):
        if kp[c, 2] == 0:
            continue
        p = j3[COCO17_FROM_SMPLX[c]]
        uv = K[:2, :2] @ (p[:2] / p[2]) + K[:2, 2]
        np.testing.assert_allclose(kp[c, :2], uv, atol=0.01)
    # the default body is Anny: its own parameters, and no smplx block (it would not reproduce it)
    assert person["body_model"] == "anny" and "smplx" not in person
    bp = person["body_params"]
    assert len(bp["pose"]["body_pose"]) == 63 and set(bp["phenotype"]) == {
        "gender", "age", "muscle", "weight", "height", "proportions"}
    assert 0.0 < bp["age_years"] <= 90.0 and bp["topology"] == "anny"


def test_determinism_same_seed_same_bytes(tmp_path: Path, tiny_dataset: Path):
    out = tmp_path / "again"
    r = run_cli("render", SCENE, *TINY_ARGS, "-o", out, "--quiet")
    assert r.returncode == 0, r.stderr
    names = ["annotations/coco_train_synth.json", "manifest.jsonl", "models/models_info.json",
             "train_synth/000000/scene_gt.json", "train_synth/000000/scene_camera.json",
             "train_synth/000000/scene_gt_info.json", "train_synth/000000/scene_humans.json"]
    for n in names:
        assert (out / n).read_bytes() == (tiny_dataset / n).read_bytes(), n

    other = tmp_path / "other"
    r = run_cli("render", SCENE, *TINY_ARGS, "seed=1", "-o", other, "--quiet")
    assert r.returncode == 0, r.stderr
    for n in ["train_synth/000000/scene_gt.json", "train_synth/000000/scene_camera.json",
              "train_synth/000000/scene_humans.json"]:
        assert (other / n).read_bytes() != (tiny_dataset / n).read_bytes(), n


def test_refuses_non_empty_foreign_output_then_overwrites(tmp_path: Path):
    out = tmp_path / "busy"
    out.mkdir()
    (out / "thesis.tex").write_text("precious")
    args = ["render", SCENE, "frames=1", "views_per_scene=1", "camera.width=32", "camera.height=24",
            "-o", out, "--quiet"]
    r = run_cli(*args)
    assert r.returncode == 2
    assert "not empty" in r.stderr and "not a synthgen dataset" in r.stderr and "--overwrite" in r.stderr
    assert "Traceback" not in r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["thesis.tex"]
    r = run_cli(*args, "--overwrite")
    assert r.returncode == 0, r.stderr
    assert not (out / "thesis.tex").exists() and (out / "DONE").is_file()
    # a finished synthgen dataset is not silently replaced either
    r = run_cli(*args)
    assert r.returncode == 2 and "a synthgen dataset" in r.stderr


def test_info_prints_gl_and_extras():
    r = run_cli("info")
    assert r.returncode == 0, r.stderr
    assert "synthgen 0.1.0" in r.stdout
    vendor = [line for line in r.stdout.splitlines() if line.startswith("GL vendor:")]
    assert vendor and len(vendor[0].split(":", 1)[1].strip()) > 0
    assert "extra smplx" in r.stdout and "extra ray" in r.stdout
    # where the default body's cache lives, and whether it is built (make builds it)
    assert any(line.startswith("anny cache") and line.endswith(": built") for line in r.stdout.splitlines())


def test_setup_says_where_the_anny_cache_is():
    r = run_cli("setup")
    assert r.returncode == 0, r.stderr
    from synthgen.bodies.anny_backend import cache_dir

    assert r.stdout.strip() == f"Anny cache already built in {cache_dir()}"


def test_kitchen_frame_has_at_least_15_visible_objects(tmp_path: Path):
    out = tmp_path / "k"
    # two object views (no person views) of one kitchen, the default clutter
    r = run_cli("render", SCENE, "frames=2", "views_per_scene=2", "camera.width=320", "camera.height=240",
                "camera.person_target_prob=0", "-o", out, "--quiet")
    assert r.returncode == 0, r.stderr
    info = json.loads((out / "train_synth" / "000000" / "scene_gt_info.json").read_text())
    visible = [sum(1 for g in info[k] if g["px_count_visib"] > 0) for k in ("0", "1")]
    assert max(visible) >= 15, visible
    models = json.loads((out / "models" / "models_info.json").read_text())
    # a can is continuously symmetric about its axis; the mug (handle) is not symmetric
    names = json.loads((out / "dataset.json").read_text())["objects"]
    ids = {v["name"]: k for k, v in names.items()}
    assert models[ids["can"]]["symmetries_continuous"][0]["axis"] == [0.0, 0.0, 1.0]
    assert "symmetries_continuous" not in models[ids["mug"]]


@pytest.mark.parametrize("scene", ["tabletop", "workshop"])
def test_other_scenes_render(tmp_path: Path, scene: str):
    out = tmp_path / scene
    r = run_cli("render", REPO / "scenes" / f"{scene}.yaml", "frames=1", "views_per_scene=1",
                "camera.width=64", "camera.height=48", "-o", out, "--quiet")
    assert r.returncode == 0, r.stderr
    gt = load_scene_gt(out / "train_synth" / "000000" / "scene_gt.json")
    assert len(gt[0]) >= 10


def test_person_masks_are_written(tiny_dataset: Path):
    scene = tiny_dataset / "train_synth" / "000000"
    humans = load_scene_humans(scene / "scene_humans.json")
    p = humans[0][0]
    visib = load_mask(scene / "mask_visib_person" / f"000000_{p['person_id']:06d}.png")
    amodal = load_mask(scene / "mask_person" / f"000000_{p['person_id']:06d}.png")
    assert visib.sum() == p["px_count_visib"] > 0
    assert (amodal | visib).sum() == amodal.sum()          # the visible part lies in the silhouette
    assert amodal.sum() <= p["px_count_all"]


def test_validate_cli_passes_sound_and_flags_broken(tiny_dataset: Path, tmp_path: Path):
    import shutil

    r = run_cli("validate", tiny_dataset, "--quiet")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip().endswith("sound (0 problems)")
    broken = tmp_path / "broken"
    shutil.copytree(tiny_dataset, broken)
    (broken / "train_synth" / "000000" / "rgb" / "000001.png").unlink()
    r = run_cli("validate", broken, "--quiet", "--no-poses")
    assert r.returncode == 1 and "rgb/000001.png" in r.stdout
    r = run_cli("validate", tmp_path / "missing")
    assert r.returncode == 2 and "Traceback" not in r.stderr


def _self_eval(coco_gt, iou_type: str, sigmas=None) -> float:
    import contextlib
    import io

    from pycocotools.cocoeval import COCOeval

    anns = [dict(a, score=1.0) for a in coco_gt.dataset["annotations"]]
    with contextlib.redirect_stdout(io.StringIO()):
        dt = coco_gt.loadRes(anns)
        ev = COCOeval(coco_gt, dt, iou_type)
        if sigmas is not None:
            ev.params.kpt_oks_sigmas = sigmas
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return float(ev.stats[0])


def test_rendered_coco_self_evaluates_to_ap_one(tiny_dataset: Path):
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(tiny_dataset / "annotations" / "coco_train_synth.json"))
    assert _self_eval(coco, "keypoints") == pytest.approx(1.0)
    assert _self_eval(coco, "bbox") == pytest.approx(1.0)
    assert _self_eval(coco, "segm") == pytest.approx(1.0)


def test_rendered_coco_wholebody_self_evaluates_with_xtcocotools(tiny_dataset: Path):
    xt = pytest.importorskip("xtcocotools.coco")
    from xtcocotools.cocoeval import COCOeval as XCOCOeval
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        gt = xt.COCO(str(tiny_dataset / "annotations" / "coco_train_synth.json"))
        anns = []
        for a in gt.dataset["annotations"]:
            if a["category_id"] != 1:
                continue
            parts = ("keypoints", "foot_kpts", "face_kpts", "lefthand_kpts", "righthand_kpts")
            anns.append({"image_id": a["image_id"], "category_id": 1, "score": 1.0, **{k: a[k] for k in parts}})
        dt = gt.loadRes(anns)
        # COCO-WholeBody sigmas as mmpose's meta: body (COCO), feet, face (68), hands (2 x 21)
        body = [.026, .025, .025, .035, .035, .079, .079, .072, .072, .062, .062, .107, .107, .087, .087, .089, .089]
        foot = [.068, .066, .066, .092, .094, .094]
        face = [.042, .043, .044, .043, .040, .035, .031, .025, .020, .023, .029, .032, .037, .038, .043, .041, .045,
                .013, .012, .011, .011, .012, .012, .011, .011, .013, .015, .009, .007, .007, .007, .012, .009, .008,
                .016, .010, .017, .011, .009, .011, .009, .007, .013, .008, .011, .012, .010, .034, .008, .008, .009,
                .008, .008, .007, .010, .008, .009, .009, .009, .007, .007, .008, .011, .008, .008, .008, .01, .008]
        hand = [.029, .022, .035, .037, .047, .026, .025, .024, .035, .018, .024, .022, .026, .017, .021, .021, .032,
                .02, .019, .022, .031]
        import numpy as np

        sig = np.array(body + foot + face + hand + hand)
        ev = XCOCOeval(gt, dt, "keypoints_wholebody", sig, use_area=True)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    assert float(ev.stats[0]) == pytest.approx(1.0)


def test_ideal_sensor_depth_equals_clean_depth(tiny_dataset: Path):
    scene = tiny_dataset / "train_synth" / "000000"
    for im in ("000000", "000001"):
        assert (scene / "depth" / f"{im}.png").read_bytes() == (scene / "depth_gt" / f"{im}.png").read_bytes()


def test_noisy_sensor_preset_sets_intrinsics_and_adds_noise(tmp_path: Path):
    out = tmp_path / "kin"
    r = run_cli("render", SCENE, "frames=1", "views_per_scene=1", "sensor=kinect_v1", "camera.width=320",
                "camera.height=240", "camera.focal_scale=[1,1]", "-o", out, "--quiet")
    assert r.returncode == 0, r.stderr
    cam = load_scene_camera(out / "train_synth" / "000000" / "scene_camera.json")[0]
    # Kinect v1 nominal 525 px at 640x480, scaled to 320x240
    assert cam["cam_K"][0, 0] == pytest.approx(262.5)
    d = load_depth(out / "train_synth" / "000000" / "depth" / "000000.png", 0.1)
    g = load_depth(out / "train_synth" / "000000" / "depth_gt" / "000000.png", 0.1)
    both = (d > 0) & (g > 0)
    assert 0.002 < np.std((d - g)[both]) < 0.05          # metres: mm-to-cm scale noise
    assert ((d == 0) & (g > 0)).sum() > 0                 # some invalid pixels (edges, shadows)


def test_mix_subcommand_is_wired(tiny_dataset: Path, tmp_path: Path):
    out = tmp_path / "mixed"
    real = REPO / "tests" / "data" / "coco_mini"
    r = run_cli("mix", "--synthetic", tiny_dataset, "--coco", real / "person_keypoints.json", "--images",
                real / "images", "--synthetic-ratio", "0.5", "-o", out, "-q")
    assert r.returncode == 0, r.stderr
    coco = json.loads((out / "annotations" / "coco_train.json").read_text())
    sources = sorted(img["source"] for img in coco["images"])
    assert sources == ["real", "real", "synthetic", "synthetic"]
    r = run_cli("mix", "--coco", tmp_path / "nope.json", "-o", tmp_path / "bad")
    assert r.returncode == 2 and "nope.json" in r.stderr and not (tmp_path / "bad").exists()


def test_px_count_valid_follows_the_sensor_depth(tmp_path: Path):
    """bop_toolkit counts valid pixels in the dataset's depth image: with a noisy sensor that is
    the sensor depth (dropouts excluded), and the dataset still validates."""
    out = tmp_path / "kin_valid"
    r = run_cli("render", SCENE, "frames=2", "views_per_scene=2", "sensor=kinect_v1", "camera.width=160",
                "camera.height=120", "camera.person_target_prob=0", "-o", out, "--quiet")
    assert r.returncode == 0, r.stderr
    scene = out / "train_synth" / "000000"
    info = json.loads((scene / "scene_gt_info.json").read_text())["0"]
    depth = load_depth(scene / "depth" / "000000.png", 0.1)
    checked = 0
    for gt_id, g in enumerate(info):
        p = scene / "mask" / f"000000_{gt_id:06d}.png"
        if not p.exists():
            continue
        mask = load_mask(p)
        assert g["px_count_valid"] == int((mask & (depth > 0)).sum())
        checked += int(mask.sum() > 0)
    assert checked >= 5
    r = run_cli("validate", out, "--quiet")
    assert r.returncode == 0, r.stdout


def test_profile_prints_where_the_time_went(tmp_path: Path):
    """--profile adds one line per pipeline stage after the summary, with seconds, ms per frame
    and shares that add up to 100 %."""
    r = run_cli("render", SCENE, *TINY_ARGS, "-o", tmp_path / "p", "--quiet", "--profile")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    head = next(i for i, line in enumerate(lines) if "where the time went" in line)
    rows = [line.split() for line in lines[head + 1:] if line.startswith("  ")]
    stages = {row[0] for row in rows}
    assert stages == {"scene", "render_prepare", "render", "amodal", "sensor", "ground_truth", "write"}
    assert all(float(row[1]) >= 0 and row[2] == "s" and row[4] == "ms/frame" for row in rows)
    assert sum(float(row[5]) for row in rows) == pytest.approx(100.0, abs=0.5)
