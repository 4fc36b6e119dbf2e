"""synthgen datasets (``--synthetic``): ``manifest.jsonl`` and ``annotations/coco_<split>.json``."""
from __future__ import annotations

from synthgen.mix.config import MixError, SourceSpec
from synthgen.mix.keypoints import KeypointMap
from synthgen.mix.sources.base import BadLog, Entry, LoadedSource, is_int, read_jsonl
from synthgen.mix.sources.coco import load_coco_file


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
    for n, rec in read_jsonl(man_path, BadLog(False)):
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
            return {k: int(rec[k]) if is_int(rec.get(k)) else -1
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
