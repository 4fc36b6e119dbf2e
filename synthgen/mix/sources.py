"""Readers of the mix inputs: synthgen datasets, COCO / COCO-WholeBody files, BOP folders and JSONL
manifests. Each turns its input into :class:`Entry` records (one per image) with harmonised
annotations (keypoints as COCO-17 by name, see :mod:`synthgen.mix.keypoints`).

Checks, each a *bad entry* (without ``skip_bad`` the first one is a :class:`MixError` naming the
file and the entry; with it the entry is dropped and counted by kind):

- ``missing_image``: the image file does not exist;
- ``broken_json``: a JSONL manifest line that is not JSON (a whole JSON file that does not parse
  is always an error: there is nothing left to keep);
- ``keypoint_length``: ``keypoints`` (or a WholeBody ``*_kpts`` field) with the wrong number of
  values for its schema;
- ``duplicate_id``: an image or annotation id (a manifest's (split, scene_id, im_id), or its image
  path when those are absent) that occurs twice;
- ``bad_number``: a keypoint, box, area or polygon value (a BOP pose, box, pixel count or
  camera value) that is not a finite number: NaN, an infinity (JSON ``NaN``, ``Infinity``,
  ``1e999``), a string, a bool or ``null``;
- ``bad_entry``: an entry lacking a required field, an annotation naming an unknown image or
  category, or one whose geometry is unusable (a ``bbox`` that is not ``[x, y, w, h]`` with
  w, h >= 0, a ``segmentation`` that is neither polygons nor an RLE, neither of the two).

Every kept annotation has ``bbox`` and ``area``: missing ones are derived (:func:`box_and_area`;
``area`` from the segmentation via ``pycocotools.mask.area``, else the box's ``w * h``).

Image paths (a COCO ``file_name``, a manifest's ``image``, a BOP ``rgb/`` file, symbolic links
followed) must resolve inside the folder they belong to (``--images``, the manifest's folder, the
dataset folder): one that leads out is always an error naming the file and the entry, with or
without ``skip_bad`` (see :func:`resolve_image`).

Dropping is per image: a bad annotation drops the image it belongs to with all its annotations
(an image with a person left unlabelled would teach a detector that people are background); a
duplicated image id drops every image with that id; an annotation naming no image is dropped
alone.
"""
from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Callable

import numpy as np

from synthgen.mix.config import MixError, SourceSpec
from synthgen.mix.keypoints import (COCO17_NAMES, WHOLEBODY133_NAMES, WHOLEBODY_EXTRA_FIELDS,
                                    WHOLEBODY_KPT_FIELDS, KeypointMap, count_labelled,
                                    empty_keypoint_fields, rows_of, wholebody_rows)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")


@dataclass
class Entry:
    """One input image and its annotations, ready to be sampled and written.

    ``image_path``: the file, absolute and resolved. ``store_name``: its path under
    ``images/<source>/`` when images are copied or linked (posix, no ``..``). ``image``: COCO image
    fields to write besides ``id``/``file_name``/``split``/``source`` (``width`` and ``height``
    included). ``annotations``: COCO annotations without ``id``/``image_id``, ``category_id``
    local to the source. ``meta``: the manifest fields scene_id, im_id, view_id, frame_id, seed,
    persons, objects (-1 where not applicable, e.g. a real photo has no scene).
    """

    image_path: Path
    store_name: str
    image: dict[str, Any]
    annotations: list[dict[str, Any]]
    meta: dict[str, int]


@dataclass
class LoadedSource:
    """A source after reading: its entries and what the report needs."""

    spec: SourceSpec
    name: str
    kind: str
    entries: list[Entry]
    categories: dict[int, str]                     # local category id -> name
    person_categories: set[int]                    # local ids whose annotations are people
    keypoint_maps: dict[int, KeypointMap]          # local category id -> name mapping
    bad: Counter = field(default_factory=Counter)
    dropped_images: int = 0
    dropped_annotations: int = 0
    files: list[Path] = field(default_factory=list)  # files and folders read (overlap checks)
    licenses: dict[int, dict] = field(default_factory=dict)  # COCO licence id -> licence


