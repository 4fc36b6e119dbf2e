"""Occlusion-aware keypoint visibility and the body-part render pass, on real renders (pyrender on
llvmpipe, 120x160) of a real mannequin body.

The person stands at the world origin facing -Y (SMPL-X body frame turned upright, as the scene
sampler does); its left is world +X. Cameras look at it from 2.5 m. At f = 200 px a pixel is about
1.25 cm there, so a wrist spans 3-4 pixels.
"""
from __future__ import annotations

import numpy as np
import pytest
import trimesh

from synthgen.bodies.base import SMPLXParams
from synthgen.bodies.keypoints import (COCO17_NAMES, NUM_SMPLX_JOINTS, SMPLX_LANDMARK_NAMES, SMPLX_PARENTS,
                                       WHOLEBODY133_FROM_SMPLX, extended_joints)
from synthgen.bodies.mannequin import MannequinBody
from synthgen.groundtruth import labels as gt_labels
from synthgen.groundtruth.labels import (KEYPOINT_OWN_PART, Silhouette, adjacent_parts, keypoints_from_joints,
                                         person_gt)
from synthgen.groundtruth.projection import pixel_index, project, transform
from synthgen.render import Renderer, object_label, person_label
from synthgen.render import adapter
from synthgen.render.adapter import PART_NONE, PART_UNKNOWN, face_parts
from synthgen.scene.description import (Camera, Light, MeshData, ObjectInstance, PersonInstance, Scene,
                                        StructureElement)
from synthgen.scene.lights_cameras import look_at_w2c
from synthgen.scene.people import orient_for_yaw

W, H = 120, 160
K = np.array([[200.0, 0.0, 59.5], [0.0, 200.0, 79.5], [0.0, 0.0, 1.0]])
COCO = {name: i for i, name in enumerate(COCO17_NAMES)}
LEFT_WRIST, RIGHT_WRIST = 20, 21          # SMPL-X joint indices

# Arms lowered from the T-pose (rotation about the body's forward axis), as relaxed_standing does.
RELAXED = np.zeros((21, 3))
RELAXED[15] = (0.0, 0.0, -1.2)   # left shoulder (joint 16)
RELAXED[16] = (0.0, 0.0, 1.2)    # right shoulder (joint 17)
# Right arm pointing forward (shoulder turned 90 deg about the body's vertical axis), left arm down
# along the left hip: seen from the person's right, the left wrist is behind the pelvis.
REACHING = np.zeros((21, 3))
REACHING[16] = (0.0, np.pi / 2, 0.0)
REACHING[15] = (0.0, 0.0, -1.3)


@pytest.fixture(scope="module")
def body():
    return MannequinBody()


@pytest.fixture(scope="module")
def renderer():
    with Renderer(W, H, znear=0.05) as r:
        yield r


def _person(body, body_pose: np.ndarray, xy=(0.0, 0.0), person_id: int = 0) -> PersonInstance:
    """A mannequin standing on z = 0 with its pelvis above ``xy``, facing -Y."""
    p = SMPLXParams(global_orient=orient_for_yaw(0.0), body_pose=body_pose.ravel())
    out = body.forward(p)
    p.transl = np.array([xy[0] - out.joints[0, 0], xy[1] - out.joints[0, 1], -out.vertices[:, 2].min()])
    out = body.forward(p)
    return PersonInstance(person_id, body.name, body.gender, p.to_lists(), out.vertices, out.faces, out.joints,
                          out.landmarks, skin_joint=out.skin_joint)


def _camera(eye, target) -> Camera:
    return Camera(K=K.copy(), width=W, height=H, T_w2c=look_at_w2c(np.asarray(eye, float), np.asarray(target, float)))


FRONT = ((0.0, -2.5, 1.0), (0.0, 0.0, 0.9))
RIGHT_SIDE = ((-2.5, 0.0, 1.0), (0.0, 0.0, 0.9))


