"""People: each ``scene_humans.json`` entry against the image's camera, its own counts and boxes,
its masks (``mask_visib_person/`` and ``mask_person/``, ``{im_id:06d}_{person_id:06d}.png``, the
synthgen extension of BOP written beside the objects' masks), its keypoints (projection of the
joints, visibility flags re-derived from ``depth_gt`` and the visible mask) and its COCO
annotation."""
from __future__ import annotations

import numpy as np

from synthgen.bodies.keypoints import (COCO17_FROM_SMPLX, COCO17_NAMES, NUM_SMPLX_JOINTS,
                                       SMPLX_JOINT_NAMES, WHOLEBODY133_FROM_SMPLX,
                                       WHOLEBODY133_NAMES)
from synthgen.groundtruth.labels import JOINT_FRONT_TOL, SURFACE_BEHIND_TOL
from synthgen.groundtruth.masks import EMPTY_BOP_BOX
from synthgen.groundtruth.projection import inside_image, pixel_index, project

from ..keypoints import check_coco_person, check_person_projection
from ..landmarks import PersonRef
from .bop import check_gt_info
from .coco import check_mask_annotation
from .context import FLOAT_TOL, DatasetContext, ImageContext

PERSON_MASK_DIRS = ("mask_visib_person", "mask_person")


def check_person(ctx: DatasetContext, img: ImageContext, person: dict, ann: dict | None,
                 n_objects: int) -> None:
    sc, im_id, W, H, K, cam = img.scene, img.im_id, img.width, img.height, img.K, img.cam
    ctx.counts["persons"] += 1
    pid = person["person_id"]
    item = f"{sc.rel}/scene_humans.json image {im_id} person {pid}"
    if cam is not None:
        if not np.allclose(person["cam_R_w2c"], cam["cam_R_w2c"], atol=1e-9, rtol=0):
            ctx.add("consistency", item, "cam_R_w2c differs from scene_camera.json")
        t_mm = np.asarray(person["cam_t_w2c"]).reshape(3) * 1000.0
        if not np.allclose(t_mm, np.asarray(cam["cam_t_w2c"]).reshape(3), atol=1e-6, rtol=0):
            ctx.add("consistency", item, "cam_t_w2c (m) differs from scene_camera.json (mm)")
    if not 0.0 <= person["visib_fract"] <= 1.0:
        ctx.add("consistency", item, f"visib_fract {person['visib_fract']} outside [0, 1]")
    if person["body_model"] != "anny" and "smplx" not in person:
        ctx.add("schema", item, f"body_model {person['body_model']!r} but no 'smplx' parameter block")
    if person["body_model"] == "anny" and "pose" not in person.get("body_params", {}):
        ctx.add("schema", item, "body_model 'anny' but no Anny body_params (phenotype, pose)")
    bad = [g for g in person["held_object_gt_ids"] if not 0 <= g < n_objects]
    if bad:
        ctx.add("consistency", item, f"held_object_gt_ids {bad} are not gt_ids of the image")

    # masks
    stem = f"{im_id:06d}_{int(pid):06d}.png"
    mask, visib = ctx.read_mask_pair(sc.dir, sc.rel, "mask_person", "mask_visib_person", stem, W, H)
    counts = [person.get(k) for k in ("px_count_all", "px_count_valid", "px_count_visib")]
    if None not in counts:
        # the person's counts and boxes follow gt_info: the same checks as an object's
        check_gt_info(ctx, person, item, mask, visib, img.depth_valid, W, H)
        px_all, px_valid, px_visib = counts
        # visible pixels show the person, so they are in its silhouette; valid ones (sensor
        # depth present) too, but a visible pixel may have lost its sensor depth to noise
        if not (px_visib <= px_all and px_valid <= px_all):
            ctx.add("consistency", item, f"px counts out of order: visib {px_visib}, valid "
                                         f"{px_valid}, all {px_all}")
    visible = list(person["bbox_visib"]) != EMPTY_BOP_BOX
    if "px_count_visib" in person and (person["px_count_visib"] > 0) != visible:
        ctx.add("consistency", item, f"px_count_visib {person['px_count_visib']} but "
                                     f"bbox_visib {person['bbox_visib']}")
    if (list(person["bbox_amodal"]) != EMPTY_BOP_BOX) != visible:
        ctx.add("consistency", item, f"bbox_amodal {person['bbox_amodal']} but bbox_visib "
                                     f"{person['bbox_visib']} (both are [-1, -1, -1, -1] "
                                     "exactly when nothing is visible)")

    # keypoints
    if K is not None:
        ctx.counts["keypoints"] += check_person_projection(person, K, W, H, item,
                                                           ctx.reporter("keypoints"))
        if visib is not None and img.depth_gt is not None:
            ctx.counts["keypoint_flags"] += rederive_joint_flags(
                ctx, person, K, visib, img.depth_gt, img.depth_scale, item)
        if cam is not None and img.depth_gt is not None and img.depth_scale:
            # its landmarks are rebuilt from the body after the walk (synthgen.validate.landmarks)
            ctx.persons.append(PersonRef(split=sc.split, scene_id=sc.scene_id, im_id=im_id,
                                         person_id=int(pid), scene_dir=sc.dir, rel=sc.rel,
                                         width=W, height=H))

    # COCO
    coco = img.coco
    if coco is None:
        return
    if visib is not None:
        check_mask_annotation(ctx, img, ann, visib, f"person {pid}",
                              f"{sc.rel}/mask_visib_person/{stem}")
    if ann is None:
        if visible and visib is None:
            ctx.add("consistency", coco.rel, f"no annotation for {item} (bbox_visib "
                                             f"{person['bbox_visib']})")
        return
    if ann["id"] in coco.broken:
        return
    a_item = coco.item(ann)
    if not visible:
        ctx.add("consistency", a_item, f"annotates {item}, whose bbox_visib is empty")
        return
    x, y, w, h = person["bbox_visib"]
    # COCO boxes are pixel edges around the mask; BOP boxes pixel indices (w = x_max - x_min)
    if not np.allclose(ann["bbox"], [x, y, w + 1, h + 1], atol=FLOAT_TOL, rtol=0):
        ctx.add("consistency", a_item, f"bbox {ann['bbox']} but scene_humans.json bbox_visib "
                                       f"{person['bbox_visib']} (COCO box [x, y, w+1, h+1])")
    if "px_count_visib" in person and ann["area"] != person["px_count_visib"]:
        ctx.add("consistency", a_item, f"area {ann['area']} but scene_humans.json "
                                       f"px_count_visib is {person['px_count_visib']}")
    ctx.counts["keypoints"] += check_coco_person(ann, person, a_item, ctx.reporter("keypoints"))