class BadLog:
    """Raise on the first bad entry, or (``skip``) count it by kind and go on."""

    def __init__(self, skip: bool):
        self.skip = skip
        self.counts: Counter = Counter()

    def __call__(self, kind: str, message: str) -> None:
        if not self.skip:
            raise MixError(message)
        self.counts[kind] += 1


def read_json(path: Path, origin: str) -> Any:
    """Parse a whole JSON file; a missing or broken file is a :class:`MixError` naming it."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MixError(f"{origin}: file not found: {path}") from None
    except OSError as exc:
        raise MixError(f"{origin}: cannot read {path}: {exc.strerror or exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise MixError(f"{path}: broken JSON at line {exc.lineno} column {exc.colno}: "
                       f"{exc.msg}") from None
    except UnicodeDecodeError as exc:
        raise MixError(f"{path}: not UTF-8 text: {exc.reason}") from None


def resolve_image(root: Path, name: str, where: str, root_label: str = "image root") -> \
        tuple[Path, str]:
    """The image ``name`` of an input (relative to ``root``, or absolute) as (resolved file,
    store name), checked to lie inside ``root``.

    Both paths are resolved first (symbolic links followed, ``..`` collapsed), so a ``..`` name,
    an absolute path elsewhere or a link inside the root that leads out are all refused: a
    :class:`MixError` naming ``where`` (file and entry), the name and the root, never a skippable
    bad entry (a file pointing outside its folder is not trusted at all). The store name is the
    image's path under ``images/<source>/`` for --images copy|symlink: ``name`` itself when it is
    a plain relative posix path, else the resolved file's path below the resolved root.
    """
    real_root = root.resolve()
    f = (root / name).resolve()  # an absolute name replaces root
    if not f.is_relative_to(real_root):
        raise MixError(f"{where}: image path {name!r} resolves to {f}, outside the {root_label} "
                       f"{real_root} (symlinks followed); image paths must stay inside it")
    p = PurePosixPath(name)
    plain = (not p.is_absolute() and "\\" not in name and ".." not in p.parts
             and str(p) not in ("", "."))
    return f, (str(p) if plain else f.relative_to(real_root).as_posix())


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_finite(v: Any) -> bool:
    """A JSON number that is a real, finite value (not NaN/inf, not a bool or a string)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


#: Annotation fields that hold numbers, one or a flat list (WholeBody parts' points and boxes).
NUMBER_FIELDS: tuple[str, ...] = ("keypoints", "bbox", "area",
                                  *(k for k in WHOLEBODY_EXTRA_FIELDS
                                    if k.endswith(("_kpts", "_box"))))


def _zero_keypoint_fields() -> dict[str, Any]:
    # Keypoint tools read ``num_keypoints``/``keypoints`` of every annotation (COCOeval's
    # keypoint mode does): annotations without keypoints get them zero-filled, so those tools
    # ignore them (num_keypoints 0), as synthgen's own object annotations are written.
    return {k: v for k, v in empty_keypoint_fields().items() if k in ("keypoints", "num_keypoints")}


def _not_finite(key: str, values: Any) -> str | None:
    """What is wrong with the list of numbers ``values`` of field ``key``, or None."""
    if not isinstance(values, list):
        return f"{key} is {values!r:.40}, expected a list of numbers"
    for k, v in enumerate(values):
        if not _is_finite(v):
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
            what = (None if _is_finite(ann[key])
                    else f"area is {ann[key]!r:.40}, expected a finite number")
        else:
            what = _not_finite(key, ann[key])
        if what is not None:
            return ("bad_number", what)
    seg = ann.get("segmentation")
    if isinstance(seg, list):  # polygons (an RLE is a dict of counts)
        for k, poly in enumerate(seg):
            what = _not_finite(f"segmentation[{k}]", poly)
            if what is not None:
                return ("bad_number", what)
    return None


