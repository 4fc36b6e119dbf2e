"""Scene sampling and physics settling: seeded, engine-free data out."""
from __future__ import annotations

import numpy as np
import pytest

from synthgen.config import load_scene_config
from synthgen.config.schema import SceneConfig
from synthgen.groundtruth.projection import project, transform
from synthgen.runner.pipeline import JobContext, build_scene
from synthgen.runner.plan import ShardPlan, plan_shards
from synthgen.scene.kinds import SUPPORT_KINDS
from synthgen.scene.sampler import intrinsics, look_at_w2c, scene_rng

from conftest import REPO


def _scene(seed: int, index: int = 0, scene: str = "kitchen", *overrides: str):
    cfg = load_scene_config(REPO / "scenes" / f"{scene}.yaml", [f"seed={seed}", "humans.count=[0,0]", *overrides])
    return build_scene(JobContext.build(cfg, REPO / "scenes"), ShardPlan(index, 2, 0))


def test_scene_rng_is_spawn_compatible():
    a = scene_rng(42, 3).random(4)
    b = np.random.default_rng(np.random.SeedSequence(42).spawn(5)[3]).random(4)
    np.testing.assert_array_equal(a, b)


@pytest.mark.slow   # samples and settles several whole scenes
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


def _structure_signature(scene) -> np.ndarray:
    return np.array([np.r_[s.pose_world[:3, 3], np.ptp(s.mesh.vertices, axis=0)] for s in scene.structures
                     if s.name != "floor"][:8])


@pytest.mark.slow   # samples and settles several whole scenes
def test_layout_differs_between_seeds_and_repeats_for_a_seed():
    a, b, c = _scene(11), _scene(11), _scene(12)
    sa, sb, sc = _structure_signature(a), _structure_signature(b), _structure_signature(c)
    np.testing.assert_array_equal(sa, sb)
    assert sa.shape != sc.shape or not np.allclose(sa, sc)
    assert [o.name for o in a.objects] == [o.name for o in b.objects]
    for oa, ob in zip(a.objects, b.objects):
        np.testing.assert_array_equal(oa.pose_world, ob.pose_world)


@pytest.mark.parametrize("layout,kinds", [("kitchen", {"counter", "shelf", "floor"}),
                                          ("tabletop", {"table", "floor"}),
                                          ("workshop", {"workbench", "shelf", "floor"})])
def test_layouts_have_their_supports_and_valid_cameras(layout, kinds):
    from synthgen.scene.layout import sample_layout
    from synthgen.scene.lights_cameras import view_is_valid
    from synthgen.scene.materials import SurfaceMaterials

    scene = "tabletop" if layout == "tabletop" else ("workshop" if layout == "workshop" else "kitchen")
    cfg = load_scene_config(REPO / "scenes" / f"{scene}.yaml", ["room.shelves=[2,2]"] if layout == "kitchen" else [])
    lay = sample_layout(cfg.room, scene_rng(3, 0), SurfaceMaterials(cfg.materials, scene_rng(3, 1)))
    assert kinds <= lay.support_kinds() <= set(SUPPORT_KINDS)
    s = _scene(3, 0, scene)
    assert len(s.objects) >= 10
    for cam in s.cameras:
        eye = -cam.T_w2c[:3, :3].T @ cam.T_w2c[:3, 3]
        assert 0 < eye[0] and 0 < eye[1] and 0 < eye[2]
    # the validity check rejects an eye inside furniture and outside the room
    box_c, box_s = lay.boxes[-1]
    assert not view_is_valid(lay, box_c.copy(), box_c + np.array([0, 0, 2.0]))
    assert not view_is_valid(lay, np.array([-1.0, 1.0, 1.0]), np.array([1.0, 1.0, 1.0]))


