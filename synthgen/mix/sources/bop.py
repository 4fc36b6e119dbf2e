"""BOP folders (``--bop``): synthgen's and real BOP datasets, one COCO object annotation per
visible instance."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from synthgen.mix.config import MixError, SourceSpec
from synthgen.mix.sources.annotations import not_finite, zero_keypoint_fields
from synthgen.mix.sources.base import (BadLog, Entry, LoadedSource, is_finite, read_json,
                                       resolve_image)

#: Image file names tried for a BOP image, in this order (under ``rgb/`` then ``gray/``).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")


def _bop_image(scene_dir: Path, im_id: int) -> Path | None:
    for sub in ("rgb", "gray"):
        for suffix in IMAGE_SUFFIXES:
            f = scene_dir / sub / f"{im_id:06d}{suffix}"
            if f.is_file():
                return f
    return None


def _bop_object_names(root: Path) -> dict[int, str]:
    # BOP has no object names; a synthgen dataset.json beside the BOP files has them.
    path = root / "dataset.json"
    if path.is_file():
        info = read_json(path, str(path))
        objs = info.get("objects") if isinstance(info, dict) else None
        if isinstance(objs, dict):
            return {int(k): str(v.get("name", f"obj_{int(k):06d}")) for k, v in objs.items()
                    if str(k).isdigit() and isinstance(v, dict)}
    return {}


def _bop_number_problem(gts: list[dict], infos: list[dict] | None,
                        cam: dict | None) -> str | None:
    """What is not a finite number in one BOP image's poses, gt_info boxes and pixel counts and
    camera (``cam_K``, ``depth_scale``), or None."""
    for gt_id, gt in enumerate(gts):
        for key in ("cam_R_m2c", "cam_t_m2c"):
            if not np.isfinite(gt[key]).all():
                return f"instance {gt_id}: {key} holds {gt[key].reshape(-1).tolist()}, " \
                       f"expected finite numbers"
        info = infos[gt_id] if infos is not None else {}
        what = None
        if "bbox_visib" in info:
            what = not_finite("bbox_visib", info["bbox_visib"])
            if what is None and len(info["bbox_visib"]) != 4:
                what = f"bbox_visib has {len(info['bbox_visib'])} values, expected 4"
        if what is None and "px_count_visib" in info and not is_finite(info["px_count_visib"]):
            what = f"px_count_visib is {info['px_count_visib']!r:.40}, expected a finite number"
        if what is not None:
            return f"instance {gt_id} (scene_gt_info.json): {what}"
    if cam is not None:
        if "cam_K" in cam and not np.isfinite(cam["cam_K"]).all():
            return f"scene_camera.json cam_K holds {cam['cam_K'].reshape(-1).tolist()}, " \
                   f"expected finite numbers"
        if "depth_scale" in cam and not is_finite(cam["depth_scale"]):
            return f"scene_camera.json depth_scale is {cam['depth_scale']!r}, expected a " \
                   f"finite number"
    return None


def bop_layout(path: Path, origin: str) -> tuple[Path, list[tuple[str, list[Path]]]]:
    """(dataset folder, [(split, scene folders)]) of a ``--bop`` path, which may be a dataset
    folder (``lmo``: every ``<split>/<scene>/`` holding ``scene_gt.json``), a split folder
    (``lmo/test``) or one scene (``lmo/test/000002``). Scene folders are named by their integer
    id (BOP's ``%06d``), in id order."""
    def scenes_of(d: Path) -> list[Path]:
        return sorted((s for s in d.iterdir()
                       if s.is_dir() and s.name.isdigit() and (s / "scene_gt.json").is_file()),
                      key=lambda s: int(s.name))

    if (path / "scene_gt.json").is_file():
        if not path.resolve().name.isdigit():
            raise MixError(f"{origin}: {path} holds scene_gt.json but is not named by a scene id "
                           f"(BOP scene folders are <split>/<scene_id:06d>)")
        real = path.resolve()
        return real.parent.parent, [(real.parent.name, [path])]
    if scenes_of(path):
        return path.resolve().parent, [(path.resolve().name, scenes_of(path))]
    splits = sorted(d.name for d in path.iterdir() if d.is_dir() and not d.name.startswith(".")
                    and scenes_of(d))
    return path, [(s, scenes_of(path / s)) for s in splits]


def load_bop_source(spec: SourceSpec, bad: BadLog, wholebody_mode: str) -> LoadedSource:
    """A BOP folder: ``<split>/<scene_id:06d>/{scene_gt,scene_gt_info,scene_camera}.json``,
    ``rgb/`` (or ``gray/``; PNG, JPEG or TIFF), ``mask_visib/``; ``models/models_info.json`` for
    the object list. The path may be the dataset folder, one split or one scene
    (:func:`bop_layout`); images must lie inside the folder given.

    Real BOP scenes as the benchmark ships them (``scene_gt.json``, ``scene_camera.json``,
    ``scene_gt_info.json``, JPEG or PNG ``rgb/``, with or without masks and depth) read as they
    are. A scene needs ``scene_gt_info.json`` or ``mask_visib/`` for its boxes: a pose alone
    gives no visible box without rendering the model (bop_toolkit's ``calc_gt_info.py`` writes
    that file); a scene with neither is an error naming it.

    Each BOP image becomes a COCO image with one object annotation per visible instance:
    ``segmentation`` (RLE), ``area`` and ``bbox`` from ``mask_visib`` when it exists; otherwise
    ``bbox`` from ``scene_gt_info``'s ``bbox_visib`` converted to COCO's pixel-edge convention
    (``[x, y, w + 1, h + 1]``: BOP's w is x_max - x_min) and ``area`` = ``px_count_visib``, no
    segmentation. Instances with nothing visible are skipped. Annotations keep ``obj_id``,
    ``gt_id`` and the pose ``cam_R_m2c`` (9, row-major) / ``cam_t_m2c`` (3, mm); images keep
    ``scene_id``, ``im_id``, ``cam_K`` and ``depth_scale``. Category names: ``obj_<id:06d>``, or
    the asset names when the folder is a synthgen dataset (``dataset.json``).
    """
    from synthgen.groundtruth.masks import mask_to_rle, rle_area, rle_bbox
    from synthgen.writers.bop import (load_mask, load_models_info, load_scene_camera,
                                      load_scene_gt, load_scene_gt_info)
    from PIL import Image

    root = spec.path
    if not root.is_dir():
        raise MixError(f"{spec.origin}: {root} is not a directory")
    base, layout = bop_layout(root, spec.origin)

    def load(fn, p: Path):
        try:
            return fn(p)
        except json.JSONDecodeError as exc:
            raise MixError(f"{p}: broken JSON at line {exc.lineno} column {exc.colno}: "
                           f"{exc.msg}") from None
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise MixError(f"{p}: not a BOP file: {exc}") from None

    names = _bop_object_names(base)
    obj_ids: set[int] = set()
    info_path = base / "models" / "models_info.json"
    if info_path.is_file():
        obj_ids |= {int(k) for k in load(load_models_info, info_path)}
    splits = [s for s, _ in layout]
    if spec.from_split is not None:
        if spec.from_split not in splits:
            raise MixError(f"{spec.origin}: from_split {spec.from_split!r} is not a BOP split of "
                           f"{root} (found {', '.join(splits) or 'none'})")
        layout = [(s, d) for s, d in layout if s == spec.from_split]
    if not layout:
        raise MixError(f"{spec.origin}: {root} is not a BOP dataset, split or scene (no "
                       f"<split>/<scene>/scene_gt.json, <scene>/scene_gt.json or scene_gt.json)")
    entries: list[Entry] = []
    dropped = 0
    for split, scenes in layout:
        for scene_dir in scenes:
            scene_id = int(scene_dir.resolve().name)
            gt_path = scene_dir / "scene_gt.json"
            scene_gt = load(load_scene_gt, gt_path)
            gt_info = (load(load_scene_gt_info, scene_dir / "scene_gt_info.json")
                       if (scene_dir / "scene_gt_info.json").is_file() else None)
            if gt_info is None and not (scene_dir / "mask_visib").is_dir():
                raise MixError(f"{scene_dir}: no scene_gt_info.json and no mask_visib/: the "
                               f"boxes of a BOP scene come from one of them (bop_toolkit's "
                               f"calc_gt_info.py writes scene_gt_info.json)")
            cams = (load(load_scene_camera, scene_dir / "scene_camera.json")
                    if (scene_dir / "scene_camera.json").is_file() else {})
            for im_id in sorted(scene_gt):
                where = f"{gt_path}: image {im_id}"
                img_path = _bop_image(scene_dir, im_id)
                if img_path is None:
                    bad("missing_image", f"{where}: image file not found: "
                                         f"{scene_dir}/rgb/{im_id:06d}.png|jpg")
                    dropped += 1
                    continue
                img_path, rel = resolve_image(root, img_path.relative_to(root).as_posix(),
                                              where, "BOP folder")
                gts = scene_gt[im_id]
                infos = gt_info.get(im_id) if gt_info is not None else None
                if infos is not None and len(infos) != len(gts):
                    raise MixError(f"{scene_dir / 'scene_gt_info.json'}: image {im_id}: "
                                   f"{len(infos)} entries for {len(gts)} in scene_gt.json")
                problem = _bop_number_problem(gts, infos, cams.get(im_id))
                if problem is not None:
                    bad("bad_number", f"{where}: {problem}")
                    dropped += 1
                    continue
                try:
                    with Image.open(img_path) as im:
                        width, height = im.size
                except OSError as exc:
                    bad("missing_image", f"{where}: {rel}: not a readable image: {exc}")
                    dropped += 1
                    continue
                anns = []
                for gt_id, gt in enumerate(gts):
                    obj_id = int(gt["obj_id"])
                    obj_ids.add(obj_id)
                    ann: dict[str, Any] = {"category_id": obj_id, "iscrowd": 0}
                    mpath = scene_dir / "mask_visib" / f"{im_id:06d}_{gt_id:06d}.png"
                    if mpath.is_file():
                        rle = mask_to_rle(load_mask(mpath))
                        area = rle_area(rle)
                        if area == 0:
                            continue
                        ann.update(segmentation=rle, area=area, bbox=rle_bbox(rle))
                    elif infos is not None:
                        x, y, w, h = (int(v) for v in infos[gt_id]["bbox_visib"])
                        px = int(infos[gt_id].get("px_count_visib", (w + 1) * (h + 1)))
                        if w < 0 or h < 0 or px == 0:
                            continue
                        ann.update(area=px, bbox=[float(x), float(y), float(w + 1),
                                                   float(h + 1)])
                    else:
                        raise MixError(f"{where}: instance {gt_id} has neither mask_visib/"
                                       f"{mpath.name} nor scene_gt_info.json")
                    ann.update(obj_id=obj_id, gt_id=gt_id,
                               cam_R_m2c=[float(v) for v in gt["cam_R_m2c"].reshape(-1)],
                               cam_t_m2c=[float(v) for v in gt["cam_t_m2c"].reshape(-1)],
                               **zero_keypoint_fields())
                    anns.append(ann)
                fields: dict[str, Any] = {"width": int(width), "height": int(height),
                                          "scene_id": scene_id, "im_id": int(im_id),
                                          "source_split": split}
                cam = cams.get(im_id)
                if cam is not None and "cam_K" in cam:
                    fields["cam_K"] = [float(v) for v in cam["cam_K"].reshape(-1)]
                    if "depth_scale" in cam:
                        fields["depth_scale"] = float(cam["depth_scale"])
                entries.append(Entry(
                    image_path=img_path, store_name=rel, image=fields, annotations=anns,
                    meta={"scene_id": scene_id, "im_id": int(im_id), "view_id": -1,
                          "frame_id": -1, "seed": -1, "persons": 0, "objects": len(gts)}))
    categories = {oid: names.get(oid, f"obj_{oid:06d}") for oid in sorted(obj_ids)}
    return LoadedSource(spec=spec, name="", kind=spec.kind or "real", entries=entries,
                        categories=categories, person_categories=set(), keypoint_maps={},
                        dropped_images=dropped, files=[root.resolve()])