# --------------------------------------------------------------------------------------------
# COCO / COCO-WholeBody (also the COCO file of a synthgen dataset)
# --------------------------------------------------------------------------------------------

@dataclass
class _CocoResult:
    entries: list[Entry]
    categories: dict[int, str]
    person_categories: set[int]
    maps: dict[int, KeypointMap]
    dropped_images: int
    dropped_annotations: int
    licenses: dict[int, dict]


def load_coco_file(path: Path, image_root: Path, spec: SourceSpec, bad: BadLog, *,
                   wholebody: bool, wholebody_mode: str, maps: dict[int, KeypointMap] | None = None,
                   image_fields: Callable[[dict], dict] | None = None,
                   meta_of: Callable[[dict], dict] | None = None,
                   root_label: str = "image root") -> _CocoResult:
    """Read one COCO(-WholeBody) file into entries (image order, annotations in file order).

    ``wholebody``: the file holds COCO-WholeBody annotations (``*_kpts`` beside ``keypoints``;
    mapped to COCO-17 by name over all 133 names). ``image_fields(img)`` / ``meta_of(img)``
    override the image fields kept and the manifest fields (defaults: a real photo).
    Every ``file_name`` must resolve inside ``image_root`` (``root_label`` names it in
    messages; see :func:`resolve_image`). ``maps`` (category id -> :class:`KeypointMap`) is shared between files of one source.
    """
    data = read_json(path, spec.origin)
    if not isinstance(data, dict):
        raise MixError(f"{path}: expected a COCO object with images, annotations and categories, "
                       f"found {type(data).__name__}")
    for key in ("images", "annotations", "categories"):
        if not isinstance(data.get(key), list):
            raise MixError(f"{path}: missing or non-list {key!r} (not a COCO annotation file)")

    # Categories and the keypoint names of each.
    categories: dict[int, str] = {}
    kp_names: dict[int, tuple[str, ...]] = {}
    for i, cat in enumerate(data["categories"]):
        if (not isinstance(cat, dict) or not _is_int(cat.get("id"))
                or not isinstance(cat.get("name"), str)):
            raise MixError(f"{path}: category entry #{i}: expected an object with int 'id' and str "
                           f"'name', found {cat!r:.80}")
        if cat["id"] in categories:
            raise MixError(f"{path}: category id {cat['id']}: duplicate category id")
        categories[cat["id"]] = cat["name"]
        names = cat.get("keypoints")
        if isinstance(names, list) and names:
            kp_names[cat["id"]] = tuple(str(n) for n in names)
    if not kp_names:  # no category names its keypoints: the person category carries them
        kp_names.update({cid: COCO17_NAMES for cid, n in categories.items() if n == "person"})
    for cid in list(kp_names):
        if spec.keypoints is not None:
            kp_names[cid] = spec.keypoints
        elif wholebody:
            kp_names[cid] = WHOLEBODY133_NAMES
    maps = {} if maps is None else maps
    for cid, names in kp_names.items():
        if cid not in maps or maps[cid].names != names:
            try:
                maps[cid] = KeypointMap.build(names)
            except ValueError as exc:
                raise MixError(f"{path}: category {categories[cid]!r}: {exc}") from None

    # Images.
    first: dict[int, int] = {}
    images: dict[int, dict] = {}
    dup_ids: set[int] = set()
    for i, img in enumerate(data["images"]):
        if not isinstance(img, dict):
            bad("bad_entry", f"{path}: image entry #{i}: expected an object, found {img!r:.60}")
            continue
        checks = (("id", _is_int), ("file_name", lambda v: isinstance(v, str) and v),
                  ("width", _is_int), ("height", _is_int))
        lacking = [k for k, ok in checks if not ok(img.get(k))]
        if lacking:
            label = f"image id {img['id']}" if _is_int(img.get("id")) else f"image entry #{i}"
            bad("bad_entry", f"{path}: {label}: lacks a valid {lacking[0]!r}")
            continue
        iid = img["id"]
        if iid in first:
            bad("duplicate_id", f"{path}: image id {iid}: duplicate image id "
                                f"(entries #{first[iid]} and #{i})")
            dup_ids.add(iid)
            continue
        first[iid] = i
        images[iid] = img
    known_ids = set(first)
    dropped_images = sum(1 for img in data["images"]
                         if isinstance(img, dict) and img.get("id") in dup_ids)
    for iid in dup_ids:  # every image sharing the id: its annotations cannot be told apart
        images.pop(iid, None)
    files: dict[int, tuple[Path, str]] = {}
    for iid, img in list(images.items()):
        f, store = resolve_image(image_root, img["file_name"], f"{path}: image id {iid}",
                                 root_label)
        if not f.is_file():
            bad("missing_image", f"{path}: image id {iid} ({img['file_name']}): image file not "
                                 f"found: {f}")
            images.pop(iid)
            dropped_images += 1
            continue
        files[iid] = (f, store)

    # Annotations.
    anns: dict[int, list[dict]] = defaultdict(list)
    ann_first: dict[Any, int] = {}
    bad_images: set[int] = set()
    for j, ann in enumerate(data["annotations"]):
        if not isinstance(ann, dict) or not _is_int(ann.get("image_id")):
            bad("bad_entry", f"{path}: annotation entry #{j}: lacks a valid 'image_id'")
            continue
        iid = ann["image_id"]
        label = (f"annotation id {ann['id']} (image id {iid})" if "id" in ann
                 else f"annotation entry #{j} (image id {iid})")
        if iid not in known_ids:
            bad("bad_entry", f"{path}: {label}: image_id {iid} matches no image")
            continue
        if iid not in images or iid in bad_images:
            continue  # its image was dropped already (counted with the image)
        problem = _annotation_problem(ann, categories, kp_names, wholebody)
        added: dict[str, Any] = {}
        if problem is None:
            added, problem = box_and_area(ann, images[iid]["width"], images[iid]["height"])
        if problem is None and "id" in ann:
            key = ann["id"] if _is_int(ann["id"]) else repr(ann["id"])
            if key in ann_first:
                problem = ("duplicate_id", f"duplicate annotation id (entries #{ann_first[key]} "
                                           f"and #{j})")
            else:
                ann_first[key] = j
        if problem is not None:
            bad(problem[0], f"{path}: {label}: {problem[1]}")
            bad_images.add(iid)
            continue
        anns[iid].append({**ann, **added})
    for iid in bad_images:
        images.pop(iid, None)
    dropped_images += len(bad_images)
    kept_anns = sum(len(anns[iid]) for iid in images)
    dropped_annotations = len(data["annotations"]) - kept_anns

    # Entries, annotations harmonised.
    entries: list[Entry] = []
    persons = set(kp_names)
    for iid, img in images.items():
        out_anns = [_harmonise(a, maps.get(a["category_id"]), wholebody, wholebody_mode)
                    for a in anns[iid]]
        fields = (image_fields(img) if image_fields is not None else
                  {**{k: v for k, v in img.items() if k not in ("id", "file_name")},
                   "source_image_id": iid, "source_file_name": img["file_name"]})
        n_person = sum(1 for a in out_anns if a["category_id"] in persons)
        meta = (meta_of(img) if meta_of is not None else
                {"scene_id": -1, "im_id": iid, "view_id": -1, "frame_id": -1, "seed": -1,
                 "persons": n_person, "objects": len(out_anns) - n_person})
        entries.append(Entry(image_path=files[iid][0], store_name=files[iid][1],
                             image=fields, annotations=out_anns, meta=meta))
    licenses = {lic["id"]: lic for lic in data.get("licenses") or []
                if isinstance(lic, dict) and _is_int(lic.get("id"))}
    return _CocoResult(entries, categories, persons, maps, dropped_images, dropped_annotations,
                       licenses)