def test_config_names_are_the_scene_builders_names():
    """One list each of layouts, texture and light kinds: what the config accepts is what the scene
    code builds, and the per-role texture choices only name kinds that exist."""
    from synthgen.config import schema
    from synthgen.scene import kinds, layout, materials, textures

    assert schema.LAYOUTS is kinds.LAYOUTS and tuple(layout.LAYOUT_FUNCS) == kinds.LAYOUTS
    assert schema.SUPPORT_KINDS is kinds.SUPPORT_KINDS
    assert schema.TEXTURE_KINDS is textures.TEXTURE_KINDS is kinds.TEXTURE_KINDS
    assert tuple(textures.GENERATORS) == kinds.TEXTURE_KINDS
    assert schema.MaterialsConfig().textures == ["wood", "tiles", "noise", "stripes"]
    assert schema.LightsConfig().types == ["point", "spot", "directional"] == list(kinds.LIGHT_KINDS)
    assert {k for ks in materials._ROLE_TEXTURES.values() for k in ks} <= set(kinds.TEXTURE_KINDS)


def test_shelf_objects_fit_under_the_next_board():
    s = _scene(5, 0, "workshop")
    boards = sorted({round(e.pose_world[2, 3] + np.ptp(e.mesh.vertices[:, 2]) / 2, 4)
                     for e in s.structures if e.name.startswith("rack_board")})
    for o in s.objects:
        z = transform(o.pose_world, o.mesh.vertices)[:, 2]
        below = [b for b in boards if b <= z.min() + 0.006]
        above = [b for b in boards if b > z.min() + 0.006]
        if below and above and abs(z.min() - below[-1]) < 0.006:
            assert z.max() < above[0], o.name


def test_procedural_textures_are_seeded_and_uv_mapping_is_per_face():
    from synthgen.scene.description import MeshData
    from synthgen.scene.textures import TEXTURE_KINDS, box_project_uv, make_texture

    for kind in TEXTURE_KINDS:
        t1 = make_texture(kind, np.random.default_rng(1), 32)
        t2 = make_texture(kind, np.random.default_rng(1), 32)
        t3 = make_texture(kind, np.random.default_rng(2), 32)
        assert t1.shape == (32, 32, 3) and t1.dtype == np.uint8
        np.testing.assert_array_equal(t1, t2)
        assert not np.array_equal(t1, t3) and t1.std() > 1.0
    import trimesh

    tm = trimesh.creation.box((1.0, 2.0, 0.5))
    m = box_project_uv(MeshData(np.asarray(tm.vertices), np.asarray(tm.faces)), metres_per_repeat=0.5)
    assert m.uv.shape == (36, 2) and m.vertices.shape == (36, 3)
    # the +Z face spans 1 x 2 m -> 2 x 4 texture repeats
    faces_top = np.isclose(m.vertices[m.faces][:, :, 2], 0.25).all(axis=1)
    top = m.faces[faces_top].ravel()
    assert np.ptp(m.uv[top, 0]) == pytest.approx(2.0) and np.ptp(m.uv[top, 1]) == pytest.approx(4.0)


def test_stage_timer_sees_every_stage_and_changes_no_output():
    """frames_of_scene with a StageTimes records each stage it runs, and the frames equal those
    of an untimed run (the timer only measures)."""
    from synthgen.render import Renderer
    from synthgen.runner.pipeline import StageTimes, frames_of_scene

    cfg = load_scene_config(REPO / "scenes" / "tabletop.yaml",
                            ["camera.width=48", "camera.height=36", "views_per_scene=2"])
    ctx = JobContext.build(cfg, REPO / "scenes")
    shard = ShardPlan(0, 2, 0)
    scene = build_scene(ctx, shard)
    times = StageTimes()
    with Renderer(48, 36, znear=0.05) as r:
        timed = frames_of_scene(ctx, r, scene, shard, times=times)
        plain = frames_of_scene(ctx, r, scene, shard)
    assert set(times.seconds) == {"render", "amodal", "sensor", "ground_truth"}
    assert all(v > 0 for v in times.seconds.values())
    for a, b in zip(timed, plain):
        np.testing.assert_array_equal(a.rgb, b.rgb)
        np.testing.assert_array_equal(a.depth_gt, b.depth_gt)
        assert [o.px_count_visib for o in a.objects] == [o.px_count_visib for o in b.objects]
