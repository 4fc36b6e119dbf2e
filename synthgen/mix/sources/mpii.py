"""MPII Human Pose in mmpose's JSON form (``--mpii``): ``mpii_train.json`` / ``mpii_val.json``
as mmpose (and HRNet, whose conversion it uses) ship them.

The file is a JSON list with one item per annotated person::

    {"image": "015601864.jpg", "center": [594.0, 257.0], "scale": 3.021,
     "joints": [[620.0, 394.0], ... 16 x [x, y]], "joints_vis": [1, 1, ... 16 x 0|1]}

in MPII's joint order (:data:`MPII16_NAMES`: right_ankle ... left_wrist). Items naming the same
image become one COCO image with one person annotation each, in file order. ``joints_vis`` says
whether a joint is *labelled* (the conversion marks annotated joints; MPII's own ``is_visible``
occlusion flag is not in it), so a joint with ``joints_vis > 0`` is written v=2, the others
``[0, 0, 0]``; v=1 never occurs. Coordinates are pixels as in the file (MATLAB's 1-based pixel
centres; mmpose's loader does not shift them either). ``pelvis``, ``thorax``, ``upper_neck`` and
``head_top`` have no COCO-17 counterpart and are dropped (counted in the report).

Box: the labelled joints' tight box clipped to the image (:func:`.joints.labelled_box`), ``area``
its ``w * h``, no segmentation. MPII's ``center`` (a point on the torso, not a box centre) and
``scale`` (person height / 200 px) describe a rough square that mmpose enlarges by 25 % for its
crops, not a box of the person, so they are kept on the annotation as read (``center``,
``scale``) and not used.

Image root: ``--images DIR``, default mmpose's layout (``mpii/annotations/x.json`` next to
``mpii/images/``): the ``images/`` folder beside the JSON's folder when it exists, else the
JSON's folder.

Bad entries (one line naming the file, the item and its image; a bad person drops its image with
every person on it): an item that is not an object or lacks ``image`` (``bad_entry``), ``joints``
not 16 pairs or ``joints_vis`` not 16 values (``keypoint_length``), a coordinate, flag, center
or scale that is not a finite number (``bad_number``), no labelled joint (``bad_entry``), a
missing or unreadable image (``missing_image``). A file that is not JSON or not a list is an
error on its own.

MPII's own release file (``mpii_human_pose_v1_u12_1.mat``; any ``--mpii`` path ending ``.mat``)
is read too, with ``scipy.io.loadmat(struct_as_record=False)``: ``RELEASE.annolist(i)``'s
``image.name`` and, per ``annorect`` that has ``annopoints.point``, the points' ``id`` (0..15),
``x``, ``y`` and ``is_visible``, plus ``scale`` and ``objpos`` (kept as ``scale`` and
``center``). Only training images (``RELEASE.img_train`` 1; the test annotations are not
public) with at least one annotated person are read, and only their annotated persons, as
mmpose's and HRNet's conversions do. Here the flag is MPII's occlusion flag: ``is_visible`` 1
(or absent, as on some points) is v=2, 0 is v=1 (labelled, not visible); a missing point is
``[0, 0, 0]``. Items are named ``annolist #i, annorect #r`` in messages.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from synthgen.mix.config import MixError, SourceSpec
from synthgen.mix.keypoints import MPII16_NAMES, KeypointMap
from synthgen.mix.sources.base import BadLog, Entry, LoadedSource, read_json, resolve_image
from synthgen.mix.sources.joints import finite, image_size, person_annotation


def default_image_root(path: Path) -> Path:
    """mmpose's ``<data>/mpii/images`` beside ``<data>/mpii/annotations/<file>.json``, else the
    JSON's folder."""
    beside = path.parent.parent / "images"
    return beside if beside.is_dir() else path.parent


def _label(i: int, item: dict) -> str:
    return item.get("_where", f"item #{i}")


