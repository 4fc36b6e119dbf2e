"""File readers behind the asset references: mesh files, URDFs, pybullet_data, BOP model folders.

Everything here returns geometry in the *source* frame and units of the file (the library scales,
turns and re-centres it) and reports a problem as :class:`Problem` (expected, found), which the
library turns into a one-line :class:`~synthgen.assets.library.AssetError` naming the reference.
"""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import trimesh
from scipy.spatial.transform import Rotation

from ..errors import InputError
from . import geometry as g

MESH_SUFFIXES = (".obj", ".ply", ".stl", ".glb", ".gltf", ".off")

# Length units a mesh file may be declared in, as metres per file unit.
UNITS = {"m": 1.0, "dm": 0.1, "cm": 0.01, "mm": 0.001, "in": 0.0254}

# pybullet_data meshes whose files are Y-up (checked by eye on their silhouettes: the duck and the
# teddy stand along +Y). Paths relative to pybullet_data's root; everything else there is Z-up.
PYBULLET_Y_UP = frozenset({"duck.obj", "duck_vhacd.obj", "teddy2_VHACD_CHs.obj"})


class Problem(InputError):
    """A reference could not be loaded: what was ``expected`` and what was ``found``."""

    def __init__(self, expected: str, found: str):
        super().__init__(f"expected {expected}; found {found}")
        self.expected = expected
        self.found = found


def one_line(text: object, limit: int = 400) -> str:
    """``text`` on one line (whitespace runs collapsed), cut to ``limit`` characters."""
    s = " ".join(str(text).split())
    return s if len(s) <= limit else s[: limit - 3] + "..."


@dataclass
class Loaded:
    """Geometry of one source in its own frame and units, plus what the source says about it.

    ``scale``: metres per source unit, per axis (URDFs apply their own scales, so 1 for them).
    ``symmetries_*``: BOP annotations in the source frame and units. ``up``: 'z' or 'y', the
    source's up axis. ``vertex_colors``: (N, 4) uint8 or None."""

    mesh: trimesh.Trimesh
    scale: np.ndarray = field(default_factory=lambda: np.ones(3))
    up: str = "z"
    symmetries_continuous: list[dict] = field(default_factory=list)
    symmetries_discrete: list[np.ndarray] = field(default_factory=list)
    mass_kg: float | None = None
    default_color: tuple[float, float, float, float] | None = None
    path: Path | None = None


# ---------------------------------------------------------------- plain mesh files

def load_mesh_file(path: Path) -> trimesh.Trimesh:
    """Read OBJ/PLY/STL/GLB/GLTF/OFF as one triangle mesh; parts of a scene (GLB nodes, OBJ
    objects) are merged with their scene-graph transforms applied. Units as in the file."""
    path = Path(path)
    if path.suffix.lower() not in MESH_SUFFIXES:
        raise Problem(f"a mesh file ({', '.join(MESH_SUFFIXES)})", f"'{path.suffix or path.name}'")
    if not path.is_file():
        raise Problem("an existing mesh file", f"no file at {path}")
    try:
        loaded = trimesh.load(str(path))
    except Exception as exc:  # trimesh raises many types for unreadable files
        raise Problem("a readable mesh file", f"{type(exc).__name__}: {one_line(exc)} ({path})") from None
    if isinstance(loaded, trimesh.Scene):
        meshes = [m for m in loaded.dump() if isinstance(m, trimesh.Trimesh) and len(m.faces)]
        loaded = trimesh.util.concatenate(meshes) if meshes else None
    if not isinstance(loaded, trimesh.Trimesh) or len(loaded.faces) == 0:
        raise Problem("a mesh with triangles", f"no triangles in {path}")
    if not np.all(np.isfinite(loaded.vertices)):
        raise Problem("finite vertex coordinates", f"NaN or infinite vertices in {path}")
    return loaded


def vertex_colors(mesh: trimesh.Trimesh) -> np.ndarray | None:
    """Per-vertex RGBA uint8 when the file carried per-vertex colours, else None (textures and
    material colours are not baked: the renderer colours objects through their material)."""
    try:
        if mesh.visual.kind == "vertex":
            c = np.asarray(mesh.visual.vertex_colors, dtype=np.uint8)
            if c.shape == (len(mesh.vertices), 4):
                return c
    except Exception:  # an odd visual must not make a good mesh unusable
        return None
    return None


# ---------------------------------------------------------------- URDF

