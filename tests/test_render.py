"""Render adapter on real pyrender (Mesa llvmpipe EGL), small frames, analytic scenes.

The camera is placed with a generic world->camera transform, and objects are placed by their pose
in the *camera* frame (``_place``), so every expected value is computed in OpenCV camera
coordinates with ``u = fx x/z + cx``; a wrong OpenCV->OpenGL flip, a transposed pose or a
half-pixel offset moves the rendered result away from it.
"""
from __future__ import annotations

import ctypes.util
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import trimesh
from scipy.ndimage import binary_erosion
from scipy.spatial import ConvexHull
from scipy.spatial.transform import Rotation

from synthgen.groundtruth.projection import project, transform
from synthgen.render import (
    PERSON_LABEL_BASE,
    GLUnavailableError,
    Renderer,
    Silhouette,
    gl_info,
    gl_projection_matrix,
    object_label,
    person_label,
    scene_labels,
    setup_gl_platform,
)
from synthgen.scene.description import (
    Camera,
    Light,
    Material,
    MeshData,
    ObjectInstance,
    PersonInstance,
    Scene,
    StructureElement,
)

W, H = 64, 48
# Fractional principal point and fx != fy, so swapped axes or a half-pixel shift show.
K = np.array([[60.0, 0.0, 31.3], [0.0, 56.0, 23.7], [0.0, 0.0, 1.0]])
# A generic camera pose: world -> OpenCV camera.
T_W2C = np.eye(4)
T_W2C[:3, :3] = Rotation.from_euler("xyz", [100.0, -20.0, 35.0], degrees=True).as_matrix()
T_W2C[:3, 3] = [0.3, -0.2, 1.1]


def _mesh(tm: trimesh.Trimesh) -> MeshData:
    return MeshData(vertices=np.asarray(tm.vertices, np.float64), faces=np.asarray(tm.faces, np.int64))


def _box(extents) -> MeshData:
    return _mesh(trimesh.creation.box(extents=extents))


def _pose(t, rotvec=(0.0, 0.0, 0.0)) -> np.ndarray:
    T = np.eye(4)
    T[:3, :3] = Rotation.from_rotvec(rotvec).as_matrix()
    T[:3, 3] = t
    return T


def _place(T_m2c: np.ndarray) -> np.ndarray:
    """World pose of something whose pose in the OpenCV camera frame is ``T_m2c``."""
    return np.linalg.inv(T_W2C) @ T_m2c


def _camera(K_=K, w=W, h=H) -> Camera:
    return Camera(K=K_.copy(), width=w, height=h, T_w2c=T_W2C.copy())


def _scene(objects=(), persons=(), structures=(), lights=(), ambient=(0.3, 0.3, 0.3)) -> Scene:
    return Scene(scene_id=0, structures=list(structures), objects=list(objects), persons=list(persons),
                 lights=list(lights), cameras=[_camera()], ambient=ambient)


def _obj(mesh: MeshData, T_m2c: np.ndarray, color=(0.8, 0.8, 0.8, 1.0), obj_id: int = 1) -> ObjectInstance:
    return ObjectInstance(obj_id=obj_id, name="box", mesh=mesh, pose_world=_place(T_m2c),
                          material=Material(base_color=color))


def _project_cam(points_cam: np.ndarray, K_=K) -> np.ndarray:
    return (points_cam[:, :2] / points_cam[:, 2:3]) * [K_[0, 0], K_[1, 1]] + [K_[0, 2], K_[1, 2]]


def _hull_distance(uv: np.ndarray, w: int, h: int) -> np.ndarray:
    """Signed distance (px, negative inside) of every pixel centre to the convex hull of ``uv``."""
    hull = ConvexHull(uv)
    uu, vv = np.meshgrid(np.arange(w), np.arange(h))
    centres = np.stack([uu.ravel(), vv.ravel()], axis=1).astype(float)
    # qhull's 2-D facet normals are unit vectors: n . x + offset is the signed distance.
    d = centres @ hull.equations[:, :2].T + hull.equations[:, 2]
    return d.max(axis=1).reshape(h, w)


@pytest.fixture(scope="module")
def renderer():
    with Renderer(W, H) as r:
        yield r


# --- camera model (pure numpy) -------------------------------------------------------------------

def test_projection_matrix_maps_pixel_centres_to_gl_sample_positions():
    """OpenCV pixel (u, v) must land on GL window coordinates (u + 0.5, H - v - 0.5)."""
    P = gl_projection_matrix(K, W, H, 0.01, 50.0)
    rng = np.random.default_rng(0)
    pts = np.column_stack([rng.uniform(-0.5, 0.5, (20, 2)), rng.uniform(0.5, 5.0, 20)])
    uv = _project_cam(pts)
    eye_gl = np.column_stack([pts[:, 0], -pts[:, 1], -pts[:, 2], np.ones(len(pts))])
    clip = eye_gl @ P.T
    ndc = clip[:, :3] / clip[:, 3:4]
    window = np.column_stack([(ndc[:, 0] + 1) * W / 2, (ndc[:, 1] + 1) * H / 2])
    np.testing.assert_allclose(window, np.column_stack([uv[:, 0] + 0.5, H - uv[:, 1] - 0.5]), atol=1e-9)
    # Depth row: NDC z is -1 at znear and +1 at zfar.
    for z, expect in ((0.01, -1.0), (50.0, 1.0)):
        c = P @ [0.0, 0.0, -z, 1.0]
        assert c[2] / c[3] == pytest.approx(expect, abs=1e-9)