def _item_problem(item: dict, n: int) -> tuple[str, str] | None:
    """What is wrong with one person item's joints, flags, center and scale, or None."""
    if "_problem" in item:
        return item["_problem"]
    joints, vis = item.get("joints"), item.get("joints_vis")
    if not isinstance(joints, list) or len(joints) != n:
        got = len(joints) if isinstance(joints, list) else type(joints).__name__
        return ("keypoint_length", f"joints has {got} entries, expected {n} [x, y] pairs")
    if not isinstance(vis, list) or len(vis) != n:
        got = len(vis) if isinstance(vis, list) else type(vis).__name__
        return ("keypoint_length", f"joints_vis has {got} values, expected {n}")
    for j, pt in enumerate(joints):
        if not isinstance(pt, list) or len(pt) not in (2, 3):
            return ("keypoint_length", f"joints[{j}] is {pt!r:.40}, expected [x, y]")
        for v in pt[:2]:
            if not finite(v):
                return ("bad_number", f"joints[{j}] holds {v!r:.40}, expected finite numbers")
    for j, v in enumerate(vis):
        if not finite(v):
            return ("bad_number", f"joints_vis[{j}] is {v!r:.40}, expected a finite number")
    if "center" in item:
        c = item["center"]
        if not isinstance(c, list) or len(c) != 2 or not all(finite(v) for v in c):
            return ("bad_number", f"center is {c!r:.40}, expected [x, y] finite numbers")
    if "scale" in item and not finite(item["scale"]):
        return ("bad_number", f"scale is {item['scale']!r:.40}, expected a finite number")
    return None


def _as_list(v: Any) -> list:
    """A MATLAB struct array / cell read with ``squeeze_me`` as a list (one element arrives
    bare, none as an empty array)."""
    import numpy as np

    if isinstance(v, np.ndarray):
        return list(v.reshape(-1))
    return [v]


def _mat_field(obj: Any, name: str) -> Any:
    v = getattr(obj, name, None)
    import numpy as np

    return None if isinstance(v, np.ndarray) and v.size == 0 else v


def mpii_items_from_mat(path: Path, n: int = 16) -> list[dict[str, Any]]:
    """Person items (the JSON form, ``joints_vis`` holding COCO v = 0/1/2 and ``_v`` set) of
    MPII's release ``.mat``; a file of another layout is a one-line :class:`MixError`."""
    from synthgen.mix.sources.lsp import read_mat

    data = read_mat(path, squeeze=True)
    rel = data.get("RELEASE")
    if rel is None or not hasattr(rel, "annolist"):
        raise MixError(f"{path}: no struct 'RELEASE' with an 'annolist' field (found: "
                       f"{', '.join(sorted(data)) or 'none'}); expected MPII's "
                       f"mpii_human_pose_v1_u12_1.mat")
    annolist = _as_list(rel.annolist)
    train = _as_list(getattr(rel, "img_train", [1] * len(annolist)))
    if len(train) != len(annolist):
        raise MixError(f"{path}: RELEASE.img_train has {len(train)} values for "
                       f"{len(annolist)} annolist entries")
    items: list[dict[str, Any]] = []
    for i, (entry, is_train) in enumerate(zip(annolist, train)):
        if not finite(is_train) or int(is_train) != 1:
            continue
        image = _mat_field(_mat_field(entry, "image"), "name")
        rects = _mat_field(entry, "annorect")
        for r, rect in enumerate(_as_list(rects) if rects is not None else []):
            points = _mat_field(_mat_field(rect, "annopoints"), "point")
            if points is None:
                continue
            where = f"annolist #{i + 1}, annorect #{r + 1}"
            item: dict[str, Any] = {"image": image if isinstance(image, str) else None,
                                    "_where": where, "_v": True,
                                    "joints": [[-1.0, -1.0] for _ in range(n)],
                                    "joints_vis": [0] * n}
            for p in _as_list(points):
                pid, x, y = (_mat_field(p, k) for k in ("id", "x", "y"))
                if not finite(pid) or not 0 <= int(pid) < n or int(pid) != float(pid):
                    item["_problem"] = ("bad_entry", f"point id {pid!r:.20}, expected 0..{n - 1}")
                    break
                vis = _mat_field(p, "is_visible")
                try:
                    occluded = vis is not None and int(str(vis).strip()) == 0
                except ValueError:
                    occluded = False
                item["joints"][int(pid)] = [_py(x), _py(y)]
                item["joints_vis"][int(pid)] = 1 if occluded else 2
            scale, objpos = _mat_field(rect, "scale"), _mat_field(rect, "objpos")
            if scale is not None:
                item["scale"] = _py(scale)
            if objpos is not None:
                item["center"] = [_py(_mat_field(objpos, "x")), _py(_mat_field(objpos, "y"))]
            items.append(item)
    return items


