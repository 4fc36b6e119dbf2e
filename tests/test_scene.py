"""Scene sampling and physics settling: seeded, engine-free data out."""
from __future__ import annotations

import numpy as np
import pytest

from synthgen.config import load_scene_config
from synthgen.config.schema import SceneConfig
from synthgen.groundtruth.projection import project, transform
from synthgen.runner.pipeline import JobContext, build_scene
from synthgen.runner.plan import ShardPlan, plan_shards
from synthgen.scene.sampler import intrinsics, look_at_w2c, scene_rng

from conftest import REPO


def _scene(seed: int, index: int = 0, scene: str = "kitchen", *overrides: str):
    cfg = load_scene_config(REPO / "scenes" / f"{scene}.yaml", [f"seed={seed}", "humans.count=[0,0]", *overrides])
    return build_scene(JobContext.build(cfg, REPO / "scenes"), ShardPlan(index, 2, 0))


def test_scene_rng_is_spawn_compatible():
    a = scene_rng(42, 3).random(4)
    b = np.random.default_rng(np.random.SeedSequence(42).spawn(5)[3]).random(4)
    np.testing.assert_array_equal(a, b)


def test_same_seed_same_scene_and_different_seed_differs():
    s1, s2, s3 = _scene(5), _scene(5), _scene(6)
    assert len(s1.objects) == len(s2.objects)
    for a, b in zip(s1.objects, s2.objects):
        np.testing.assert_array_equal(a.pose_world, b.pose_world)
    np.testing.assert_array_equal(s1.cameras[0].T_w2c, s2.cameras[0].T_w2c)
    assert not np.allclose(s1.cameras[0].T_w2c, s3.cameras[0].T_w2c)




def test_look_at_puts_target_on_the_optical_axis_with_world_up_pointing_up():
    eye, target = np.array([1.0, -2.0, 1.5]), np.array([0.5, 1.0, 0.9])
    T = look_at_w2c(eye, target)
    np.testing.assert_allclose(T[:3, :3] @ T[:3, :3].T, np.eye(3), atol=1e-12)
    c = transform(T, target[None])[0]
    np.testing.assert_allclose(c[:2], 0.0, atol=1e-12)
    assert c[2] == pytest.approx(np.linalg.norm(target - eye))
    above = transform(T, (target + [0, 0, 0.1])[None])[0]
    assert above[1] < 0  # OpenCV y points down: a point above the target has negative y


def test_intrinsics_scale_about_pixel_corners():
    cfg = SceneConfig()
    cfg.camera.width, cfg.camera.height = 320, 240
    K = intrinsics(cfg)
    assert K[0, 0] == pytest.approx(525.0 / 2) and K[0, 2] == pytest.approx(159.5)
    # the image centre stays the image centre
    uv = project(K, np.array([[0.0, 0.0, 1.0]]))[0]
    np.testing.assert_allclose(uv, [159.5, 119.5])


def test_plan_shards_covers_every_frame_once():
    plan = plan_shards(10, 4)
    assert [(p.scene_index, p.n_views, p.first_frame) for p in plan] == [(0, 4, 0), (1, 4, 4), (2, 2, 8)]
