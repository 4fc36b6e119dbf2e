"""Data plumbing of the object-pose transfer benchmark: BOP scenes (synthgen's and LM-O's) ->
object instances with 6-DoF poses, PVNet-style model keypoints (centre + farthest-point
samples), the fixed blocks of LM-O frames, and PnP.

Frames and units: poses map model points (mm) to the OpenCV camera frame (mm), as BOP writes
them. synthgen's model frame for a ``bop:`` asset is the BOP model's frame moved to its
bounding-box centre (``synthgen.assets.library``); :func:`to_source_frame` moves a synthgen pose
back, so that every pose here is in the frame of the model files the user supplied.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from synthgen.writers.bop import load_model_ply, load_models_info, load_scene_camera, load_scene_gt, load_scene_gt_info

# LM-O's 140 frames are consecutive video frames: the first 40 (by im_id) are the real
# fine-tuning block, the next 10 a gap (neighbours of training frames), the last 90 the test
# block that nothing trains on and no setting was chosen on.
LMO_FINETUNE_FRAMES = 40
LMO_GAP_FRAMES = 10


@dataclass
class Instance:
    """One object in one image: ``obj_id`` the model's id in its BOP folder (LM-O: 1, 5, 6, 8, 9,
    10, 11, 12), ``K`` (3, 3) px, ``R`` (3, 3), ``t`` (3,) mm model-to-camera (source model
    frame), ``bbox_visib`` [x, y, w, h] px, ``visib_fract`` in [0, 1], ``im_id``."""

    image: Path
    im_id: int
    obj_id: int
    K: np.ndarray
    R: np.ndarray
    t: np.ndarray
    bbox_visib: np.ndarray
    visib_fract: float


def _rgb(scene_dir: Path, im_id: int) -> Path:
    for ext in (".png", ".jpg", ".jpeg"):
        p = scene_dir / "rgb" / f"{im_id:06d}{ext}"
        if p.exists():
            return p
    raise FileNotFoundError(f"{scene_dir / 'rgb'}: no image {im_id:06d}.png or .jpg")


def load_bop_scene(scene_dir: Path, id_map: dict[int, int] | None = None, min_visib: float = 0.1,
                   centres: dict[int, np.ndarray] | None = None) -> list[Instance]:
    """Instances of one BOP scene folder (scene_gt, scene_camera, scene_gt_info, rgb/) with at
    least ``min_visib`` of their pixels visible (BOP'19's target rule). ``id_map``: the scene's
    obj_id -> source model id (instances of unmapped ids are skipped; None keeps ids).
    ``centres``: per source model id, the offset (mm) of the scene's model frame from the
    source frame (:func:`to_source_frame`)."""
    scene_dir = Path(scene_dir)
    gt = load_scene_gt(scene_dir / "scene_gt.json")
    info = load_scene_gt_info(scene_dir / "scene_gt_info.json")
    cams = load_scene_camera(scene_dir / "scene_camera.json")
    out = []
    for im_id in sorted(gt):
        for g, inf in zip(gt[im_id], info[im_id]):
            oid = int(g["obj_id"]) if id_map is None else id_map.get(int(g["obj_id"]))
            if oid is None or inf["visib_fract"] < min_visib:
                continue
            R, t = g["cam_R_m2c"], g["cam_t_m2c"].reshape(3)
            if centres is not None:
                R, t = to_source_frame(R, t, centres[oid])
            out.append(Instance(_rgb(scene_dir, im_id), im_id, oid, np.asarray(cams[im_id]["cam_K"]).reshape(3, 3),
                                R, t, np.asarray(inf["bbox_visib"], np.float64), float(inf["visib_fract"])))
    return out


def synthgen_source_ids(dataset_json: Path) -> dict[int, int]:
    """synthgen obj_id -> the BOP folder's own id, for every ``bop:<dir>#<id>`` object of a
    synthgen dataset (``dataset.json``'s ``objects``)."""
    objects = json.loads(Path(dataset_json).read_text())["objects"]
    out = {}
    for oid, o in objects.items():
        m = re.fullmatch(r"bop:.*#(\d+)(\?.*)?", o["ref"])
        if m:
            out[int(oid)] = int(m.group(1))
    return out


def bbox_centre(vertices: np.ndarray) -> np.ndarray:
    """Centre of the axis-aligned bounding box of ``vertices`` (N, 3)."""
    return (vertices.min(axis=0) + vertices.max(axis=0)) / 2.0


def to_source_frame(R: np.ndarray, t: np.ndarray, centre: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A pose of the bbox-centred model frame (p_centred = p_source - centre) as a pose of the
    source frame: R (p - c) + t = R p + (t - R c)."""
    return R, np.asarray(t, np.float64).reshape(3) - R @ centre


def farthest_points(vertices: np.ndarray, k: int, start: np.ndarray) -> np.ndarray:
    """``k`` vertices by farthest-point sampling, the first the vertex farthest from ``start``
    (deterministic: ties go to the lowest index)."""
    v = np.asarray(vertices, np.float64)
    d = np.linalg.norm(v - start, axis=1)
    picked = []
    for _ in range(k):
        i = int(np.argmax(d))
        picked.append(i)
        d = np.minimum(d, np.linalg.norm(v - v[i], axis=1))
    return v[picked]


def model_vertices(models_dir: Path, obj_ids: list[int]) -> dict[int, np.ndarray]:
    """Each model's vertices (N, 3), mm, source frame, read once from ``obj_<id>.ply``."""
    return {oid: load_model_ply(Path(models_dir) / f"obj_{oid:06d}.ply")["pts"] for oid in obj_ids}


def model_keypoints(vertices: np.ndarray, k: int = 8) -> np.ndarray:
    """(k + 1, 3) mm in the source frame: the bounding-box centre, then ``k``
    farthest-point-sampled vertices (PVNet's keypoints)."""
    c = bbox_centre(vertices)
    return np.concatenate([c[None], farthest_points(vertices, k, c)])


def subsample(vertices: np.ndarray, n: int = 1000) -> np.ndarray:
    """Up to ``n`` vertices (every len/n-th), for ADD(-S)."""
    return vertices[:: max(1, len(vertices) // n)]


def load_info(models_dir: Path) -> dict[int, dict]:
    return load_models_info(Path(models_dir) / "models_info.json")


def project(K: np.ndarray, R: np.ndarray, t: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Pixels (N, 2) of model points (N, 3) mm under the pose (OpenCV pinhole)."""
    cam = pts @ R.T + t.reshape(1, 3)
    uv = cam @ K.T
    return uv[:, :2] / uv[:, 2:3]


def real_blocks(instances: list[Instance], n_finetune: int = LMO_FINETUNE_FRAMES, gap: int = LMO_GAP_FRAMES
                ) -> tuple[list[Instance], list[Instance]]:
    """(fine-tuning block, test block) by frame order: the first ``n_finetune`` frames, then
    after ``gap`` frames all the rest."""
    frames = sorted({i.im_id for i in instances})
    ft = set(frames[:n_finetune])
    test = set(frames[n_finetune + gap:])
    return [i for i in instances if i.im_id in ft], [i for i in instances if i.im_id in test]


def window(bbox: np.ndarray, expand: float = 1.5, min_side: float = 24.0) -> tuple[np.ndarray, float]:
    """Centre and side (px) of the square crop window around a visible box [x, y, w, h] (what a
    detector would give: the visible part, not the projected model)."""
    x, y, w, h = bbox
    # BOP boxes span pixels x .. x + w - 1; centre in pixel-centre coordinates
    return np.array([x + (w - 1) / 2.0, y + (h - 1) / 2.0]), max(float(max(w, h)) * expand, min_side)


def solve_pose(K: np.ndarray, pts3d: np.ndarray, pts2d: np.ndarray, conf: np.ndarray,
               min_conf: float = 0.1, reproj_px: float = 5.0) -> tuple[np.ndarray, np.ndarray] | None:
    """Pose (R, t mm) from 2D-3D keypoint matches with peak value >= ``min_conf``: OpenCV's
    EPnP in RANSAC, refined by Levenberg-Marquardt on the inliers. None with < 6 usable points."""
    import cv2

    use = conf >= min_conf
    if use.sum() < 6:
        return None
    obj = np.ascontiguousarray(pts3d[use], np.float64)
    img = np.ascontiguousarray(pts2d[use], np.float64)
    ok, rvec, tvec, inliers = cv2.solvePnPRansac(obj, img, K, None, flags=cv2.SOLVEPNP_EPNP,
                                                 reprojectionError=reproj_px, iterationsCount=100)
    if not ok or inliers is None or len(inliers) < 4:
        return None
    inl = inliers.ravel()
    rvec, tvec = cv2.solvePnPRefineLM(obj[inl], img[inl], K, None, rvec, tvec)
    R, _ = cv2.Rodrigues(rvec)
    return R, tvec.reshape(3)