def test_the_one_projection_equals_the_homogeneous_division_bit_for_bit():
    """``groundtruth.projection.project`` (used by labels, the amodal windows and the overlays)
    gives bit for bit what the division by the third homogeneous row gave (the renderer's and the
    overlay's former copies), skew included; points on or behind the camera plane are NaN."""
    Ks = np.array([[61.7, 0.3, 31.3], [0.0, 57.1, 23.7], [0.0, 0.0, 1.0]])
    rng = np.random.default_rng(3)
    pts = np.column_stack([rng.uniform(-3, 3, (500, 2)), rng.uniform(0.01, 40.0, 500)])
    T = np.eye(4)
    T[:3, :3] = Rotation.from_euler("xyz", [10.0, -30.0, 5.0], degrees=True).as_matrix()
    T[:3, 3] = [0.1, -0.7, 2.0]
    world = rng.uniform(-2, 2, (500, 3))
    cam = world @ T[:3, :3].T + T[:3, 3]
    np.testing.assert_array_equal(transform(T, world), cam)
    for p in (pts, cam[cam[:, 2] > 0]):
        uvw = p @ Ks.T
        assert np.array_equal(project(Ks, p), uvw[:, :2] / uvw[:, 2:3])
    x, y, z = pts[0]
    assert project(Ks, pts[:1])[0].tolist() == pytest.approx([61.7 * x / z + 0.3 * y / z + 31.3,
                                                              57.1 * y / z + 23.7], rel=1e-12)
    assert np.isnan(project(Ks, np.array([[0.1, 0.2, 0.0], [0.1, 0.2, -1.0]]))).all()


# --- pixel-centre convention on the rasterizer -----------------------------------------------------

def test_rendered_edges_match_projected_vertices_at_fractional_principal_point(renderer):
    """Edge positions of a fronto-parallel rectangle, estimated to 0.05 px by shifting it in
    0.05 px steps and bracketing the first/last covered pixel centre, match the projection."""
    ext = (0.40, 0.30, 0.01)
    z_front = 1.0 - ext[2] / 2
    centre = np.array([0.03, -0.02, 1.0])
    obj = _obj(_box(ext), _pose(centre))
    scene = _scene([obj])
    cam = _camera()
    u_left = K[0, 0] * (centre[0] - ext[0] / 2) / z_front + K[0, 2]
    u_right = K[0, 0] * (centre[0] + ext[0] / 2) / z_front + K[0, 2]
    v_top = K[1, 1] * (centre[1] - ext[1] / 2) / z_front + K[1, 2]
    v_bottom = K[1, 1] * (centre[1] + ext[1] / 2) / z_front + K[1, 2]
    # Each bracket is [lower, upper] bounds on the edge at shift 0.
    brackets = {name: [-np.inf, np.inf] for name in ("left", "right", "top", "bottom")}
    for delta in np.arange(0.0, 1.0, 0.05):
        # Shift the rectangle by delta pixels in both u and v.
        shifted = centre + [delta * z_front / K[0, 0], delta * z_front / K[1, 1], 0.0]
        obj.pose_world = _place(_pose(shifted))
        out = renderer.render(scene, cam)
        mask = out.seg == object_label(0)
        assert np.array_equal(mask, out.depth > 0)
        cols = np.flatnonzero(mask.any(axis=0))
        rows = np.flatnonzero(mask.any(axis=1))
        # A pixel centre i is covered iff edge_low <= i <= edge_high (up to ties), so the first
        # covered centre c bounds the low edge to (c - 1, c], the last one the high edge to [c, c + 1).
        for name, first, low_edge in (("left", cols[0], True), ("right", cols[-1], False),
                                      ("top", rows[0], True), ("bottom", rows[-1], False)):
            lo, hi = (first - 1 - delta, first - delta) if low_edge else (first - delta, first + 1 - delta)
            brackets[name][0] = max(brackets[name][0], lo)
            brackets[name][1] = min(brackets[name][1], hi)
    for name, truth in (("left", u_left), ("right", u_right), ("top", v_top), ("bottom", v_bottom)):
        lo, hi = brackets[name]
        assert lo <= hi and hi - lo <= 0.051, (name, lo, hi)
        assert abs((lo + hi) / 2 - truth) < 0.1, (name, (lo + hi) / 2, truth)


def test_rgb_coverage_is_centred_on_projection(renderer):
    """The antialiased colour pass covers the same area at the same place (coverage-weighted)."""
    ext = (0.40, 0.30, 0.01)
    centre = np.array([0.03, -0.02, 1.0])
    z_front = centre[2] - ext[2] / 2
    scene = _scene([_obj(_box(ext), _pose(centre), color=(1.0, 1.0, 1.0, 1.0))], ambient=(1.0, 1.0, 1.0))
    out = renderer.render(scene, _camera())
    full = out.rgb[out.seg == object_label(0)][:, 0].astype(float)
    inner = np.median(full)
    assert inner > 50
    cover = np.clip(out.rgb[..., 0] / inner, 0, 1)
    area = K[0, 0] * ext[0] / z_front * K[1, 1] * ext[1] / z_front
    assert cover.sum() == pytest.approx(area, rel=0.02)
    uu, vv = np.meshgrid(np.arange(W), np.arange(H))
    u_c = K[0, 0] * centre[0] / z_front + K[0, 2]
    v_c = K[1, 1] * centre[1] / z_front + K[1, 2]
    assert (cover * uu).sum() / cover.sum() == pytest.approx(u_c, abs=0.1)
    assert (cover * vv).sum() / cover.sum() == pytest.approx(v_c, abs=0.1)


