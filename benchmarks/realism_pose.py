"""Pose-model worker of ``benchmarks/realism.py``: MediaPipe Pose (BlazePose GHUM 3D, "full"
landmark model) on a stack of square crops, in the Python that has ``mediapipe``.

    .realism/bin/python benchmarks/realism_pose.py CROPS.npy OUT.npz \
        [--min-detection-confidence 0.5]

``CROPS.npy`` is a ``N x S x S x 3`` uint8 RGB array (``numpy.save``; read with
``allow_pickle=False``). ``OUT.npz`` gets:

- ``detected``: ``N`` bool, True where the model returned a pose;
- ``landmarks``: ``N x 33 x 3`` float64, per landmark ``u, v`` in crop pixels (continuous frame:
  origin at the top-left corner of the crop's top-left pixel, pixel ``k`` spans ``[k, k + 1)``; the
  model's normalised ``x, y`` times ``S``) and the model's ``visibility`` in ``[0, 1]``; NaN where
  nothing was detected;
- ``names``: the 33 landmark names, lower case, from ``mediapipe``'s own ``PoseLandmark`` enum
  (``left_*`` is the person's left), so the caller maps by name rather than by index;
- ``mediapipe_version``.

The model runs offline: mediapipe's legacy ``solutions.pose`` with ``model_complexity=1`` reads
``pose_detection.tflite`` and ``pose_landmark_full.tflite`` from the wheel (complexities 0 and 2
would download their model at run time, so only 1 is used; the files are checked before the model
starts), ``static_image_mode=True`` (the detector runs on every crop; no tracking between crops),
no segmentation. This file imports only numpy and mediapipe: it runs in the separate ``.realism``
venv (``realism`` extra; mediapipe 0.10.14 needs protobuf < 5, the ray extra's
opentelemetry-proto >= 5). A bad input prints one line and exits with code 2.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

MODEL_FILES = ("modules/pose_detection/pose_detection.tflite",
               "modules/pose_landmark/pose_landmark_full.tflite")


def _fail(msg: str) -> None:
    print(f"realism_pose: {msg}", file=sys.stderr)
    raise SystemExit(2)


def run(crops: np.ndarray, min_detection_confidence: float) -> dict[str, np.ndarray]:
    """MediaPipe Pose on each crop (``N x S x S x 3`` uint8 RGB); the arrays of ``OUT.npz``."""
    try:
        import mediapipe as mp
        from mediapipe.python.solutions import pose as mp_pose
    except ImportError as exc:
        _fail(f"cannot import mediapipe's legacy solutions.pose ({exc}); install the realism "
              f"extra in its own venv (see benchmarks/realism.py)")
    root = Path(mp.__file__).parent
    for rel in MODEL_FILES:
        if not (root / rel).is_file():
            _fail(f"{root / rel}: model file missing from the mediapipe package (it would be "
                  f"downloaded at run time); expected mediapipe 0.10.14")
    names = [lm.name.lower() for lm in mp_pose.PoseLandmark]
    n, size = crops.shape[0], crops.shape[1]
    detected = np.zeros(n, bool)
    landmarks = np.full((n, len(names), 3), np.nan)
    with mp_pose.Pose(static_image_mode=True, model_complexity=1, smooth_landmarks=False,
                      enable_segmentation=False,
                      min_detection_confidence=min_detection_confidence) as model:
        for i in range(n):
            result = model.process(np.ascontiguousarray(crops[i]))
            if result.pose_landmarks is None:
                continue
            detected[i] = True
            landmarks[i] = [(lm.x * size, lm.y * size, lm.visibility)
                            for lm in result.pose_landmarks.landmark]
    return {"detected": detected, "landmarks": landmarks, "names": np.array(names),
            "mediapipe_version": np.array(mp.__version__)}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("crops", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--min-detection-confidence", type=float, default=0.5)
    a = ap.parse_args(argv)
    try:
        crops = np.load(a.crops, allow_pickle=False)
    except (OSError, ValueError) as exc:
        _fail(f"{a.crops}: cannot read as a .npy array ({exc})")
    if crops.dtype != np.uint8 or crops.ndim != 4 or crops.shape[3] != 3 or \
            crops.shape[1] != crops.shape[2]:
        _fail(f"{a.crops}: expected N x S x S x 3 uint8 crops, found {crops.dtype} "
              f"{'x'.join(map(str, crops.shape))}")
    if not 0.0 <= a.min_detection_confidence <= 1.0:
        _fail(f"--min-detection-confidence: expected a number in [0, 1], found "
              f"{a.min_detection_confidence}")
    np.savez(a.out, **run(crops, a.min_detection_confidence))


if __name__ == "__main__":
    main()