def _floats(text: str | None, n: int, default: float, where: str) -> np.ndarray:
    """The ``n`` numbers of a URDF attribute (one number stands for three); ``default`` when the
    attribute is absent. NaN and infinities are refused: ``ValueError`` naming ``where`` (the
    element and attribute)."""
    if text is None:
        return np.full(n, default)
    count = "a number" if n == 1 else f"{n} numbers"
    try:
        vals = [float(v) for v in text.split()]
    except ValueError:
        raise ValueError(f"{where}={text!r} (not {count})") from None
    if len(vals) == 1 and n == 3:
        vals = vals * 3
    if len(vals) != n:
        raise ValueError(f"{where}={text!r} (not {count})")
    if not all(np.isfinite(vals)):
        raise ValueError(f"{where}={text!r} (not finite)")
    return np.array(vals, dtype=np.float64)


def _float(elem, attr: str, where: str, default: float | None = None) -> float:
    """One finite number from attribute ``attr`` of ``elem`` (``default`` when absent); ``where``
    names the element's place (``link 'base'``)."""
    text = elem.get(attr)
    if text is None and default is not None:
        return float(default)
    return float(_floats(text if text is not None else "", 1, 0.0, f"{where} <{elem.tag} {attr}>")[0])


def _origin(elem, where: str) -> np.ndarray:
    """4x4 of a URDF ``<origin xyz rpy>`` (rpy = fixed-axis roll, pitch, yaw) below ``elem``."""
    T = np.eye(4)
    o = elem.find("origin") if elem is not None else None
    if o is not None:
        T[:3, :3] = Rotation.from_euler("xyz", _floats(o.get("rpy"), 3, 0.0, f"{where} <origin rpy>")).as_matrix()
        T[:3, 3] = _floats(o.get("xyz"), 3, 0.0, f"{where} <origin xyz>")
    return T


def _resolve_urdf_file(urdf: Path, filename: str) -> Path:
    """A mesh filename of a URDF: relative to the URDF's folder; ``package://pkg/rest`` is looked
    up as ``rest`` under the URDF's folder and its parents (there is no ROS package path here)."""
    if filename.startswith("file://"):
        filename = filename[len("file://"):]
    if filename.startswith("package://"):
        rest = Path(filename[len("package://"):])
        rest = Path(*rest.parts[1:]) if len(rest.parts) > 1 else rest
        for d in (urdf.parent, *urdf.parent.parents):
            if (d / rest).is_file():
                return d / rest
        return urdf.parent / rest
    p = Path(filename)
    return p if p.is_absolute() else urdf.parent / p


@dataclass
class UrdfVisual:
    """One ``<visual>`` of a URDF: the transform from the visual's geometry to the root link,
    and either a mesh file with its per-axis scale or a primitive trimesh."""

    T_root: np.ndarray
    mesh_file: Path | None = None
    scale: np.ndarray = field(default_factory=lambda: np.ones(3))
    primitive: trimesh.Trimesh | None = None
    rgba: tuple[float, float, float, float] | None = None


@dataclass
class Urdf:
    visuals: list[UrdfVisual]
    mass_kg: float | None


def parse_urdf(path: Path) -> Urdf:
    """The visuals of a URDF at its zero joint configuration (joint origins composed from the
    root link), and its total mass. Geometry in metres, as URDF defines it."""
    path = Path(path)
    if not path.is_file():
        raise Problem("an existing URDF file", f"no file at {path}")
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as exc:
        raise Problem("a readable URDF (XML)", f"{one_line(exc)} ({path})") from None
    if root.tag != "robot":
        raise Problem("a URDF with a <robot> root", f"<{root.tag}> in {path}")
    try:
        materials = {}
        for m in root.findall("material"):
            c = m.find("color")
            if c is not None:
                materials[m.get("name")] = tuple(_floats(c.get("rgba"), 4, 1.0,
                                                         f"<material '{m.get('name')}'> <color rgba>"))
        links = {link.get("name"): link for link in root.findall("link")}
        parent_of = {}
        for j in root.findall("joint"):
            child, parent = j.find("child"), j.find("parent")
            if child is not None and parent is not None:
                parent_of[child.get("link")] = (parent.get("link"), _origin(j, f"joint '{j.get('name')}'"))

        def link_T(name: str, depth: int = 0) -> np.ndarray:
            if name not in parent_of or depth > len(links):
                return np.eye(4)
            parent, T = parent_of[name]
            return link_T(parent, depth + 1) @ T

        visuals, mass = [], 0.0
        for name, link in links.items():
            where = f"link '{name}'"
            inertial_mass = link.find("inertial/mass")
            if inertial_mass is not None:
                mass += _float(inertial_mass, "value", f"{where} <inertial>", default=0.0)
            for vis in link.findall("visual"):
                geom = vis.find("geometry")
                if geom is None:
                    continue
                v = UrdfVisual(T_root=link_T(name) @ _origin(vis, f"{where} <visual>"))
                mat = vis.find("material")
                if mat is not None:
                    c = mat.find("color")
                    v.rgba = (tuple(_floats(c.get("rgba"), 4, 1.0, f"{where} <visual> <material> <color rgba>"))
                              if c is not None else materials.get(mat.get("name")))
                if (m := geom.find("mesh")) is not None:
                    v.mesh_file = _resolve_urdf_file(path, m.get("filename", ""))
                    v.scale = _floats(m.get("scale"), 3, 1.0, f"{where} <mesh scale>")
                elif (b := geom.find("box")) is not None:
                    v.primitive = trimesh.creation.box(_floats(b.get("size"), 3, 0.0, f"{where} <box size>"))
                elif (c := geom.find("cylinder")) is not None:
                    v.primitive = trimesh.creation.cylinder(radius=_float(c, "radius", where),
                                                            height=_float(c, "length", where),
                                                            sections=32)
                elif (s := geom.find("sphere")) is not None:
                    v.primitive = trimesh.creation.icosphere(subdivisions=2,
                                                             radius=_float(s, "radius", where))
                else:
                    continue
                visuals.append(v)
    except (TypeError, ValueError) as exc:
        raise Problem("a URDF with finite numeric origins, scales, sizes, colours and masses",
                      f"{one_line(exc)} in {path}") from None
    if not visuals:
        raise Problem("a URDF with at least one <visual> geometry", f"none in {path}")
    return Urdf(visuals=visuals, mass_kg=mass if mass > 0 else None)


