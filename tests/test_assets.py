"""Asset library: every source resolves to a metre-scale, bounding-box-centred model with true
BOP symmetries, stable obj_ids, and one-line errors naming the reference."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pybullet_data
import pytest
import trimesh
from scipy.spatial import cKDTree

from synthgen.assets import (AssetError, AssetModel, builtin_names, expand_ref, resolve_asset,
                             resolve_assets)
from synthgen.assets.geometry import rotation, translation

PYBULLET_DATA = Path(pybullet_data.getDataPath())

# Real-world bounding-box sizes (x, y, z) in cm of every builtin, as documented in procedural.py.
SIZES_CM = {
    "box": (19, 7, 27), "cylinder": (6.6, 6.6, 10), "sphere": (7.5, 7.5, 7.5), "cone": (10, 10, 12),
    "capsule": (4, 4, 11), "mug": (11.5, 8.2, 9.5), "bowl": (16, 16, 6.5), "plate": (26, 26, 2),
    "bottle": (6.5, 6.5, 20.5), "can": (6.6, 6.6, 12.2), "carton": (7, 7, 23.5), "pan": (45, 26, 8.3),
    "cutting_board": (35, 24, 1.8), "knife": (32, 4.5, 1.6), "jar": (9, 9, 12.4),
    "wrench": (16.2, 2.9, 0.6), "screwdriver": (20.7, 3.2, 3.2), "hammer": (31, 11.5, 2.9),
    "bolt": (1.85, 1.6, 5.64), "hex_nut": (1.85, 1.6, 0.8), "crate": (30, 20, 15),
}


def extents(a: AssetModel) -> np.ndarray:
    return np.ptp(a.mesh.vertices, axis=0)


def surface_distance(a: AssetModel, points: np.ndarray) -> np.ndarray:
    """Distance (m) from each point to the asset's triangle surface (brute force, exact)."""
    tm = trimesh.Trimesh(a.mesh.vertices, a.mesh.faces, process=False)
    return trimesh.proximity.closest_point_naive(tm, points)[1]


def apply(T: np.ndarray, pts: np.ndarray) -> np.ndarray:
    return pts @ np.asarray(T)[:3, :3].T + np.asarray(T)[:3, 3]


# ---------------------------------------------------------------- builtins

def test_builtin_names_cover_the_issue_list():
    required = {"mug", "bowl", "plate", "bottle", "can", "box", "carton", "pan", "cutting_board",
                "knife", "jar", "wrench", "screwdriver", "hammer", "bolt", "hex_nut", "crate",
                "cylinder", "sphere", "cone", "capsule"}
    assert required <= set(builtin_names())
    assert set(builtin_names()) == set(SIZES_CM)


@pytest.mark.parametrize("name", sorted(SIZES_CM))
def test_builtin_real_size_centred_closed_small(name):
    a = resolve_asset(f"builtin:{name}", 3)
    assert (a.obj_id, a.ref, a.name) == (3, f"builtin:{name}", name)
    np.testing.assert_allclose(extents(a) * 100, SIZES_CM[name], atol=0.06)   # 0.6 mm
    lo, hi = a.mesh.vertices.min(0), a.mesh.vertices.max(0)
    np.testing.assert_allclose((lo + hi) / 2, 0.0, atol=1e-12)                # BOP origin
    assert a.mesh.vertices.dtype == np.float64 and a.mesh.faces.dtype == np.int64
    assert 0 < len(a.mesh.faces) < 5000
    tm = trimesh.Trimesh(a.mesh.vertices, a.mesh.faces, process=False)
    assert tm.is_watertight and all(b.is_volume for b in tm.split(only_watertight=False))
    assert a.mass_kg > 0 and a.category in {"kitchenware", "container", "tool", "hardware", "primitive"}
    # source_to_model maps the construction frame into this one: translation = -origin_offset
    np.testing.assert_allclose(a.source_to_model[:3, 3], -a.origin_offset)


