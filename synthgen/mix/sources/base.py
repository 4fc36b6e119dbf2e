"""What every mix source reader shares: the records it produces (:class:`Entry`,
:class:`LoadedSource`), the bad-entry log, JSON / JSONL reading and the image-path check that keeps
every image inside its root."""
from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from synthgen.mix.config import MixError, SourceSpec
from synthgen.mix.keypoints import KeypointMap


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


def is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def is_finite(v: Any) -> bool:
    """A JSON number that is a real, finite value (not NaN/inf, not a bool or a string)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def read_jsonl(path: Path, bad: BadLog):
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
