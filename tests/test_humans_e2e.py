"""Humans through the CLI: the smplx backend on a generated SMPL-X-format file, motion files."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, run_cli
from smplx_fixture import write_fake_smplx

from synthgen.writers.humans import load_scene_humans

pytest.importorskip("smplx")


@pytest.fixture(scope="module")
def fake_model_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("smplx_models")
    write_fake_smplx(d)
    return d


def test_smplx_backend_renders_with_face_keypoints(tmp_path, fake_model_dir):
    out = tmp_path / "sx"
    r = run_cli("render", REPO / "scenes" / "kitchen.yaml", "frames=2", "views_per_scene=2", "camera.width=96",
                "camera.height=72", "camera.person_target_prob=1", "humans.model=smplx",
                f"humans.model_dir={fake_model_dir}", "humans.hold_prob=0", "humans.reach_prob=0",
                "-o", out, "--quiet")
    assert r.returncode == 0, r.stderr
    humans = load_scene_humans(out / "train_synth" / "000000" / "scene_humans.json")
    person = humans[0][0]
    assert person["body_model"] == "smplx"
    assert np.isfinite(person["joints_3d_cam"]).all()        # all 55 joints, jaw and eyes included
    wb = person["keypoints_wholebody133"]
    # the face has a source on this backend: face points in the image are labelled (v > 0)
    u, v = wb[23:91, 0], wb[23:91, 1]
    inside = (u > 0) & (u < 95) & (v > 0) & (v < 71)
    assert (wb[23:91, 2][inside] > 0).all() and inside.any()
    info = json.loads((out / "dataset.json").read_text())
    assert info["body_model"] == "smplx" and "smplx vertex ids" in info["landmarks"]


def test_missing_smplx_files_are_one_line(tmp_path):
    out = tmp_path / "none"
    r = run_cli("render", REPO / "scenes" / "kitchen.yaml", "frames=1", "humans.model=smplx",
                f"humans.model_dir={tmp_path / 'nothing'}", "-o", out, "--quiet")
    assert r.returncode == 2 and "SMPLX_NEUTRAL.npz" in r.stderr and "Traceback" not in r.stderr
    assert not out.exists()


def test_motion_file_poses_reach_the_dataset(tmp_path):
    rng = np.random.default_rng(0)
    T = 5
    poses = np.zeros((T, 156))
    poses[:, 0:3] = [np.pi / 2, 0.0, 0.0]              # AMASS root: upright in a Z-up world
    poses[:, 3:66] = rng.normal(0.0, 0.15, size=(T, 63))
    motion = tmp_path / "walk.npz"
    np.savez(motion, poses=poses, trans=np.zeros((T, 3)), betas=np.zeros(16), gender="neutral",
             mocap_framerate=120.0)
    out = tmp_path / "mo"
    r = run_cli("render", REPO / "scenes" / "kitchen.yaml", "frames=1", "views_per_scene=1", "camera.width=48",
                "camera.height=36", "humans.hold_prob=0", "humans.reach_prob=0",
                f"humans.motion_files=[{motion}]", "-o", out, "--quiet")
    assert r.returncode == 0, r.stderr
    person = load_scene_humans(out / "train_synth" / "000000" / "scene_humans.json")[0][0]
    body = np.asarray(person["body_params"]["pose"]["body_pose"])   # Anny, driven by the file's pose
    # the written body pose is one of the file's frames
    assert min(np.abs(body - poses[t, 3:66]).max() for t in range(T)) < 1e-6
    bad = tmp_path / "bad.npz"
    np.savez(bad, poses=np.zeros((3, 10)), trans=np.zeros((3, 3)), betas=np.zeros(10))
    r = run_cli("render", REPO / "scenes" / "kitchen.yaml", "frames=1", f"humans.motion_files=[{bad}]",
                "-o", tmp_path / "bad_out", "--quiet")
    assert r.returncode == 2 and "bad.npz" in r.stderr and "Traceback" not in r.stderr
