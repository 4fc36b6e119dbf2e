"""JSONL manifests in synthgen's manifest schema (``--manifest``), optionally with annotations."""
from __future__ import annotations

from collections import Counter
from typing import Any

from synthgen.mix.config import MixError, SourceSpec
from synthgen.mix.keypoints import COCO17_NAMES, KeypointMap
from synthgen.mix.sources.annotations import (box_and_area, harmonise, number_problem,
                                              wholebody_length_problem)
from synthgen.mix.sources.base import (BadLog, Entry, LoadedSource, is_int, read_jsonl,
                                       resolve_image)


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
    for n, rec in read_jsonl(path, bad):
        where = f"{path}: line {n}"
        image = rec.get("image")
        if not isinstance(image, str) or not image:
            bad("bad_entry", f"{where}: lacks a valid 'image'")
            continue
        where = f"{path}: line {n} ({image})"
        if spec.from_split is not None and rec.get("split") != spec.from_split:
            continue
        f, store = resolve_image(root, image, where)
        if all(is_int(rec.get(k)) for k in ("scene_id", "im_id")):
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
        if is_int(rec.get("width")) and is_int(rec.get("height")):
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
            anns.append(harmonise(a, kmap if cat == "person" else None, False, wholebody_mode))
        kinds[rec.get("source", "real")] += 1
        n_person = sum(1 for a in anns if categories[a["category_id"]] == "person")
        meta = {k: rec[k] if is_int(rec.get(k)) else -1
                for k in ("scene_id", "im_id", "view_id", "frame_id", "seed")}
        meta["persons"] = rec["persons"] if is_int(rec.get("persons")) else n_person
        meta["objects"] = (rec["objects"] if is_int(rec.get("objects"))
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