def _scene(persons, objects=(), cameras=()) -> Scene:
    light = Light("directional", (1.0, 1.0, 1.0), 3.0, np.eye(4))
    return Scene(0, [], list(objects), list(persons), [light], list(cameras))


def _box(center, size) -> ObjectInstance:
    tm = trimesh.creation.box((size, size, size))
    pose = np.eye(4)
    pose[:3, 3] = center
    return ObjectInstance(1, "box", MeshData(np.asarray(tm.vertices, float), np.asarray(tm.faces, np.int64)), pose)


def _frame(renderer: Renderer, scene: Scene, cam: Camera):
    """What the pipeline does per view: render (with its part map), amodal silhouettes, person_gt."""
    out = renderer.render(scene, cam)
    parts = out.parts
    labels = [person_label(j) for j in range(len(scene.persons))]
    amodal = renderer.render_amodal(scene, cam, labels, canvas_scale=3)
    gts = []
    for j, p in enumerate(scene.persons):
        a = amodal[labels[j]]
        sil = Silhouette(a.window_depth, a.window_origin, off_x=a.offset[0], off_y=a.offset[1])
        ext = extended_joints(p.joints_world, p.landmarks_world)
        gts.append(person_gt(p, cam.T_w2c, cam.K, sil, out.seg == labels[j], out.depth, ext, part_map=parts))
    return out, parts, gts


def _pixel(cam: Camera, point_world: np.ndarray) -> tuple[int, int]:
    uv = project(cam.K, transform(cam.T_w2c, point_world[None]))
    rows, cols = pixel_index(uv)
    return int(rows[0]), int(cols[0])


def _v(gt, name: str) -> int:
    return int(gt.keypoints_coco17[COCO[name], 2])


# --- pure numpy: the rule on hand-made maps --------------------------------------------------------

def test_joint_rule_on_synthetic_maps():
    """One left wrist (joint 20) at z = 2 m on pixel (1, 1), under six different pixel contents."""
    K1 = np.array([[100.0, 0.0, 1.0], [0.0, 100.0, 1.0], [0.0, 0.0, 1.0]])
    wrist = np.array([[0.0, 0.0, 2.0]])
    front_tol = gt_labels.JOINT_FRONT_TOL[LEFT_WRIST]
    cases = [  # (seen, part, surface in front by, expected v)
        (True, 20, front_tol - 0.01, 2),        # its own hand, within the hand's radius
        (True, 18, 0.01, 2),                     # the forearm (parent)
        (True, 25, 0.01, 2),                     # index1 (child)
        (True, 0, 0.01, 1),                      # the pelvis: not adjacent -> self-occluded
        (True, 20, front_tol + 0.01, 1),         # own part, but too far in front (hand folded over)
        (True, 20, -gt_labels.SURFACE_BEHIND_TOL - 0.01, 1),   # surface behind the joint
        (True, PART_UNKNOWN, 0.01, 2),           # no part labels for this person: depth decides
        (False, 20, 0.01, 1),                    # another instance there
    ]
    for seen, part, ahead, expected in cases:
        depth = np.full((3, 3), 2.0 - ahead, np.float32)
        region = np.full((3, 3), seen)
        parts = np.full((3, 3), part, np.int32)
        ids = np.array([LEFT_WRIST])
        kp = keypoints_from_joints(wrist, np.array([False]), K1, depth, region, part_map=parts, keypoint_ids=ids)
        assert kp[0].tolist() == [1.0, 1.0, expected], (seen, part, ahead)
    # landmarks (a vertex on the skin): visible unless the surface at its pixel is in front of it
    # by more than LANDMARK_TOL, whatever the pixel shows
    tip = np.array([[0.0, 0.0, 2.0]])
    tol = gt_labels.LANDMARK_TOL
    for d, seen, expected in ((2.0 - 0.015, True, 2),      # its own skin, within the tolerance
                              (2.0 + 0.015, True, 2),
                              (2.0 - tol - 0.01, True, 1),  # its own body in front: self-occluded
                              (2.0 + 0.5, True, 2),         # edge: the pixel shows its torso behind
                              (0.0, False, 2),              # edge: nothing rendered at the pixel
                              (2.0 + 1.0, False, 2),        # edge: the floor far behind
                              (2.0 - 0.015, False, 2),      # floor just nearer, beside a heel
                              (2.0, False, 2),              # touching a held object
                              (2.0 - tol - 0.01, False, 1),  # an object in front
                              (0.3, False, 1)):
        depth = np.full((3, 3), d, np.float32)
        kp = keypoints_from_joints(tip, np.array([True]), K1, depth, np.full((3, 3), seen))
        assert kp[0, 2] == expected, (d, seen)