# --- depth ----------------------------------------------------------------------------------------

def test_depth_of_fronto_parallel_plane_is_its_z(renderer):
    thickness = 0.01
    z = 1.234
    scene = _scene([_obj(_box((5.0, 5.0, thickness)), _pose([0.1, -0.1, z + thickness / 2]))])
    out = renderer.render(scene, _camera())
    assert out.depth.dtype == np.float32 and out.depth.shape == (H, W)
    assert (out.seg == 1).all()
    np.testing.assert_allclose(out.depth, z, atol=1e-4)


def test_depth_of_tilted_plane_is_z_of_ray_through_pixel_centre(renderer):
    thickness = 0.01
    R = Rotation.from_euler("yx", [45.0, -15.0], degrees=True).as_matrix()
    centre = np.array([0.1, 0.05, 1.5])
    T = np.eye(4)
    T[:3, :3] = R
    T[:3, 3] = centre
    scene = _scene([_obj(_box((12.0, 12.0, thickness)), T)])
    out = renderer.render(scene, _camera())
    normal = R[:, 2]
    # The box face towards the camera (which sits at the origin).
    point = centre - np.sign(normal @ centre) * normal * thickness / 2

    def z_of_ray(u, v):
        rays = np.stack([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1], np.ones_like(u, float)], axis=-1)
        return (normal @ point) / (rays @ normal)

    uu, vv = np.meshgrid(np.arange(W, dtype=float), np.arange(H, dtype=float))
    z_expected = z_of_ray(uu, vv)
    assert (out.depth > 0).all()
    # The test can see a half-pixel error: it moves Z by more than the tolerance here.
    assert np.abs(z_of_ray(uu + 0.5, vv + 0.5) - z_expected).mean() > 3e-3
    np.testing.assert_allclose(out.depth, z_expected, atol=1e-3)


# --- labels ---------------------------------------------------------------------------------------

def test_seg_labels_cover_projected_silhouettes(renderer):
    """Convex instances: seg == label exactly at pixel centres inside the hull of the projected
    vertices (ignoring centres within 0.02 px of the hull boundary); structures get label 0."""
    w2, h2 = 96, 72
    K2 = np.array([[90.0, 0.0, 47.6], [0.0, 88.0, 35.2], [0.0, 0.0, 1.0]])
    box_a = _box((0.20, 0.12, 0.15))
    box_b = _box((0.10, 0.18, 0.10))
    T_a = _pose([-0.18, -0.10, 1.2], [0.3, 0.5, -0.2])
    T_b = _pose([0.20, -0.08, 1.0], [-0.6, 0.2, 0.9])
    capsule = trimesh.creation.capsule(height=0.25, radius=0.07)
    T_p = _pose([0.0, 0.22, 1.3], [1.2, 0.0, 0.3])
    verts_cam = capsule.vertices @ T_p[:3, :3].T + T_p[:3, 3]
    verts_world = verts_cam @ np.linalg.inv(T_W2C)[:3, :3].T + np.linalg.inv(T_W2C)[:3, 3]
    person = PersonInstance(person_id=7, body_model="mannequin", gender="neutral", smplx={},
                            vertices=verts_world, faces=np.asarray(capsule.faces, np.int64),
                            joints_world=np.full((55, 3), np.nan), landmarks_world={})
    wall = StructureElement(name="wall", mesh=_box((6.0, 6.0, 0.02)), pose_world=_place(_pose([0, 0, 3.01])))
    scene = _scene([_obj(box_a, T_a), _obj(box_b, T_b, obj_id=2)], [person], [wall])
    with Renderer(w2, h2) as r:
        out = r.render(scene, _camera(K2, w2, h2))
    assert out.seg.dtype == np.int32 and out.seg.shape == (h2, w2)
    assert set(np.unique(out.seg)) == {0, 1, 2, PERSON_LABEL_BASE}
    assert scene_labels(scene) == [1, 2, PERSON_LABEL_BASE]
    covered = np.zeros((h2, w2), bool)
    for label, verts in ((1, box_a.vertices @ T_a[:3, :3].T + T_a[:3, 3]),
                         (2, box_b.vertices @ T_b[:3, :3].T + T_b[:3, 3]),
                         (person_label(0), verts_cam)):
        dist = _hull_distance(_project_cam(verts, K2), w2, h2)
        sure = np.abs(dist) > 0.02
        inside = dist < 0
        assert inside.sum() > 100
        np.testing.assert_array_equal((out.seg == label)[sure], inside[sure])
        covered |= inside
    # Everything else is the wall: label 0 with the wall's depth.
    assert (out.seg[~covered] == 0).all()
    np.testing.assert_allclose(out.depth[out.seg == 0], 3.0, atol=1e-3)


