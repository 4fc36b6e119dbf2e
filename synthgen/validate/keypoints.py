"""Keypoint checks: 2-D keypoints against the projection of the 3-D joints they come from.

Each person in ``scene_humans.json`` carries ``joints_3d_cam`` (the 55 skinned SMPL-X joints, OpenCV
camera frame, metres) and its ``keypoints_coco17`` / ``keypoints_wholebody133`` rows ``[u, v, vis]``
in pixels (integer (u, v) = centre of pixel (column u, row v)). A keypoint whose source is a
skinned joint (``*_FROM_SMPLX`` index < 55) must equal the joint's projection with ``cam_K`` within
:data:`KEYPOINT_TOL_PX` when it is labelled, and be ``[0, 0, 0]`` when the joint is missing (NaN)
or projects outside the image. Surface landmarks (index >= 55: nose, eyes, ears, toes, heels,
fingertips, face) have no 3-D point in the file; here they are checked against the COCO file and
against the other schema (COCO-17 is the first 17 rows of WholeBody-133), and
:mod:`synthgen.validate.landmarks` rebuilds the body to check their positions and flags.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from synthgen.bodies.keypoints import (COCO17_FROM_SMPLX, COCO17_NAMES, NUM_SMPLX_JOINTS,
                                       SMPLX_JOINT_NAMES, WHOLEBODY133_FROM_SMPLX, WHOLEBODY133_NAMES)
from synthgen.bodies.keypoints import WHOLEBODY133_BODY, WHOLEBODY133_PARTS
from synthgen.groundtruth.projection import project

#: Largest allowed distance (pixels) between a keypoint and the projection of its joint, and
#: between the same keypoint in two files. Keypoints are written with float64 repr, so a sound
#: dataset agrees to ~1e-12 px; 0.01 px leaves room for other writers' rounding.
KEYPOINT_TOL_PX = 0.01


#: (field in scene_humans.json, its names, its SMPL-X source indices)
SCHEMAS = (
    ("keypoints_coco17", COCO17_NAMES, COCO17_FROM_SMPLX),
    ("keypoints_wholebody133", WHOLEBODY133_NAMES, WHOLEBODY133_FROM_SMPLX),
)

# COCO annotation field -> slice of the WholeBody-133 rows it holds.
COCO_FIELDS = {"keypoints": WHOLEBODY133_BODY,
               **{f"{part}_kpts": rows for part, rows in WHOLEBODY133_PARTS.items()}}

Report = Callable[[str, str], None]  # (item, what) -> None


def _inside(uv: np.ndarray, width: int, height: int, margin: float) -> np.ndarray:
    """Points at least ``margin`` pixels inside the image area [-0.5, W - 0.5) x [-0.5, H - 0.5)
    (the area :func:`~synthgen.groundtruth.projection.inside_image` uses; a negative margin
    widens it). NaN rows are False."""
    u, v = uv[:, 0], uv[:, 1]
    with np.errstate(invalid="ignore"):
        return ((u >= -0.5 + margin) & (u < width - 0.5 - margin)
                & (v >= -0.5 + margin) & (v < height - 0.5 - margin))


def _fmt(u: float, v: float) -> str:
    return f"({u:.3f}, {v:.3f})"


def check_rows(rows: np.ndarray, item: str, names, report: Report) -> int:
    """Row rules shared by every keypoint list: vis in {0, 1, 2}; vis 0 has u = v = 0.
    Returns the number of rows checked."""
    for i, (u, v, vis) in enumerate(rows):
        if vis not in (0, 1, 2):
            report(f"{item}[{i}] ({names[i]})", f"visibility {vis:g} is not 0, 1 or 2")
        elif vis == 0 and (u != 0 or v != 0):
            report(f"{item}[{i}] ({names[i]})",
                   f"unlabelled (v=0) point is {_fmt(u, v)}, not (0, 0)")
    return len(rows)


def check_person_projection(person: dict, K: np.ndarray, width: int, height: int, item: str,
                            report: Report) -> int:
    """Check one ``scene_humans`` person (as :func:`load_scene_humans` returns it) against the
    projection of its joints. ``item`` names the file, image and person. Returns the number of
    keypoints checked."""
    joints = np.asarray(person["joints_3d_cam"], dtype=np.float64).reshape(-1, 3)
    n = 0
    for field, names, _ in SCHEMAS:
        n += check_rows(np.asarray(person[field], dtype=np.float64), f"{item} {field}", names,
                        report)
    if len(joints) != NUM_SMPLX_JOINTS:
        report(f"{item} joints_3d_cam", f"{len(joints)} joints, expected {NUM_SMPLX_JOINTS}")
        return n
    for field, names, src in SCHEMAS:
        rows = np.asarray(person[field], dtype=np.float64)
        idx = np.flatnonzero(src < NUM_SMPLX_JOINTS)
        pts = joints[src[idx]]
        uv = project(K, pts)  # NaN for missing joints and joints behind the camera

        def source(i: int) -> tuple[str, str]:
            joint = SMPLX_JOINT_NAMES[src[i]]
            return f"joint {joint}", f"its joint {joint} is missing or behind the camera"

        check_projected_rows(rows, idx, uv, width, height, lambda i: f"{item} {field}[{i}] ({names[i]})",
                             source, report)
    # Landmark rows cannot be projected; they must at least lie on the image when labelled.
    for field, names, src in SCHEMAS:
        rows = np.asarray(person[field], dtype=np.float64)
        for i in np.flatnonzero(src >= NUM_SMPLX_JOINTS):
            u, v, vis = rows[i]
            if vis > 0 and not _inside(np.array([[u, v]]), width, height, -KEYPOINT_TOL_PX)[0]:
                report(f"{item} {field}[{i}] ({names[i]})",
                       f"labelled (v={vis:g}) at {_fmt(u, v)}, outside the {width}x{height} image")
    coco17 = np.asarray(person["keypoints_coco17"], dtype=np.float64)
    wb = np.asarray(person["keypoints_wholebody133"], dtype=np.float64)
    compare_rows(coco17, wb[:17], f"{item} keypoints_coco17", "keypoints_wholebody133[0:17]",
                 COCO17_NAMES, report)
    return n


def check_projected_rows(rows: np.ndarray, idx: np.ndarray, uv: np.ndarray, width: int, height: int,
                         where: Callable[[int], str], source: Callable[[int], tuple[str, str]],
                         report: Callable[[str, str], None]) -> list[int]:
    """Check keypoint rows ``rows[idx]`` (u, v, vis) against the projections ``uv`` (len(idx), 2;
    NaN where the source is missing or behind the camera) of their 3D sources: a labelled row
    must project into the image within :data:`KEYPOINT_TOL_PX` of its (u, v), an unlabelled one
    must not project into it. Inside / outside is decided with a ``KEYPOINT_TOL_PX`` margin, so a
    point on the image border is reported for neither answer. ``where(i)`` names row ``i``;
    ``source(i)`` gives (the source's name, the phrase saying it is missing). Returns the
    positions ``k`` (into ``idx``) of labelled rows that agree and lie inside the image."""
    finite = ~np.isnan(uv).any(axis=1)
    inner = finite & _inside(uv, width, height, KEYPOINT_TOL_PX)
    outer = finite & ~_inside(uv, width, height, -KEYPOINT_TOL_PX)
    agree = []
    for k, i in enumerate(idx):
        u, v, vis = rows[i]
        name, missing = source(i)
        if vis > 0:
            if not finite[k]:
                report(where(i), f"labelled (v={vis:g}) at {_fmt(u, v)} but {missing}")
            elif outer[k]:
                report(where(i), f"labelled (v={vis:g}) at {_fmt(u, v)} but {name} projects outside "
                                 f"the image, to {_fmt(*uv[k])}")
            else:
                d = float(np.hypot(u - uv[k, 0], v - uv[k, 1]))
                if not d <= KEYPOINT_TOL_PX:
                    report(where(i), f"{_fmt(u, v)} differs from the projection {_fmt(*uv[k])} of {name} "
                                     f"by {d:.3f} px")
                elif inner[k]:
                    agree.append(k)
        elif vis == 0 and inner[k]:
            report(where(i), f"unlabelled (v=0) but {name} projects into the image, to {_fmt(*uv[k])}")
    return agree


def compare_rows(a: np.ndarray, b: np.ndarray, item: str, other: str, names, report: Report,
                 offset: int = 0) -> None:
    """Report rows of ``a`` (named by ``item``) that differ from ``b`` (named ``other``) by more
    than :data:`KEYPOINT_TOL_PX` or in visibility."""
    for i, (ra, rb) in enumerate(zip(a, b)):
        if ra[2] != rb[2]:
            report(f"{item}[{i}] ({names[i + offset]})",
                   f"visibility {ra[2]:g} but {other} has {rb[2]:g}")
            continue
        d = float(np.hypot(ra[0] - rb[0], ra[1] - rb[1]))
        if not d <= KEYPOINT_TOL_PX:
            report(f"{item}[{i}] ({names[i + offset]})",
                   f"{_fmt(ra[0], ra[1])} but {other} has {_fmt(rb[0], rb[1])} ({d:.3f} px apart)")


def check_coco_person(ann: dict, person: dict, item: str, report: Report) -> int:
    """COCO person annotation ``ann`` (item names it) against its ``scene_humans`` entry: body
    ``keypoints`` = ``keypoints_coco17``, each ``*_kpts`` = its slice of ``keypoints_wholebody133``.
    Returns the number of keypoints compared."""
    coco17 = np.asarray(person["keypoints_coco17"], dtype=np.float64)
    wb = np.asarray(person["keypoints_wholebody133"], dtype=np.float64)
    n = 0
    for field, (a, b) in COCO_FIELDS.items():
        rows = np.asarray(ann[field], dtype=np.float64).reshape(-1, 3)
        ref = coco17 if field == "keypoints" else wb[a:b]
        names = COCO17_NAMES if field == "keypoints" else WHOLEBODY133_NAMES[a:b]
        compare_rows(rows, ref, f"{item} {field}", "scene_humans.json", names, report)
        n += len(rows)
    return n
