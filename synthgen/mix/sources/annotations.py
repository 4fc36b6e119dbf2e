"""Checks and completion of one COCO annotation, whatever source it comes from: finite numbers,
WholeBody list lengths, box and area (derived where missing), keypoints harmonised to COCO-17."""
from __future__ import annotations

from typing import Any

from synthgen.mix.keypoints import (WHOLEBODY_EXTRA_FIELDS, WHOLEBODY_KPT_FIELDS, KeypointMap,
                                    count_labelled, empty_keypoint_fields, rows_of,
                                    wholebody_rows)
from synthgen.mix.sources.base import is_finite, is_int

#: Annotation fields that hold numbers, one or a flat list (WholeBody parts' points and boxes).
NUMBER_FIELDS: tuple[str, ...] = ("keypoints", "bbox", "area",
                                  *(k for k in WHOLEBODY_EXTRA_FIELDS
                                    if k.endswith(("_kpts", "_box"))))


def zero_keypoint_fields() -> dict[str, Any]:
    """``keypoints`` (51 zeros) and ``num_keypoints`` 0 for an annotation without keypoints.

    Keypoint tools read both on every annotation (COCOeval's keypoint mode does); zero-filled,
    those tools ignore it (num_keypoints 0), as synthgen's own object annotations are written.
    """
    return {k: v for k, v in empty_keypoint_fields().items() if k in ("keypoints", "num_keypoints")}


def not_finite(key: str, values: Any) -> str | None:
    """What is wrong with the list of numbers ``values`` of field ``key``, or None."""
    if not isinstance(values, list):
        return f"{key} is {values!r:.40}, expected a list of numbers"
    for k, v in enumerate(values):
        if not is_finite(v):
            return f"{key}[{k}] is {v!r:.40}, expected a finite number"
    return None


def number_problem(ann: dict[str, Any]) -> tuple[str, str] | None:
    """``("bad_number", what)`` for the first value of :data:`NUMBER_FIELDS` (or of a polygon
    ``segmentation``) that is not a finite number, else None (list lengths are checked by the
    callers)."""
    for key in NUMBER_FIELDS:
        if key not in ann:
            continue
        if key == "area":
            what = (None if is_finite(ann[key])
                    else f"area is {ann[key]!r:.40}, expected a finite number")
        else:
            what = not_finite(key, ann[key])
        if what is not None:
            return ("bad_number", what)
    seg = ann.get("segmentation")
    if isinstance(seg, list):  # polygons (an RLE is a dict of counts)
        for k, poly in enumerate(seg):
            what = not_finite(f"segmentation[{k}]", poly)
            if what is not None:
                return ("bad_number", what)
    return None


def wholebody_length_problem(ann: dict[str, Any], *, required: bool) -> tuple[str, str] | None:
    """``("keypoint_length", what)`` when a WholeBody ``*_kpts`` field (each of them when
    ``required``, else those present) is not a list of 3 x its part's size numbers."""
    for name, size in WHOLEBODY_KPT_FIELDS:
        if not required and name not in ann:
            continue
        v = ann.get(name)
        if not isinstance(v, list) or len(v) != 3 * size:
            n = len(v) if isinstance(v, list) else "no"
            return ("keypoint_length", f"{name} has {n} values, expected {3 * size} "
                                       f"({size} keypoints x 3)")
    return None


def segmentation_rle(seg: Any, width: int, height: int) -> dict | None:
    """A COCO ``segmentation`` as one RLE (polygons rasterised at ``height`` x ``width`` and
    merged, an uncompressed RLE compressed, as ``pycocotools.coco.COCO.annToRLE`` does); None
    when it is empty. ``ValueError`` when it is neither polygons nor an RLE."""
    from pycocotools import mask as mask_utils

    if isinstance(seg, list):
        if not seg:
            return None
        if any(not isinstance(p, list) or len(p) < 6 or len(p) % 2 for p in seg):
            raise ValueError("a polygon needs an even number (>= 6) of coordinates")
        return mask_utils.merge(mask_utils.frPyObjects(seg, height, width))
    if not (isinstance(seg, dict) and isinstance(seg.get("size"), list) and len(seg["size"]) == 2
            and all(is_int(v) and v >= 0 for v in seg["size"])
            and isinstance(seg.get("counts"), (str, list))):
        raise ValueError("expected a list of polygons or an RLE {size: [h, w], counts}")
    if isinstance(seg["counts"], list):  # uncompressed RLE
        return mask_utils.frPyObjects(seg, *seg["size"])
    return seg


def box_and_area(ann: dict[str, Any], width: int, height: int) -> \
        tuple[dict[str, Any], tuple[str, str] | None]:
    """The fields to add so that ``ann`` has a ``bbox`` and an ``area`` (COCOeval and
    xtcocotools index both on every annotation), and a problem (``bad_entry``) or None.

    Values present are kept as read. A missing ``area`` is the pixel count of the segmentation
    (``pycocotools.mask.area`` of :func:`segmentation_rle`) when there is one, else the box's
    ``w * h``, as COCO's converters and ``COCO.loadRes`` do; a missing ``bbox`` is the
    segmentation's ``pycocotools.mask.toBbox``. ``bbox`` must be ``[x, y, w, h]`` with w, h >= 0
    (pixels, pixel-edge convention); an annotation with neither a box nor a segmentation has no
    geometry at all and is a bad entry. Numbers are checked finite before (:func:`number_problem`).
    """
    from synthgen.groundtruth.masks import rle_area, rle_bbox

    box = ann.get("bbox")
    if box is not None and (len(box) != 4 or box[2] < 0 or box[3] < 0):
        return {}, ("bad_entry", f"bbox is {box!r:.60}, expected [x, y, w, h] with w, h >= 0")
    if "area" in ann and box is not None:
        return {}, None
    try:
        rle = segmentation_rle(ann["segmentation"], width, height) if "segmentation" in ann \
            else None
        added: dict[str, Any] = {}
        if box is None:
            if rle is None:
                return {}, ("bad_entry", "lacks 'bbox' and 'segmentation' (no box or area can be "
                                         "derived)")
            added["bbox"] = rle_bbox(rle)
        if "area" not in ann:
            added["area"] = rle_area(rle) if rle is not None else box[2] * box[3]
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
        return {}, ("bad_entry", f"segmentation is not COCO polygons or RLE: {exc}")
    return added, None


def harmonise(ann: dict, kmap: KeypointMap | None, wholebody: bool, wholebody_mode: str) -> dict:
    """The annotation with COCO-17 ``keypoints`` (by name), ``id``/``image_id`` removed."""
    out = {k: v for k, v in ann.items() if k not in ("id", "image_id")}
    if kmap is None or "keypoints" not in ann:
        if "keypoints" not in ann:
            out.update(zero_keypoint_fields())
        elif "num_keypoints" not in ann:
            out["num_keypoints"] = count_labelled(ann["keypoints"])
    else:
        rows = wholebody_rows(ann) if wholebody else rows_of(ann["keypoints"])
        mapped = kmap.map_rows(rows)
        if mapped != ann["keypoints"]:
            out["keypoints"] = mapped
            out["num_keypoints"] = count_labelled(mapped)
        elif "num_keypoints" not in ann:
            out["num_keypoints"] = count_labelled(mapped)
    if wholebody_mode == "drop":
        for k in WHOLEBODY_EXTRA_FIELDS:
            out.pop(k, None)
    return out