def _py(v: Any) -> Any:
    """A MATLAB scalar as a Python number (strings and structs pass, for the checks to name)."""
    try:
        return v.item() if hasattr(v, "item") else v
    except (ValueError, TypeError):
        return v


def load_mpii_source(spec: SourceSpec, bad: BadLog, wholebody_mode: str) -> LoadedSource:
    """``--mpii mpii_train.json|mpii_human_pose_v1_u12_1.mat [--images DIR]`` (see the module
    docstring)."""
    path = spec.path
    data = (mpii_items_from_mat(path) if path.suffix.lower() == ".mat"
            else read_json(path, spec.origin))
    if not isinstance(data, list):
        raise MixError(f"{path}: expected mmpose's MPII JSON list of person items (image, "
                       f"center, scale, joints, joints_vis), found {type(data).__name__}")
    root = spec.images if spec.images is not None else default_image_root(path)
    if not root.is_dir():
        raise MixError(f"{spec.origin}: image root {root} is not a directory")
    names = spec.keypoints or MPII16_NAMES
    if len(names) != 16:
        raise MixError(f"{spec.origin}: keypoints: an MPII file has 16 joints, the schema given "
                       f"names {len(names)}")
    kmap = KeypointMap.build(names)

    # Items grouped by image, first appearance first; a bad person marks its image bad.
    by_image: dict[str, list[tuple[int, dict]]] = {}
    dropped_anns = 0
    for i, item in enumerate(data):
        if not isinstance(item, dict):
            bad("bad_entry", f"{path}: item #{i}: expected an object, found {item!r:.60}")
            dropped_anns += 1
            continue
        image = item.get("image")
        if not isinstance(image, str) or not image:
            bad("bad_entry", f"{path}: {item.get('_where', f'item #{i}')}: lacks a valid "
                             f"'image'")
            dropped_anns += 1
            continue
        by_image.setdefault(image, []).append((i, item))
    entries: list[Entry] = []
    dropped = 0
    for image, items in by_image.items():
        where = f"{path}: {_label(*items[0])} ({image})"
        f, store = resolve_image(root, image, where)
        problem = None
        for i, item in items:
            problem = _item_problem(item, len(names))
            if problem is not None:
                where = f"{path}: {_label(i, item)} ({image})"
                break
        if problem is None and not f.is_file():
            problem = ("missing_image", f"image file not found: {f}")
        size = image_size(f) if problem is None else None
        if isinstance(size, str):
            problem = ("missing_image", size)
        anns: list[dict[str, Any]] = []
        if problem is None:
            width, height = size
            for i, item in items:
                # JSON: joints_vis says labelled (v=2); .mat items carry v itself (_v).
                rows = [[pt[0], pt[1], (int(v) if item.get("_v") else 2)] if float(v) > 0
                        else [0, 0, 0] for pt, v in zip(item["joints"], item["joints_vis"])]
                extra = {k: item[k] for k in ("center", "scale") if k in item}
                ann = person_annotation(rows, kmap, width, height, wholebody_mode, **extra)
                if ann is None:
                    where = f"{path}: {_label(i, item)} ({image})"
                    problem = ("bad_entry", "no joint is labelled (joints_vis all 0; no box can "
                                            "be derived)")
                    break
                anns.append(ann)
        if problem is not None:
            bad(problem[0], f"{where}: {problem[1]}")
            dropped += 1
            dropped_anns += len(items)
            continue
        stem = Path(image).stem
        im_id = int(stem) if stem.isdigit() else -1
        fields: dict[str, Any] = {"width": width, "height": height, "source_file_name": image}
        if im_id >= 0:
            fields["source_image_id"] = im_id
        entries.append(Entry(image_path=f, store_name=store, image=fields, annotations=anns,
                             meta={"scene_id": -1, "im_id": im_id, "view_id": -1,
                                   "frame_id": -1, "seed": -1, "persons": len(anns),
                                   "objects": 0}))
    return LoadedSource(spec=spec, name="", kind=spec.kind or "real", entries=entries,
                        categories={1: "person"}, person_categories={1},
                        keypoint_maps={1: kmap}, dropped_images=dropped,
                        dropped_annotations=dropped_anns,
                        files=[path.resolve(), root.resolve()])
