"""COCO / COCO-WholeBody annotation files (``--coco``, ``--wholebody``; also the COCO files of a
synthgen dataset, read by :mod:`synthgen.mix.sources.synthetic`)."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from synthgen.mix.config import MixError, SourceSpec
from synthgen.mix.keypoints import COCO17_NAMES, WHOLEBODY133_NAMES, KeypointMap
from synthgen.mix.sources.annotations import (box_and_area, harmonise, number_problem,
                                              wholebody_length_problem)
from synthgen.mix.sources.base import (BadLog, Entry, LoadedSource, is_int, read_json,
                                       resolve_image)


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
    messages; see :func:`~synthgen.mix.sources.base.resolve_image`). ``maps`` (category id ->
    :class:`KeypointMap`) is shared between files of one source.
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
        if (not isinstance(cat, dict) or not is_int(cat.get("id"))
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
        checks = (("id", is_int), ("file_name", lambda v: isinstance(v, str) and v),
                  ("width", is_int), ("height", is_int))
        lacking = [k for k, ok in checks if not ok(img.get(k))]
        if lacking:
            label = f"image id {img['id']}" if is_int(img.get("id")) else f"image entry #{i}"
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
        if not isinstance(ann, dict) or not is_int(ann.get("image_id")):
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
            key = ann["id"] if is_int(ann["id"]) else repr(ann["id"])
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
        out_anns = [harmonise(a, maps.get(a["category_id"]), wholebody, wholebody_mode)
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
                if isinstance(lic, dict) and is_int(lic.get("id"))}
    return _CocoResult(entries, categories, persons, maps, dropped_images, dropped_annotations,
                       licenses)


def _annotation_problem(ann: dict, categories: dict[int, str], kp_names: dict[int, tuple],
                        wholebody: bool) -> tuple[str, str] | None:
    cid = ann.get("category_id")
    if not is_int(cid) or cid not in categories:
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
