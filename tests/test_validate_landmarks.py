"""synthgen validate rebuilds each person's body and re-derives its surface-landmark keypoints
(toes, heels, fingertips, nose, eyes, ears, face), which the files hold no 3-D point for.

The kitchen with one person is rendered once for the module through the CLI at 160x120, 2 views
of one scene; every test that changes files works on its own copy. The damage is made
consistently in ``scene_humans.json`` and the COCO file, so only the rebuilt body can see it.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, copy_dataset, run_cli
from conftest import problem_lines as lines

from synthgen.bodies.keypoints import WHOLEBODY133_FROM_SMPLX, WHOLEBODY133_NAMES, WHOLEBODY133_PARTS
from synthgen.groundtruth.labels import LANDMARK_TOL, keypoints_from_joints
from synthgen.validate import Report, format_report, validate_dataset
from synthgen.validate.landmarks import (SMPLX_MISSING_NOTE, PersonRef, check_landmarks,
                                         check_person_landmarks, make_body)
from synthgen.writers.jsonio import load_json, save_json

SCENE = Path("train_synth") / "000000"
FEET = WHOLEBODY133_PARTS["foot"]     # WholeBody rows 17-22: toes and heels, landmarks only
#: landmark rows per person and image: COCO-17's nose, eyes, ears and WholeBody's 89
LANDMARK_ROWS = int((WHOLEBODY133_FROM_SMPLX[:17] >= 55).sum() + (WHOLEBODY133_FROM_SMPLX >= 55).sum())


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("landmarks") / "kitchen"
    r = run_cli("render", REPO / "scenes" / "kitchen.yaml", "frames=2", "views_per_scene=2",
                "camera.width=160", "camera.height=120", "camera.person_target_prob=1",
                "humans.count=[1,1]", "-o", out, "--quiet")
    assert r.returncode == 0, r.stderr
    return out


@pytest.fixture
def dataset(rendered: Path, tmp_path: Path) -> Path:
    return copy_dataset(rendered, tmp_path)


def _foot_row(dataset: Path, vis: float) -> tuple[str, int, int]:
    """(im_id key, WholeBody row, person index) of a foot landmark with flag ``vis``."""
    humans = load_json(dataset / SCENE / "scene_humans.json")
    for im in sorted(k for k in humans if k != "units"):
        for n, person in enumerate(humans[im]):
            for row in range(*FEET):
                if person["keypoints_wholebody133"][row][2] == vis:
                    return im, row, n
    raise AssertionError(f"no foot landmark with v={vis}")


def _edit(dataset: Path, im: str, row: int, n: int, edit) -> dict:
    """Apply ``edit`` to WholeBody ``row`` of person ``n`` of image ``im`` in scene_humans.json
    and to the same point in the COCO annotation's ``foot_kpts``; returns the person."""
    path = dataset / SCENE / "scene_humans.json"
    humans = load_json(path)
    person = humans[im][n]
    edit(person["keypoints_wholebody133"][row])
    save_json(path, humans)
    coco_path = dataset / "annotations" / "coco_train_synth.json"
    coco = load_json(coco_path)
    image = next(i for i in coco["images"] if i["scene_id"] == 0 and i["im_id"] == int(im))
    ann = next(a for a in coco["annotations"] if a["image_id"] == image["id"]
               and a.get("person_id") == person["person_id"])
    k = 3 * (row - FEET[0])
    point = ann["foot_kpts"][k:k + 3]
    edit(point)
    ann["foot_kpts"][k:k + 3] = point
    save_json(coco_path, coco)
    return person


@pytest.mark.slow
def test_clean_dataset_rederives_every_landmark(rendered: Path):
    report = validate_dataset(rendered, poses=False)
    assert report.ok, format_report(report)
    c = report.counts
    # one person in each of the 2 images: every landmark row re-projected
    assert c["persons"] == 2 and c["landmarks"] == 2 * LANDMARK_ROWS, dict(c)
    # the in-image labelled ones (the default Anny body has a face: all of them when in view)
    assert 10 < c["landmark_flags"] <= 2 * LANDMARK_ROWS, dict(c)
    assert "landmark flags re-derived" in format_report(report)
    # --sample 1: one person instance only
    one = validate_dataset(rendered, poses=False, sample=1)
    assert one.ok and one.counts["landmarks"] == LANDMARK_ROWS, dict(one.counts)


@pytest.mark.slow
def test_flipped_toe_flag_is_reported(dataset: Path):
    """A visible foot landmark relabelled occluded in both files: the files agree with each
    other, only the rebuilt landmark and depth_gt say it is visible."""
    im, row, n = _foot_row(dataset, 2.0)
    person = _edit(dataset, im, row, n, lambda p: p.__setitem__(2, 1))
    report = validate_dataset(dataset, poses=False)
    item = (f"train_synth/000000/scene_humans.json image {im} person {person['person_id']} "
            f"keypoints_wholebody133[{row}] ({WHOLEBODY133_NAMES[row]})")
    assert [p.item for p in report.problems] == [item], lines(report)
    assert report.problems[0].check == "keypoints"
    assert report.problems[0].what.startswith("v=1 but at pixel "), lines(report)
    assert f"of landmark {WHOLEBODY133_NAMES[row]} " in report.problems[0].what


@pytest.mark.slow
def test_landmark_moved_by_one_pixel_is_reported(dataset: Path):
    im, row, n = _foot_row(dataset, 2.0)

    def move(p):
        p[0] += 1.0

    person = _edit(dataset, im, row, n, move)
    report = validate_dataset(dataset, poses=False)
    item = (f"train_synth/000000/scene_humans.json image {im} person {person['person_id']} "
            f"keypoints_wholebody133[{row}] ({WHOLEBODY133_NAMES[row]})")
    assert [p.item for p in report.problems] == [item], lines(report)
    what = report.problems[0].what
    assert "differs from the projection" in what and what.endswith("by 1.000 px"), what