def test_adjacency_and_face_parts():
    A = adjacent_parts()
    assert set(np.flatnonzero(A[LEFT_WRIST])) == {20, 18, 25, 28, 31, 34, 37}
    assert set(np.flatnonzero(A[4])) == {4, 1, 7}                # knee: thigh (hip's part), ankle
    # the mannequin has no collar or spine2 geometry: the shoulder reaches the chest through them
    present = np.setdiff1d(np.arange(55), [6, 13, 14, 22, 23, 24])
    assert not A[16, 9] and adjacent_parts(present)[16, 9]
    assert not adjacent_parts(present)[16, 0]
    assert KEYPOINT_OWN_PART[20] == 20 and KEYPOINT_OWN_PART[55] == 15 and KEYPOINT_OWN_PART[66] == 39
    # majority label of the three vertices; the first vertex's when all differ
    faces = np.array([[0, 1, 2], [1, 2, 3], [2, 3, 4], [0, 3, 4]])
    skin = np.array([5, 5, 7, 7, 9])
    assert face_parts(faces, skin).tolist() == [5, 7, 7, 5]
    assert (gt_labels.PART_NONE, gt_labels.PART_UNKNOWN) == (PART_NONE, PART_UNKNOWN)
    # every SMPL-X joint's tolerance is set and positive; fingers are the tightest
    assert (gt_labels.JOINT_FRONT_TOL > 0).all() and len(SMPLX_PARENTS) == len(gt_labels.JOINT_FRONT_TOL)


# --- real renders -----------------------------------------------------------------------------------

def test_frontal_standing_body_keypoints_are_visible(body, renderer):
    cam = _camera(*FRONT)
    scene = _scene([_person(body, RELAXED)], cameras=[cam])
    _, _, (gt,) = _frame(renderer, scene, cam)
    for name in ("nose", "left_eye", "right_eye", "left_shoulder", "right_shoulder", "left_elbow",
                 "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
                 "right_knee", "left_ankle", "right_ankle"):
        assert _v(gt, name) == 2, name
    # fully in the image, nothing in front: all of it visible
    assert gt.px_count_visib == gt.px_count_all == gt.px_count_valid > 1500
    assert gt.visib_fract == 1.0 and gt.bbox_visib == gt.bbox_amodal


@pytest.fixture(scope="module")
def anny_body():
    from synthgen.bodies import anny_backend

    if not anny_backend.cache_is_built():
        pytest.skip("Anny's cache is not built (make runs `synthgen setup`)")
    return anny_backend.AnnyBody()


def test_frontal_anny_person_has_every_coco_keypoint_visible(anny_body, renderer):
    # a real face: nose, eyes and ears come from Anny's surface and are seen from the front
    cam = _camera(*FRONT)
    scene = _scene([_person(anny_body, RELAXED)], cameras=[cam])
    _, _, (gt,) = _frame(renderer, scene, cam)
    assert [_v(gt, name) for name in COCO17_NAMES] == [2] * 17
    u, v = gt.keypoints_coco17[COCO["nose"], :2]
    lu, ru = gt.keypoints_coco17[COCO["left_eye"], 0], gt.keypoints_coco17[COCO["right_eye"], 0]
    # the person faces -Y, the camera looks along +Y: its left eye is on the image's right
    assert lu > u > ru