def test_can_and_mug_specifics():
    can, mug = resolve_asset("builtin:can", 1), resolve_asset("builtin:mug", 2)
    assert extents(can)[0] == pytest.approx(0.066, abs=0.001)
    assert extents(can)[2] == pytest.approx(0.122, abs=0.003)
    assert len(can.symmetries_continuous) == 1 and len(can.symmetries_discrete) == 1
    ext = extents(mug)
    assert ext[0] > ext[1] + 0.02          # the handle sticks out along +X
    assert mug.symmetries_continuous == [] and mug.symmetries_discrete == []


@pytest.mark.parametrize("name", sorted(SIZES_CM))
def test_builtin_symmetries_are_true(name):
    a = resolve_asset(f"builtin:{name}", 1)
    V = a.mesh.vertices
    tree = cKDTree(V)
    for S in a.symmetries_discrete:
        S = np.asarray(S)
        np.testing.assert_allclose(S[:3, :3] @ S[:3, :3].T, np.eye(3), atol=1e-12)
        assert np.linalg.det(S[:3, :3]) == pytest.approx(1.0)        # a rotation, not a mirror
        assert tree.query(apply(S, V))[0].max() < 1e-4              # 0.1 mm
    idx = np.random.default_rng(0).choice(len(V), min(len(V), 150), replace=False)
    for s in a.symmetries_continuous:
        axis, offset = np.asarray(s["axis"]), np.asarray(s["offset"])
        for angle in (0.7, 2.1):                                     # not a multiple of 2 pi / n
            R = rotation(axis, angle)[:3, :3]
            moved = (V[idx] - offset) @ R.T + offset
            # on the faceted surface up to the facet sagitta (< 0.2 mm for these radii)
            assert surface_distance(a, moved).max() < 5e-4


def test_symmetry_check_detects_non_symmetries():
    """The checks above can fail: turns these objects do not have move vertices off."""
    mug = resolve_asset("builtin:mug", 1)
    assert cKDTree(mug.mesh.vertices).query(apply(np.diag([-1.0, -1, 1, 1]), mug.mesh.vertices))[0].max() > 0.01
    nut = resolve_asset("builtin:hex_nut", 1)
    turn30 = rotation((0, 0, 1), np.pi / 6)
    assert cKDTree(nut.mesh.vertices).query(apply(turn30, nut.mesh.vertices))[0].max() > 5e-4
    can = resolve_asset("builtin:can", 1)
    off_axis = can.mesh.vertices + [0.01, 0.0, 0.0]   # rotating about a shifted axis is no symmetry
    assert surface_distance(can, off_axis[::10]).max() > 5e-3


def test_scale_option_scales_size_mass_and_symmetry_offsets():
    a, b = resolve_asset("builtin:can", 1), resolve_asset("builtin:can?scale=1.2", 2)
    np.testing.assert_allclose(extents(b), 1.2 * extents(a), rtol=1e-9)
    assert b.mass_kg == pytest.approx(a.mass_kg * 1.2 ** 3)
    assert b.name == "can" and b.ref == "builtin:can?scale=1.2"
    np.testing.assert_allclose(b.origin_offset, 1.2 * a.origin_offset)
    named = resolve_asset("builtin:can?name=soup&category=food", 3)
    assert (named.name, named.category) == ("soup", "food")


def test_cache_shares_readonly_arrays():
    a, b = resolve_asset("builtin:jar", 1), resolve_asset("builtin:jar", 7)
    assert (a.obj_id, b.obj_id) == (1, 7)
    assert a.mesh.vertices is b.mesh.vertices                     # cached geometry
    with pytest.raises(ValueError):
        a.mesh.vertices[0, 0] = 1.0                               # callers cannot corrupt it
    a.symmetries_continuous.append({"axis": [1, 0, 0], "offset": [0, 0, 0]})
    assert len(resolve_asset("builtin:jar", 1).symmetries_continuous) == 1


# ---------------------------------------------------------------- pybullet_data