def load_urdf(path: Path) -> Loaded:
    """All visual geometries of a URDF merged into one mesh in the root link's frame, metres."""
    urdf = parse_urdf(path)
    parts = []
    for v in urdf.visuals:
        m = v.primitive.copy() if v.primitive is not None else load_mesh_file(v.mesh_file).copy()
        m.apply_transform(v.T_root @ g.scaling(v.scale))
        parts.append(m)
    mesh = parts[0] if len(parts) == 1 else trimesh.util.concatenate(parts)
    rgba = next((v.rgba for v in urdf.visuals if v.rgba is not None), None)
    return Loaded(mesh=mesh, mass_kg=urdf.mass_kg, path=Path(path),
                  default_color=tuple(float(x) for x in rgba) if rgba is not None else None)


# ---------------------------------------------------------------- pybullet_data

def pybullet_data_dir() -> Path:
    """Root of the meshes shipped with pybullet (``pybullet_data.getDataPath()``)."""
    try:
        import pybullet_data
    except ImportError:
        raise Problem("the pybullet_data package (installed with pybullet)", "it is not importable") from None
    return Path(pybullet_data.getDataPath()).resolve()


@lru_cache(maxsize=64)
def _folder_urdf_scales(folder: str) -> dict[str, list[tuple[str, tuple[float, ...]]]]:
    """For each mesh file used as a visual by a URDF in ``folder``: [(urdf name, scale)]."""
    out: dict[str, list[tuple[str, tuple[float, ...]]]] = {}
    for urdf in sorted(Path(folder).glob("*.urdf")):
        try:
            parsed = parse_urdf(urdf)
        except Problem:
            continue
        for v in parsed.visuals:
            if v.mesh_file is not None:
                out.setdefault(str(v.mesh_file.resolve()), []).append((urdf.name, tuple(v.scale)))
    return out


def pybullet_mesh_scale(mesh_path: Path) -> np.ndarray | None:
    """Metres per unit of a pybullet_data mesh file named directly: the ``scale`` with which the
    URDFs in its folder use it as their visual mesh (pybullet loads it that way), or None when no
    URDF there uses it. URDFs that disagree (the teddy: 0.1 and 3) are a :class:`Problem`."""
    uses = _folder_urdf_scales(str(Path(mesh_path).parent.resolve())).get(str(Path(mesh_path).resolve()), [])
    scales = {s for _, s in uses}
    if not scales:
        return None
    if len(scales) > 1:
        listing = ", ".join(f"{u} scale {' '.join(f'{x:g}' for x in s)}" for u, s in uses)
        raise Problem("one URDF scale for this mesh (or name the URDF, or give ?unit= or ?scale=)",
                      f"URDFs disagree: {listing}")
    return np.array(scales.pop(), dtype=np.float64)


def pybullet_relpath(body: str) -> tuple[Path, str]:
    """Absolute path and posix path relative to pybullet_data's root of a ``pybullet_data:``
    body; it must name a file inside that folder."""
    root = pybullet_data_dir()
    rel = Path(body)
    if rel.is_absolute() or not body:
        raise Problem("a path relative to pybullet_data's folder (e.g. duck_vhacd.urdf)", f"'{body}'")
    path = (root / rel).resolve()
    try:
        rel_posix = path.relative_to(root).as_posix()
    except ValueError:
        raise Problem("a path inside pybullet_data's folder", f"'{body}' points outside it") from None
    if not path.is_file():
        raise Problem(f"a file in pybullet_data ({root})", f"no file '{body}'")
    return path, rel_posix