def test_anny_face_turned_away_is_not_labelled_visible(anny_body, renderer):
    cam = _camera((0.0, 2.5, 1.0), (0.0, 0.0, 0.9))   # behind the person
    scene = _scene([_person(anny_body, RELAXED)], cameras=[cam])
    _, _, (gt,) = _frame(renderer, scene, cam)
    for name in ("nose", "left_eye", "right_eye"):
        assert _v(gt, name) in (0, 1), name
    # the back of the body is seen: most limb joints are visible
    assert sum(_v(gt, n) == 2 for n in COCO17_NAMES[5:]) >= 8


def test_box_in_front_of_the_right_wrist_occludes_it(body, renderer):
    cam = _camera(*FRONT)
    person = _person(body, RELAXED)
    eye = np.asarray(FRONT[0])
    wrist = person.joints_world[RIGHT_WRIST]
    # a 12 cm box on the camera ray to the right wrist, 40 cm in front of it
    box = _box(wrist + 0.4 * (eye - wrist) / np.linalg.norm(eye - wrist), 0.12)
    scene = _scene([person], [box], [cam])
    out, parts, (gt,) = _frame(renderer, scene, cam)
    r, c = _pixel(cam, wrist)
    assert out.seg[r, c] == object_label(0) and parts[r, c] == PART_NONE
    assert _v(gt, "right_wrist") == 1
    assert _v(gt, "left_wrist") == 2 and _v(gt, "right_elbow") == 2
    np.testing.assert_allclose(gt.keypoints_coco17[COCO["right_wrist"], :2], project(K, transform(cam.T_w2c, wrist[None]))[0])
    # the wrist's 3 x 3 pixel neighbourhood is hidden: fewer visible than silhouette pixels
    assert gt.px_count_visib < gt.px_count_all - 9 and 0.9 < gt.visib_fract < 1.0


def test_keypoints_outside_the_frame_get_v0(body, renderer):
    # a close camera at chest height sees 0.7-1.9 m: the knees and ankles are below the frame
    cam = _camera((0.0, -1.5, 1.3), (0.0, 0.0, 1.3))
    scene = _scene([_person(body, RELAXED)], cameras=[cam])
    _, _, (gt,) = _frame(renderer, scene, cam)
    for name in ("left_knee", "right_knee", "left_ankle", "right_ankle"):
        assert gt.keypoints_coco17[COCO[name]].tolist() == [0.0, 0.0, 0.0], name
    assert _v(gt, "nose") == 2 and _v(gt, "left_shoulder") == 2
    # truncated: the amodal box runs past the bottom edge, the visible one stops at it
    x, y, w, h = gt.bbox_amodal
    assert y + h > H + 50 and gt.bbox_visib[1] + gt.bbox_visib[3] == H - 1
    assert gt.px_count_visib == gt.px_count_valid < 0.8 * gt.px_count_all
    assert gt.visib_fract == pytest.approx(gt.px_count_visib / gt.px_count_all)


def test_wrist_behind_the_torso_is_self_occluded(body, renderer):
    cam = _camera(*RIGHT_SIDE)
    person = _person(body, REACHING)
    scene = _scene([person], cameras=[cam])
    out, parts, (gt,) = _frame(renderer, scene, cam)
    r, c = _pixel(cam, person.joints_world[LEFT_WRIST])
    # the pixel shows this very person, but its pelvis / right thigh, not the left hand or forearm
    assert out.seg[r, c] == person_label(0)
    assert parts[r, c] in (0, 2, 3), parts[r, c]
    assert _v(gt, "left_wrist") == 1
    assert _v(gt, "right_wrist") == 2 and _v(gt, "right_elbow") == 2
    assert _v(gt, "left_knee") == 1 and _v(gt, "right_knee") == 2   # far knee behind the near thigh