def test_labels_survive_the_gl_round_trip(renderer):
    """Labels across byte boundaries (255, 256, 257) and person labels (1 << 16) + j come back
    exactly from the int32 label pass; objects share one MeshData, as repeated assets do."""
    tile = _box((0.05, 0.05, 0.01))
    visible = {0: (-0.2, -0.1), 254: (0.2, -0.1), 255: (-0.2, 0.1), 256: (0.2, 0.1)}
    objects = [_obj(tile, _pose([*visible.get(k, (0.0, 0.0)), 1.0 if k in visible else -5.0]))
               for k in range(257)]
    person_mesh = trimesh.creation.icosphere(subdivisions=2, radius=0.04)
    persons = []
    for j, xy in enumerate([(0.0, 0.0), (0.0, 0.15)]):
        v_world = (person_mesh.vertices + [*xy, 1.0]) @ np.linalg.inv(T_W2C)[:3, :3].T + np.linalg.inv(T_W2C)[:3, 3]
        persons.append(PersonInstance(j, "mannequin", "neutral", {}, v_world, np.asarray(person_mesh.faces),
                                      np.full((55, 3), np.nan), {}))
    out = renderer.render(_scene(objects, persons), _camera())
    expected = {0} | {object_label(k) for k in visible} | {person_label(0), person_label(1)}
    assert set(np.unique(out.seg)) == expected
    for k, (x, y) in visible.items():
        u, v = _project_cam(np.array([[x, y, 0.995]]))[0]
        assert out.seg[int(round(v)), int(round(u))] == 1 + k
    assert out.seg[int(round(K[1, 2])), int(round(K[0, 2]))] == PERSON_LABEL_BASE


# --- amodal ---------------------------------------------------------------------------------------

def test_amodal_of_half_hidden_object_equals_its_unoccluded_render(renderer):
    back = _obj(_box((0.3, 0.2, 0.1)), _pose([0.0, 0.0, 1.5], [0.2, 0.3, 0.1]))
    front = _obj(_box((0.3, 0.4, 0.05)), _pose([-0.15, 0.0, 1.0]), obj_id=2)
    scene = _scene([back, front])
    cam = _camera()
    out = renderer.render(scene, cam)
    amodal = renderer.render_amodal(scene, cam, [object_label(0)])[object_label(0)]
    alone = renderer.render(_scene([back]), cam)
    visible = out.seg == object_label(0)
    assert amodal.offset == (0, 0) and amodal.mask.shape == (H, W)
    # Half hidden: the amodal silhouette is much larger than the visible region and contains it.
    assert amodal.px_count > 1.5 * visible.sum() > 0
    assert not (visible & ~amodal.mask).any()
    np.testing.assert_array_equal(amodal.mask, alone.seg == object_label(0))
    np.testing.assert_array_equal(amodal.image_mask(), amodal.mask)
    # Same surface, rasterized through a different viewport: equal up to float32 interpolation.
    np.testing.assert_allclose(amodal.depth, alone.depth, atol=1e-4)
    # Its own depth is behind the occluder's where hidden.
    hidden = amodal.mask & (out.seg == object_label(1))
    assert hidden.any() and (amodal.depth[hidden] > out.depth[hidden] + 0.3).all()


def test_amodal_canvas_counts_truncated_area(renderer):
    """A fronto-parallel rectangle half out of the image: canvas_scale=3 counts all of it."""
    ext, z = (0.62, 0.44, 0.01), 1.2
    z_front = z - ext[2] / 2
    # Centre on the left image border (u = -0.5), so about half of it is outside.
    x = (-0.5 - K[0, 2]) * z_front / K[0, 0]
    y = (H / 2 - 0.5 - K[1, 2]) * z_front / K[1, 1]
    scene = _scene([_obj(_box(ext), _pose([x, y, z]))])
    cam = _camera()
    u0, u1 = K[0, 0] * (x + np.array([-1, 1]) * ext[0] / 2) / z_front + K[0, 2]
    v0, v1 = K[1, 1] * (y + np.array([-1, 1]) * ext[1] / 2) / z_front + K[1, 2]
    area = (u1 - u0) * (v1 - v0)
    # Pixel centres (integers, negative ones included) inside the projected rectangle.
    n_cols, n_rows = np.floor(u1) - np.ceil(u0) + 1, np.floor(v1) - np.ceil(v0) + 1
    n_cols_in = np.floor(u1) + 1  # columns 0 .. floor(u1) are in the image
    label = object_label(0)
    a3 = renderer.render_amodal(scene, cam, [label], canvas_scale=3)[label]
    a1 = renderer.render_amodal(scene, cam, [label], canvas_scale=1)[label]
    seg = renderer.render(scene, cam).seg == label
    assert a3.offset == (W, H) and a3.mask.shape == (3 * H, 3 * W) and a3.depth.shape == (3 * H, 3 * W)
    assert a3.px_count == a3.mask.sum() == n_cols * n_rows
    assert a3.px_count == pytest.approx(area, rel=0.04)
    assert a1.px_count == seg.sum() == n_cols_in * n_rows
    assert a1.px_count < 0.6 * a3.px_count
    # Cropping the canvas back gives exactly the in-image silhouette.
    np.testing.assert_array_equal(a3.image_mask(), seg)
    np.testing.assert_array_equal(a3.image_mask(), a1.mask)
    np.testing.assert_allclose(a3.depth[a3.mask], z_front, atol=1e-4)
    np.testing.assert_allclose(a3.image_depth(), a1.depth, atol=1e-4)
    # The renderer's output is the label code's type: its unclipped box reaches left of the image.
    assert isinstance(a3, Silhouette) and a3.image_size == (W, H) and a3.canvas_size == (3 * W, 3 * H)
    assert a3.bbox_unclipped() == [np.ceil(u0), np.ceil(v0), n_cols - 1, n_rows - 1]
    mask_in, depth_in = a3.crop(W, H)
    np.testing.assert_array_equal(mask_in, seg)
    np.testing.assert_array_equal(depth_in, a3.image_depth())