def test_pybullet_duck_urdf_and_obj_in_metres_z_up():
    urdf = resolve_asset("pybullet_data:duck_vhacd.urdf", 1)
    obj = resolve_asset("pybullet_data:duck.obj", 2)
    raw = trimesh.load(PYBULLET_DATA / "duck.obj", force="mesh")
    # duck_vhacd.urdf scales duck.obj by 0.05; the file is Y-up and the model Z-up
    expected = raw.extents[[0, 2, 1]] * 0.05
    np.testing.assert_allclose(extents(urdf), expected, rtol=1e-6)
    np.testing.assert_allclose(extents(obj), expected, rtol=1e-6)
    assert 0.07 < extents(urdf)[2] < 0.085                        # a ~8 cm rubber duck, upright
    assert urdf.mass_kg == pytest.approx(0.1) and urdf.default_color == (1.0, 1.0, 0.4, 1.0)
    assert urdf.category == "distractor" and urdf.name == "duck_vhacd"
    src = np.asarray(raw.vertices)
    model = apply(obj.source_to_model, src)
    assert cKDTree(obj.mesh.vertices).query(model)[0].max() < 1e-9


def test_pybullet_random_urdf_and_its_obj():
    u = resolve_asset("pybullet_data:random_urdfs/000/000.urdf", 1)
    o = resolve_asset("pybullet_data:random_urdfs/000/000.obj", 2)
    raw = trimesh.load(PYBULLET_DATA / "random_urdfs/000/000.obj", force="mesh")
    np.testing.assert_allclose(extents(u), raw.extents * 0.015, rtol=1e-6)    # URDF scale 0.015
    np.testing.assert_allclose(extents(o), extents(u), rtol=1e-9)
    assert u.name == "random_urdfs_000"
    np.testing.assert_allclose(extents(resolve_asset("pybullet_data:random_urdfs/000/000.obj?unit=cm", 3)),
                               raw.extents * 0.01, rtol=1e-6)


# ---------------------------------------------------------------- mesh files, URDF files

def test_mesh_in_mm_cm_and_m_gives_the_same_metres(tmp_path):
    box = trimesh.creation.box((0.12, 0.05, 0.3))
    box.apply_translation((1.0, 2.0, 3.0))                       # off-centre in the file
    box.export(tmp_path / "m.obj")
    mm = box.copy()
    mm.apply_scale(1000.0)
    mm.export(tmp_path / "mm.stl")
    cm = box.copy()
    cm.apply_scale(100.0)
    (tmp_path / "sub").mkdir()
    cm.export(tmp_path / "sub" / "cm.ply")
    a = resolve_asset("mesh:m.obj?unit=m", 1, base_dir=tmp_path)
    b = resolve_asset("mesh:mm.stl?unit=mm", 2, base_dir=tmp_path)
    c = resolve_asset(f"mesh:{tmp_path / 'sub' / 'cm.ply'}?unit=cm", 3)   # absolute path
    for x in (a, b, c):
        np.testing.assert_allclose(extents(x), (0.12, 0.05, 0.3), atol=1e-9)
        np.testing.assert_allclose(x.origin_offset, (1.0, 2.0, 3.0), atol=1e-9)
    np.testing.assert_allclose(apply(b.source_to_model, mm.vertices).min(0), (-0.06, -0.025, -0.15), atol=1e-9)
    assert a.name == "m" and a.category == "object" and a.source_path == str(tmp_path / "m.obj")


def test_glb_parts_are_merged_and_y_up_by_default(tmp_path):
    scene = trimesh.Scene()
    scene.add_geometry(trimesh.creation.box((0.1, 0.2, 0.3)))
    scene.add_geometry(trimesh.creation.box((0.1, 0.1, 0.1)), transform=translation((0.5, 0.0, 0.0)))
    scene.export(tmp_path / "two.glb")
    y_up = resolve_asset("mesh:two.glb?unit=m", 1, base_dir=tmp_path)
    z_up = resolve_asset("mesh:two.glb?unit=m&up=z", 2, base_dir=tmp_path)
    np.testing.assert_allclose(extents(z_up), (0.6, 0.2, 0.3), atol=1e-9)   # both parts
    np.testing.assert_allclose(extents(y_up), (0.6, 0.3, 0.2), atol=1e-9)   # file +Y -> model +Z
    assert len(z_up.mesh.faces) == 24


