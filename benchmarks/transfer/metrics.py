"""Metrics of the transfer benchmarks (pure numpy): PCK for 2D keypoints, ADD / ADD-S for 6-DoF
poses, and the mean-and-spread summary of seeds.

Units: PCK works in pixels of the image the keypoints were labelled in; ADD(-S) in the units of
the model points and translations handed in (millimetres for BOP).
"""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree


def joint_box_size(keypoints: np.ndarray) -> np.ndarray:
    """Per person, the longer side of the box of its labelled joints, pixels.

    ``keypoints`` (P, J, 3): x, y, flag (flag > 0 = labelled). A person with fewer than two
    labelled joints gets 0 (no scale: none of its joints can be scored)."""
    kp = np.asarray(keypoints, np.float64)
    out = np.zeros(len(kp))
    for i, person in enumerate(kp):
        lab = person[person[:, 2] > 0, :2]
        if len(lab) >= 2:
            out[i] = float((lab.max(axis=0) - lab.min(axis=0)).max())
    return out


def pck(pred: np.ndarray, gt: np.ndarray, alpha: float = 0.2) -> tuple[float, np.ndarray]:
    """PCK@alpha: the fraction of labelled joints predicted within ``alpha`` times the longer
    side of the person's labelled-joint box (:func:`joint_box_size`).

    ``pred`` (P, J, 2) predicted pixels; ``gt`` (P, J, 3) labelled pixels with flags. Returns the
    overall fraction (over every labelled joint of every scorable person) and the per-joint
    fractions (J,), NaN for a joint never labelled."""
    pred = np.asarray(pred, np.float64)[..., :2]
    gt = np.asarray(gt, np.float64)
    size = joint_box_size(gt)
    scored = (gt[..., 2] > 0) & (size[:, None] > 0)
    dist = np.linalg.norm(pred - gt[..., :2], axis=-1)
    hit = (dist <= alpha * size[:, None]) & scored
    n = scored.sum(axis=0)
    per_joint = np.where(n > 0, hit.sum(axis=0) / np.maximum(n, 1), np.nan)
    total = float(hit.sum() / scored.sum()) if scored.any() else float("nan")
    return total, per_joint


def transform_points(R: np.ndarray, t: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """``R @ p + t`` for every row of ``pts`` (N, 3); ``t`` (3,) or (3, 1)."""
    return np.asarray(pts, np.float64) @ np.asarray(R, np.float64).T + np.asarray(t, np.float64).reshape(1, 3)


def add(R_est, t_est, R_gt, t_gt, pts) -> float:
    """ADD (Hinterstoisser et al. 2012): mean distance between the model points under the
    estimated and the ground-truth pose."""
    return float(np.linalg.norm(transform_points(R_est, t_est, pts) - transform_points(R_gt, t_gt, pts),
                                axis=1).mean())


def adds(R_est, t_est, R_gt, t_gt, pts) -> float:
    """ADD-S (ADI): mean distance from each ground-truth-posed point to the nearest
    estimated-posed point; the metric for objects with symmetries."""
    est = transform_points(R_est, t_est, pts)
    gt = transform_points(R_gt, t_gt, pts)
    d, _ = cKDTree(est).query(gt, k=1)
    return float(np.mean(d))


def add_or_adds(R_est, t_est, R_gt, t_gt, pts, symmetric: bool) -> float:
    """ADD(-S): ADD-S for an object with symmetries (``symmetries_discrete`` or
    ``symmetries_continuous`` in its models_info entry), ADD otherwise."""
    return (adds if symmetric else add)(R_est, t_est, R_gt, t_gt, pts)


def is_symmetric(model_info: dict) -> bool:
    """Whether a BOP models_info entry declares any symmetry."""
    return bool(model_info.get("symmetries_discrete") or model_info.get("symmetries_continuous"))


def mean_spread(values) -> tuple[float, float]:
    """Mean and half the max-min range of per-seed values (the spread the tables print)."""
    v = np.asarray(list(values), np.float64)
    return float(v.mean()), float((v.max() - v.min()) / 2.0)
