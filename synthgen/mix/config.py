"""What a mix is made of: sources and options, from a YAML config and/or the command line.

Every problem the user can fix is a :class:`MixError` whose ``str()`` is one line naming the file
(config, annotation file, manifest) and the key or entry at fault.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from synthgen.mix.keypoints import NAMED_SCHEMAS
from synthgen.errors import InputError

SOURCE_TYPES = ("synthetic", "coco", "wholebody", "bop", "manifest", "lsp", "mpii")
IMAGE_MODES = ("relative", "absolute", "symlink", "copy")
WHOLEBODY_MODES = ("keep", "drop")
KINDS = ("real", "synthetic")

#: Keys of one entry of ``sources:`` in a mix config.
SOURCE_KEYS = ("type", "path", "images", "name", "weight", "count", "split", "from_split",
               "keypoints", "as")
#: Top-level keys of a mix config.
CONFIG_KEYS = ("sources", "output", "seed", "total", "synthetic_ratio", "replacement",
               "curriculum", "images", "category_map", "skip_bad", "wholebody_fields")


class MixError(InputError, ValueError):
    """A problem with the mix's input; ``str()`` is one line naming the file and the entry."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


@dataclass
class SourceSpec:
    """One input dataset.

    ``type``: synthetic (a synthgen dataset folder), coco / wholebody (an annotation JSON with
    ``images`` as image root), bop (a BOP dataset, split or scene folder), manifest (a JSONL manifest; image
    paths relative to ``images`` or to the manifest's folder). ``split``: the output split it
    feeds. ``from_split``: which input split(s) to read (synthetic, bop, manifest; default all).
    ``weight`` / ``count``: its share of a sampled split. ``keypoints``: names of its keypoints
    (a schema name or a list) when the file's category does not list them. ``kind``: real or
    synthetic (default: synthetic for ``type: synthetic``, else real; a manifest's lines may say).
    ``origin``: where it was declared, for messages.
    """

    type: str
    path: Path
    origin: str
    images: Path | None = None
    name: str | None = None
    weight: float = 1.0
    count: int | None = None
    split: str = "train"
    from_split: str | None = None
    keypoints: tuple[str, ...] | None = None
    kind: str | None = None


@dataclass
class MixConfig:
    """Options of one mix (see the package docstring for their meaning)."""

    sources: list[SourceSpec] = field(default_factory=list)
    output: Path | None = None
    seed: int = 0
    total: int | None = None
    synthetic_ratio: float | None = None
    replacement: bool = False
    curriculum: float | None = None
    images: str = "relative"
    category_map: dict[str, str | None] = field(default_factory=dict)
    category_map_file: str | None = None
    skip_bad: bool = False
    wholebody_fields: str = "keep"


# --------------------------------------------------------------------------------------------
# Value checks shared by the config file and the command line
# --------------------------------------------------------------------------------------------