def test_person_in_front_occludes_another(body, renderer):
    cam = _camera(*FRONT)
    back = _person(body, RELAXED, person_id=0)
    front = _person(body, RELAXED, xy=(0.0, -1.0), person_id=1)
    _, _, (alone,) = _frame(renderer, _scene([back], cameras=[cam]), cam)
    out, parts, (gt_back, gt_front) = _frame(renderer, _scene([back, front], cameras=[cam]), cam)
    # every keypoint of the back person that was visible alone and now projects onto the front
    # person is occluded; there are many (the front person covers the back one's torso and arms)
    hidden = 0
    for name, k in COCO.items():
        if alone.keypoints_coco17[k, 2] != 2:
            continue
        u, v = gt_back.keypoints_coco17[k, :2]
        r, c = int(np.floor(v + 0.5)), int(np.floor(u + 0.5))
        if out.seg[r, c] == person_label(1):
            assert gt_back.keypoints_coco17[k, 2] == 1, name
            hidden += 1
    assert hidden >= 10
    assert gt_back.visib_fract < 0.2
    # nothing hides the front person inside the image (it is cut by the frame, not occluded)
    assert gt_front.px_count_visib == gt_front.px_count_valid < gt_front.px_count_all
    body_names = ("left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
                  "left_hip", "right_hip", "left_knee", "right_knee")
    assert all(_v(gt_front, n) == 2 for n in body_names)


def test_part_pass_labels_and_seg_unchanged(body, renderer):
    cam = _camera(*FRONT)
    person = _person(body, RELAXED)
    no_parts = _person(body, RELAXED, xy=(0.9, 0.5), person_id=1)
    no_parts.skin_joint = None
    box = _box(person.joints_world[RIGHT_WRIST] + [0.0, -0.4, 0.0], 0.12)
    scene = _scene([person, no_parts], [box], [cam])
    before = renderer.render(scene, cam)
    parts = renderer.render_parts(scene, cam)
    after = renderer.render(scene, cam)
    # a part pass alone leaves the next render unchanged: colour, depth and labels bit-identical
    for a, b in ((before.rgb, after.rgb), (before.depth, after.depth), (before.seg, after.seg)):
        np.testing.assert_array_equal(a, b)
    assert parts.dtype == np.int32 and parts.shape == (H, W)
    # a part exactly where seg shows the labelled person; UNKNOWN on the other; NONE elsewhere
    np.testing.assert_array_equal(parts >= 0, before.seg == person_label(0))
    np.testing.assert_array_equal(parts == PART_UNKNOWN, before.seg == person_label(1))
    assert (parts[before.seg < person_label(0)] == PART_NONE).all()
    assert (before.seg == object_label(0)).sum() > 20                    # the box occludes
    for knee in (4, 5):
        r, c = _pixel(cam, person.joints_world[knee])
        assert parts[r, c] in (knee, SMPLX_PARENTS[knee], knee + 3), (knee, parts[r, c])
    # the pelvis, both thighs, shins, upper arms and the head each cover a region of pixels
    counts = np.bincount(parts[parts >= 0], minlength=55)
    for j in (0, 1, 2, 4, 5, 9, 15, 16, 17):
        assert counts[j] > 20, (j, counts[j])
    # render() computes the same part map in its label pass; the person's part mesh is built once
    # per scene (faces regrouped by part), not once per view
    np.testing.assert_array_equal(before.parts, parts)
    np.testing.assert_array_equal(after.parts, parts)
    entry = renderer._prepared.flat[renderer._prepared.flat_of_label[person_label(0)]]
    np.testing.assert_array_equal(renderer.render_parts(scene, cam), parts)
    assert renderer._prepared.flat[renderer._prepared.flat_of_label[person_label(0)]] == entry


def test_part_mesh_keeps_every_triangle_and_labels_each_vertex_once(body):
    person = _person(body, RELAXED)
    verts, faces, part = adapter.part_mesh(person.vertices, person.faces, person.skin_joint)
    labels = face_parts(person.faces, person.skin_joint)
    # same triangles, same float32 corners, and every corner carries its face's part
    np.testing.assert_array_equal(verts[faces], np.asarray(person.vertices, np.float32)[person.faces])
    np.testing.assert_array_equal(part[faces], np.repeat(labels[:, None], 3, axis=1))
    # a vertex is duplicated only where faces of different parts meet
    assert len(person.vertices) <= len(verts) < 1.5 * len(person.vertices)