def test_amodal_of_objects_crossing_the_near_plane(renderer):
    """A bar from behind the camera into the view is clipped at the near plane: its amodal
    silhouette is exactly its unoccluded render, and a bar beside the camera covers nothing."""
    cam = _camera()
    into_view = _obj(_box((0.06, 0.05, 2.0)), _pose([0.05, 0.03, 0.4]))          # z from -0.6 to 1.4
    beside = _obj(_box((0.05, 0.05, 1.0)), _pose([-1.5, 0.0, 0.0]), obj_id=2)   # z from -0.5 to 0.5
    scene = _scene([into_view, beside])
    amodal = renderer.render_amodal(scene, cam, [object_label(0), object_label(1)])
    alone = renderer.render(_scene([into_view]), cam)
    assert (alone.seg == object_label(0)).sum() > 200
    np.testing.assert_array_equal(amodal[object_label(0)].mask, alone.seg == object_label(0))
    np.testing.assert_allclose(amodal[object_label(0)].depth, alone.depth, atol=1e-4)
    assert amodal[object_label(1)].px_count == 0
    assert not (renderer.render(_scene([beside]), cam).seg == object_label(0)).any()


def test_silhouette_from_bare_arrays_needs_sizes_only_for_full_arrays():
    """A Silhouette made from a window alone (no renderer) crops and counts; the canvas- and
    image-sized views need the sizes and say which one is missing."""
    window = np.array([[0.0, 1.5], [2.0, 2.5]], np.float32)
    sil = Silhouette(window, (3, 1), off_x=2, off_y=1)      # window at image pixel (1, 0)
    mask, depth = sil.crop(3, 2)
    np.testing.assert_array_equal(depth, [[0.0, 0.0, 1.5], [0.0, 2.0, 2.5]])
    assert sil.px_count == 3 and sil.offset == (2, 1) and mask.sum() == 3
    with pytest.raises(ValueError, match="image_size"):
        sil.image_depth()
    with pytest.raises(ValueError, match="canvas_size"):
        _ = sil.mask
    sized = Silhouette(window, (3, 1), 2, 1, image_size=(3, 2), canvas_size=(7, 4))
    np.testing.assert_array_equal(sized.image_depth(), depth)
    assert sized.depth.shape == (4, 7) and sized.depth[2, 4] == 2.5 and sized.mask.sum() == 3


def test_amodal_rejects_unknown_label(renderer):
    scene = _scene([_obj(_box((0.1, 0.1, 0.1)), _pose([0, 0, 1]))])
    with pytest.raises(KeyError):
        renderer.render_amodal(scene, _camera(), [object_label(1)])


# --- scene graph reuse, materials, lights ---------------------------------------------------------

def test_pose_changes_are_seen_and_new_scene_replaces_the_old(renderer):
    obj = _obj(_box((0.1, 0.1, 0.1)), _pose([-0.2, 0.0, 1.0]))
    scene = _scene([obj])
    cam = _camera()
    left = renderer.render(scene, cam).seg == 1
    obj.pose_world = _place(_pose([0.2, 0.0, 1.0]))
    right = renderer.render(scene, cam).seg == 1
    assert left.any() and right.any() and not (left & right).any()
    assert np.flatnonzero(right.any(axis=0)).min() > np.flatnonzero(left.any(axis=0)).max()
    # A different Scene object is rebuilt: its second object, in front, hides its first.
    other = _scene([_obj(_box((0.1, 0.1, 0.1)), _pose([0.0, 0.0, 1.0])),
                    _obj(_box((0.3, 0.3, 0.1)), _pose([0.0, 0.0, 0.7]))])
    assert set(np.unique(renderer.render(other, cam).seg)) == {0, 2}


def test_material_colour_and_lights_reach_the_image(renderer):
    red = _obj(_box((0.5, 0.5, 0.1)), _pose([0, 0, 1.0]), color=(0.9, 0.05, 0.05, 1.0))
    # A directional light shining along the camera's +z (its local -Z), i.e. onto the box face.
    light_c = np.eye(4)
    light_c[:3, :3] = np.diag([1.0, -1.0, -1.0])
    light = Light(kind="directional", color=(1.0, 1.0, 1.0), intensity=3.0, pose_world=_place(light_c))
    dark = renderer.render(_scene([red], ambient=(0.1, 0.1, 0.1)), _camera())
    lit = renderer.render(_scene([red], lights=[light], ambient=(0.1, 0.1, 0.1)), _camera())
    inside = lit.seg == 1
    assert inside.sum() > 500
    r, g, b = (lit.rgb[inside][:, c].astype(float).mean() for c in range(3))
    assert r > g + 100 and r > b + 100
    assert lit.rgb[inside][:, 0].mean() > dark.rgb[inside][:, 0].mean() + 40
    assert (lit.rgb[~inside] == 0).all()  # black background (bg_color default)


def test_a_failed_label_pass_leaves_the_next_colour_frame_intact(monkeypatch):
    """An error inside the label or atlas pass (here: its read-back) must not leave the scissor
    box or the label framebuffer bound: the next frame equals a fresh renderer's."""
    a = _scene([_obj(_box((0.1, 0.1, 0.1)), _pose([0.1, 0.0, 1.0]))])
    b = _scene([_obj(_box((0.3, 0.2, 0.1)), _pose([-0.1, 0.05, 0.9]), color=(0.2, 0.9, 0.3, 1.0))])
    with Renderer(W, H) as r, Renderer(W, H) as fresh:
        r.render(a, _camera())
        monkeypatch.setattr(r._flat, "_read", lambda *args, **kw: (_ for _ in ()).throw(RuntimeError("boom")))
        with pytest.raises(RuntimeError, match="boom"):
            r.render_amodal(a, _camera(), [object_label(0)])
        monkeypatch.undo()
        after, ref = r.render(b, _camera()), fresh.render(b, _camera())
    np.testing.assert_array_equal(after.rgb, ref.rgb)
    np.testing.assert_array_equal(after.seg, ref.seg)