def _annotation_problem(ann: dict, categories: dict[int, str], kp_names: dict[int, tuple],
                        wholebody: bool) -> tuple[str, str] | None:
    cid = ann.get("category_id")
    if not _is_int(cid) or cid not in categories:
        return ("bad_entry", f"category_id {cid!r} is not in categories")
    if "keypoints" not in ann:
        return number_problem(ann)
    kp = ann["keypoints"]
    names = kp_names.get(cid, COCO17_NAMES)
    expected = 17 if wholebody else len(names)
    if not isinstance(kp, list) or len(kp) != 3 * expected:
        n = len(kp) if isinstance(kp, list) else type(kp).__name__
        return ("keypoint_length", f"keypoints has {n} values, expected {3 * expected} "
                                   f"({expected} keypoints x 3)")
    return wholebody_length_problem(ann, required=wholebody) or number_problem(ann)


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
            and all(_is_int(v) and v >= 0 for v in seg["size"])
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


def _harmonise(ann: dict, kmap: KeypointMap | None, wholebody: bool, wholebody_mode: str) -> dict:
    """The annotation with COCO-17 ``keypoints`` (by name), ``id``/``image_id`` removed."""
    out = {k: v for k, v in ann.items() if k not in ("id", "image_id")}
    if kmap is None or "keypoints" not in ann:
        if "keypoints" not in ann:
            out.update(_zero_keypoint_fields())
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