def test_urdf_file_merges_links_with_joint_origins_and_scales(tmp_path):
    trimesh.creation.box((1.0, 1.0, 1.0)).export(tmp_path / "unit_cube.obj")
    (tmp_path / "two.urdf").write_text("""<robot name="two">
      <link name="base"><inertial><mass value="0.2"/></inertial>
        <visual><geometry><mesh filename="unit_cube.obj" scale="0.1 0.2 0.05"/></geometry>
          <material name="red"><color rgba="1 0 0 1"/></material></visual></link>
      <link name="tip"><inertial><mass value="0.3"/></inertial>
        <visual><origin xyz="0 0 0.1" rpy="0 0 0"/><geometry><box size="0.02 0.02 0.02"/></geometry></visual></link>
      <joint name="j" type="revolute"><parent link="base"/><child link="tip"/>
        <origin xyz="0.3 0 0" rpy="0 0 1.5707963"/></joint>
    </robot>""")
    a = resolve_asset("urdf:two.urdf", 1, base_dir=tmp_path)
    # base box spans x -0.05..0.05, z -0.025..0.025; the tip box centre sits at (0.3, 0, 0.1)
    np.testing.assert_allclose(extents(a), (0.36, 0.2, 0.135), atol=1e-6)
    assert a.mass_kg == pytest.approx(0.5) and a.default_color == (1.0, 0.0, 0.0, 1.0)


# ---------------------------------------------------------------- BOP models folders

def _write_bop_models(root: Path) -> Path:
    models = root / "lm" / "models"
    models.mkdir(parents=True)
    box = trimesh.creation.box((40.0, 30.0, 20.0))                        # mm, centred
    box.export(models / "obj_000003.ply")
    cyl = trimesh.creation.cylinder(radius=25.0, height=50.0, sections=32)
    cyl.apply_translation((0.0, 0.0, 25.0))                               # z 0..50 mm: not centred
    cyl.visual.vertex_colors = np.tile([200, 10, 10, 255], (len(cyl.vertices), 1)).astype(np.uint8)
    cyl.export(models / "obj_000007.ply")
    flip_about_mid = [1, 0, 0, 0, 0, -1, 0, 0, 0, 0, -1, 50, 0, 0, 0, 1]  # 180 deg about X at z=25 mm
    info = {  # keys deliberately not in numeric order
        "7": {"diameter": 111.8, "symmetries_continuous": [{"axis": [0, 0, 1], "offset": [0, 0, 0]}],
              "symmetries_discrete": [flip_about_mid]},
        "3": {"diameter": 53.9, "symmetries_discrete": [
            [1, 0, 0, 0, 0, -1, 0, 0, 0, 0, -1, 0, 0, 0, 0, 1],
            [-1, 0, 0, 0, 0, 1, 0, 0, 0, 0, -1, 0, 0, 0, 0, 1]]},
    }
    (models / "models_info.json").write_text(json.dumps(info))
    return models


def test_bop_folder_expands_to_consecutive_ids_in_metres(tmp_path):
    _write_bop_models(tmp_path)
    refs = ["builtin:mug", "bop:lm/models", "bop:lm/models#7"]
    assert expand_ref("bop:lm/models", tmp_path) == ["bop:lm/models#3", "bop:lm/models#7"]
    assets = resolve_assets(refs, base_dir=tmp_path)
    assert [(a.obj_id, a.ref) for a in assets] == [
        (1, "builtin:mug"), (2, "bop:lm/models#3"), (3, "bop:lm/models#7"), (4, "bop:lm/models#7")]
    box, cyl = assets[1], assets[2]
    assert (box.name, cyl.name) == ("lm_obj_000003", "lm_obj_000007")
    np.testing.assert_allclose(extents(box), (0.04, 0.03, 0.02), atol=1e-9)
    np.testing.assert_allclose(extents(cyl), (0.05, 0.05, 0.05), atol=1e-9)
    np.testing.assert_allclose(cyl.origin_offset, (0.0, 0.0, 0.025), atol=1e-12)
    # symmetries carried into the re-centred metre frame
    assert len(box.symmetries_discrete) == 2
    np.testing.assert_allclose(cyl.symmetries_discrete[0], np.diag([1.0, -1.0, -1.0, 1.0]), atol=1e-12)
    assert cyl.symmetries_continuous == [{"axis": [0.0, 0.0, 1.0], "offset": [0.0, 0.0, 0.0]}]
    for a in (box, cyl):
        tree = cKDTree(a.mesh.vertices)
        for S in a.symmetries_discrete:
            assert tree.query(apply(S, a.mesh.vertices))[0].max() < 1e-9
    assert cyl.mesh.vertex_colors is not None and tuple(cyl.mesh.vertex_colors[0]) == (200, 10, 10, 255)