def test_bad_skin_joint_is_rejected(body, renderer):
    person = _person(body, RELAXED)
    person.skin_joint = np.full(len(person.vertices), 60)
    cam = _camera(*FRONT)
    with pytest.raises(ValueError, match="skin_joint"):
        renderer.render(_scene([person], cameras=[cam]), cam)
    assert adapter.NUM_PARTS == 55


def test_hidden_person_has_no_boxes(body, renderer):
    # a 1 m box half a metre in front of the camera hides the whole person
    cam = _camera(*FRONT)
    wall = _box((0.0, -1.5, 1.0), 1.0)
    _, _, (gt,) = _frame(renderer, _scene([_person(body, RELAXED)], [wall], [cam]), cam)
    assert gt.px_count_all > 1500 and gt.mask.sum() == gt.px_count_all and gt.px_count_visib == 0
    assert gt.bbox_amodal == [-1, -1, -1, -1] and gt.bbox_visib == [-1, -1, -1, -1]
    assert gt.visib_fract == 0.0
    # every in-image keypoint is labelled occluded
    assert set(gt.keypoints_coco17[:, 2].tolist()) == {1.0}


def test_edge_landmarks_off_the_silhouette_are_visible(body, renderer):
    """Fingertips, toes, heels and ears on the silhouette's edge often project to a pixel whose
    centre ray misses the body: it shows the background, the floor or the body behind, nothing in
    front of the landmark, so the landmark is v=2 (it was v=1 when the pixel had to show the
    person). A landmark with its own body in front (the heels seen from the front) stays v=1."""
    tm = trimesh.creation.box((6.0, 6.0, 0.02))
    floor_pose = np.eye(4)
    floor_pose[2, 3] = -0.01            # top face at z = 0, where the feet stand
    floor = StructureElement("floor", MeshData(np.asarray(tm.vertices, float), np.asarray(tm.faces, np.int64)),
                             floor_pose)
    person = _person(body, RELAXED)
    ext = extended_joints(person.joints_world, person.landmarks_world)
    names = {n: NUM_SMPLX_JOINTS + k for k, n in enumerate(SMPLX_LANDMARK_NAMES)}
    off_body = 0
    for eye, target in (FRONT, RIGHT_SIDE):
        cam = _camera(eye, target)
        scene = _scene([person], cameras=[cam])
        scene.structures.append(floor)
        out = renderer.render(scene, cam)
        sil_a = renderer.render_amodal(scene, cam, [person_label(0)], canvas_scale=3)[person_label(0)]
        sil = Silhouette(sil_a.window_depth, sil_a.window_origin, off_x=sil_a.offset[0], off_y=sil_a.offset[1])
        gt = person_gt(person, cam.T_w2c, cam.K, sil, out.seg == person_label(0), out.depth, ext,
                       part_map=out.parts)
        # extended index -> the WholeBody row of person_gt that holds it (every landmark has one)
        kp = np.full((len(ext), 3), np.nan)
        kp[WHOLEBODY133_FROM_SMPLX] = gt.keypoints_wholebody133
        pts = transform(cam.T_w2c, ext)
        for name, i in names.items():
            r, c = _pixel(cam, ext[i])
            if not (0 <= r < H and 0 <= c < W) or out.seg[r, c] == person_label(0):
                continue
            d, z = float(out.depth[r, c]), pts[i, 2]
            assert d == 0 or d > z, (name, d, z)     # the pixel shows what lies beyond the edge
            assert kp[i, 2] == 2, (eye, name)
            off_body += 1
        if eye == FRONT[0]:
            # the foot is in front of the heel: self-occluded
            assert kp[names["left_heel"], 2] == kp[names["right_heel"], 2] == 1
    assert off_body >= 8      # front: fingertips and an ear on the background; side: toes on the floor
