"""Asset references -> meshes with a dataset-wide ``obj_id``, units, frames and BOP symmetries.

Reference syntax (one string per asset; ``?`` options are ``key=value`` joined by ``&``)::

    builtin:<name>[?scale=S]                 procedural object at real size (see below)
    pybullet_data:<relative path>[?...]      a mesh or URDF shipped with pybullet
    mesh:<path>?unit=<m|dm|cm|mm|in>[&...]   any OBJ, PLY, STL, GLB/GLTF or OFF file
    urdf:<path>[?...]                        a URDF of your own (its visual meshes, merged)
    bop:<models dir>[#<obj_id>]              a BOP models folder (all models, or one)

Options (all sources): ``scale=<float>`` multiplies the size (after the unit; masses scale with
its cube), ``name=<str>`` replaces the asset's name (the COCO category name), ``category=<str>``
replaces its category hint. ``mesh:`` and ``pybullet_data:`` mesh files also take ``unit=`` and
``up=<z|y>`` (the file's up axis; ``y`` turns +Y to +Z by +90 deg about X); ``urdf:`` takes
``up=`` too.

- ``builtin:`` names: kitchenware ``mug`` (with handle: no symmetry), ``bowl``, ``plate``, ``pan``
  (with handle), ``cutting_board``, ``knife``; containers ``bottle``, ``can``, ``carton``, ``box``,
  ``jar``, ``crate``; tools ``wrench``, ``screwdriver``, ``hammer``; hardware ``bolt``,
  ``hex_nut``; primitives ``cylinder``, ``sphere``, ``cone``, ``capsule``. Sizes and symmetries
  are documented in :mod:`synthgen.assets.procedural`; e.g. ``builtin:mug?scale=1.2``.
- ``pybullet_data:`` paths are relative to ``pybullet_data.getDataPath()``. A ``.urdf`` is read
  as pybullet reads it: all ``<visual>`` geometries of all links at the zero joint configuration,
  each with its ``scale`` (metres), merged into one mesh. A mesh file named directly gets the
  scale with which the URDFs in its folder use it (``duck.obj`` -> 0.05 as in
  ``duck_vhacd.urdf``; ``random_urdfs/NNN/NNN.obj`` -> 0.015), else metres; ``unit=``/``scale=``
  override it. The duck and teddy files are Y-up and are turned Z-up. Examples:
  ``pybullet_data:duck_vhacd.urdf``, ``pybullet_data:teddy_vhacd.urdf``,
  ``pybullet_data:objects/mug.urdf``, ``pybullet_data:tray/tray.urdf``,
  ``pybullet_data:random_urdfs/123/123.urdf``.
- ``mesh:`` paths: absolute, ``~``-prefixed, or relative to ``base_dir`` (the scene file's
  folder; the current directory when None). ``unit`` is required: a mesh file has no unit.
  ``up`` defaults to ``y`` for ``.glb``/``.gltf`` (glTF is Y-up by specification), else ``z``.
  Scenes with several parts (GLB nodes, OBJ objects) are merged with their transforms applied.
- ``urdf:`` paths resolve like ``mesh:`` paths and are read like ``pybullet_data:`` URDFs
  (metres; ``package://`` names are looked up under the URDF's folder and its parents).
- ``bop:`` paths resolve like ``mesh:`` paths; the folder holds ``models_info.json`` and
  ``obj_XXXXXX.ply`` in millimetres; symmetries come from ``models_info.json``.

Object ids: :func:`resolve_assets` first expands every reference (``bop:<dir>`` becomes
``bop:<dir>#<id>`` for each id of its ``models_info.json``, in increasing numeric order), then
numbers the expanded list from 1: ``obj_id`` = 1 + position in the expanded list. Ids are thus a
pure function of the config's asset list (and of the BOP folders it names), stable for a whole
dataset whatever the sampler picks. A ``bop:`` folder's own ids are kept in ``ref``. A caller
that numbers references itself must expand them first (:func:`expand_ref`); ``obj_id`` 0 marks an
unlabelled distractor.

Model frame: metres, Z up, origin at the centre of the axis-aligned bounding box (BOP). The
transform from the source file's coordinates (file units) to the model frame is
``AssetModel.source_to_model`` (unit scale, up-axis turn, then ``-origin_offset``). Symmetries are
expressed in the model frame (translations in metres; the runner writes mm).

Caching: resolving the same reference (same source, resolved path and options) again in one
process reuses the loaded geometry. Returned :class:`AssetModel` objects share read-only arrays:
callers must not mutate them (copy first). A file changed on disk during the process is not
re-read, except ``models_info.json`` whose modification time is part of its cache key.

Every failure is an :class:`AssetError` whose ``str()`` is one line:
``asset '<ref>': expected <what>; found <what>``.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..scene.description import MeshData
from . import geometry as g
from .loaders import (UNITS, Loaded, Problem, bop_model_ids_sorted, bop_model_name, is_digits,
                      load_bop_model, load_mesh_file, load_urdf, one_line, pybullet_mesh_scale,
                      pybullet_relpath, pybullet_up, vertex_colors)
from .procedural import BUILTINS

SOURCES = ("builtin", "pybullet_data", "mesh", "urdf", "bop")
_COMMON_KEYS = ("scale", "name", "category")
_KEYS = {
    "builtin": _COMMON_KEYS,
    "pybullet_data": _COMMON_KEYS + ("unit", "up"),
    "mesh": _COMMON_KEYS + ("unit", "up"),
    "urdf": _COMMON_KEYS + ("up",),
    "bop": _COMMON_KEYS,
}


class AssetError(InputError, ValueError):
    """A reference that cannot be resolved or loaded; ``str()`` is one line naming it."""


@dataclass
class AssetModel:
    """A resolved asset: model-frame mesh (metres) and BOP symmetry annotations.

    ``symmetries_continuous``: list of {"axis": [3], "offset": [3] (metres)} in the model frame;
    ``symmetries_discrete``: list of 4x4 model-frame transforms (translation in metres).
    ``origin_offset`` (3,): the bounding-box centre, in metres, of the source geometry after its
    unit scale and up-axis turn; it was subtracted to put the origin at the box centre.
    ``source_to_model`` (4, 4): maps source-file coordinates (file units; a URDF's root link frame,
    metres) to the model frame: ``p_model = source_to_model @ [p_file, 1]``.
    ``category``: a coarse kind (kitchenware, container, tool, hardware, primitive, distractor,
    object). ``mass_kg``, ``default_color`` (RGBA in [0, 1]: linear for builtins, as written for a
    URDF's ``<color rgba>``) and ``metallic`` are hints for physics and materials; None when the
    source says nothing. ``source_path``: the file read (None for builtins).
    The mesh arrays are shared between resolutions of the same reference and are read-only.
    """

    obj_id: int
    ref: str
    name: str
    mesh: MeshData
    symmetries_continuous: list[dict] = field(default_factory=list)
    symmetries_discrete: list[np.ndarray] = field(default_factory=list)
    category: str = "object"
    mass_kg: float | None = None
    default_color: tuple[float, float, float, float] | None = None
    metallic: float | None = None
    origin_offset: np.ndarray = field(default_factory=lambda: np.zeros(3))
    source_to_model: np.ndarray = field(default_factory=lambda: np.eye(4))
    source_path: str | None = None


@dataclass(frozen=True)
class ParsedRef:
    """A reference split into its parts: ``source:body#fragment?options``."""

    source: str
    body: str
    fragment: str | None
    options: tuple[tuple[str, str], ...]

    def option(self, key: str, default: str | None = None) -> str | None:
        return dict(self.options).get(key, default)


def builtin_names() -> list[str]:
    """The ``builtin:`` names, in registry order."""
    return list(BUILTINS)


def _error(ref: object, expected: str, found: str) -> AssetError:
    return AssetError(f"asset {one_line(repr(ref))}: expected {one_line(expected)}; found {one_line(found)}")


def parse_ref(ref: str) -> ParsedRef:
    """Split and check the syntax of a reference (nothing is read from disk)."""
    if not isinstance(ref, str) or ":" not in ref:
        raise _error(ref, "a reference like 'builtin:mug' or 'mesh:path/file.obj?unit=mm'",
                     f"{type(ref).__name__} {ref!r}" if not isinstance(ref, str) else "no 'source:' prefix")
    source, _, rest = ref.partition(":")
    if source not in SOURCES:
        raise _error(ref, f"a source among {', '.join(s + ':' for s in SOURCES)}", f"'{source}:'")
    rest, _, query = rest.partition("?")
    body, _, fragment = rest.partition("#") if source == "bop" else (rest, "", "")
    if not body:
        raise _error(ref, f"a name or path after '{source}:'", "nothing")
    options = []
    for item in filter(None, query.split("&")):
        key, eq, value = item.partition("=")
        if not eq or not value:
            raise _error(ref, "options as key=value", f"'{item}'")
        if key not in _KEYS[source]:
            raise _error(ref, f"an option among {', '.join(_KEYS[source])} for '{source}:'", f"'{key}'")
        options.append((key, value))
    if source == "bop" and fragment and not is_digits(fragment):
        raise _error(ref, "an integer obj_id after '#'", f"'{fragment}'")
    return ParsedRef(source, body, fragment or None, tuple(options))


def _path(body: str, base_dir: str | Path | None) -> Path:
    p = Path(body).expanduser()
    if not p.is_absolute():
        p = (Path(base_dir) if base_dir is not None else Path.cwd()) / p
    return p.resolve()


def _float_option(ref: str, parsed: ParsedRef, key: str) -> float | None:
    text = parsed.option(key)
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not np.isfinite(value) or value <= 0:
        raise _error(ref, f"a positive number for '{key}'", f"'{text}'")
    return value


def _unit(ref: str, parsed: ParsedRef, required: bool) -> float | None:
    text = parsed.option("unit")
    if text is None:
        if required:
            raise _error(ref, f"a unit option ?unit=<{'|'.join(UNITS)}> (a mesh file has no unit)", "none")
        return None
    if text not in UNITS:
        raise _error(ref, f"a unit among {', '.join(UNITS)}", f"'{text}'")
    return UNITS[text]


def _up(ref: str, parsed: ParsedRef, default: str) -> str:
    up = parsed.option("up", default)
    if up not in ("z", "y"):
        raise _error(ref, "up=z or up=y", f"'{up}'")
    return up


def expand_ref(ref: str, base_dir: str | Path | None = None) -> list[str]:
    """The single-model references a reference stands for: ``bop:<dir>`` gives one
    ``bop:<dir>#<id>`` per model of its ``models_info.json`` (increasing ids, options kept);
    any other reference gives itself."""
    parsed = parse_ref(ref)
    if parsed.source != "bop" or parsed.fragment is not None:
        return [ref]
    try:
        ids = bop_model_ids_sorted(_path(parsed.body, base_dir))
    except Problem as p:
        raise _error(ref, p.expected, p.found) from None
    query = "&".join(f"{k}={v}" for k, v in parsed.options)
    return [f"bop:{parsed.body}#{i}" + (f"?{query}" if query else "") for i in ids]


def _cache_key(ref: str, parsed: ParsedRef, base_dir) -> tuple:
    """Check the options, resolve paths: the key :func:`_prototype` loads and caches by."""
    user_scale = _float_option(ref, parsed, "scale") or 1.0
    if parsed.source == "builtin":
        if parsed.body not in BUILTINS:
            raise _error(ref, f"a builtin name among {', '.join(BUILTINS)}", f"'{parsed.body}'")
        return ("builtin", parsed.body, user_scale)
    if parsed.source == "bop":
        if parsed.fragment is None:
            ids = expand_ref(ref, base_dir)
            if len(ids) != 1:
                raise _error(ref, "one model: 'bop:<dir>#<obj_id>' (resolve_assets expands a folder)",
                             f"{len(ids)} models in the folder")
            parsed = parse_ref(ids[0])
        return ("bop", str(_path(parsed.body, base_dir)), int(parsed.fragment), user_scale)
    if parsed.source == "mesh":
        path = _path(parsed.body, base_dir)
        unit = _unit(ref, parsed, required=True)
        up = _up(ref, parsed, "y" if path.suffix.lower() in (".glb", ".gltf") else "z")
        return ("mesh", str(path), unit * user_scale, up)
    if parsed.source == "urdf":
        return ("urdf", str(_path(parsed.body, base_dir)), user_scale, _up(ref, parsed, "z"))
    # pybullet_data
    try:
        path, rel = pybullet_relpath(parsed.body)
    except Problem as p:
        raise _error(ref, p.expected, p.found) from None
    unit = _unit(ref, parsed, required=False)
    if path.suffix.lower() == ".urdf" and unit is not None:
        raise _error(ref, "no unit for a URDF (its scales are metres; use ?scale=)", f"unit={parsed.option('unit')}")
    up = _up(ref, parsed, "z") if parsed.option("up") is not None else None  # None: per-file default
    return ("pybullet_data", str(path), rel, unit, user_scale, up)


def _load_source(key: tuple) -> tuple[Loaded, str, str, float, str]:
    """(loaded geometry, name, category, extra uniform scale, up axis) of a cache key."""
    kind = key[0]
    if kind == "builtin":
        _, name, scale = key
        b = BUILTINS[name]
        mesh, sym_c, sym_d = b.build()
        loaded = Loaded(mesh=mesh, symmetries_continuous=sym_c, symmetries_discrete=sym_d,
                        mass_kg=b.mass_kg, default_color=b.default_color)
        return loaded, name, b.category, scale, "z"
    if kind == "bop":
        _, folder, obj_id, scale = key
        return load_bop_model(Path(folder), obj_id), bop_model_name(Path(folder), obj_id), "object", scale, "z"
    if kind == "mesh":
        _, path, scale, up = key
        return Loaded(mesh=load_mesh_file(Path(path)), path=Path(path)), Path(path).stem, "object", scale, up
    if kind == "urdf":
        _, path, scale, up = key
        return load_urdf(Path(path)), Path(path).stem, "object", scale, up
    _, path, rel, unit, scale, up = key
    path = Path(path)
    stem = path.stem
    name = f"{Path(rel).parts[0]}_{stem}" if is_digits(stem) else stem
    if path.suffix.lower() == ".urdf":
        loaded = load_urdf(path)
        return loaded, name, "distractor", scale, up or pybullet_up(rel, path)
    loaded = Loaded(mesh=load_mesh_file(path), path=path)
    if unit is not None:
        loaded.scale = np.full(3, unit)
    else:
        default = pybullet_mesh_scale(path)
        if default is not None:
            loaded.scale = default
    return loaded, name, "distractor", scale, up or pybullet_up(rel)


def _readonly(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


@lru_cache(maxsize=128)
def _prototype(key: tuple) -> AssetModel:
    """Load, scale, turn Z-up and re-centre one source; ``obj_id`` 0 and ``ref`` '' (filled in by
    :func:`resolve_asset`). Raises :class:`Problem`."""
    loaded, name, category, scale, up = _load_source(key)
    A0 = g.scaling(loaded.scale * scale)
    if up == "y":  # +90 deg about X: +Y -> +Z
        A0 = g.clean_rotation(g.rotation((1.0, 0.0, 0.0), np.pi / 2)) @ A0
    colors = vertex_colors(loaded.mesh)
    verts = np.asarray(loaded.mesh.vertices, dtype=np.float64) @ A0[:3, :3].T
    lo, hi = verts.min(axis=0), verts.max(axis=0)
    if not np.all(hi - lo > 0):
        raise Problem("a mesh with a non-zero extent along x, y and z", f"extents {np.round(hi - lo, 6).tolist()} m")
    centre = (lo + hi) / 2.0
    A = g.translation(-centre) @ A0
    sym_c, sym_d = g.transform_symmetries(loaded.symmetries_continuous, loaded.symmetries_discrete, A)
    mesh = MeshData(vertices=_readonly(verts - centre),
                    faces=_readonly(np.asarray(loaded.mesh.faces, dtype=np.int64).copy()),
                    vertex_colors=None if colors is None else _readonly(colors.copy()))
    b = BUILTINS.get(key[1]) if key[0] == "builtin" else None
    return AssetModel(
        obj_id=0, ref="", name=name, mesh=mesh,
        symmetries_continuous=sym_c, symmetries_discrete=[_readonly(S) for S in sym_d],
        category=category,
        mass_kg=None if loaded.mass_kg is None else float(loaded.mass_kg) * scale ** 3,
        default_color=loaded.default_color,
        metallic=b.metallic if b is not None else None,
        origin_offset=_readonly(centre), source_to_model=_readonly(A),
        source_path=str(loaded.path) if loaded.path is not None else None)


def resolve_asset(ref: str, obj_id: int, base_dir: str | Path | None = None) -> AssetModel:
    """Resolve one single-model reference to an :class:`AssetModel` with the given ``obj_id``
    (>= 1 for a labelled model; 0 marks an unlabelled distractor that gets no id).

    ``base_dir``: folder that relative ``mesh:``/``bop:`` paths are relative to (the scene
    file's folder); the current directory when None. The result shares read-only arrays with
    other resolutions of the same reference: do not mutate it."""
    parsed = parse_ref(ref)
    if isinstance(obj_id, bool) or not isinstance(obj_id, (int, np.integer)) or obj_id < 0:
        raise _error(ref, "an integer obj_id >= 1 (0 for an unlabelled distractor)", repr(obj_id))
    key = _cache_key(ref, parsed, base_dir)
    try:
        proto = _prototype(key)
    except Problem as p:
        raise _error(ref, p.expected, p.found) from None
    overrides = {k: parsed.option(k) for k in ("name", "category") if parsed.option(k) is not None}
    return dataclasses.replace(proto, obj_id=int(obj_id), ref=ref,
                               symmetries_continuous=[dict(s) for s in proto.symmetries_continuous],
                               symmetries_discrete=list(proto.symmetries_discrete), **overrides)


def resolve_assets(refs: list[str], base_dir: str | Path | None = None) -> list[AssetModel]:
    """Resolve a config's asset list. References are expanded first (:func:`expand_ref`);
    ``obj_id`` = 1 + position in the expanded list."""
    out: list[AssetModel] = []
    for ref in refs:
        for single in expand_ref(ref, base_dir):
            out.append(resolve_asset(single, len(out) + 1, base_dir))
    return out