def _int(value: Any, where: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            if isinstance(value, str) and value.strip().lstrip("-").isdigit():
                value = int(value)
            else:
                raise ValueError
        except ValueError:
            raise MixError(f"{where}: expected an integer >= {minimum}, found {value!r}") from None
    if value < minimum:
        raise MixError(f"{where}: expected an integer >= {minimum}, found {value!r}")
    return int(value)


def _float(value: Any, where: str, lo: float, hi: float, *, hi_open: bool = False) -> float:
    try:
        if isinstance(value, bool):
            raise ValueError
        f = float(value)
    except (TypeError, ValueError):
        f = math.nan
    ok = math.isfinite(f) and lo <= f and (f < hi if hi_open else f <= hi)
    if not ok:
        bound = f"[{lo:g}, {hi:g}{')' if hi_open else ']'}"
        raise MixError(f"{where}: expected a number in {bound}, found {value!r}")
    return f


def _choice(value: Any, where: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise MixError(f"{where}: expected one of {'|'.join(choices)}, found {value!r}")
    return str(value)


def _name(value: Any, where: str) -> str:
    text = str(value) if value is not None else ""
    if not text or any(c in text for c in "/\\") or text in (".", "..") or text != text.strip():
        raise MixError(f"{where}: expected a plain name (no '/', not empty), found {value!r}")
    return text


def _keypoints(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str) and value in NAMED_SCHEMAS:
        return NAMED_SCHEMAS[value]
    names = value
    if isinstance(value, str):
        names = [v.strip() for v in value.split(",") if v.strip()]
    if (not isinstance(names, (list, tuple)) or len(names) < 2
            or not all(isinstance(v, str) and v for v in names)):
        raise MixError(f"{where}: expected a schema name ({'|'.join(NAMED_SCHEMAS)}) or a list "
                       f"of keypoint names, found {value!r}")
    if len(set(names)) != len(names):
        raise MixError(f"{where}: keypoint names repeat in {list(names)!r}")
    return tuple(names)


def set_source_field(spec: SourceSpec, key: str, value: Any, where: str,
                     base: Path | None = None) -> None:
    """Set one optional field of ``spec`` from a config value or a CLI modifier, checked."""
    if key == "images":
        spec.images = _path(value, where, base)
    elif key == "name":
        spec.name = _name(value, where)
    elif key == "weight":
        spec.weight = _float(value, where, 0.0, math.inf, hi_open=True)
    elif key == "count":
        spec.count = _int(value, where, 0)
    elif key == "split":
        spec.split = _name(value, where)
    elif key == "from_split":
        spec.from_split = _name(value, where)
    elif key == "keypoints":
        spec.keypoints = _keypoints(value, where)
    elif key == "as":
        spec.kind = _choice(value, where, KINDS)
    else:  # pragma: no cover - callers pass known keys only
        raise MixError(f"{where}: unknown source option {key!r}")


def _path(value: Any, where: str, base: Path | None) -> Path:
    if not isinstance(value, (str, Path)) or not str(value):
        raise MixError(f"{where}: expected a path, found {value!r}")
    p = Path(value).expanduser()
    if base is not None and not p.is_absolute():
        p = base / p
    return p


def parse_synthetic_arg(text: str, where: str) -> tuple[Path, float | None]:
    """``OUT[:weight]`` -> (path, weight or None); a tail that is not a number stays in the path."""
    head, sep, tail = text.rpartition(":")
    if sep and head:
        try:
            w = float(tail)
        except ValueError:
            return Path(text).expanduser(), None
        return Path(head).expanduser(), _float(w, where, 0.0, math.inf, hi_open=True)
    return Path(text).expanduser(), None


def _read_yaml(p: Path, cannot_read: str, kind: str):
    """Parse ``p`` as YAML; unreadable or broken files raise a one-line :class:`MixError`
    (``cannot_read`` prefixes the OS error; ``kind`` names the expected syntax)."""
    import yaml

    try:
        return yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise MixError(f"{cannot_read}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise MixError(f"{p}: broken {kind}: {_yaml_problem(exc)}") from None


def load_category_map(path: str | Path, where: str) -> dict[str, str | None]:
    """Read a YAML/JSON ``{name: new_name | null}`` map (null drops the category)."""
    p = Path(path)
    data = _read_yaml(p, f"{where}: cannot read category map {p}", "YAML/JSON")
    return check_category_map(data, str(p))


def check_category_map(data: Any, where: str) -> dict[str, str | None]:
    if not isinstance(data, dict):
        raise MixError(f"{where}: category map must be a mapping name -> name (or null), "
                       f"found {type(data).__name__}")
    out: dict[str, str | None] = {}
    for k, v in data.items():
        if not isinstance(k, str) or not (v is None or isinstance(v, str)) or v == "":
            raise MixError(f"{where}: category map entry {k!r}: expected name -> name or null, "
                           f"found {v!r}")
        out[k] = v
    return out


def _yaml_problem(exc: Exception) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is not None:
        return f"{problem} at line {mark.line + 1} column {mark.column + 1}"
    return str(problem)


# --------------------------------------------------------------------------------------------
# The YAML mix config
# --------------------------------------------------------------------------------------------

def load_mix_config(path: str | Path) -> MixConfig:
    """Read a mix config (YAML). Relative paths in it resolve against the config's folder.

    Unknown keys and bad values raise :class:`MixError` naming the key and the file.
    """
    p = Path(path)
    data = _read_yaml(p, f"--config: cannot read {p}", "YAML")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise MixError(f"{p}: expected a mapping of options, found {type(data).__name__}")
    base = p.parent
    cfg = MixConfig()
    for key, value in data.items():
        where = f"{p}: {key}"
        if key not in CONFIG_KEYS:
            raise MixError(f"{p}: unknown key {key!r} (expected one of {', '.join(CONFIG_KEYS)})")
        if key == "sources":
            if not isinstance(value, list):
                raise MixError(f"{where}: expected a list of sources, found {type(value).__name__}")
            cfg.sources = [_source_from_config(s, f"{p}: sources[{i}]", base)
                           for i, s in enumerate(value)]
        elif key == "output":
            cfg.output = _path(value, where, base)
        elif key == "seed":
            cfg.seed = _int(value, where, 0)
        elif key == "total":
            cfg.total = None if value is None else _int(value, where, 1)
        elif key == "synthetic_ratio":
            cfg.synthetic_ratio = None if value is None else _float(value, where, 0.0, 1.0)
        elif key == "curriculum":
            cfg.curriculum = (None if value is None
                              else _float(value, where, 0.0, 1.0, hi_open=True))
        elif key in ("replacement", "skip_bad"):
            if not isinstance(value, bool):
                raise MixError(f"{where}: expected true or false, found {value!r}")
            setattr(cfg, key, value)
        elif key == "images":
            cfg.images = _choice(value, where, IMAGE_MODES)
        elif key == "wholebody_fields":
            cfg.wholebody_fields = _choice(value, where, WHOLEBODY_MODES)
        elif key == "category_map":
            if isinstance(value, str):
                cfg.category_map = load_category_map(_path(value, where, base), where)
                cfg.category_map_file = str(_path(value, where, base))
            else:
                cfg.category_map = check_category_map(value, where)
                cfg.category_map_file = str(p)
    return cfg


def _source_from_config(entry: Any, where: str, base: Path) -> SourceSpec:
    if not isinstance(entry, dict):
        raise MixError(f"{where}: expected a mapping with 'type' and 'path', found {entry!r}")
    for key in entry:
        if key not in SOURCE_KEYS:
            raise MixError(f"{where}: unknown key {key!r} (expected one of "
                           f"{', '.join(SOURCE_KEYS)})")
    for key in ("type", "path"):
        if key not in entry:
            raise MixError(f"{where}: missing key {key!r}")
    spec = SourceSpec(type=_choice(entry["type"], f"{where}.type", SOURCE_TYPES),
                      path=_path(entry["path"], f"{where}.path", base), origin=where)
    for key, value in entry.items():
        if key not in ("type", "path"):
            set_source_field(spec, key, value, f"{where}.{key}", base)
    return spec


def copy_config(cfg: MixConfig) -> MixConfig:
    """A copy whose source list can be extended without touching ``cfg``."""
    return replace(cfg, sources=[replace(s) for s in cfg.sources],
                   category_map=dict(cfg.category_map))
