"""``manifest.jsonl`` (one JSON object per image) and ``dataset.json`` (what made the dataset).

Manifest line schema (``dataset-layout.md``): ``image`` (path relative to the dataset root),
``source`` ("synthetic"; ``synthgen mix`` adds "real"), ``split``, ``scene_id``, ``im_id``,
``view_id``, ``frame_id``, ``seed``, ``width``, ``height``, ``persons`` and ``objects`` (how many
person / object records the image has in ``scene_humans.json`` / ``scene_gt.json``, visible or
not). Each line is compact JSON with sorted keys.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

from synthgen.groundtruth.records import FrameRecord
from synthgen.writers.coco import image_file_name
from synthgen.writers.jsonio import dumps_line, load_json, save_json

MANIFEST_KEYS = ("image", "source", "split", "scene_id", "im_id", "view_id", "frame_id", "seed",
                 "width", "height", "persons", "objects")


def manifest_line(frame: FrameRecord, rgb_format: str) -> dict[str, Any]:
    """The manifest record of one synthetic frame."""
    return {
        "image": image_file_name(frame.split, frame.scene_id, frame.im_id, rgb_format),
        "source": "synthetic",
        "split": frame.split,
        "scene_id": int(frame.scene_id),
        "im_id": int(frame.im_id),
        "view_id": int(frame.view_id),
        "frame_id": int(frame.frame_id),
        "seed": int(frame.seed),
        "width": int(frame.width),
        "height": int(frame.height),
        "persons": len(frame.persons),
        "objects": len(frame.objects),
    }


def dumps_manifest(records: Iterable[dict[str, Any]]) -> str:
    """Manifest text: one compact, key-sorted JSON object per line, in the given order."""
    return "".join(dumps_line(r) + "\n" for r in records)


def save_manifest(path: str | Path, records: Iterable[dict[str, Any]]) -> None:
    """Write ``records`` to a ``.jsonl`` file in the given order (see :func:`merge_manifest_parts`
    for the dataset order)."""
    Path(path).write_bytes(dumps_manifest(records).encode("utf-8"))


def load_manifest(path: str | Path) -> list[dict[str, Any]]:
    """Read a ``.jsonl`` manifest (blank lines ignored)."""
    with Path(path).open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def manifest_sort_key(record: dict[str, Any]) -> tuple[str, int, int]:
    """Dataset order of manifest lines: (split, scene_id, im_id)."""
    return (str(record["split"]), int(record["scene_id"]), int(record["im_id"]))


def merge_manifest_parts(part_paths: Iterable[str | Path]) -> list[dict[str, Any]]:
    """Concatenate shard manifest parts sorted by (split, scene_id, im_id).

    The order of ``part_paths`` does not matter; a duplicated (split, scene_id, im_id) is an error.
    """
    records = [r for p in part_paths for r in load_manifest(p)]
    records.sort(key=manifest_sort_key)
    for a, b in zip(records, records[1:]):
        if manifest_sort_key(a) == manifest_sort_key(b):
            raise ValueError(f"duplicate manifest entry for {manifest_sort_key(a)}")
    return records


def save_merged_manifest(path: str | Path, part_paths_in_order: Iterable[str | Path]) -> int:
    """Write the merged manifest of parts given in dataset order, one part in memory at a time:
    the bytes of ``save_manifest(path, merge_manifest_parts(parts))`` when the parts' records are
    already in (split, scene_id, im_id) order, which the runner's shards are; a record out of order
    or duplicated is an error naming its part. Returns the number of records."""
    n, last = 0, None
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for part in part_paths_in_order:
            records = load_manifest(part)
            for r in records:
                key = manifest_sort_key(r)
                if last is not None and key <= last:
                    raise ValueError(f"{part}: manifest entry {key} {'duplicates' if key == last else 'comes before'} "
                                     f"the previous entry {last}")
                last = key
            f.write(dumps_manifest(records))
            n += len(records)
    return n


def save_dataset_json(path: str | Path, info: dict[str, Any]) -> None:
    """Write ``dataset.json`` (generator, version, resolved config, seed, counts, obj_id -> asset
    map, keypoint schemas, sensor preset, renderer, time) with the shared sorted-key writer."""
    save_json(path, info)


def load_dataset_json(path: str | Path) -> dict[str, Any]:
    """Read ``dataset.json`` as a plain dict (keys as written, i.e. strings)."""
    return load_json(path)