def pybullet_up(rel_posix: str, urdf: Path | None = None) -> str:
    """'y' for the pybullet_data models known to be Y-up (directly or as a URDF's visual mesh)."""
    if rel_posix in PYBULLET_Y_UP:
        return "y"
    if urdf is not None:
        root = pybullet_data_dir()
        for v in parse_urdf(urdf).visuals:
            if v.mesh_file is not None:
                try:
                    if v.mesh_file.resolve().relative_to(root).as_posix() in PYBULLET_Y_UP:
                        return "y"
                except ValueError:
                    continue
    return "z"


# ---------------------------------------------------------------- BOP models folders

@lru_cache(maxsize=32)
def _read_models_info(info_path: str, mtime_ns: int) -> dict:
    with open(info_path, encoding="utf-8") as fh:
        return json.load(fh)


def bop_models_info(models_dir: Path) -> dict[int, dict]:
    """``models_info.json`` of a BOP models folder, keyed by int obj_id."""
    info_path = Path(models_dir) / "models_info.json"
    if not Path(models_dir).is_dir():
        raise Problem("a BOP models folder", f"no folder at {models_dir}")
    if not info_path.is_file():
        raise Problem("a BOP models folder with models_info.json", f"no models_info.json in {models_dir}")
    try:
        raw = _read_models_info(str(info_path), info_path.stat().st_mtime_ns)
        info = {int(k): v for k, v in raw.items()}
    except (OSError, ValueError, AttributeError) as exc:
        raise Problem("a JSON object keyed by obj_id in models_info.json",
                      f"{type(exc).__name__}: {one_line(exc)} ({info_path})") from None
    if not info:
        raise Problem("at least one model in models_info.json", f"none in {info_path}")
    return info


def bop_model_ids_sorted(models_dir: Path) -> list[int]:
    """The obj_ids of a BOP models folder in increasing order (the order ids are assigned in)."""
    return sorted(bop_models_info(models_dir))


def bop_model_name(models_dir: Path, obj_id: int) -> str:
    """'<dataset>_obj_<id:06d>': the dataset is the folder's name, or its parent's when the
    folder is called models* (BOP's ``lm/models`` -> ``lm_obj_000001``)."""
    d = Path(models_dir).resolve()
    dataset = d.parent.name if d.name.startswith("models") else d.name
    return f"{dataset}_obj_{obj_id:06d}"


def load_bop_model(models_dir: Path, obj_id: int) -> Loaded:
    """``obj_<id:06d>.ply`` (millimetres) with the symmetries of its models_info entry (mm)."""
    info = bop_models_info(models_dir)
    if obj_id not in info:
        raise Problem(f"an obj_id listed in models_info.json ({', '.join(map(str, sorted(info)))})",
                      f"{obj_id}")
    ply = Path(models_dir) / f"obj_{obj_id:06d}.ply"
    mesh = load_mesh_file(ply)
    entry = info[obj_id]
    try:
        sym_d = [np.asarray(m, dtype=np.float64).reshape(4, 4) for m in entry.get("symmetries_discrete", [])]
        sym_c = [{"axis": [float(x) for x in np.asarray(s["axis"], dtype=np.float64).reshape(3)],
                  "offset": [float(x) for x in np.asarray(s.get("offset", [0, 0, 0]), dtype=np.float64).reshape(3)]}
                 for s in entry.get("symmetries_continuous", [])]
    except (TypeError, ValueError, KeyError) as exc:
        raise Problem("symmetries as 16-number matrices and {axis, offset} triples",
                      f"{type(exc).__name__}: {one_line(exc)} (obj {obj_id} in models_info.json)") from None
    # Python's json reads NaN and Infinity; a symmetry made of them would poison every pose error.
    numbers = [x for m in sym_d for x in m.ravel()] + [x for s in sym_c for x in s["axis"] + s["offset"]]
    if not np.all(np.isfinite(numbers)):
        raise Problem("finite numbers in the symmetries of models_info.json",
                      f"NaN or infinity in obj {obj_id}'s symmetries ({Path(models_dir) / 'models_info.json'})")
    return Loaded(mesh=mesh, scale=np.full(3, UNITS["mm"]), symmetries_continuous=sym_c,
                  symmetries_discrete=sym_d, path=ply)


def is_digits(text: str) -> bool:
    return re.fullmatch(r"[0-9]+", text) is not None
