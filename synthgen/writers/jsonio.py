"""The one JSON writer all synthgen files go through, and its loader.

Layout follows bop_toolkit's ``save_json``: a top-level dict is written one key per line
(``"key": <compact value>``), nested objects with sorted keys, so diffs stay readable. Differences
from bop_toolkit, all for byte stability and readable order:

- Top-level keys that are decimal integers (image ids, obj_ids) are ordered numerically (as
  bop_toolkit's int keys are) after the named keys, so ``"units"`` comes first in
  ``scene_humans.json`` and ``"10"`` follows ``"9"``.
- Lists at the top level (``[...]`` files, or with ``expand_lists=True`` the list values of a
  top-level dict, as COCO's ``images``/``annotations``) are written one element per line.
- Floats are written with Python's ``repr`` (the shortest string that round-trips to the same
  float64), which is the same on every platform; so the same arrays give the same bytes, and
  loading returns exactly the float64 values that were written. numpy scalars and arrays are
  converted to Python numbers and lists first.
- JSON has no NaN or infinity, and a file must never hold them (``NaN``/``Infinity`` are not JSON)
  nor hide them as ``null``: a non-finite float raises :class:`NonFiniteError` (a ``ValueError``),
  so a bug fails loudly instead of writing a broken file. A writer that means "no value" writes
  ``None`` itself where the spec allows ``null`` (``scene_humans.json``'s ``joints_3d_cam`` rows).
- The file ends with a newline.
"""
from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np


class NonFiniteError(ValueError):
    """A NaN or infinite float was about to be written to JSON (a bug in the caller)."""


def to_jsonable(obj: Any) -> Any:
    """Recursively convert ``obj`` to plain JSON types.

    numpy arrays -> nested lists, numpy scalars -> Python scalars, tuples -> lists, dict keys ->
    ``str``, ``Path`` -> ``str``. A non-finite float raises :class:`NonFiniteError`.
    """
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        # Fast paths (same result): flat lists of ints or of finite floats, the bulk of a frame's
        # keypoint rows and boxes, need no per-element conversion.
        if all(type(v) is int for v in obj) or all(type(v) is float and math.isfinite(v) for v in obj):
            return list(obj)
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind in "iu" or (obj.dtype.kind == "f" and np.isfinite(obj).all()):
            return obj.tolist()       # Python ints / floats already, nested as the array
        return to_jsonable(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        f = float(obj)
        if not math.isfinite(f):
            raise NonFiniteError(f"cannot write {f!r} to JSON: JSON has no NaN or infinity")
        return f
    if isinstance(obj, Path):
        return str(obj)
    if obj is None or isinstance(obj, str):
        return obj
    raise TypeError(f"cannot write {type(obj).__name__} to JSON: {obj!r}")


def _key_order(key: str) -> tuple[int, int, str]:
    # Named keys first (alphabetical), then integer keys in numeric order.
    if key.lstrip("-").isdigit():
        return (1, int(key), "")
    return (0, 0, key)


def _compact(value: Any) -> str:
    # allow_nan=False: a second guard for values that did not go through to_jsonable
    return json.dumps(value, sort_keys=True, allow_nan=False, ensure_ascii=True)


def dumps_line(content: Any) -> str:
    """``content`` as one compact, key-sorted JSON line without a newline (manifest lines, the
    render marker); same bytes as ``json.dumps(content, sort_keys=True)`` for finite, plain data."""
    return _compact(to_jsonable(content))


def _list_lines(items: list, indent: str) -> str:
    buf = io.StringIO()
    lines = ListLinesWriter(buf, indent)
    for v in items:
        lines.add(v)
    lines.close()
    return buf.getvalue()


class ListLinesWriter:
    """Streams a JSON list one element a line to a text file, in the layout :func:`dumps_json`
    gives a list at ``indent`` (``""`` top level, ``"  "`` a top-level dict's value with
    ``expand_lists``), so files too big to hold in memory get the same bytes. ``add`` takes plain
    JSON values (as :func:`to_jsonable` returns or ``json.load`` gives); ``close`` ends the list."""

    def __init__(self, f, indent: str = ""):
        self._f, self._indent, self.count = f, indent, 0

    def add(self, value: Any) -> None:
        self._f.write(("[\n" if self.count == 0 else ",\n") + f"{self._indent}  {_compact(value)}")
        self.count += 1

    def close(self) -> None:
        self._f.write("[]" if self.count == 0 else f"\n{self._indent}]")


def dumps_json(content: Any, *, expand_lists: bool = False) -> str:
    """Serialise ``content`` in the layout described in the module docstring."""
    data = to_jsonable(content)
    if isinstance(data, dict):
        if not data:
            return "{}\n"
        lines = []
        for key in sorted(data, key=_key_order):
            value = data[key]
            if expand_lists and isinstance(value, list):
                text = _list_lines(value, "  ")
            else:
                text = _compact(value)
            lines.append(f"  {_compact(key)}: {text}")
        return "{\n" + ",\n".join(lines) + "\n}\n"
    if isinstance(data, list):
        return _list_lines(data, "") + "\n"
    return _compact(data) + "\n"


def save_json(path: str | Path, content: Any, *, expand_lists: bool = False) -> None:
    """Write ``content`` to ``path`` with :func:`dumps_json` (UTF-8, ``\\n`` line ends)."""
    Path(path).write_bytes(dumps_json(content, expand_lists=expand_lists).encode("utf-8"))


def load_json(path: str | Path, *, keys_to_int: bool = False) -> Any:
    """Load a JSON file; with ``keys_to_int`` every decimal-integer dict key becomes an ``int``."""
    text = Path(path).read_text(encoding="utf-8")
    if not keys_to_int:
        return json.loads(text)

    def hook(pairs: dict) -> dict:
        return {int(k) if k.lstrip("-").isdigit() else k: v for k, v in pairs.items()}

    return json.loads(text, object_hook=hook)


def nan_array(values: Any, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """float64 array from JSON numbers where ``null`` becomes NaN, optionally reshaped."""
    def conv(v: Any) -> Any:
        if isinstance(v, list):
            return [conv(x) for x in v]
        return np.nan if v is None else v

    arr = np.asarray(conv(values), dtype=np.float64)
    return arr.reshape(shape) if shape is not None else arr