def load_coco_source(spec: SourceSpec, bad: BadLog, wholebody_mode: str) -> LoadedSource:
    """``--coco JSON --images DIR`` / ``--wholebody JSON --images DIR`` (root default: the JSON's
    folder)."""
    root = spec.images if spec.images is not None else spec.path.parent
    if not root.is_dir():
        raise MixError(f"{spec.origin}: image root {root} is not a directory")
    res = load_coco_file(spec.path, root, spec, bad, wholebody=spec.type == "wholebody",
                         wholebody_mode=wholebody_mode)
    return LoadedSource(spec=spec, name="", kind=spec.kind or "real", entries=res.entries,
                        categories=res.categories, person_categories=res.person_categories,
                        keypoint_maps=res.maps, dropped_images=res.dropped_images,
                        dropped_annotations=res.dropped_annotations,
                        files=[spec.path.resolve(), root.resolve()], licenses=res.licenses)


# --------------------------------------------------------------------------------------------
# synthgen datasets
# --------------------------------------------------------------------------------------------

def load_synthetic_source(spec: SourceSpec, bad: BadLog, wholebody_mode: str) -> LoadedSource:
    """A synthgen dataset folder: ``manifest.jsonl`` + ``annotations/coco_<split>.json``; image
    paths relative to the folder; manifest fields (view_id, frame_id, seed, ...) kept."""
    root = spec.path
    man_path = root / "manifest.jsonl"
    if not root.is_dir():
        raise MixError(f"{spec.origin}: {root} is not a directory")
    if not man_path.is_file():
        raise MixError(f"{spec.origin}: {root} is not a synthgen dataset (no manifest.jsonl)")
    lines: dict[tuple[str, int, int], dict] = {}
    for n, rec in _jsonl(man_path, BadLog(False)):
        try:
            key = (str(rec["split"]), int(rec["scene_id"]), int(rec["im_id"]))
        except (KeyError, TypeError, ValueError):
            raise MixError(f"{man_path}: line {n}: lacks split/scene_id/im_id") from None
        if key in lines:
            raise MixError(f"{man_path}: line {n}: duplicate entry {key}")
        lines[key] = rec
    splits = sorted({k[0] for k in lines})
    if spec.from_split is not None:
        if spec.from_split not in splits:
            raise MixError(f"{spec.origin}: from_split {spec.from_split!r} is not a split of "
                           f"{root} (found {', '.join(splits) or 'none'})")
        splits = [spec.from_split]
    maps: dict[int, KeypointMap] = {}
    entries: list[Entry] = []
    categories: dict[int, str] = {}
    persons: set[int] = set()
    dropped_images = dropped_anns = 0
    for split in splits:
        coco_path = root / "annotations" / f"coco_{split}.json"

        def key_of(img: dict, split=split) -> tuple[str, int, int]:
            return (split, int(img.get("scene_id", -1)), int(img.get("im_id", -1)))

        def meta_of(img: dict, key_of=key_of) -> dict:
            rec = lines.get(key_of(img), {})
            return {k: int(rec[k]) if _is_int(rec.get(k)) else -1
                    for k in ("scene_id", "im_id", "view_id", "frame_id", "seed", "persons",
                              "objects")}

        def image_fields(img: dict) -> dict:
            out = {k: v for k, v in img.items() if k not in ("id", "file_name", "split")}
            out["source_split"] = img.get("split", split)
            return out

        res = load_coco_file(coco_path, root, spec, bad, wholebody=False,
                             wholebody_mode=wholebody_mode, maps=maps,
                             image_fields=image_fields, meta_of=meta_of,
                             root_label="dataset folder")
        for cid, name in res.categories.items():
            if categories.setdefault(cid, name) != name:
                raise MixError(f"{coco_path}: category id {cid} is {name!r} here but "
                               f"{categories[cid]!r} in another split of {root}")
        persons |= res.person_categories
        entries += res.entries
        dropped_images += res.dropped_images
        dropped_anns += res.dropped_annotations
    return LoadedSource(spec=spec, name="", kind=spec.kind or "synthetic", entries=entries,
                        categories=categories, person_categories=persons, keypoint_maps=maps,
                        dropped_images=dropped_images, dropped_annotations=dropped_anns,
                        files=[root.resolve()])