@pytest.mark.slow
def test_smplx_dataset_without_model_files_gets_a_note(dataset: Path):
    meta = load_json(dataset / "dataset.json")
    meta["config"]["humans"].update(model="smplx", model_dir=str(dataset / "no_models_here"))
    save_json(dataset / "dataset.json", meta)
    report = validate_dataset(dataset, poses=False)
    assert report.ok, lines(report)
    assert dict(report.notes) == {SMPLX_MISSING_NOTE: 2}
    assert report.counts["landmarks"] == 0
    text = format_report(report).splitlines()
    assert f"note: {SMPLX_MISSING_NOTE} (2 items)" in text and text[-1].endswith("sound (0 problems)")


def test_make_body_names_why_it_cannot():
    assert make_body({"model": "smplx", "model_dir": "/nowhere/at/all"}) == (None, SMPLX_MISSING_NOTE)
    body, note = make_body(None)
    assert body is None and "config.humans.model" in note
    report = Report(out=Path("OUT"))
    ref = PersonRef("s", 0, 0, 0, Path("OUT"), "s/000000", 8, 8)
    check_landmarks(report, [ref, ref], {"model": "smplx", "model_dir": ""})
    assert report.ok and dict(report.notes) == {SMPLX_MISSING_NOTE: 2}


def _one_landmark_person(z: float, d: float, flag: float):
    """A person whose only source point is the left big toe, at depth ``z`` on the optical axis
    of a 9x9 camera, written with ``flag``; depth_gt ``d`` everywhere (metres)."""
    K = np.array([[10.0, 0, 4], [0, 10.0, 4], [0, 0, 1]])
    ext = np.full((144, 3), np.nan)
    e = int(WHOLEBODY133_FROM_SMPLX[FEET[0]])
    ext[e] = [0.0, 0.0, z]
    wb = np.zeros((133, 3))
    wb[FEET[0]] = [4.0, 4.0, flag]
    person = {"keypoints_coco17": np.zeros((17, 3)), "keypoints_wholebody133": wb}
    return person, ext, K, np.full((9, 9), d)


def test_flag_rule_is_the_renders_and_allows_one_depth_step():
    got = []
    report = lambda item, what: got.append((item, what))  # noqa: E731
    z, step = 2.0, 0.1 / 1000
    # the render's own rule decides a clear case: a surface 5 cm in front hides the toe
    person, ext, K, depth = _one_landmark_person(z, z - 0.05, 2.0)
    e = int(WHOLEBODY133_FROM_SMPLX[FEET[0]])
    assert keypoints_from_joints(ext[[e]], [True], K, depth, np.zeros((9, 9), bool),
                                 keypoint_ids=[e])[0, 2] == 1
    assert check_person_landmarks(person, ext, K, depth, 0.1, "P", report) == (LANDMARK_ROWS, 1)
    assert len(got) == 1 and got[0][0] == "P keypoints_wholebody133[17] (left_big_toe)"
    assert "v=2 but at pixel (4, 4) of landmark left_big_toe the surface there is +5.0 cm" in got[0][1]
    got.clear()
    # a surface half a depth step from the threshold: the quantised depth_gt cannot tell; either
    # written flag passes
    for flag in (1.0, 2.0):
        for sign in (-1, 1):
            person, ext, K, depth = _one_landmark_person(z, z - LANDMARK_TOL + sign * step / 2, flag)
            check_person_landmarks(person, ext, K, depth, 0.1, "P", report)
    assert got == []
    # nothing rendered at its pixel: visible
    person, ext, K, depth = _one_landmark_person(z, 0.0, 1.0)
    check_person_landmarks(person, ext, K, depth, 0.1, "P", report)
    assert len(got) == 1 and "v=1 but at pixel (4, 4)" in got[0][1] and "nothing was rendered" in got[0][1]


@pytest.mark.slow
def test_smplx_dataset_rebuilds_face_landmarks(tmp_path: Path):
    """The smplx backend (a generated SMPL-X-format file, the test fixture) has face points:
    their flags are re-derived too; with the model folder gone the check becomes a note."""
    pytest.importorskip("smplx")
    from smplx_fixture import write_fake_smplx

    models = tmp_path / "models"
    models.mkdir()
    write_fake_smplx(models)
    out = tmp_path / "sx"
    r = run_cli("render", REPO / "scenes" / "kitchen.yaml", "frames=2", "views_per_scene=2",
                "camera.width=160", "camera.height=120", "camera.person_target_prob=1",
                "humans.count=[1,1]", "humans.model=smplx", f"humans.model_dir={models}",
                "humans.hold_prob=0", "humans.reach_prob=0", "-o", out, "--quiet")
    assert r.returncode == 0, r.stderr
    report = validate_dataset(out, poses=False)
    assert report.ok and not report.notes, format_report(report)
    humans = load_json(out / SCENE / "scene_humans.json")
    face = slice(*WHOLEBODY133_PARTS["face"])
    labelled_face = sum(int(row[2] > 0) for im in ("0", "1") for p in humans[im]
                        for row in p["keypoints_wholebody133"][face])
    assert labelled_face > 20
    # every labelled in-image face point is among the re-derived flags
    assert report.counts["landmark_flags"] > labelled_face, dict(report.counts)
    shutil.rmtree(models)
    gone = validate_dataset(out, poses=False)
    assert gone.ok and dict(gone.notes) == {SMPLX_MISSING_NOTE: 2}