#: (field, names, SMPL-X source index of each row)
_SCHEMAS = (("keypoints_coco17", COCO17_NAMES, COCO17_FROM_SMPLX),
            ("keypoints_wholebody133", WHOLEBODY133_NAMES, WHOLEBODY133_FROM_SMPLX))


def rederive_joint_flags(ctx: DatasetContext, person: dict, K: np.ndarray, visib: np.ndarray,
                         depth_gt: np.ndarray, depth_scale: float | None, item: str) -> int:
    """Re-derive the visibility flag of every keypoint whose source is a skinned joint, from the
    written images: the pixel its joint (``joints_3d_cam``, metres, OpenCV camera frame)
    projects to, ``mask_visib_person`` there and ``depth_gt`` there (the render's clean Z).

    The ground-truth rule (:mod:`synthgen.groundtruth.labels`) makes a joint visible only when
    its pixel shows this person and the surface there is at most ``JOINT_FRONT_TOL[j]`` in front
    of it and at most ``SURFACE_BEHIND_TOL`` behind; it adds a body-part test the files do not
    hold. So: v=2 where the pixel shows something else, or the depth lies outside the window
    (beyond one depth step), is wrong; v=1 where the pixel does not show the person or the
    depth is outside the window is required; v=1 where both hold may be self-occlusion by a
    non-adjacent part and is not decidable here. Surface landmarks have no 3-D point in the
    files: :mod:`synthgen.validate.landmarks` rebuilds the body for them. Returns the number of
    flags compared."""
    joints = np.asarray(person["joints_3d_cam"], dtype=np.float64).reshape(-1, 3)
    if len(joints) != NUM_SMPLX_JOINTS:
        return 0  # reported by check_person_projection
    H, W = depth_gt.shape
    step = (depth_scale if depth_scale else 0.1) / 1000.0   # one depth step, metres
    n = 0
    for field, names, src in _SCHEMAS:
        rows = np.asarray(person[field], dtype=np.float64)
        idx = np.flatnonzero(src < NUM_SMPLX_JOINTS)
        uv = project(K, joints[src[idx]])
        ok = ~np.isnan(uv).any(axis=1) & inside_image(uv, W, H)
        r, c = pixel_index(np.where(ok[:, None], uv, 0.0))
        for k, i in enumerate(idx):
            vis = rows[i, 2]
            if not ok[k] or vis == 0:
                continue   # v=0 against the projection: check_person_projection
            j = int(src[i])
            d = float(depth_gt[r[k], c[k]])
            front = joints[j, 2] - d
            seen = bool(visib[r[k], c[k]])
            window = -SURFACE_BEHIND_TOL - step <= front <= JOINT_FRONT_TOL[j] + step
            n += 1
            if vis == 2 and not (seen and window):
                why = ("the pixel does not show this person (mask_visib_person)" if not seen
                       else f"the surface there is {front * 100:+.1f} cm in front of the joint "
                            f"(window {-SURFACE_BEHIND_TOL * 100:.0f} to "
                            f"{JOINT_FRONT_TOL[j] * 100:.0f} cm)")
                ctx.add("keypoints", f"{item} {field}[{i}] ({names[i]})",
                        f"v=2 but at pixel ({c[k]}, {r[k]}) of joint {SMPLX_JOINT_NAMES[j]} {why}")
    return n