# --------------------------------------------------------------------------------------------
# JSONL manifests
# --------------------------------------------------------------------------------------------

def _jsonl(path: Path, bad: BadLog):
    """(line number, object) of a JSONL file; a broken line is a ``broken_json`` bad entry."""
    try:
        f = path.open(encoding="utf-8")
    except FileNotFoundError:
        raise MixError(f"{path}: file not found") from None
    with f:
        try:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError as exc:
                    bad("broken_json", f"{path}: line {n}: broken JSON at column {exc.colno}: "
                                       f"{exc.msg}")
                    continue
                if not isinstance(rec, dict):
                    bad("bad_entry", f"{path}: line {n}: expected a JSON object, found "
                                     f"{type(rec).__name__}")
                    continue
                yield n, rec
        except UnicodeDecodeError as exc:
            raise MixError(f"{path}: not UTF-8 text: {exc.reason}") from None


def load_manifest_source(spec: SourceSpec, bad: BadLog, wholebody_mode: str) -> LoadedSource:
    """A JSONL manifest in synthgen's schema (``image`` relative to ``images`` or to the
    manifest's folder; ``width``/``height`` read from the file when absent; ``source`` real or
    synthetic). Lines may carry ``annotations``: COCO annotations whose category is named by
    ``category`` (default ``person``; ``category_id`` is ignored), keypoints in the source's
    schema (``keypoints``, default COCO-17)."""
    from PIL import Image

    path = spec.path
    root = spec.images if spec.images is not None else path.parent
    names = spec.keypoints or COCO17_NAMES
    kmap = KeypointMap.build(names)
    categories: dict[int, str] = {}
    by_name: dict[str, int] = {}
    entries: list[Entry] = []
    kinds: Counter = Counter()
    first: dict[Any, int] = {}
    dropped_anns = 0
    for n, rec in _jsonl(path, bad):
        where = f"{path}: line {n}"
        image = rec.get("image")
        if not isinstance(image, str) or not image:
            bad("bad_entry", f"{where}: lacks a valid 'image'")
            continue
        where = f"{path}: line {n} ({image})"
        if spec.from_split is not None and rec.get("split") != spec.from_split:
            continue
        f, store = resolve_image(root, image, where)
        if all(_is_int(rec.get(k)) for k in ("scene_id", "im_id")):
            key: Any = (rec.get("split"), rec["scene_id"], rec["im_id"])
            key_text = f"(split, scene_id, im_id) {key}"
        else:
            key = str(f)
            key_text = f"image {image}"
        if key in first:
            bad("duplicate_id", f"{where}: duplicate {key_text} (first on line {first[key]})")
            continue
        first[key] = n
        if not f.is_file():
            bad("missing_image", f"{where}: image file not found: {f}")
            continue
        anns_in = rec.get("annotations", [])
        if not isinstance(anns_in, list):
            bad("bad_entry", f"{where}: 'annotations' must be a list")
            continue
        if _is_int(rec.get("width")) and _is_int(rec.get("height")):
            width, height = rec["width"], rec["height"]
        else:
            try:
                with Image.open(f) as im:
                    width, height = im.size
            except OSError as exc:
                bad("missing_image", f"{where}: not a readable image: {exc}")
                continue
        problem = None
        derived: list[dict[str, Any]] = []
        for k, ann in enumerate(anns_in):
            if not isinstance(ann, dict):
                problem = ("bad_entry", "expected an object")
            elif "keypoints" in ann and (not isinstance(ann["keypoints"], list)
                                         or len(ann["keypoints"]) != 3 * len(names)):
                kp = ann["keypoints"]
                got = len(kp) if isinstance(kp, list) else type(kp).__name__
                problem = ("keypoint_length",
                           f"keypoints has {got} values, expected "
                           f"{3 * len(names)} ({len(names)} keypoints x 3)")
            else:
                problem = wholebody_length_problem(ann, required=False) or number_problem(ann)
                if problem is None:
                    added, problem = box_and_area(ann, width, height)
                    derived.append(added)
            if problem:
                problem = (problem[0], f"annotation {k}: {problem[1]}")
                break
        if problem:
            bad(problem[0], f"{where}: {problem[1]}")
            dropped_anns += len(anns_in)
            continue
        anns = []
        for ann, added in zip(anns_in, derived):
            cat = str(ann.get("category", "person"))
            cid = by_name.setdefault(cat, len(by_name) + 1)
            categories[cid] = cat
            a = {k: v for k, v in ann.items() if k not in ("category", "category_id")}
            a.update(added, category_id=cid)
            anns.append(_harmonise(a, kmap if cat == "person" else None, False, wholebody_mode))
        kinds[rec.get("source", "real")] += 1
        n_person = sum(1 for a in anns if categories[a["category_id"]] == "person")
        meta = {k: rec[k] if _is_int(rec.get(k)) else -1
                for k in ("scene_id", "im_id", "view_id", "frame_id", "seed")}
        meta["persons"] = rec["persons"] if _is_int(rec.get("persons")) else n_person
        meta["objects"] = (rec["objects"] if _is_int(rec.get("objects"))
                           else len(anns) - n_person)
        fields = {k: v for k, v in rec.items()
                  if k in ("scene_id", "im_id", "view_id", "frame_id", "seed")}
        fields.update({"width": int(width), "height": int(height), "source_file_name": image})
        if "split" in rec:
            fields["source_split"] = rec["split"]
        entries.append(Entry(image_path=f, store_name=store, image=fields, annotations=anns,
                             meta=meta))
    bad_kinds = sorted(k for k in kinds if k not in ("real", "synthetic"))
    if bad_kinds:
        raise MixError(f"{path}: 'source' must be real or synthetic, found {bad_kinds[0]!r}")
    if spec.kind is not None:
        kind = spec.kind
    elif len(kinds) > 1:
        raise MixError(f"{path}: mixes real and synthetic lines; split it into two manifests or "
                       f"give the source's kind ('as' / --as)")
    else:
        kind = next(iter(kinds), "real")
    persons = {cid for cid, n in categories.items() if n == "person"}
    return LoadedSource(spec=spec, name="", kind=kind, entries=entries, categories=categories,
                        person_categories=persons,
                        keypoint_maps={cid: kmap for cid in persons} if persons else {},
                        dropped_images=sum(bad.counts.values()),  # one line each
                        dropped_annotations=dropped_anns,
                        files=[path.resolve(), root.resolve()])


