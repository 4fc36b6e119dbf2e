"""``scene_humans.json``: the per-image human ground truth of one BOP scene (synthgen's own file).

Layout (docs: ``dataset-layout.md``): ``{"units": "m", "<im_id>": [person, ...]}``, one entry per
person in the scene, visible or not. Everything 3-D is in **metres** (SMPL-X's unit):
``cam_R_w2c`` (3x3 row-major, 9 numbers) and ``cam_t_w2c`` (3, metres) are the camera of the
image, ``joints_3d_cam`` are SMPL-X joints in the OpenCV camera frame, ``smplx`` holds axis-angle
parameters in the world frame (Z up) for the SMPL-X-shaped bodies (``body_model`` mannequin or
smplx). ``body_params`` holds the body model's own exact parameters: for an ``anny`` body its
phenotype and the SMPL-X-convention pose that drives it (``synthgen.scene.people.anny_record``),
and such a person has no ``smplx`` block (SMPL-X parameters would not reproduce it); for the
SMPL-X-shaped bodies the same numbers as ``smplx``. Keypoints are ``[u, v, vis]`` rows in pixels (OpenCV/BOP
pixel-centre convention) with ``vis`` an integer in {0, 1, 2}. Joints with no source (NaN in the
record) are written as ``null`` rows and read back as NaN.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from synthgen.groundtruth.records import PersonGT
from synthgen.writers.jsonio import load_json, nan_array, save_json

UNITS = "m"
JOINT_NAMES_SMPLX55 = "smplx55"


def keypoint_rows(kpts: np.ndarray) -> list[list[float | int]]:
    """(K, 3) keypoints -> ``[[u, v, vis], ...]`` with ``vis`` as int and ``u = v = 0`` when
    ``vis == 0`` (COCO's rule for unlabelled points)."""
    arr = np.asarray(kpts, dtype=np.float64).reshape(-1, 3)
    rows: list[list[float | int]] = []
    for u, v, vis in arr:
        vi = int(round(vis))
        if vi not in (0, 1, 2):
            raise ValueError(f"keypoint visibility must be 0, 1 or 2, got {vis}")
        rows.append([0, 0, 0] if vi == 0 else [float(u), float(v), vi])
    return rows


def person_entry(person: PersonGT, R_w2c: np.ndarray, t_w2c_m: np.ndarray) -> dict[str, Any]:
    """The ``scene_humans.json`` entry of one person in one image (camera pose in metres)."""
    joints = np.asarray(person.joints_3d_cam, dtype=np.float64).reshape(-1, 3)
    return {
        "person_id": int(person.person_id),
        "body_model": person.body_model,
        "gender": person.gender,
        **({"smplx": {k: np.asarray(v, dtype=np.float64).reshape(-1) for k, v in person.smplx.items()}}
           if person.smplx else {}),
        # the body model's own exact parameters (the spec's body_params): Anny's block, or the
        # SMPL-X parameters themselves for the SMPL-X-shaped bodies
        "body_params": person.anny if person.anny is not None else
        {k: np.asarray(v, dtype=np.float64).reshape(-1) for k, v in person.smplx.items()},
        **({"appearance": person.appearance} if person.appearance is not None else {}),
        "cam_R_w2c": np.asarray(R_w2c, dtype=np.float64).reshape(-1),
        "cam_t_w2c": np.asarray(t_w2c_m, dtype=np.float64).reshape(-1),
        # A row with any NaN is "no joint": written as null, not as three separate nulls.
        "joints_3d_cam": [None if not np.all(np.isfinite(j)) else j for j in joints],
        "joint_names": JOINT_NAMES_SMPLX55,
        "keypoints_coco17": keypoint_rows(person.keypoints_coco17),
        "keypoints_wholebody133": keypoint_rows(person.keypoints_wholebody133),
        "bbox_visib": [int(v) for v in person.bbox_visib],
        "bbox_amodal": [int(v) for v in person.bbox_amodal],
        "visib_fract": float(person.visib_fract),
        # BOP gt_info semantics (bop_toolkit calc_gt_info), as for objects; bbox_amodal is bbox_obj
        "px_count_all": int(person.px_count_all),
        "px_count_valid": int(person.px_count_valid),
        "px_count_visib": int(person.px_count_visib),
        "held_object_gt_ids": [int(g) for g in person.held_object_gt_ids],
    }


def save_scene_humans(path: str | Path, humans: dict[int, list[dict[str, Any]]]) -> None:
    """Write ``scene_humans.json`` from ``{im_id: [person entry, ...]}`` (see :func:`person_entry`)
    with ``"units": "m"`` first."""
    content: dict[Any, Any] = {"units": UNITS}
    for im_id, persons in humans.items():
        content[int(im_id)] = persons
    save_json(path, content)


def load_scene_humans(path: str | Path) -> dict[int, list[dict[str, Any]]]:
    """Read ``scene_humans.json`` as ``{im_id: [person, ...]}`` (the ``units`` key is checked and
    dropped). Arrays come back as float64 numpy: ``cam_R_w2c`` (3, 3), ``cam_t_w2c`` (3,) m,
    ``joints_3d_cam`` (J, 3) m with NaN rows for null, ``keypoints_coco17`` (17, 3),
    ``keypoints_wholebody133`` (133, 3), each ``smplx`` parameter and each ``body_params``
    pose parameter (n,)."""
    data = load_json(path, keys_to_int=True)
    units = data.pop("units", None)
    if units != UNITS:
        raise ValueError(f"{path}: expected \"units\": \"{UNITS}\", found {units!r}")
    for persons in data.values():
        for p in persons:
            p["cam_R_w2c"] = np.asarray(p["cam_R_w2c"], dtype=np.float64).reshape(3, 3)
            p["cam_t_w2c"] = np.asarray(p["cam_t_w2c"], dtype=np.float64).reshape(3)
            p["joints_3d_cam"] = nan_array(
                [[None] * 3 if j is None else j for j in p["joints_3d_cam"]], (-1, 3))
            p["keypoints_coco17"] = np.asarray(p["keypoints_coco17"], np.float64).reshape(-1, 3)
            p["keypoints_wholebody133"] = np.asarray(
                p["keypoints_wholebody133"], np.float64).reshape(-1, 3)
            if "smplx" in p:
                p["smplx"] = {k: np.asarray(v, dtype=np.float64) for k, v in p["smplx"].items()}
            bp = p.get("body_params")
            if isinstance(bp, dict) and "pose" in bp:   # anny
                bp["pose"] = {k: np.asarray(v, dtype=np.float64) for k, v in bp["pose"].items()}
            elif isinstance(bp, dict):
                p["body_params"] = {k: np.asarray(v, dtype=np.float64) for k, v in bp.items()}
    return data
