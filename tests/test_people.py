"""People in scenes: holding, reaching, feet on the floor, no furniture intersection, rigs."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, run_cli

from synthgen.bodies.kinematics import palm_frame
from synthgen.config import load_scene_config
from synthgen.groundtruth.projection import inside_image, project, transform
from synthgen.runner.pipeline import JobContext, build_scene
from synthgen.runner.plan import ShardPlan


def _ctx(scene: str, *overrides: str) -> JobContext:
    cfg = load_scene_config(REPO / "scenes" / f"{scene}.yaml", ["camera.width=160", "camera.height=120", *overrides])
    return JobContext.build(cfg, REPO / "scenes")


@pytest.fixture(scope="module")
def busy_scenes():
    """20 kitchen scenes with two people each, every person holding or reaching."""
    ctx = _ctx("kitchen", "humans.count=[2,2]", "humans.hold_prob=0.5", "humans.reach_prob=0.5")
    return [build_scene(ctx, ShardPlan(s, 1, 0)) for s in range(10)]


def _people(scenes):
    return [(s, p) for s in scenes for p in s.persons]


def test_people_have_stable_ids_and_activities(busy_scenes):
    people = _people(busy_scenes)
    assert len(people) >= 16
    for s in busy_scenes:
        assert [p.person_id for p in s.persons] == list(range(len(s.persons)))
    acts = [p.activity for _, p in people]
    # every person was asked to hold or reach; one whose activity found no room stands idle
    assert {"hold", "reach"} <= set(acts) <= {"hold", "reach", "idle"}
    assert acts.count("idle") <= len(acts) // 5
    # nobody is dropped: two people in every scene
    assert all(len(s.persons) == 2 for s in busy_scenes)


def test_feet_on_floor_and_no_furniture_intersection(busy_scenes):
    people = _people(busy_scenes)
    assert len(people) >= 16
    for s, p in people:
        feet = np.isin(np.arange(len(p.vertices)), np.arange(len(p.vertices)))  # all vertices
        zmin = p.vertices[feet, 2].min()
        assert abs(zmin) < 0.01, zmin                      # no floating, no sinking over 1 cm
        # the lowest point of the body is a foot: ankles are the lowest joints
        lowest_joint = int(np.nanargmin(p.joints_world[:22, 2]))
        assert lowest_joint in (7, 8, 10, 11), lowest_joint
        boxes = [(e.pose_world[:3, 3], np.ptp(e.mesh.vertices, axis=0)) for e in s.structures]
        for c, size in boxes:
            inside = np.all(np.abs(p.vertices - c) < size / 2 - 0.005, axis=1)
            assert not inside.any(), "body inside furniture"


def test_held_object_sits_in_the_hand(busy_scenes):
    held = [(s, p) for s, p in _people(busy_scenes) if p.activity == "hold"]
    assert len(held) >= 3
    for s, p in held:
        assert len(p.held_objects) == 1
        obj = s.objects[p.held_objects[0]]
        assert obj.obj_id > 0
        c = obj.pose_world[:3, 3]
        d = min(np.linalg.norm(c - p.joints_world[20]), np.linalg.norm(c - p.joints_world[21]))
        assert d < 0.10, d


def test_reaching_hand_is_on_the_target(busy_scenes):
    reaching = [(s, p) for s, p in _people(busy_scenes) if p.activity == "reach"]
    assert len(reaching) >= 3
    for s, p in reaching:
        # the nearest labelled resting object to either palm is within 5 cm of the palm centre
        palms = [palm_frame(p.joints_world, side)[:3, 3] for side in ("left", "right")]
        best = np.inf
        for o in s.objects:
            if o.obj_id == 0:
                continue
            surf = transform(o.pose_world, o.mesh.vertices)
            best = min(best, min(np.linalg.norm(surf - q, axis=1).min() for q in palms))
        assert best < 0.05, best


def test_egocentric_view_sees_both_wrists_in_most_frames():
    ctx = _ctx("egocentric")
    hits = total = 0
    for s in range(10):
        scene = build_scene(ctx, ShardPlan(s, 2, 0))
        p = scene.persons[0]
        for cam in scene.cameras:
            uv = project(cam.K, transform(cam.T_w2c, p.joints_world[[20, 21]]))
            total += 1
            hits += bool(inside_image(uv, cam.width, cam.height).all())
            # the camera sits at the head: within 15 cm of the head joint
            eye = -cam.T_w2c[:3, :3].T @ cam.T_w2c[:3, 3]
            assert np.linalg.norm(eye - p.joints_world[15]) < 0.2
    assert hits / total > 0.8, (hits, total)


def test_rig_cameras_share_the_scene_and_ring_the_target(tmp_path: Path):
    out = tmp_path / "rig"
    r = run_cli("render", REPO / "scenes" / "kitchen.yaml", "frames=4", "views_per_scene=4", "camera.rig=rig",
                "camera.width=48", "camera.height=36", "-o", out, "--quiet")
    assert r.returncode == 0, r.stderr
    cams = json.loads((out / "train_synth" / "000000" / "scene_camera.json").read_text())
    eyes = []
    for k in ("0", "1", "2", "3"):
        R = np.array(cams[k]["cam_R_w2c"]).reshape(3, 3)
        t = np.array(cams[k]["cam_t_w2c"]) / 1000.0
        eyes.append(-R.T @ t)
    eyes = np.array(eyes)
    # four distinct calibrated cameras whose optical axes meet at one target point
    assert min(np.linalg.norm(eyes[i] - eyes[j]) for i in range(4) for j in range(i)) > 0.1
    axes = [np.array(cams[k]["cam_R_w2c"]).reshape(3, 3)[2] for k in ("0", "1", "2", "3")]
    # least-squares point closest to all four rays
    A = sum(np.eye(3) - np.outer(a, a) for a in axes)
    b = sum((np.eye(3) - np.outer(a, a)) @ e for a, e in zip(axes, eyes))
    x = np.linalg.solve(A, b)
    for a, e in zip(axes, eyes):
        r = x - e
        assert np.linalg.norm(r - (r @ a) * a) < 0.01
    manifest = [json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines()]
    assert [m["view_id"] for m in manifest] == [0, 1, 2, 3]
    humans = json.loads((out / "train_synth" / "000000" / "scene_humans.json").read_text())
    # the same person (same body parameters) in every view
    assert len({json.dumps(humans[k][0]["body_params"], sort_keys=True) for k in ("0", "1", "2", "3")}) == 1


def test_flat_hand_mean_adds_the_mean_hand_to_the_same_poses():
    """With ``humans.flat_hand_mean=true`` the model adds no mean hand, so the sampled hand poses
    carry SMPL-X's relaxed mean themselves: same draws, hand poses shifted by exactly the mean."""
    from synthgen.bodies.hand_poses import smplx_hand_mean

    scenes = {flat: build_scene(_ctx("kitchen", "humans.count=[1,1]", f"humans.flat_hand_mean={str(flat).lower()}"),
                                ShardPlan(0, 1, 0)) for flat in (False, True)}
    mean = smplx_hand_mean()
    relaxed, flat = (scenes[f].persons[0].anny["pose"] for f in (False, True))   # the default body: Anny
    for side, key in enumerate(("left_hand_pose", "right_hand_pose")):
        np.testing.assert_allclose(np.asarray(flat[key]) - np.asarray(relaxed[key]), mean[side].reshape(-1), atol=1e-9)
    # same draws: the body pose agrees up to the foot-planting solve, which sees other hands
    np.testing.assert_allclose(flat["body_pose"], relaxed["body_pose"], atol=1e-4)