# --------------------------------------------------------------------------------------------
# BOP datasets
# --------------------------------------------------------------------------------------------

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
            what = _not_finite("bbox_visib", info["bbox_visib"])
            if what is None and len(info["bbox_visib"]) != 4:
                what = f"bbox_visib has {len(info['bbox_visib'])} values, expected 4"
        if what is None and "px_count_visib" in info and not _is_finite(info["px_count_visib"]):
            what = f"px_count_visib is {info['px_count_visib']!r:.40}, expected a finite number"
        if what is not None:
            return f"instance {gt_id} (scene_gt_info.json): {what}"
    if cam is not None:
        if "cam_K" in cam and not np.isfinite(cam["cam_K"]).all():
            return f"scene_camera.json cam_K holds {cam['cam_K'].reshape(-1).tolist()}, " \
                   f"expected finite numbers"
        if "depth_scale" in cam and not _is_finite(cam["depth_scale"]):
            return f"scene_camera.json depth_scale is {cam['depth_scale']!r}, expected a " \
                   f"finite number"
    return None


def load_bop_source(spec: SourceSpec, bad: BadLog, wholebody_mode: str) -> LoadedSource:
    """A BOP dataset folder: ``<split>/<scene_id:06d>/{scene_gt,scene_gt_info,scene_camera}.json``,
    ``rgb/`` (or ``gray/``), ``mask_visib/``; ``models/models_info.json`` for the object list.

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

    def load(fn, p: Path):
        try:
            return fn(p)
        except json.JSONDecodeError as exc:
            raise MixError(f"{p}: broken JSON at line {exc.lineno} column {exc.colno}: "
                           f"{exc.msg}") from None
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise MixError(f"{p}: not a BOP file: {exc}") from None

    names = _bop_object_names(root)
    obj_ids: set[int] = set()
    info_path = root / "models" / "models_info.json"
    if info_path.is_file():
        obj_ids |= {int(k) for k in load(load_models_info, info_path)}
    splits = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")
                    and any((s / "scene_gt.json").is_file() for s in d.iterdir() if s.is_dir()))
    if spec.from_split is not None:
        if spec.from_split not in splits:
            raise MixError(f"{spec.origin}: from_split {spec.from_split!r} is not a BOP split of "
                           f"{root} (found {', '.join(splits) or 'none'})")
        splits = [spec.from_split]
    if not splits:
        raise MixError(f"{spec.origin}: {root} is not a BOP dataset (no <split>/<scene>/"
                       f"scene_gt.json)")
    entries: list[Entry] = []
    dropped = 0
    for split in splits:
        scenes = sorted((d for d in (root / split).iterdir()
                         if d.is_dir() and d.name.isdigit() and (d / "scene_gt.json").is_file()),
                        key=lambda d: int(d.name))
        for scene_dir in scenes:
            scene_id = int(scene_dir.name)
            gt_path = scene_dir / "scene_gt.json"
            scene_gt = load(load_scene_gt, gt_path)
            gt_info = (load(load_scene_gt_info, scene_dir / "scene_gt_info.json")
                       if (scene_dir / "scene_gt_info.json").is_file() else None)
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
                                              where, "BOP dataset folder")
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
                with Image.open(img_path) as im:
                    width, height = im.size
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
                               **_zero_keypoint_fields())
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


LOADERS = {"synthetic": load_synthetic_source, "coco": load_coco_source,
           "wholebody": load_coco_source, "bop": load_bop_source,
           "manifest": load_manifest_source}


def load_source(spec: SourceSpec, *, skip_bad: bool, wholebody_mode: str) -> LoadedSource:
    """Read one source (see the module docstring for the checks); ``name`` is set by the caller."""
    bad = BadLog(skip_bad)
    src = LOADERS[spec.type](spec, bad, wholebody_mode)
    src.bad = bad.counts
    return src
