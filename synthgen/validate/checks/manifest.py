"""Dataset-level files: ``dataset.json`` (header and counts), ``manifest.jsonl`` (schema, order,
one line per image), and finding the splits and scene folders."""
from __future__ import annotations

import json
import re
from pathlib import Path

from synthgen.writers.manifest import load_manifest as _load_manifest_lines, manifest_sort_key

from .. import schema as S
from .context import DatasetContext, ImageContext

SCENE_DIR = re.compile(r"^\d{6}$")
COCO_FILE = re.compile(r"^coco_(.+)\.json$")
RESERVED_DIRS = {"models", "annotations"}


def check_dataset_header(ctx: DatasetContext, dataset: dict) -> None:
    if dataset["generator"] != "synthgen":
        ctx.add("consistency", "dataset.json", f"generator is {dataset['generator']!r}, "
                                               "not 'synthgen'")
    objects = {}
    for key, entry in dataset["objects"].items():
        where = f"objects.{key}"
        if not key.isdigit():
            ctx.add("schema", "dataset.json", f"{where}: key is not an obj_id")
            continue
        findings = S.check(entry, S.DATASET_OBJECT, where)
        for key_path, msg in findings:
            ctx.add("schema", "dataset.json", f"{key_path}: {msg}")
        if not findings:
            objects[int(key)] = entry["name"]
    ctx.dataset_objects = objects
    for split, n in dataset["images"].items():
        if not isinstance(n, int) or isinstance(n, bool):
            ctx.add("schema", "dataset.json", f"images.{split}: expected an integer")


def check_dataset_counts(ctx: DatasetContext, dataset: dict) -> None:
    images = {k: v for k, v in dataset["images"].items() if isinstance(v, int)}
    found = dict(ctx.images_per_split)
    if images != found:
        ctx.add("consistency", "dataset.json", f"images {images} but the scene folders hold "
                                               f"{found}")
    if dataset["scenes"] != ctx.scene_count:
        ctx.add("consistency", "dataset.json", f"scenes {dataset['scenes']} but there are "
                                               f"{ctx.scene_count} scene folders")


def load_manifest(ctx: DatasetContext) -> None:
    """Read ``manifest.jsonl`` into ``ctx.manifest``: schema of each line, sort order, duplicates."""
    path = ctx.out / "manifest.jsonl"
    if not path.is_file():
        ctx.add("files", "manifest.jsonl", "missing")
        return
    try:
        lines = _load_manifest_lines(path)
    except json.JSONDecodeError as exc:
        ctx.add("json", "manifest.jsonl", f"invalid JSON on line {_bad_jsonl_line(path)}: {exc}")
        return
    except (OSError, UnicodeDecodeError) as exc:
        ctx.add("json", "manifest.jsonl", f"cannot read: {exc}")
        return
    ctx.counts["json_files"] += 1
    ctx.manifest_ok = True
    ctx.counts["manifest_lines"] = len(lines)
    valid: list[tuple[int, dict]] = []
    for n, rec in enumerate(lines, start=1):
        findings = S.check(rec, S.MANIFEST_LINE)
        for key_path, msg in findings[:5]:
            ctx.add("schema", f"manifest.jsonl line {n}", f"{key_path or '(line)'}: {msg}")
        if not findings:
            valid.append((n, rec))
    keys = [manifest_sort_key(r) for _, r in valid]
    if keys != sorted(keys):
        ctx.add("consistency", "manifest.jsonl", "lines are not sorted by (split, scene_id, im_id)")
    for n, rec in valid:
        key = manifest_sort_key(rec)
        if key in ctx.manifest:
            ctx.add("consistency", f"manifest.jsonl line {n}",
                    f"duplicate of line {ctx.manifest[key][0]} for {key}")
            continue
        ctx.manifest[key] = (n, rec)


def check_manifest_line(ctx: DatasetContext, img: ImageContext) -> None:
    """The image's manifest line (taken out of ``ctx.manifest``): source and instance counts."""
    sc = img.scene
    line = ctx.manifest.pop((sc.split, sc.scene_id, img.im_id), None)
    if line is None:
        if ctx.manifest_ok:
            ctx.add("consistency", "manifest.jsonl", f"no line for {sc.rel} image {img.im_id}")
        return
    n, rec = line
    item = f"manifest.jsonl line {n}"
    if rec["source"] != "synthetic":
        ctx.add("consistency", item, f"source {rec['source']!r} for a rendered image")
    if sc.gts is not None and img.im_id in sc.gts and rec["objects"] != len(sc.gts[img.im_id]):
        ctx.add("consistency", item, f"objects {rec['objects']} but scene_gt.json lists "
                                     f"{len(sc.gts[img.im_id])}")
    if sc.humans is not None and img.im_id in sc.humans and \
            rec["persons"] != len(sc.humans[img.im_id]):
        ctx.add("consistency", item, f"persons {rec['persons']} but scene_humans.json lists "
                                     f"{len(sc.humans[img.im_id])}")


def check_manifest_leftovers(ctx: DatasetContext) -> None:
    """Lines no image claimed: real images must exist, synthetic ones are not in the dataset."""
    for key, (n, rec) in sorted(ctx.manifest.items(), key=lambda kv: kv[1][0]):
        if rec["source"] == "real":
            if not (ctx.out / rec["image"]).is_file():
                ctx.add("files", rec["image"], f"missing (manifest.jsonl line {n})")
            continue
        ctx.add("consistency", f"manifest.jsonl line {n}",
                f"{key} is not an image of the dataset (no such scene or image id)")
    ctx.manifest.clear()


def find_splits(ctx: DatasetContext) -> list[str]:
    """Splits named by ``annotations/coco_<split>.json``, by the manifest or by a folder of
    scene folders."""
    splits = set()
    ann = ctx.out / "annotations"
    if ann.is_dir():
        for p in ann.iterdir():
            m = COCO_FILE.match(p.name)
            if m:
                splits.add(m.group(1))
    splits.update(k[0] for k, (_, r) in ctx.manifest.items() if r["source"] == "synthetic")
    for p in ctx.out.iterdir():
        if p.is_dir() and not p.name.startswith(".") and p.name not in RESERVED_DIRS:
            if any(SCENE_DIR.match(c.name) and c.is_dir() for c in p.iterdir()):
                splits.add(p.name)
    if not splits:
        ctx.add("files", ".", "no split: no annotations/coco_<split>.json, manifest line or "
                              "scene folder")
    return sorted(splits)


def scene_dirs(ctx: DatasetContext, split: str) -> list[Path]:
    d = ctx.out / split
    if not d.is_dir():
        ctx.add("files", split, "missing split folder")
        return []
    dirs = []
    for p in sorted(d.iterdir()):
        if not p.is_dir():
            continue
        if SCENE_DIR.match(p.name):
            dirs.append(p)
        elif p.name.startswith(".tmp-"):
            ctx.add("files", ctx.rel(p), "leftover temporary shard folder of an interrupted render")
    if not dirs:
        ctx.add("files", split, "no scene folder")
    return dirs


def _bad_jsonl_line(path: Path) -> int:
    """1-based number of the first line of a JSON-lines file that does not parse (0 if none)."""
    with Path(path).open(encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, start=1):
            if line.strip():
                try:
                    json.loads(line)
                except json.JSONDecodeError:
                    return n
    return 0
