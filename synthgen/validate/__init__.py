"""``synthgen validate OUT``: prove a dataset written by ``synthgen render`` is sound.

:func:`validate_dataset` checks, in order:

1. files: ``dataset.json``, ``manifest.jsonl``, ``camera.json``, ``models/models_info.json`` and
   every model PLY used by a ``scene_gt.json``, ``annotations/coco_<split>.json``, ``DONE`` in
   the root and in every scene folder; every image file (rgb, depth, depth_gt, mask, mask_visib)
   exists and decodes with the right size and dtype (uint16 depth, 8-bit 0/255 masks);
2. JSON schemas: required keys and types of every JSON file (:mod:`.schema`), with key paths;
3. consistency: COCO RLE area / bbox vs pycocotools and vs the ``mask_visib`` PNG, num_keypoints,
   ``scene_gt_info`` pixel counts, boxes and visib_fract vs the masks, manifest and
   ``dataset.json`` counts vs the scene folders, ``models_info`` vs the PLYs;
4. keypoints: 2-D keypoints vs the projection of their 3-D joints (within 0.01 px) and
   ``scene_humans.json`` vs the COCO file (:mod:`.keypoints`);
5. poses: every object instance (or, with ``sample``, a seeded sample of them) re-rendered alone
   at its labelled pose, compared with the amodal mask (IoU) and with ``depth_gt``
   (:mod:`.poses`), over ``workers`` processes; and the visibility flags of the joint keypoints
   re-derived from ``depth_gt`` and ``mask_visib_person`` (:mod:`.checks.humans`);
6. landmarks: every person instance (or, with ``sample``, a seeded sample of them) rebuilt with
   the dataset's body backend from its ``smplx`` parameters; its surface-landmark keypoints
   (nose, eyes, ears, feet, fingertips, face) checked against their projection and their
   visibility flags re-derived from ``depth_gt`` with the render's rule (:mod:`.landmarks`).
   Without the user's SMPL-X files an ``smplx`` dataset gets a counted note instead.

It returns a :class:`Report`; :func:`format_report` renders it as text. Bad data never raises:
every finding is a :class:`Problem`. Only an unusable ``out`` (:class:`DatasetUnreadable`) and a
missing GL context for the pose check (:class:`~synthgen.render.GLUnavailableError`) raise.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import InputError

from .checks import DatasetChecker
from .landmarks import check_landmarks
from .poses import DEPTH_TOL_MM, IOU_MIN, check_poses, spread_sample
from .report import CHECKS, PoseResult, Problem, Report, format_report

__all__ = ["CHECKS", "DEFAULT_SAMPLE", "DatasetUnreadable", "PoseResult", "Problem", "Report",
           "format_report", "validate_dataset"]

#: Object instances re-rendered by default: 0 = all of them (a sample of 50 missed a 1-degree
#: error in one instance of a large dataset).
DEFAULT_SAMPLE = 0


class DatasetUnreadable(InputError, ValueError):
    """``out`` is not a readable directory (the CLI's exit 2); ``str()`` is one line."""


def validate_dataset(out: Path, *, sample: int = DEFAULT_SAMPLE, seed: int = 0,
                     progress: Callable[[str, int, int], None] | None = None,
                     poses: bool = True, iou_min: float = IOU_MIN,
                     depth_tol_mm: float = DEPTH_TOL_MM, workers: int = 1) -> Report:
    """Check the dataset in folder ``out`` and return what was checked and every problem found.

    ``sample``: how many object instances the pose check re-renders (spread over scenes, chosen
    with ``numpy.random.default_rng(seed)``); ``0`` (the default, or less) re-renders every
    instance that has pixels in its amodal mask. The landmark check takes as many person
    instances, chosen the same way with ``numpy.random.default_rng([seed, 1])`` (all with 0). ``workers``: processes the pose check renders
    in (each with its own renderer; the report does not depend on it). ``poses=False`` skips the pose check (no GL needed).
    ``progress(stage, done, total)`` is called as work advances, with ``stage`` ``"scenes"``,
    ``"landmarks"`` or ``"poses"``. ``iou_min``: smallest IoU of a re-rendered silhouette with its ``mask/``
    PNG; ``depth_tol_mm``: how far (mm, beyond one depth step) ``depth_gt`` may lie behind
    the re-rendered model surface (see :mod:`synthgen.validate.poses`).

    Raises :class:`DatasetUnreadable` when ``out`` is missing, not a directory or unreadable, and
    :class:`~synthgen.render.GLUnavailableError` when the pose check has no GL context.
    """
    out = Path(out)
    if not out.exists():
        raise DatasetUnreadable(f"{out}: no such directory")
    if not out.is_dir():
        raise DatasetUnreadable(f"{out}: not a directory")
    try:
        os.listdir(out)
    except OSError as exc:
        raise DatasetUnreadable(f"{out}: cannot read: {exc.strerror or exc}") from None
    report = Report(out=out)
    checker = DatasetChecker(out, report, progress)
    instances, models = checker.run()
    # the same sampling as the pose check, from its own generator: the object sample does not
    # depend on whether there are people
    people = spread_sample(checker.ctx.persons, int(sample), np.random.default_rng([seed, 1]))
    check_landmarks(report, people, checker.ctx.humans_config, progress=progress)
    if poses:
        pool = [i for i in instances if i.px_mask > 0 and i.obj_id in models]
        chosen = spread_sample(pool, int(sample), np.random.default_rng(seed))
        check_poses(report, out, chosen, models, iou_min=iou_min, depth_tol_mm=depth_tol_mm,
                    progress=progress, workers=workers)
    return report
