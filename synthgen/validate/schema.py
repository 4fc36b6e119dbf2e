"""A small structural checker for synthgen's JSON files, and the schema of each file.

A schema is built from a few spec objects (no dependency): Python types ``int``, ``float`` (any
JSON number), ``str``, ``bool``, ``dict`` and ``list`` (any value of that JSON type), and
:class:`Vec`, :class:`Obj`, :class:`IdMap`, :class:`Nullable`, :class:`OneOf`, :class:`AnyOf`.
:func:`check` walks a loaded JSON value (as ``json`` returns it: string keys) and returns
``(key_path, message)`` pairs; key paths read like ``0[3].cam_R_m2c`` (dict keys joined by dots,
list indices in brackets).

The schemas follow ``dataset-layout.md`` and ``formats.md``: required keys and their types only;
values are checked against each other in :mod:`synthgen.validate.checks` (a package).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from synthgen.bodies.keypoints import WHOLEBODY133_PARTS
from synthgen.scene.kinds import BODY_MODELS

#: At most this many findings per file: a systematically wrong file is not worth 10^5 lines.
MAX_FINDINGS_PER_FILE = 20


@dataclass(frozen=True)
class Vec:
    """A JSON list of ``n`` elements (any length when ``n`` is None), each matching ``elem``."""

    n: int | None
    elem: Any = float


@dataclass(frozen=True)
class Obj:
    """A JSON object with ``required`` keys (key -> spec) and ``optional`` keys, checked when
    present. Other keys are allowed (the layout permits extra fields, e.g. rig camera fields)."""

    required: dict[str, Any]
    optional: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class IdMap:
    """A JSON object whose keys are decimal integers (image ids, obj_ids), each value ``value``.
    ``named`` lists non-integer keys that may appear beside them, with their own spec."""

    value: Any
    named: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Nullable:
    """``null`` or a value matching ``spec`` (NaN is written as null)."""

    spec: Any


@dataclass(frozen=True)
class OneOf:
    """One of the given literal values."""

    values: tuple


@dataclass(frozen=True)
class AnyOf:
    """A value matching at least one of ``specs``."""

    specs: tuple


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return f"list of {len(value)}"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _matches_type(value: Any, spec: type) -> bool:
    # JSON has no int/float distinction on the wire, but an id or a count written as 3.0 is a
    # writer bug worth reporting; bool is an int subclass in Python and must not pass as one.
    if spec is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if spec is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, spec)


_SPEC_NAMES = {int: "an integer", float: "a number", str: "a string", bool: "a boolean",
               dict: "an object", list: "a list"}


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def check(value: Any, spec: Any, path: str = "") -> list[tuple[str, str]]:
    """All mismatches of ``value`` against ``spec`` as ``(key_path, message)`` (root: ``""``)."""
    out: list[tuple[str, str]] = []
    _check(value, spec, path, out)
    return out


def _check(value: Any, spec: Any, path: str, out: list) -> None:
    if len(out) >= MAX_FINDINGS_PER_FILE:
        return
    if isinstance(spec, type):
        if not _matches_type(value, spec):
            out.append((path, f"expected {_SPEC_NAMES.get(spec, spec.__name__)}, "
                              f"found {_type_name(value)}"))
        return
    if isinstance(spec, Nullable):
        if value is not None:
            _check(value, spec.spec, path, out)
        return
    if isinstance(spec, OneOf):
        if not any(value == v and type(value) is type(v) for v in spec.values):
            out.append((path, f"expected one of {list(spec.values)}, found {value!r}"))
        return
    if isinstance(spec, AnyOf):
        if not any(not check(value, s, path) for s in spec.specs):
            out.append((path, f"unexpected value {_type_name(value)}"))
        return
    if isinstance(spec, Vec):
        if not isinstance(value, list):
            out.append((path, f"expected a list, found {_type_name(value)}"))
            return
        if spec.n is not None and len(value) != spec.n:
            out.append((path, f"expected {spec.n} elements, found {len(value)}"))
            return
        for i, v in enumerate(value):
            _check(v, spec.elem, _join(path, i), out)
        return
    if isinstance(spec, Obj):
        if not isinstance(value, dict):
            out.append((path, f"expected an object, found {_type_name(value)}"))
            return
        for key, sub in spec.required.items():
            if key not in value:
                out.append((_join(path, key), "missing"))
            else:
                _check(value[key], sub, _join(path, key), out)
        for key, sub in spec.optional.items():
            if key in value:
                _check(value[key], sub, _join(path, key), out)
        return
    if isinstance(spec, IdMap):
        if not isinstance(value, dict):
            out.append((path, f"expected an object, found {_type_name(value)}"))
            return
        for key, v in value.items():
            if key in spec.named:
                _check(v, spec.named[key], _join(path, key), out)
            elif not key.isdigit():
                out.append((_join(path, key), "key is not a non-negative integer id"))
            else:
                _check(v, spec.value, _join(path, key), out)
        for key in spec.named:
            if key not in value:
                out.append((_join(path, key), "missing"))
        return
    raise TypeError(f"unknown schema spec {spec!r}")


# ---------------------------------------------------------------------------------------------
# The files (dataset-layout.md, formats.md)
# ---------------------------------------------------------------------------------------------

VEC3 = Vec(3)
MAT3 = Vec(9)
BOX_INT = Vec(4, int)
BOX = Vec(4)

CAMERA_JSON = Obj({"cx": float, "cy": float, "fx": float, "fy": float, "width": int,
                   "height": int, "depth_scale": float},
                  {"intrinsics": OneOf(("exact", "nominal")), "focal_scale": Vec(2)})

MODELS_INFO = IdMap(Obj(
    {"diameter": float, "min_x": float, "min_y": float, "min_z": float,
     "size_x": float, "size_y": float, "size_z": float},
    {"symmetries_discrete": Vec(None, Vec(16)),
     "symmetries_continuous": Vec(None, Obj({"axis": VEC3, "offset": VEC3}))}))

SCENE_CAMERA = IdMap(Obj({"cam_K": MAT3, "depth_scale": float, "cam_R_w2c": MAT3,
                          "cam_t_w2c": VEC3}))

SCENE_GT = IdMap(Vec(None, Obj({"obj_id": int, "cam_R_m2c": MAT3, "cam_t_m2c": VEC3})))

SCENE_GT_INFO = IdMap(Vec(None, Obj({
    "bbox_obj": BOX_INT, "bbox_visib": BOX_INT, "px_count_all": int, "px_count_valid": int,
    "px_count_visib": int, "visib_fract": float})))

SMPLX_PARAMS = Obj({
    "betas": Vec(None), "global_orient": VEC3, "body_pose": Vec(63), "left_hand_pose": Vec(45),
    "right_hand_pose": Vec(45), "jaw_pose": VEC3, "leye_pose": VEC3, "reye_pose": VEC3,
    "expression": Vec(None), "transl": VEC3})

ANNY_PARAMS = Obj({
    "version": str, "topology": OneOf(("anny",)), "mapping": str,
    "phenotype": Obj({k: float for k in ("gender", "age", "muscle", "weight", "height", "proportions")}),
    "age_years": Nullable(float), "flat_hand_mean": bool,
    "pose": Obj({"global_orient": VEC3, "body_pose": Vec(63), "left_hand_pose": Vec(45),
                 "right_hand_pose": Vec(45), "transl": VEC3}),
})

KPT_ROW = Vec(3)

PERSON = Obj({
    "person_id": int,
    "body_model": OneOf(BODY_MODELS),
    "gender": OneOf(("neutral", "male", "female")),
    "cam_R_w2c": MAT3, "cam_t_w2c": VEC3,
    "joints_3d_cam": Vec(None, Nullable(VEC3)),
    "joint_names": AnyOf((str, Vec(None, str))),
    "keypoints_coco17": Vec(17, KPT_ROW),
    "keypoints_wholebody133": Vec(133, KPT_ROW),
    "bbox_visib": BOX_INT, "bbox_amodal": BOX_INT,
    "visib_fract": float,
    "held_object_gt_ids": Vec(None, int),
}, {
    # BOP gt_info-style counts of the person (written since the body-part pass)
    "px_count_all": int, "px_count_valid": int, "px_count_visib": int,
    # the body model's exact parameters (Anny's, or SMPL-X's for the SMPL-X-shaped bodies), and
    # smplx where it reproduces the body (checks/humans.py: every body_model but anny has it)
    "body_params": AnyOf((ANNY_PARAMS, SMPLX_PARAMS)), "smplx": SMPLX_PARAMS,
    # what a dressed person wears (synthgen.scene.appearance.outfit_record)
    "appearance": Obj({"setting": str, "skin": dict, "hair": dict, "eyes": str}),
})

SCENE_HUMANS = IdMap(Vec(None, PERSON), named={"units": OneOf(("m",))})

RLE = Obj({"size": Vec(2, int), "counts": str})

# Part name -> number of keypoints (COCO-WholeBody beside the 17 body points).
WHOLEBODY_PART_SIZES = {part: b - a for part, (a, b) in WHOLEBODY133_PARTS.items()}

_ANN_KEYPOINT_FIELDS: dict[str, Any] = {"keypoints": Vec(51), "num_keypoints": int}
for _part, _n in WHOLEBODY_PART_SIZES.items():
    _ANN_KEYPOINT_FIELDS[f"{_part}_kpts"] = Vec(3 * _n)
    _ANN_KEYPOINT_FIELDS[f"{_part}_valid"] = bool
    if _part != "foot":  # COCO-WholeBody has no foot box
        _ANN_KEYPOINT_FIELDS[f"{_part}_box"] = BOX

#: Every annotation. Object annotations may carry the keypoint fields (synthgen's writer fills
#: them with zeros for keypoint tools); when present they are checked like a person's.
COCO_ANNOTATION = Obj(
    {"id": int, "image_id": int, "category_id": int, "iscrowd": OneOf((0,)), "area": float,
     "bbox": BOX, "segmentation": RLE},
    {**_ANN_KEYPOINT_FIELDS, "person_id": int, "obj_id": int, "gt_id": int})

#: What a person annotation needs beside :data:`COCO_ANNOTATION` (COCO keypoints + WholeBody).
COCO_PERSON_FIELDS = Obj({**_ANN_KEYPOINT_FIELDS, "person_id": int})
COCO_OBJECT_FIELDS = Obj({"obj_id": int, "gt_id": int})

COCO_IMAGE = Obj({"id": int, "file_name": str, "width": int, "height": int, "split": str,
                  "scene_id": int, "im_id": int})

COCO_CATEGORY = Obj({"id": int, "name": str},
                    {"supercategory": str, "keypoints": Vec(None, str),
                     "skeleton": Vec(None, Vec(2, int))})

COCO_FILE = Obj({"images": Vec(None, COCO_IMAGE), "annotations": Vec(None, COCO_ANNOTATION),
                 "categories": Vec(None, COCO_CATEGORY)})

MANIFEST_LINE = Obj({
    "image": str, "source": OneOf(("synthetic", "real")), "split": str, "scene_id": int,
    "im_id": int, "view_id": int, "frame_id": int, "seed": int, "width": int, "height": int,
    "persons": int, "objects": int})

DATASET_JSON = Obj({
    "generator": str, "version": str, "config": dict, "seed": int, "scenes": int,
    "images": dict, "objects": dict,
    "keypoint_schemas": dict, "sensor": AnyOf((str, dict)), "renderer": AnyOf((str, dict)),
    "seconds": float})

DATASET_OBJECT = Obj({"name": str}, {"ref": str})