def test_prepare_after_changing_a_mesh_uses_the_new_geometry():
    """The shading-geometry cache is keyed by content: a mesh changed in place and re-prepared is
    drawn with its new shape in colour as in labels (msaa=1: colour coverage == label coverage)."""
    box = _obj(_box((0.1, 0.1, 0.1)), _pose([0.0, 0.0, 1.0]), color=(1.0, 1.0, 1.0, 1.0))
    scene = _scene([box], ambient=(1.0, 1.0, 1.0))
    with Renderer(W, H, msaa=1) as r:
        small = r.render(scene, _camera())
        box.mesh.vertices *= 2.0          # in place: same MeshData, same array object
        r.prepare(scene)
        big = r.render(scene, _camera())
    assert (big.seg == 1).sum() > 3 * (small.seg == 1).sum()
    np.testing.assert_array_equal(big.rgb.max(axis=2) > 0, big.seg == 1)


def test_lights_bound_once_per_program_give_pyrenders_pixels():
    """The per-frame light binding cache changes no pixel: two programs (plain and vertex-coloured),
    three kinds of light, a light moved between frames; compared with pyrender's own binding."""
    plain = _obj(_box((0.3, 0.3, 0.1)), _pose([-0.1, 0.0, 1.0], [0.3, 0.2, 0.0]), color=(0.7, 0.6, 0.5, 1.0))
    tm = trimesh.creation.icosphere(subdivisions=2, radius=0.08)
    colours = np.tile([[200, 40, 40, 255]], (len(tm.vertices), 1)).astype(np.uint8)
    painted = ObjectInstance(obj_id=2, name="ball", mesh=MeshData(np.asarray(tm.vertices), np.asarray(tm.faces),
                                                                  vertex_colors=colours),
                             pose_world=_place(_pose([0.15, 0.05, 0.9])), material=Material())
    lights = [Light(kind=k, color=(1.0, 0.9, 0.8), intensity=i, pose_world=_place(_pose(t, rv)))
              for k, i, t, rv in (("point", 3.0, [0.3, -0.3, 0.5], [0, 0, 0]),
                                  ("spot", 6.0, [0.0, 0.0, 0.2], [np.pi, 0, 0]),
                                  ("directional", 2.0, [0, 0, 0], [np.pi, 0.3, 0]))]
    scene = _scene([plain, painted], lights=lights, ambient=(0.1, 0.1, 0.1))
    with Renderer(W, H) as cached, Renderer(W, H) as plain_r:
        inner = plain_r._offscreen._renderer
        inner._bind_lighting = type(inner)._bind_lighting.__get__(inner)
        inner._forward_pass = type(inner)._forward_pass.__get__(inner)
        first = cached.render(scene, _camera()).rgb
        np.testing.assert_array_equal(first, plain_r.render(scene, _camera()).rgb)
        lights[0].pose_world = _place(_pose([-0.4, 0.2, 0.6]))
        moved = cached.render(scene, _camera()).rgb
        assert np.abs(moved.astype(int) - first).max() > 10     # the moved light is seen
        np.testing.assert_array_equal(moved, plain_r.render(scene, _camera()).rgb)


def test_other_contexts_coming_and_going_leave_a_renderer_working(renderer):
    """pyrender's own teardown terminates the EGL display that all contexts share; ours must not."""
    scene = _scene([_obj(_box((0.2, 0.2, 0.2)), _pose([0.0, 0.0, 1.0]))])
    before = renderer.render(scene, _camera())
    assert gl_info()["vendor"]
    with Renderer(16, 12) as other:
        K_small = np.array([[15.0, 0.0, 7.8], [0.0, 14.0, 5.9], [0.0, 0.0, 1.0]])
        assert (other.render(scene, _camera(K_small, 16, 12)).seg == 1).any()
    dropped = Renderer(8, 8)
    del dropped  # garbage-collected without close()
    after = renderer.render(scene, _camera())
    np.testing.assert_array_equal(after.seg, before.seg)
    np.testing.assert_array_equal(after.rgb, before.rgb)


def test_vertex_colours_and_shadows():
    """Vertex colours tint the material; ``shadows=True`` darkens the floor behind a blocker."""
    green = _box((0.3, 0.3, 0.3))
    green.vertex_colors = np.tile(np.array([0, 255, 0, 255], np.uint8), (len(green.vertices), 1))
    blocker = _obj(green, _pose([0.0, 0.0, 1.0]), color=(1.0, 1.0, 1.0, 1.0))
    floor = StructureElement("floor", _box((3.0, 3.0, 0.02)), _place(_pose([0.0, 0.0, 2.0])))
    # Light direction (local -Z) tilted 30 degrees off the optical axis, so the blocker's shadow
    # falls on the floor beside it.
    light_c = np.eye(4)
    light_c[:3, :3] = Rotation.from_euler("x", 150, degrees=True).as_matrix()
    light = Light("directional", (1.0, 1.0, 1.0), 3.0, _place(light_c))
    scene = _scene([blocker], structures=[floor], lights=[light], ambient=(0.1, 0.1, 0.1))
    floor_red = {}
    for shadows in (False, True):
        with Renderer(W, H, shadows=shadows) as r:
            out = r.render(scene, _camera())
        # Interior pixels only: antialiased edge pixels mix in the floor's colour.
        box_px = out.rgb[binary_erosion(out.seg == 1, iterations=2)].astype(int)
        assert len(box_px) > 50
        assert (box_px[:, 1] > box_px[:, 0] + 100).all() and (box_px[:, 2] < 10).all()
        floor_red[shadows] = out.rgb[..., 0][binary_erosion(out.seg == 0, iterations=2)].astype(int)
    assert floor_red[False].min() > 150
    shadowed = floor_red[True] < 0.5 * floor_red[False].min()
    assert 20 < shadowed.sum() < 0.5 * shadowed.size