def test_bop_folder_needs_resolve_assets_or_an_id(tmp_path):
    _write_bop_models(tmp_path)
    with pytest.raises(AssetError, match=r"expected one model.*found 2 models"):
        resolve_asset("bop:lm/models", 1, base_dir=tmp_path)


# ---------------------------------------------------------------- errors

def _bad_files(tmp_path: Path) -> None:
    (tmp_path / "garbage.ply").write_bytes(b"ply\nthis is not a ply header\x00\x01")
    (tmp_path / "empty.obj").write_text("# no geometry\n")
    (tmp_path / "bop_no_info").mkdir()


@pytest.mark.parametrize("ref, fragments", [
    ("builtin:teapot", ["a builtin name among", "mug", "found 'teapot'"]),
    ("blender:cube", ["a source among", "found 'blender:'"]),
    ("mug", ["a reference like", "no 'source:' prefix"]),
    ("mesh:missing.obj?unit=mm", ["an existing mesh file", "missing.obj"]),
    ("mesh:garbage.ply?unit=mm", ["a readable mesh file", "garbage.ply"]),
    ("mesh:empty.obj?unit=mm", ["a mesh with triangles", "empty.obj"]),
    ("mesh:model.fbx?unit=mm", ["a mesh file (.obj", "found '.fbx'"]),
    ("mesh:empty.obj?unit=furlong", ["a unit among m, dm, cm, mm, in", "found 'furlong'"]),
    ("mesh:empty.obj", ["a unit option", "found none"]),
    ("mesh:empty.obj?unit=mm&colour=red", ["an option among", "found 'colour'"]),
    ("builtin:mug?scale=0", ["a positive number for 'scale'", "found '0'"]),
    ("mesh:empty.obj?unit=mm&up=x", ["up=z or up=y", "found 'x'"]),
    ("pybullet_data:no_such_duck.obj", ["a file in pybullet_data", "no_such_duck.obj"]),
    ("pybullet_data:teddy2_VHACD_CHs.obj", ["one URDF scale", "teddy_large.urdf", "teddy_vhacd.urdf"]),
    ("pybullet_data:duck_vhacd.urdf?unit=mm", ["no unit for a URDF", "unit=mm"]),
    ("bop:bop_no_info", ["models_info.json", "bop_no_info"]),
    ("bop:nowhere#1", ["a BOP models folder", "nowhere"]),
    ("bop:lm/models#5", ["an obj_id listed in models_info.json (3, 7)", "found 5"]),
    ("bop:lm/models#five", ["an integer obj_id", "found 'five'"]),
])
def test_errors_are_one_line_and_name_ref_expected_found(tmp_path, ref, fragments):
    _bad_files(tmp_path)
    _write_bop_models(tmp_path)
    with pytest.raises(AssetError) as exc:
        resolve_asset(ref, 1, base_dir=tmp_path)
    msg = str(exc.value)
    assert "\n" not in msg
    assert msg.startswith(f"asset '{ref}': expected ")
    assert "; found " in msg
    for f in fragments:
        assert f in msg, (f, msg)


def test_non_string_and_bad_id_are_asset_errors():
    with pytest.raises(AssetError, match=r"^asset 3: expected a reference"):
        resolve_asset(3, 1)
    with pytest.raises(AssetError, match=r"expected an integer obj_id >= 1"):
        resolve_asset("builtin:mug", -1)
    assert resolve_asset("builtin:mug", 0).obj_id == 0        # unlabelled distractor
