"""Keypoint schemas and their harmonisation to COCO-17, by keypoint name.

A source's keypoints are named (by the ``keypoints`` list of its COCO category, by a named schema
or by an explicit list); each COCO-17 keypoint takes the triplet of the input keypoint with the
same name. COCO-17 names the input lacks are written ``[0, 0, 0]`` (v=0, "not labelled", as
COCO's format says); input names COCO-17 lacks are dropped. Both lists go to the mix report.

Values are copied as the Python numbers they were read as (no float conversion), so a keypoint
that exists on both sides is bit-exact: an int stays an int, a float keeps its repr.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from synthgen.bodies.keypoints import COCO17_NAMES, WHOLEBODY133_NAMES
from synthgen.bodies.keypoints import WHOLEBODY133_PARTS as WHOLEBODY_PARTS


# CrowdPose's 14 points, in CrowdPose's order.
CROWDPOSE14_NAMES: tuple[str, ...] = (
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "head",
    "neck")

# Leeds Sports Pose (LSP and LSP Extended) ``joints.mat``, in the order of their README.txt. The 12
# limb joints carry COCO-17 names; ``neck`` and ``head_top`` have no COCO-17 counterpart (COCO's
# head is nose, eyes and ears) and are dropped by the mapping, counted in the report.
LSP14_NAMES: tuple[str, ...] = (
    "right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle",
    "right_wrist", "right_elbow", "right_shoulder", "left_shoulder", "left_elbow", "left_wrist",
    "neck", "head_top")

# MPII Human Pose's 16 joints (ids 0..15 of its annotations, mmpose's order). ``pelvis``,
# ``thorax``, ``upper_neck`` and ``head_top`` have no COCO-17 counterpart and are dropped.
MPII16_NAMES: tuple[str, ...] = (
    "right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle", "pelvis",
    "thorax", "upper_neck", "head_top", "right_wrist", "right_elbow", "right_shoulder",
    "left_shoulder", "left_elbow", "left_wrist")

#: Schema names accepted by ``keypoints:`` / ``--keypoints``.
NAMED_SCHEMAS: dict[str, tuple[str, ...]] = {
    "coco17": COCO17_NAMES,
    "wholebody133": WHOLEBODY133_NAMES,
    "crowdpose14": CROWDPOSE14_NAMES,
    "lsp14": LSP14_NAMES,
    "mpii16": MPII16_NAMES,
}

#: WholeBody annotation fields beside ``keypoints``, in WholeBody row order, with their sizes.
WHOLEBODY_KPT_FIELDS: tuple[tuple[str, int], ...] = tuple(
    (f"{part}_kpts", b - a) for part, (a, b) in sorted(WHOLEBODY_PARTS.items(), key=lambda p: p[1]))
#: Every WholeBody-only annotation field (dropped with ``--wholebody drop``).
WHOLEBODY_EXTRA_FIELDS: tuple[str, ...] = tuple(
    [f for f, _ in WHOLEBODY_KPT_FIELDS] + [f"{p}_valid" for p in WHOLEBODY_PARTS]
    + [f"{p}_box" for p in WHOLEBODY_PARTS if p != "foot"])


def schema_name(names: Sequence[str]) -> str:
    """The named schema equal to ``names``, else ``"custom<K>"``."""
    for key, known in NAMED_SCHEMAS.items():
        if tuple(names) == known:
            return key
    return f"custom{len(names)}"


@dataclass
class KeypointMap:
    """Name mapping of one input schema onto COCO-17.

    ``index[j]`` is the input row of COCO-17 keypoint ``j`` or ``-1`` (unmatched, written v=0).
    ``dropped``: input names outside COCO-17 (in input order); ``unmatched``: COCO-17 names absent
    from the input (in COCO order). ``labelled_dropped`` counts labelled (v > 0) input points
    that were dropped, over all annotations mapped so far.
    """

    names: tuple[str, ...]
    index: tuple[int, ...]
    dropped: tuple[str, ...]
    unmatched: tuple[str, ...]
    labelled_dropped: int = 0
    annotations: int = 0
    dropped_rows: tuple[int, ...] = field(default=())

    @classmethod
    def build(cls, names: Sequence[str]) -> "KeypointMap":
        names = tuple(str(n) for n in names)
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"keypoint names repeat: {dup}")
        pos = {n: i for i, n in enumerate(names)}
        index = tuple(pos.get(n, -1) for n in COCO17_NAMES)
        coco = set(COCO17_NAMES)
        dropped_rows = tuple(i for i, n in enumerate(names) if n not in coco)
        return cls(names=names, index=index,
                   dropped=tuple(names[i] for i in dropped_rows),
                   unmatched=tuple(n for n, i in zip(COCO17_NAMES, index) if i < 0),
                   dropped_rows=dropped_rows)

    @property
    def identity(self) -> bool:
        """True when the input is COCO-17 itself (in COCO order)."""
        return self.names == COCO17_NAMES

    def map_rows(self, rows: Sequence[Sequence[Any]]) -> list[Any]:
        """Flat 51-number COCO-17 keypoints from input rows ``[[x, y, v], ...]`` (len(names))."""
        self.annotations += 1
        self.labelled_dropped += sum(1 for i in self.dropped_rows if _labelled(rows[i][2]))
        out: list[Any] = []
        for i in self.index:
            out.extend([0, 0, 0] if i < 0 else list(rows[i]))
        return out

    def report(self) -> dict[str, Any]:
        return {"schema": schema_name(self.names), "input_names": list(self.names),
                "dropped": list(self.dropped), "unmatched": list(self.unmatched),
                "labelled_points_dropped": int(self.labelled_dropped),
                "annotations_mapped": int(self.annotations)}


def _labelled(v: Any) -> bool:
    try:
        return float(v) > 0
    except (TypeError, ValueError):
        return False


def rows_of(flat: Sequence[Any]) -> list[list[Any]]:
    """Split a flat ``[x, y, v, ...]`` list into triplets (length already checked)."""
    return [list(flat[i:i + 3]) for i in range(0, len(flat), 3)]


def wholebody_rows(ann: dict[str, Any]) -> list[list[Any]]:
    """The 133 WholeBody rows of an annotation: ``keypoints`` then feet, face, left, right hand."""
    flat = list(ann["keypoints"])
    for name, _ in WHOLEBODY_KPT_FIELDS:
        flat.extend(ann[name])
    return rows_of(flat)


def empty_keypoint_fields() -> dict[str, Any]:
    """The keypoint fields of an annotation with no keypoints (zeros, ``num_keypoints`` 0,
    WholeBody parts invalid): synthgen's writer's own definition, one for the project."""
    from synthgen.writers.coco import _empty_keypoint_fields

    return _empty_keypoint_fields()


def complete_wholebody(annotations: list[dict[str, Any]]) -> int:
    """Give every annotation of one COCO file the WholeBody fields when any of them has one.

    xtcocotools' WholeBody COCOeval (and mmpose's loaders) index ``foot_kpts`` ... ``*_valid``
    on every annotation, so a file carries them on all annotations (persons and objects, as
    synthgen's own files do) or on none. A missing ``*_kpts`` is written as zeros, a missing
    ``*_box`` as ``[0, 0, 0, 0]`` (COCO-WholeBody's invalid part is all zeros) and a missing
    ``*_valid`` as whether its part has a labelled (v > 0) point. Changes the dicts in place;
    returns how many annotations were completed.
    """
    if not any(k in a for a in annotations for k in WHOLEBODY_EXTRA_FIELDS):
        return 0
    zeros = {k: v for k, v in empty_keypoint_fields().items() if k in WHOLEBODY_EXTRA_FIELDS}
    n = 0
    for ann in annotations:
        missing = [k for k in WHOLEBODY_EXTRA_FIELDS if k not in ann]
        if not missing:
            continue
        n += 1
        for k in missing:
            if not k.endswith("_valid"):
                ann[k] = list(zeros[k])
        for k in missing:
            if k.endswith("_valid"):
                ann[k] = any(_labelled(v) for v in ann[f"{k[:-len('_valid')]}_kpts"][2::3])
    return n


def count_labelled(flat: Sequence[Any]) -> int:
    """``num_keypoints``: how many triplets have v > 0."""
    return sum(1 for i in range(2, len(flat), 3) if _labelled(flat[i]))
