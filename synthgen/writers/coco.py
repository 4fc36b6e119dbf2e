"""COCO annotations (persons with COCO-17 keypoints and COCO-WholeBody fields, plus objects).

A shard writes a *part* (``coco_part.json``): ``{"images": [...], "annotations": [...]}`` where
images have no ``id`` yet and each annotation carries ``"im_id"`` (the BOP image id inside the
shard) instead of ``image_id``. :func:`merge_coco_parts` turns the parts of one split into the final
``annotations/coco_<split>.json`` with ids 1.. assigned in the given order, so the result only
depends on the parts and their order; :func:`save_merged_coco` writes the same bytes holding one
part in memory at a time (the runner's way: a million-frame split is tens of GB of JSON).

Coordinates: keypoints are pixel indices (OpenCV/BOP centre convention: integer (u, v) is the
centre of pixel (column u, row v)), as COCO's keypoints are read by detectron2 and mmpose; boxes
and ``area`` come from the RLE through pycocotools (``toBbox``/``area``), i.e. pixel-edge boxes
around the mask, which is how COCO tools treat boxes beside segmentations.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from synthgen.groundtruth.masks import mask_to_rle, rle_area, rle_bbox
from synthgen.groundtruth.records import FrameRecord, ObjectGT, PersonGT
from synthgen.writers.humans import keypoint_rows
from synthgen.bodies.keypoints import COCO17_NAMES, COCO17_SKELETON, WHOLEBODY133_PARTS
from synthgen.writers.jsonio import ListLinesWriter, load_json, save_json

PERSON_CATEGORY_ID = 1

# COCO-17 names and skeleton (1-based, COCO's standard order) live with the keypoint maps.
COCO17_KEYPOINT_NAMES = COCO17_NAMES


def object_category_id(obj_id: int) -> int:
    """COCO category id of BOP object ``obj_id`` (person is 1, so objects start at 2)."""
    return 1 + int(obj_id)


def coco_categories(categories: dict[int, str]) -> list[dict[str, Any]]:
    """COCO ``categories``: person (id 1, 17 keypoints and skeleton), then one per obj_id in
    increasing order with id ``1 + obj_id`` and the asset name from ``categories``."""
    out: list[dict[str, Any]] = [{
        "id": PERSON_CATEGORY_ID, "name": "person", "supercategory": "person",
        "keypoints": list(COCO17_KEYPOINT_NAMES),
        "skeleton": [list(e) for e in COCO17_SKELETON],
    }]
    for obj_id in sorted(int(k) for k in categories):
        if obj_id < 1:
            raise ValueError(f"BOP obj_ids start at 1, got {obj_id}")
        out.append({"id": object_category_id(obj_id), "name": str(categories[obj_id]),
                    "supercategory": "object"})
    return out


def _flat_kpts(rows: list[list[float | int]]) -> list[float | int]:
    return [x for row in rows for x in row]


def _part_box(rows: list[list[float | int]]) -> list[float]:
    # Tight box (pixel-centre coordinates) around the labelled (v > 0) points of one part.
    pts = np.array([[r[0], r[1]] for r in rows if r[2] > 0], dtype=np.float64).reshape(-1, 2)
    if len(pts) == 0:
        return [0.0, 0.0, 0.0, 0.0]
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    return [float(lo[0]), float(lo[1]), float(hi[0] - lo[0]), float(hi[1] - lo[1])]


def person_annotation(person: PersonGT, im_id: int) -> dict[str, Any] | None:
    """COCO(+WholeBody) annotation of one person in the part format (``im_id``, no ids).

    Returns ``None`` when the visible mask is empty: such a person has no COCO annotation (it stays
    in ``scene_humans.json``). An invalid WholeBody part (no v > 0 point) is all zeros.
    """
    rle = mask_to_rle(person.mask_visib)
    area = rle_area(rle)
    if area == 0:
        return None
    body = keypoint_rows(person.keypoints_coco17)
    if len(body) != 17:
        raise ValueError(f"person {person.person_id}: keypoints_coco17 must have 17 rows")
    wb = keypoint_rows(person.keypoints_wholebody133)
    if len(wb) != 133:
        raise ValueError(f"person {person.person_id}: keypoints_wholebody133 must have 133 rows")
    ann: dict[str, Any] = {
        "im_id": int(im_id),
        "category_id": PERSON_CATEGORY_ID,
        "iscrowd": 0,
        "segmentation": rle,
        "area": area,
        "bbox": rle_bbox(rle),
        "keypoints": _flat_kpts(body),
        "num_keypoints": sum(1 for r in body if r[2] > 0),
        # links the annotation to its entry in scene_humans.json (same person across views)
        "person_id": int(person.person_id),
    }
    for part, (a, b) in WHOLEBODY133_PARTS.items():
        rows = wb[a:b]
        ann[f"{part}_kpts"] = _flat_kpts(rows)
        ann[f"{part}_valid"] = any(r[2] > 0 for r in rows)
        if part != "foot":  # COCO-WholeBody has no foot box
            ann[f"{part}_box"] = _part_box(rows)
    return ann


def _empty_keypoint_fields() -> dict[str, Any]:
    """Keypoint fields of a non-person annotation: all zeros, ``num_keypoints`` 0, parts invalid.

    Persons and objects share one COCO file. Keypoint tools index these fields on *every*
    annotation of an image or category set (mmpose's CocoWholeBodyDataset concatenates
    ``keypoints`` + ``*_kpts``; COCOeval's keypoint mode reads ``num_keypoints`` of every gt), so
    objects carry them zero-filled; ``num_keypoints == 0`` makes those tools ignore the object.
    """
    fields: dict[str, Any] = {"keypoints": [0] * 17 * 3, "num_keypoints": 0}
    for part, (a, b) in WHOLEBODY133_PARTS.items():
        fields[f"{part}_kpts"] = [0] * (b - a) * 3
        fields[f"{part}_valid"] = False
        if part != "foot":
            fields[f"{part}_box"] = [0.0, 0.0, 0.0, 0.0]
    return fields


def object_annotation(obj: ObjectGT, im_id: int) -> dict[str, Any] | None:
    """COCO annotation of one object instance (visible mask), ``None`` when nothing is visible.

    ``category_id`` is ``1 + obj_id``; ``obj_id`` and ``gt_id`` link it to the BOP files. The
    keypoint fields are zero-filled (see :func:`_empty_keypoint_fields`).
    """
    rle = mask_to_rle(obj.mask_visib)
    area = rle_area(rle)
    if area == 0:
        return None
    return {
        "im_id": int(im_id),
        "category_id": object_category_id(obj.obj_id),
        "iscrowd": 0,
        "segmentation": rle,
        "area": area,
        "bbox": rle_bbox(rle),
        "obj_id": int(obj.obj_id),
        "gt_id": int(obj.gt_id),
        **_empty_keypoint_fields(),
    }


def image_file_name(split: str, scene_id: int, im_id: int, rgb_format: str) -> str:
    """Path of an RGB image relative to the dataset root (``/`` separators)."""
    return f"{split}/{int(scene_id):06d}/rgb/{int(im_id):06d}.{rgb_format}"


def coco_part(frames: Iterable[FrameRecord], rgb_format: str) -> dict[str, list[dict]]:
    """The shard-local COCO part of ``frames`` (images sorted by im_id; per image persons in
    record order, then objects in gt_id order)."""
    images: list[dict] = []
    anns: list[dict] = []
    for fr in sorted(frames, key=lambda f: f.im_id):
        images.append({"file_name": image_file_name(fr.split, fr.scene_id, fr.im_id, rgb_format),
                       "width": int(fr.width), "height": int(fr.height),
                       "split": fr.split, "scene_id": int(fr.scene_id), "im_id": int(fr.im_id)})
        for p in fr.persons:
            a = person_annotation(p, fr.im_id)
            if a is not None:
                anns.append(a)
        for o in sorted(fr.objects, key=lambda o: o.gt_id):
            a = object_annotation(o, fr.im_id)
            if a is not None:
                anns.append(a)
    return {"images": images, "annotations": anns}


def save_coco(path: str | Path, coco: dict[str, Any]) -> None:
    """Write a COCO dict (or a part) with sorted keys, one image / annotation / category a line."""
    save_json(path, coco, expand_lists=True)


def load_coco(path: str | Path) -> dict[str, Any]:
    """Read a COCO file written by :func:`save_coco` (plain JSON dict)."""
    return load_json(path)


def _renumbered(path: str | Path, part: dict[str, Any], first_image_id: int, first_ann_id: int,
                known: set[int]) -> tuple[list[dict], list[dict]]:
    """One part's images and annotations with the final ids, images from ``first_image_id`` and
    annotations from ``first_ann_id`` (``im_id`` replaced by ``image_id``). Only top-level keys
    change, so shallow copies keep ``part`` as it was (a deep copy was 90 % of a merge's time)."""
    local: dict[int, int] = {}
    images: list[dict] = []
    for img in part["images"]:
        img = dict(img)
        if img["im_id"] in local:
            raise ValueError(f"{path}: image im_id {img['im_id']} appears twice")
        img["id"] = local[img["im_id"]] = first_image_id + len(images)
        images.append(img)
    annotations: list[dict] = []
    for ann in part["annotations"]:
        ann = dict(ann)
        im_id = ann.pop("im_id")
        if im_id not in local:
            raise ValueError(f"{path}: annotation refers to unknown im_id {im_id}")
        if ann["category_id"] not in known:
            raise ValueError(f"{path}: category_id {ann['category_id']} not in categories")
        ann["image_id"] = local[im_id]
        ann["id"] = first_ann_id + len(annotations)
        annotations.append(ann)
    return images, annotations


def merge_coco_parts(part_paths_in_order: Iterable[str | Path],
                     categories: dict[int, str]) -> dict[str, Any]:
    """Merge shard parts into one COCO dict.

    Image ids are 1.. in the order of the parts and of the images inside each part; annotation
    ids 1.. likewise, so the same parts in the same order always give the same file. Every
    annotation's ``im_id`` is replaced by ``image_id``. ``categories`` maps obj_id -> name; an
    annotation whose obj_id is missing from it is an error.
    """
    cats = coco_categories(categories)
    known = {c["id"] for c in cats}
    images: list[dict] = []
    annotations: list[dict] = []
    for path in part_paths_in_order:
        imgs, anns = _renumbered(path, load_coco(path), len(images) + 1, len(annotations) + 1, known)
        images += imgs
        annotations += anns
    return {"images": images, "annotations": annotations, "categories": cats}


def save_merged_coco(path: str | Path, part_paths_in_order: Iterable[str | Path],
                     categories: dict[int, str]) -> tuple[int, int]:
    """Write ``save_coco(path, merge_coco_parts(parts, categories))``'s bytes to ``path`` with one
    part in memory at a time; returns (images, annotations).

    Annotations stream into ``path`` as the parts are read (the file's keys are sorted, so they
    come first); images go to a temporary file beside it and are copied in after the categories.
    """
    path = Path(path)
    cats = coco_categories(categories)
    known = {c["id"] for c in cats}
    with open(path, "w", encoding="utf-8", newline="\n") as f, \
            tempfile.TemporaryFile("w+", encoding="utf-8", newline="\n", dir=path.parent) as img_f:
        f.write('{\n  "annotations": ')
        anns, imgs = ListLinesWriter(f, "  "), ListLinesWriter(img_f, "  ")
        for part_path in part_paths_in_order:
            images, annotations = _renumbered(part_path, load_coco(part_path), imgs.count + 1, anns.count + 1,
                                              known)
            for ann in annotations:
                anns.add(ann)
            for img in images:
                imgs.add(img)
        anns.close()
        imgs.close()
        f.write(',\n  "categories": ')
        cat_lines = ListLinesWriter(f, "  ")
        for c in cats:
            cat_lines.add(c)
        cat_lines.close()
        f.write(',\n  "images": ')
        img_f.seek(0)
        shutil.copyfileobj(img_f, f)
        f.write("\n}\n")
    return imgs.count, anns.count