def test_msaa_samples_of_the_colour_pass():
    """msaa=1 samples each colour pixel once, at its centre, exactly where the label pass puts
    the object; msaa=4 blends edge pixels. Labels are single-sample either way."""
    box = _obj(_box((0.3, 0.25, 0.1)), _pose([0.0, 0.0, 1.0], [0.1, 0.2, 0.7]), color=(1.0, 1.0, 1.0, 1.0))
    scene = _scene([box], ambient=(1.0, 1.0, 1.0))
    with Renderer(W, H, msaa=1) as r1, Renderer(W, H) as r4:
        one, four = r1.render(scene, _camera()), r4.render(scene, _camera())
    lit1, lit4 = one.rgb.max(axis=2), four.rgb.max(axis=2)
    inside = one.seg == 1
    assert inside.sum() > 200
    np.testing.assert_array_equal(one.seg, four.seg)
    np.testing.assert_array_equal(lit1 > 0, inside)
    # one sample per pixel: every pixel is all object or all background, no blended edge
    assert lit1[inside].min() > 200 and (lit1[~inside] == 0).all()
    blended = (lit4 > 0) & (lit4 < 0.8 * np.median(lit4[inside]))
    assert blended.sum() > 20
    with pytest.raises(ValueError, match="msaa"):
        Renderer(W, H, msaa=3)


def test_closing_a_renderer_keeps_another_ones_context_current():
    """A leaked Renderer closed by the garbage collector (__del__), or gl_info(), in the middle of
    another renderer's render must leave that renderer's context current: it used to leave none, and the
    render failed with GL_INVALID_OPERATION on its framebuffer (a flaky test)."""
    from synthgen.render.gl import _address

    box = _obj(_box((0.3, 0.25, 0.1)), _pose([0.0, 0.0, 1.0], [0.1, 0.2, 0.7]))
    scene = _scene([box])
    leaked = Renderer(W, H)
    from OpenGL import EGL      # after pyrender has loaded OpenGL.GL (PyOpenGL 3.1.0 import order)
    with Renderer(W, H) as r:
        expected = r.render(scene, _camera()).seg
        r._make_current()
        mine = r._offscreen._platform._egl_context
        leaked.close()                      # as __del__ would, at any allocation
        assert _address(EGL.eglGetCurrentContext()) == _address(mine)
        gl_info()                           # makes and releases a context of its own
        assert _address(EGL.eglGetCurrentContext()) == _address(mine)
        from OpenGL import GL

        GL.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, r._offscreen._renderer._main_fb)   # what failed
        GL.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, 0)
        np.testing.assert_array_equal(r.render(scene, _camera()).seg, expected)


def test_closed_renderer_refuses_to_render():
    r = Renderer(8, 8)
    r.close()
    r.close()
    with pytest.raises(RuntimeError):
        r.render(_scene(), _camera(w=8, h=8))


# --- GL context -----------------------------------------------------------------------------------

def test_gl_info_reports_the_implementation():
    info = gl_info()
    assert set(info) == {"vendor", "renderer", "version", "platform"}
    assert info["vendor"].strip() and info["renderer"].strip()
    assert info["version"][0].isdigit()
    assert info["platform"] == os.environ["PYOPENGL_PLATFORM"]


def test_gpu_egl_devices_leave_out_the_software_device():
    """On llvmpipe EGL lists a device, Mesa's software one, which is not a GPU to spread workers
    over; the round robin takes GPUs in turn and leaves a pinned $EGL_DEVICE_ID alone."""
    from pyrender.platforms import egl

    from synthgen.render.gl import egl_device_for_worker, gpu_egl_devices

    if "llvmpipe" in gl_info()["renderer"]:
        assert len(egl.query_devices()) >= 1
        assert gpu_egl_devices() == []
    assert [egl_device_for_worker(k, [0, 2, 3], environ={}) for k in range(5)] == [0, 2, 3, 0, 2]
    assert egl_device_for_worker(1, [0, 2], environ={"EGL_DEVICE_ID": "2"}) is None
    assert egl_device_for_worker(1, [1], environ={}) is None
    assert egl_device_for_worker(4, [], environ={}) is None


def test_setup_gl_platform_precedence(monkeypatch):
    monkeypatch.delenv("SYNTHGEN_GL", raising=False)
    monkeypatch.delenv("PYOPENGL_PLATFORM", raising=False)
    assert setup_gl_platform() == "egl" and os.environ["PYOPENGL_PLATFORM"] == "egl"
    assert os.environ["PYGLET_HEADLESS"] == "1"
    monkeypatch.setenv("PYOPENGL_PLATFORM", "osmesa")
    assert setup_gl_platform() == "osmesa"  # a user's choice is kept
    monkeypatch.setenv("SYNTHGEN_GL", "egl")
    assert setup_gl_platform() == "egl" and os.environ["PYOPENGL_PLATFORM"] == "egl"
    monkeypatch.setenv("SYNTHGEN_GL", "vulkan")
    with pytest.raises(GLUnavailableError, match="SYNTHGEN_GL"):
        setup_gl_platform()


