"""BOP files: images, depth, masks, per-scene JSON, camera.json, models and models_info.

Units: every BOP file is in **millimetres** (translations, depth, model vertices); rotations are
row-major 3x3 matrices flattened to 9 numbers; camera frame OpenCV (x right, y down, z forward).
The ``save_*`` functions here take values already in BOP units (mm), except the model writers
:func:`save_models` and :func:`save_model_ply`, which take the asset library's metres and own the
metre -> mm conversion of models; that of frame records happens in :mod:`synthgen.writers.shard`.

Loaders return numpy arrays where bop_toolkit's ``inout`` does, with its shapes:
``cam_K`` (3, 3), ``cam_R_w2c`` / ``cam_R_m2c`` (3, 3), ``cam_t_w2c`` / ``cam_t_m2c`` (3, 1),
float64. ``scene_gt_info`` and ``models_info`` come back as plain JSON values (lists), as there.
Image ids and obj_ids come back as ``int`` keys.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import trimesh
from PIL import Image

from synthgen.groundtruth.masks import WindowMask
from synthgen.writers.jsonio import load_json, save_json

# Stored depth values are uint16; 0 is reserved for "no measurement".
DEPTH_UINT16_MAX = 65535


# --------------------------------------------------------------------------------------------
# Images
# --------------------------------------------------------------------------------------------

def save_png(path: str | Path, image: np.ndarray, *, compress_level: int = 1) -> None:
    """Write an 8-bit (H, W) / (H, W, 3) or 16-bit (H, W) image as PNG.

    Level 1 zlib is several times faster than the default 6 for a few percent more bytes, which is
    the right trade for rendered data. Pillow writes no timestamp, so the bytes are stable.
    """
    arr = np.ascontiguousarray(image)
    if arr.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"PNG images must be uint8 or uint16, got {arr.dtype}")
    if arr.dtype == np.uint16 and arr.ndim != 2:
        raise ValueError("16-bit PNGs must be single-channel (H, W)")
    Image.fromarray(arr).save(Path(path), format="PNG", compress_level=compress_level)


def save_rgb(path: str | Path, rgb: np.ndarray, *, jpeg_quality: int = 95,
             png_compress_level: int = 1) -> None:
    """Write an (H, W, 3) uint8 RGB image; format from the suffix (``.png`` or ``.jpg``)."""
    path = Path(path)
    rgb = np.ascontiguousarray(rgb)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"rgb must be (H, W, 3) uint8, got {rgb.shape} {rgb.dtype}")
    suffix = path.suffix.lower()
    if suffix in (".jpg", ".jpeg"):
        Image.fromarray(rgb).save(path, format="JPEG", quality=int(jpeg_quality))
    elif suffix == ".png":
        save_png(path, rgb, compress_level=png_compress_level)
    else:
        raise ValueError(f"unsupported rgb format {suffix!r} (use .png or .jpg)")


def load_image(path: str | Path) -> np.ndarray:
    """Load an image as stored (uint8 RGB / grey, uint16 depth)."""
    with Image.open(Path(path)) as im:
        arr = np.asarray(im)
    if arr.dtype.byteorder not in ("=", "|"):  # Pillow's I;16B etc.: normalise to native order
        arr = arr.astype(arr.dtype.newbyteorder("="))
    return arr


def depth_to_uint16(depth_m: np.ndarray, depth_scale: float) -> np.ndarray:
    """Encode depth in metres (Z in the camera frame) as BOP uint16: round(mm / depth_scale).

    0 (no measurement), negative and non-finite inputs give 0. Depths whose stored value would
    exceed 65535 (beyond 6.5535 m at depth_scale 0.1) cannot be represented and also give 0,
    i.e. "no measurement", rather than a wrong, clipped distance.
    """
    d = np.asarray(depth_m, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        value = np.rint(d * 1000.0 / float(depth_scale))
        ok = np.isfinite(value) & (value > 0) & (value <= DEPTH_UINT16_MAX)
    return np.where(ok, value, 0).astype(np.uint16)


def uint16_to_depth(value: np.ndarray, depth_scale: float) -> np.ndarray:
    """Decode BOP uint16 depth to metres: value * depth_scale / 1000; 0 stays 0.

    float64, so the decoded value is within depth_scale / 2 mm of what was encoded with no
    extra float32 rounding (a float32 step at 6.5 m is about 0.5 um).
    """
    return np.asarray(value, dtype=np.float64) * (float(depth_scale) / 1000.0)


def save_depth(path: str | Path, depth_m: np.ndarray, depth_scale: float, *,
               compress_level: int = 1) -> None:
    """Write depth in metres as a 16-bit BOP depth PNG (see :func:`depth_to_uint16`)."""
    save_png(path, depth_to_uint16(depth_m, depth_scale), compress_level=compress_level)


def load_depth(path: str | Path, depth_scale: float) -> np.ndarray:
    """Read a BOP depth PNG and return metres (float64, 0 = no measurement)."""
    return uint16_to_depth(load_image(path), depth_scale)


def save_mask(path: str | Path, mask: np.ndarray, *, compress_level: int = 1) -> None:
    """Write a boolean (H, W) mask as an 8-bit PNG, 255 inside and 0 outside (BOP)."""
    if isinstance(mask, WindowMask):
        save_png(path, mask.filled(255, np.uint8), compress_level=compress_level)
        return
    inside = np.ascontiguousarray(np.asarray(mask) != 0)
    save_png(path, inside.view(np.uint8) * np.uint8(255), compress_level=compress_level)


def load_mask(path: str | Path) -> np.ndarray:
    """Read a BOP mask PNG as a boolean (H, W) array (any non-zero pixel is inside)."""
    return load_image(path) > 0


# --------------------------------------------------------------------------------------------
# Per-scene JSON
# --------------------------------------------------------------------------------------------

def _flat(a: Any) -> list[float]:
    return [float(v) for v in np.asarray(a, dtype=np.float64).reshape(-1)]


def save_scene_camera(path: str | Path, scene_camera: dict[int, dict]) -> None:
    """Write ``scene_camera.json``: ``{im_id: {cam_K, depth_scale, cam_R_w2c, cam_t_w2c, ...}}``.

    ``cam_K`` (3, 3) pixels, ``cam_R_w2c`` (3, 3), ``cam_t_w2c`` (3,) or (3, 1) **mm**; matrices
    are flattened row-major. Other keys are written as given. The input is not modified.
    """
    out: dict[int, dict] = {}
    for im_id, cam in scene_camera.items():
        entry = dict(cam)
        for key in ("cam_K", "cam_R_w2c", "cam_t_w2c"):
            if key in entry:
                entry[key] = _flat(entry[key])
        if "depth_scale" in entry:
            entry["depth_scale"] = float(entry["depth_scale"])
        out[int(im_id)] = entry
    save_json(path, out)


def load_scene_camera(path: str | Path) -> dict[int, dict]:
    """Read ``scene_camera.json``: ``cam_K`` and ``cam_R_w2c`` (3, 3), ``cam_t_w2c`` (3, 1) mm."""
    data = load_json(path, keys_to_int=True)
    shapes = {"cam_K": (3, 3), "cam_R_w2c": (3, 3), "cam_t_w2c": (3, 1)}
    for cam in data.values():
        for key, shape in shapes.items():
            if key in cam:
                cam[key] = np.asarray(cam[key], dtype=np.float64).reshape(shape)
    return data


def save_scene_gt(path: str | Path, scene_gt: dict[int, list[dict]]) -> None:
    """Write ``scene_gt.json``: ``{im_id: [{obj_id, cam_R_m2c (3, 3), cam_t_m2c (3,) mm}, ...]}``.

    The list index of an instance is its ``gt_id``. The input is not modified.
    """
    out: dict[int, list[dict]] = {}
    for im_id, gts in scene_gt.items():
        rows = []
        for gt in gts:
            entry = dict(gt)
            entry["obj_id"] = int(entry["obj_id"])
            entry["cam_R_m2c"] = _flat(entry["cam_R_m2c"])
            entry["cam_t_m2c"] = _flat(entry["cam_t_m2c"])
            rows.append(entry)
        out[int(im_id)] = rows
    save_json(path, out)


def load_scene_gt(path: str | Path) -> dict[int, list[dict]]:
    """Read ``scene_gt.json``: ``cam_R_m2c`` (3, 3), ``cam_t_m2c`` (3, 1) mm, as bop_toolkit."""
    data = load_json(path, keys_to_int=True)
    for gts in data.values():
        for gt in gts:
            gt["cam_R_m2c"] = np.asarray(gt["cam_R_m2c"], dtype=np.float64).reshape(3, 3)
            gt["cam_t_m2c"] = np.asarray(gt["cam_t_m2c"], dtype=np.float64).reshape(3, 1)
    return data


GT_INFO_KEYS = ("bbox_obj", "bbox_visib", "px_count_all", "px_count_valid", "px_count_visib",
                "visib_fract")


def save_scene_gt_info(path: str | Path, scene_gt_info: dict[int, list[dict]]) -> None:
    """Write ``scene_gt_info.json``: per image, in ``scene_gt`` order, ``bbox_obj`` and
    ``bbox_visib`` (BOP ``[x, y, w, h]`` ints), ``px_count_all/valid/visib`` (ints) and
    ``visib_fract`` (float)."""
    out: dict[int, list[dict]] = {}
    for im_id, infos in scene_gt_info.items():
        rows = []
        for info in infos:
            missing = [k for k in GT_INFO_KEYS if k not in info]
            if missing:
                raise ValueError(f"scene_gt_info entry of image {im_id} lacks {missing}")
            rows.append({
                "bbox_obj": [int(v) for v in info["bbox_obj"]],
                "bbox_visib": [int(v) for v in info["bbox_visib"]],
                "px_count_all": int(info["px_count_all"]),
                "px_count_valid": int(info["px_count_valid"]),
                "px_count_visib": int(info["px_count_visib"]),
                "visib_fract": float(info["visib_fract"]),
            })
        out[int(im_id)] = rows
    save_json(path, out)


def load_scene_gt_info(path: str | Path) -> dict[int, list[dict]]:
    """Read ``scene_gt_info.json`` (plain lists and numbers, int image-id keys)."""
    return load_json(path, keys_to_int=True)


def save_camera(path: str | Path, K: np.ndarray, width: int, height: int,
                depth_scale: float, focal_scale: tuple[float, float] | None = None) -> None:
    """Write the dataset-root ``camera.json``: cx, cy, fx, fy (pixels), width, height, depth_scale,
    and ``intrinsics`` saying whether that K is every image's.

    ``K`` (3, 3) is the sensor's nominal matrix at the image size; ``focal_scale`` the
    ``(min, max)`` factor on fx, fy drawn per image (``camera.focal_scale``), ``None`` when there
    is none. When every image has the same K (no factor, or ``min == max``) the file holds that
    K (fx, fy times the factor) and ``"intrinsics": "exact"``. Otherwise it holds the nominal K,
    ``"focal_scale": [min, max]`` and ``"intrinsics": "nominal"``: each image's K is its
    ``scene_camera.json`` ``cam_K`` (BOP lets cam_K vary per image), with fx, fy the nominal
    ones times a factor in that range and cx, cy the nominal ones. bop_toolkit's
    ``load_cam_params`` reads only the seven BOP keys and ignores the others.
    """
    K = np.asarray(K, dtype=np.float64)
    fx, fy = float(K[0, 0]), float(K[1, 1])
    extra: dict[str, Any] = {"intrinsics": "exact"}
    if focal_scale is not None:
        lo, hi = (float(v) for v in focal_scale)
        if lo == hi:
            # the same product as the camera sampler's, so fx, fy equal every image's cam_K
            fx, fy = fx * lo, fy * lo
        else:
            extra = {"intrinsics": "nominal", "focal_scale": [lo, hi]}
    save_json(path, {"cx": float(K[0, 2]), "cy": float(K[1, 2]), "fx": fx, "fy": fy,
                     "width": int(width), "height": int(height),
                     "depth_scale": float(depth_scale), **extra})


def load_camera(path: str | Path) -> dict[str, Any]:
    """Read ``camera.json`` as ``{"K": (3, 3), "width", "height", "depth_scale", "intrinsics",
    "focal_scale"}``; ``intrinsics`` is ``"exact"``, ``"nominal"`` or ``None`` (a file from
    another writer), ``focal_scale`` ``(min, max)`` or ``None``."""
    c = load_json(path)
    K = np.array([[c["fx"], 0.0, c["cx"]], [0.0, c["fy"], c["cy"]], [0.0, 0.0, 1.0]],
                 dtype=np.float64)
    fs = c.get("focal_scale")
    return {"K": K, "width": int(c["width"]), "height": int(c["height"]),
            "depth_scale": float(c["depth_scale"]), "intrinsics": c.get("intrinsics"),
            "focal_scale": (float(fs[0]), float(fs[1])) if fs is not None else None}


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------

def compute_model_info(vertices_mm: np.ndarray) -> dict[str, float]:
    """BOP model info of a vertex set in mm: ``diameter`` (largest distance between two vertices),
    ``min_x/y/z`` and ``size_x/y/z`` of the axis-aligned box.

    The two farthest vertices lie on the convex hull, so the pairwise search runs over the hull's
    vertices only (falls back to all vertices when the set is flat or too small for a hull).
    """
    from scipy.spatial import ConvexHull, QhullError
    from scipy.spatial.distance import pdist

    pts = np.asarray(vertices_mm, dtype=np.float64).reshape(-1, 3)
    if len(pts) == 0:
        raise ValueError("model has no vertices")
    cand = pts
    if len(pts) > 4:
        try:
            cand = pts[ConvexHull(pts).vertices]
        except QhullError:
            cand = pts
    diameter = float(pdist(cand).max()) if len(cand) > 1 else 0.0
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    size = hi - lo
    return {"diameter": diameter,
            "min_x": float(lo[0]), "min_y": float(lo[1]), "min_z": float(lo[2]),
            "size_x": float(size[0]), "size_y": float(size[1]), "size_z": float(size[2])}


def save_models_info(path: str | Path, models_info: dict[int, dict]) -> None:
    """Write ``models_info.json``: ``{obj_id: {diameter, min_*, size_*, [symmetries_*]}}`` in mm.

    ``symmetries_discrete``: list of 4x4 matrices (or their 16-number row-major flattening),
    translation in mm. ``symmetries_continuous``: list of ``{"axis": [3], "offset": [3] mm}``.
    """
    out: dict[int, dict] = {}
    for obj_id, info in models_info.items():
        entry = dict(info)
        if "symmetries_discrete" in entry:
            entry["symmetries_discrete"] = [_flat(m) for m in entry["symmetries_discrete"]]
            if any(len(m) != 16 for m in entry["symmetries_discrete"]):
                raise ValueError(f"obj {obj_id}: symmetries_discrete must be 4x4 matrices")
        if "symmetries_continuous" in entry:
            entry["symmetries_continuous"] = [
                {"axis": _flat(s["axis"]), "offset": _flat(s["offset"])}
                for s in entry["symmetries_continuous"]]
        out[int(obj_id)] = entry
    save_json(path, out)


def load_models_info(path: str | Path) -> dict[int, dict]:
    """Read ``models_info.json`` as bop_toolkit does (plain lists, int obj_id keys)."""
    return load_json(path, keys_to_int=True)


def save_model_ply(path: str | Path, vertices_m: np.ndarray, faces: np.ndarray,
                   vertex_colors: np.ndarray | None = None) -> None:
    """Write a BOP model PLY (binary little-endian, float32) in **millimetres** with vertex normals.

    ``vertices_m`` (N, 3) metres in the model frame (origin at the bounding-box centre, Z up, as
    the asset library delivers them), ``faces`` (M, 3) vertex indices, ``vertex_colors`` optional
    (N, 3|4) uint8. Vertex order is kept (no merging), so indices in the file match the input.
    """
    mesh = trimesh.Trimesh(vertices=np.asarray(vertices_m, dtype=np.float64) * 1000.0,
                           faces=np.asarray(faces, dtype=np.int64),
                           vertex_colors=vertex_colors, process=False)
    data = trimesh.exchange.ply.export_ply(mesh, encoding="binary", vertex_normal=True,
                                           include_attributes=False)
    Path(path).write_bytes(data)


@dataclass(frozen=True)
class ModelGeometry:
    """One object model as the asset library delivers it, in the model frame, in **metres**.

    ``vertices`` (N, 3) metres; ``faces`` (M, 3) vertex indices; ``symmetries_continuous``: list
    of ``{"axis": [3], "offset": [3] (metres)}``; ``symmetries_discrete``: list of 4x4 model-frame
    transforms (translation in metres). Empty lists: no symmetry of that kind.
    """

    vertices: np.ndarray
    faces: np.ndarray
    symmetries_continuous: list = field(default_factory=list)
    symmetries_discrete: list = field(default_factory=list)


def model_info_mm(model: ModelGeometry) -> dict[str, Any]:
    """The ``models_info.json`` entry of ``model`` (metres in), in mm: :func:`compute_model_info`
    of the vertices plus the symmetries with their offsets / translations scaled to mm."""
    entry: dict[str, Any] = compute_model_info(np.asarray(model.vertices) * 1000.0)
    if model.symmetries_continuous:
        entry["symmetries_continuous"] = [
            {"axis": list(s["axis"]), "offset": [1000.0 * x for x in s["offset"]]}
            for s in model.symmetries_continuous]
    if model.symmetries_discrete:
        mats = []
        for m in model.symmetries_discrete:
            m = np.array(m, dtype=np.float64)   # a copy: the caller's matrix stays in metres
            m[:3, 3] *= 1000.0
            mats.append(m)
        entry["symmetries_discrete"] = mats
    return entry


def save_models(models_dir: str | Path, models: Mapping[int, ModelGeometry]) -> None:
    """Write a BOP ``models/`` folder from models in **metres**: ``obj_<obj_id:06d>.ply`` per model
    (:func:`save_model_ply`, mm) and ``models_info.json`` (:func:`save_models_info`, mm). Creates
    ``models_dir`` when missing. Read back with :func:`load_models_info` / :func:`load_model_ply`."""
    models_dir = Path(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    info = {}
    for obj_id, model in models.items():
        save_model_ply(models_dir / f"obj_{int(obj_id):06d}.ply", model.vertices, model.faces)
        info[obj_id] = model_info_mm(model)
    save_models_info(models_dir / "models_info.json", info)


def load_model_ply(path: str | Path) -> dict[str, np.ndarray]:
    """Read a model PLY as bop_toolkit's ``load_ply`` names it: ``pts`` (N, 3) mm (float32 in the
    file, returned as float64), ``normals`` (N, 3), ``faces`` (M, 3) int64 and, when the file has
    vertex colours, ``colors`` (N, 3) uint8."""
    mesh = trimesh.load(Path(path), file_type="ply", process=False, force="mesh")
    model = {"pts": np.asarray(mesh.vertices, dtype=np.float64),
             "faces": np.asarray(mesh.faces, dtype=np.int64)}
    # trimesh keeps the file's nx/ny/nz as the mesh's vertex normals (it computes them only
    # when the file has none).
    model["normals"] = np.asarray(mesh.vertex_normals, dtype=np.float64)
    if mesh.visual.kind == "vertex":
        model["colors"] = np.asarray(mesh.visual.vertex_colors)[:, :3].astype(np.uint8)
    return model
