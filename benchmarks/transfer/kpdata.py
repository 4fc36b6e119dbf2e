"""Data plumbing of the keypoint transfer benchmark: COCO person files -> person crops with the
12 limb joints LSP and COCO share, and the fixed blocks of LSPET images (pure numpy + Pillow).

Coordinates: image pixels as the COCO file gives them. A crop is a square window around the box
of the person's labelled joints (side ``expand`` x its longer side, at least ``min_side`` px),
enlarged by ``context`` so that training augmentation can rotate and scale without running out
of image (see :mod:`heatmaps`).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from heatmaps import CropSet, crop_windows

# COCO-17 rows of the 12 joints LSP and COCO share, in COCO order: shoulders, elbows, wrists,
# hips, knees, ankles (left, right each)
COCO_LIMB_ROWS = tuple(range(5, 17))
LIMB_NAMES = ("left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
              "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle")
# mirror image of each of the 12 (left <-> right)
FLIP_ORDER = (1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10)

# LSPET images 4001-5000 (1-based, as in im04001.jpg) are the held-out test block: never
# trained on, never used to choose a setting. Training draws from 1-4000.
LSPET_TEST_BLOCK = (4001, 5000)
LSPET_TRAIN_POOL = (1, 4000)


@dataclass
class Person:
    """One labelled person: its image and the 12 limb joints (12, 3) x, y (pixels), flag
    (1 = labelled, 0 = not)."""

    image: Path
    joints: np.ndarray


def load_coco_people(coco_json: Path, image_root: Path | None = None, min_joints: int = 6,
                     min_size: float = 24.0) -> list[Person]:
    """Persons of a COCO keypoint file with at least ``min_joints`` of the 12 limb joints labelled
    (COCO v 1 or 2: labelled, occluded or not, as LSP labels them) and a joint box of at least
    ``min_size`` px. ``image_root``: folder of relative ``file_name``s (default the JSON's folder)."""
    coco_json = Path(coco_json)
    data = json.loads(coco_json.read_text())
    root = Path(image_root) if image_root is not None else coco_json.parent
    person_cats = {c["id"] for c in data["categories"] if c.get("name") == "person"}
    files = {im["id"]: im["file_name"] for im in data["images"]}
    out = []
    for ann in data["annotations"]:
        if ann.get("category_id") not in person_cats or ann.get("iscrowd", 0):
            continue
        kp = np.asarray(ann.get("keypoints") or [0] * 51, np.float64).reshape(17, 3)[list(COCO_LIMB_ROWS)]
        kp[:, 2] = kp[:, 2] > 0
        if kp[:, 2].sum() < min_joints:
            continue
        lab = kp[kp[:, 2] > 0, :2]
        if (lab.max(axis=0) - lab.min(axis=0)).max() < min_size:
            continue
        path = Path(files[ann["image_id"]])
        out.append(Person(path if path.is_absolute() else root / path, kp))
    return out


def lspet_number(path: Path) -> int:
    """The 1-based image number of an LSP/LSPET file name (``im04001.jpg`` -> 4001)."""
    m = re.fullmatch(r"im0*(\d+)\.\w+", Path(path).name)
    if m is None:
        raise ValueError(f"{path}: not an LSP/LSPET image name (imNNNN.jpg)")
    return int(m.group(1))


def split_blocks(people: list[Person], test_block=LSPET_TEST_BLOCK, pool=LSPET_TRAIN_POOL
                 ) -> tuple[list[Person], list[Person]]:
    """(training pool, test block) of LSPET persons by image number: contiguous blocks, never
    interleaved, so no test image is a near-duplicate neighbour of a training one."""
    train = [p for p in people if pool[0] <= lspet_number(p.image) <= pool[1]]
    test = [p for p in people if test_block[0] <= lspet_number(p.image) <= test_block[1]]
    return train, test


def real_subset(pool: list[Person], n: int, seed: int) -> list[Person]:
    """The first ``n`` of a seeded permutation of the training pool: for one seed the subsets are
    nested (100 inside 500 inside 2000), and scratch and fine-tuning see the same images."""
    if n > len(pool):
        raise ValueError(f"asked for {n} real training persons, the pool has {len(pool)}")
    order = np.random.default_rng(np.random.SeedSequence([seed, 1501])).permutation(len(pool))
    return [pool[i] for i in order[:n]]


def person_window(joints: np.ndarray, expand: float = 1.25, min_side: float = 32.0) -> tuple[np.ndarray, float]:
    """Centre (2,) and side (px) of the square person window around the labelled joints."""
    lab = joints[joints[:, 2] > 0, :2]
    lo, hi = lab.min(axis=0), lab.max(axis=0)
    return (lo + hi) / 2.0, max(float((hi - lo).max()) * expand, min_side)


def make_crops(people: list[Person], size: int, context: float = 1.5, expand: float = 1.25) -> CropSet:
    """Every person's window (:func:`person_window`) as a crop for a ``size`` px model input."""
    windows = [person_window(p.joints, expand) for p in people]
    return crop_windows([p.image for p in people], np.array([w[0] for w in windows]).reshape(-1, 2),
                        np.array([w[1] for w in windows]), np.stack([p.joints for p in people]), size, context)