def test_gl_unavailable_error_is_one_line_and_pickles():
    err = GLUnavailableError("egl", "eglInitialize failed\n  (no device)")
    assert "\n" not in str(err) and "libegl1" in str(err) and "no device" in str(err)
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is GLUnavailableError and str(back) == str(err) and back.platform == "egl"


def _osmesa_usable() -> bool:
    from importlib.metadata import version

    major_minor_patch = tuple(int(x) for x in version("PyOpenGL").split(".")[:3])
    return ctypes.util.find_library("OSMesa") is not None and major_minor_patch >= (3, 1, 5)


@pytest.mark.skipif(_osmesa_usable(), reason="OSMesa and a PyOpenGL that drives it are installed here")
def test_unusable_osmesa_gives_one_line_install_hint(tmp_path):
    """Without libOSMesa, or with it but pyrender's PyOpenGL 3.1.0 (no OSMesaCreateContextAttribs),
    the error is one line that names both needs and the EGL alternative."""
    code = (
        "import sys\n"
        "from synthgen.render import Renderer, GLUnavailableError\n"
        "try:\n"
        "    Renderer(8, 8)\n"
        "except GLUnavailableError as e:\n"
        "    sys.stdout.write(str(e)); sys.exit(3)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYOPENGL_PLATFORM"}
    env["SYNTHGEN_GL"] = "osmesa"
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3, proc.stderr
    msg = proc.stdout
    assert "\n" not in msg and "osmesa" in msg and "libosmesa6" in msg and "PyOpenGL >= 3.1.5" in msg
    assert "SYNTHGEN_GL=egl" in msg


def test_unusable_egl_device_gives_one_line_install_hint(monkeypatch):
    """The in-process failure path (no context is created, so this process's GL is untouched)."""
    if os.environ.get("PYOPENGL_PLATFORM") != "egl":
        pytest.skip("EGL-specific")
    monkeypatch.setenv("EGL_DEVICE_ID", "999")
    with pytest.raises(GLUnavailableError) as info:
        Renderer(8, 8)
    msg = str(info.value)
    assert "\n" not in msg and "999" in msg and "libegl1" in msg


# --- the pinned pyrender (render/pyrender_compat.py) --------------------------------------------

@pytest.fixture
def pyrender_reports(monkeypatch):
    """Call with a version string (or None: not installed) to make the package metadata report it
    for pyrender and to have pyrender_compat imported afresh on its next import."""
    import importlib.metadata as md

    import synthgen.render as render_pkg

    real = md.version

    def report(found):
        def version(name):
            if name != "pyrender":
                return real(name)
            if found is None:
                raise md.PackageNotFoundError(name)
            return found

        monkeypatch.setattr(md, "version", version)
        monkeypatch.delitem(sys.modules, "synthgen.render.pyrender_compat", raising=False)
        monkeypatch.delattr(render_pkg, "pyrender_compat", raising=False)

    return report


def test_pinned_pyrender_is_pyprojects_pin_and_the_installed_one():
    import tomllib

    from conftest import REPO
    from synthgen.render.pyrender_compat import PINNED_VERSION, installed_version

    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    assert f"pyrender=={PINNED_VERSION}" in deps
    assert installed_version() == PINNED_VERSION == "0.1.45"


@pytest.mark.parametrize("found, says", [("0.1.46", "pyrender 0.1.46 is installed"),
                                          (None, "pyrender is not installed")])
def test_another_pyrender_is_refused_at_import_in_one_line(pyrender_reports, found, says):
    """The patches reach into pyrender 0.1.45's private attributes: importing them with any other
    version fails at once, in one line naming both versions, and so does making a Renderer."""
    import importlib

    pyrender_reports(found)
    with pytest.raises(GLUnavailableError) as info:
        importlib.import_module("synthgen.render.pyrender_compat")
    msg = str(info.value)
    assert type(info.value).__name__ == "PyrenderVersionError"
    assert "\n" not in msg and says in msg and "pip install pyrender==0.1.45" in msg
    with pytest.raises(GLUnavailableError, match="pyrender==0.1.45"):
        Renderer(8, 8)


def test_pyrender_version_error_pickles():
    from synthgen.render.pyrender_compat import PyrenderVersionError

    err = PyrenderVersionError("0.2.0")
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is PyrenderVersionError and str(back) == str(err) and back.found == "0.2.0"


def test_render_with_another_pyrender_is_one_line_and_writes_nothing(pyrender_reports, tmp_path, capsys):
    from conftest import REPO
    from synthgen.cli import main

    pyrender_reports("0.2.0")
    out = tmp_path / "out"
    code = main(["render", str(REPO / "scenes" / "kitchen.yaml"), "frames=1", "camera.width=32",
                 "camera.height=24", "-o", str(out), "--quiet", "--workers", "1"])
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2 and len(err) == 1, err
    assert "pyrender 0.2.0 is installed" in err[0] and "pyrender==0.1.45" in err[0]
    assert not out.exists()


def test_renderer_clips_where_datasets_do():
    """The Renderer's default clip planes are the dataset renders' (one constant, used by the
    runner and validate): the default used to be 1 cm while every dataset rendered at 5 cm."""
    from synthgen.render import RENDER_ZFAR, RENDER_ZNEAR

    with Renderer(8, 8) as r:
        assert (r.znear, r.zfar) == (RENDER_ZNEAR, RENDER_ZFAR) == (0.05, 50.0)
