"""Write the files of one shard (one BOP scene) from its frame records.

``shard_dir`` is the scene folder ``{split}/{scene_id:06d}`` (or a temporary folder the runner
renames to it). Frame records carry metres; this module converts to BOP millimetres. It never
writes ``DONE``: the runner does that after renaming the finished folder into place.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from synthgen.groundtruth.records import FrameRecord
from synthgen.scene.kinds import RGB_FORMATS
from synthgen.writers.bop import (save_depth, save_mask, save_rgb, save_scene_camera,
                                  save_scene_gt, save_scene_gt_info)
from synthgen.writers.coco import coco_part, save_coco
from synthgen.writers.humans import person_entry, save_scene_humans
from synthgen.writers.manifest import manifest_line, save_manifest

COCO_PART_NAME = "coco_part.json"
MANIFEST_PART_NAME = "manifest_part.jsonl"


def _check_frames(frames: list[FrameRecord], categories: dict[int, str], rgb_format: str) -> None:
    if not frames:
        raise ValueError("a shard needs at least one frame")
    if rgb_format not in RGB_FORMATS:
        raise ValueError(f"rgb_format must be one of {RGB_FORMATS}, got {rgb_format!r}")
    keys = {(f.split, f.scene_id) for f in frames}
    if len(keys) != 1:
        raise ValueError(f"frames of one shard must share split and scene_id, got {sorted(keys)}")
    im_ids = [f.im_id for f in frames]
    if len(set(im_ids)) != len(im_ids):
        raise ValueError(f"duplicate im_id in shard: {sorted(im_ids)}")
    for f in frames:
        shape = (f.height, f.width)
        if f.rgb.shape[:2] != shape or f.depth.shape != shape or f.depth_gt.shape != shape:
            raise ValueError(f"im_id {f.im_id}: image arrays do not match {f.width}x{f.height}")
        for i, o in enumerate(f.objects):
            if o.gt_id != i:
                raise ValueError(f"im_id {f.im_id}: objects[{i}].gt_id is {o.gt_id}; gt_id must "
                                 "be the index in the image's list")
            if o.obj_id not in categories:
                raise ValueError(f"im_id {f.im_id}: obj_id {o.obj_id} missing from categories")


def write_shard_files(shard_dir: Path, frames: list[FrameRecord], *, rgb_format: str = "png",
                      jpeg_quality: int = 95, depth_scale: float = 0.1,
                      categories: dict[int, str], png_compress_level: int = 1) -> None:
    """Write the BOP scene files, ``scene_humans.json`` and the shard's COCO/manifest parts.

    Files (under ``shard_dir``): ``rgb/{im_id:06d}.{png|jpg}``, ``depth/`` and ``depth_gt/``
    (uint16 PNG, value = round(mm / depth_scale); 0 = no measurement; depths beyond
    65535 * depth_scale mm cannot be stored and are written as 0), ``mask/`` (amodal, only for
    objects whose ``mask`` is not None) and ``mask_visib/`` (``{im_id:06d}_{gt_id:06d}.png``,
    0/255), ``scene_camera.json`` (cam_K, depth_scale, cam_R_w2c, cam_t_w2c in mm),
    ``scene_gt.json`` (mm), ``scene_gt_info.json``, ``scene_humans.json`` (metres),
    ``coco_part.json`` and ``manifest_part.jsonl`` (merged by the runner).

    ``frames`` must all have the same split and scene_id. ``categories`` maps obj_id -> name; every
    object's obj_id must be in it. Existing files of the same names are overwritten.
    """
    shard_dir = Path(shard_dir)
    _check_frames(frames, categories, rgb_format)
    frames = sorted(frames, key=lambda f: f.im_id)

    dirs = {name: shard_dir / name for name in ("rgb", "depth", "depth_gt", "mask", "mask_visib",
                                                 "mask_person", "mask_visib_person")}
    has_people = any(f.persons for f in frames)
    for name, d in dirs.items():
        if name == "mask" and not any(o.mask is not None for f in frames for o in f.objects):
            continue  # no amodal masks in this shard: no empty folder either
        if name.endswith("_person") and not has_people:
            continue
        d.mkdir(parents=True, exist_ok=True)

    scene_camera: dict[int, dict] = {}
    scene_gt: dict[int, list[dict]] = {}
    scene_gt_info: dict[int, list[dict]] = {}
    scene_humans: dict[int, list[dict]] = {}
    for f in frames:
        stem = f"{f.im_id:06d}"
        save_rgb(dirs["rgb"] / f"{stem}.{rgb_format}", f.rgb, jpeg_quality=jpeg_quality,
                 png_compress_level=png_compress_level)
        save_depth(dirs["depth"] / f"{stem}.png", f.depth, depth_scale,
                   compress_level=png_compress_level)
        save_depth(dirs["depth_gt"] / f"{stem}.png", f.depth_gt, depth_scale,
                   compress_level=png_compress_level)

        t_w2c_mm = np.asarray(f.t_w2c, dtype=np.float64).reshape(3) * 1000.0
        scene_camera[f.im_id] = {"cam_K": f.K, "depth_scale": float(depth_scale),
                                 "cam_R_w2c": f.R_w2c, "cam_t_w2c": t_w2c_mm}
        gts, infos = [], []
        for o in f.objects:
            name = f"{stem}_{o.gt_id:06d}.png"
            save_mask(dirs["mask_visib"] / name, o.mask_visib, compress_level=png_compress_level)
            if o.mask is not None:
                save_mask(dirs["mask"] / name, o.mask, compress_level=png_compress_level)
            gts.append({"obj_id": int(o.obj_id), "cam_R_m2c": o.R_m2c,
                        "cam_t_m2c": np.asarray(o.t_m2c, dtype=np.float64).reshape(3) * 1000.0})
            infos.append({"bbox_obj": o.bbox_obj, "bbox_visib": o.bbox_visib,
                          "px_count_all": o.px_count_all, "px_count_valid": o.px_count_valid,
                          "px_count_visib": o.px_count_visib, "visib_fract": o.visib_fract})
        scene_gt[f.im_id] = gts
        scene_gt_info[f.im_id] = infos
        scene_humans[f.im_id] = [person_entry(p, f.R_w2c, f.t_w2c) for p in f.persons]
        # people's masks beside the objects' (synthgen extension of BOP), named by person_id
        for p in f.persons:
            name = f"{stem}_{int(p.person_id):06d}.png"
            save_mask(dirs["mask_visib_person"] / name, p.mask_visib, compress_level=png_compress_level)
            if p.mask is not None:
                save_mask(dirs["mask_person"] / name, p.mask, compress_level=png_compress_level)

    save_scene_camera(shard_dir / "scene_camera.json", scene_camera)
    save_scene_gt(shard_dir / "scene_gt.json", scene_gt)
    save_scene_gt_info(shard_dir / "scene_gt_info.json", scene_gt_info)
    save_scene_humans(shard_dir / "scene_humans.json", scene_humans)
    save_coco(shard_dir / COCO_PART_NAME, coco_part(frames, rgb_format))
    save_manifest(shard_dir / MANIFEST_PART_NAME, [manifest_line(f, rgb_format) for f in frames])
