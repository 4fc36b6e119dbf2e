"""Mask and box helpers (pure numpy + pycocotools).

Two box conventions meet here, on purpose kept apart by name:

- **BOP boxes** (:func:`bbox_from_mask`): integer ``[x, y, w, h]`` of the mask's pixel indices,
  with ``w = x_max - x_min`` and ``h = y_max - y_min`` (no +1, as bop_toolkit's ``calc_2d_bbox``),
  ``[-1, -1, -1, -1]`` for an empty mask. Used in ``scene_gt_info.json`` and ``scene_humans.json``.
- **COCO boxes** (:func:`rle_bbox`): float ``[x, y, w, h]`` from ``pycocotools.mask.toBbox``, in
  pixel-*edge* coordinates (pixel column ``i`` spans ``[i, i + 1)``), so ``w`` is the number of
  columns covered. This is what COCO tools expect beside RLE segmentations; detectron2 and mmpose
  read keypoints as pixel indices (centre convention) and boxes/masks as edges, so both agree.

Masks are boolean (or 0/1) ``(H, W)`` arrays; rows are image rows (v), columns image columns (u).
"""
from __future__ import annotations

import numpy as np
from pycocotools import mask as mask_utils

EMPTY_BOP_BOX: list[int] = [-1, -1, -1, -1]


def bbox_from_mask(mask: np.ndarray) -> list[int]:
    """BOP box ``[x, y, w, h]`` (pixels, ``w = x_max - x_min``) of the non-zero pixels of ``mask``.

    Returns ``[-1, -1, -1, -1]`` when the mask is empty.
    """
    m = np.asarray(mask)
    if m.ndim != 2:
        raise ValueError(f"mask must be 2-D (H, W), got shape {m.shape}")
    rows = np.flatnonzero(m.any(axis=1))
    if rows.size == 0:
        return list(EMPTY_BOP_BOX)
    cols = np.flatnonzero(m.any(axis=0))
    x0, x1 = int(cols[0]), int(cols[-1])
    y0, y1 = int(rows[0]), int(rows[-1])
    return [x0, y0, x1 - x0, y1 - y0]


def mask_to_rle(mask: np.ndarray) -> dict:
    """COCO RLE ``{"size": [H, W], "counts": str}`` of a boolean ``(H, W)`` mask.

    pycocotools encodes column-major data, hence the Fortran-ordered uint8 copy; ``counts`` is
    decoded to ``str`` so the result is JSON-serialisable and byte-stable.
    """
    m = np.asarray(mask)
    if m.ndim != 2:
        raise ValueError(f"mask must be 2-D (H, W), got shape {m.shape}")
    rle = mask_utils.encode(np.asfortranarray(m != 0, dtype=np.uint8))
    return {"size": [int(rle["size"][0]), int(rle["size"][1])], "counts": rle["counts"].decode("ascii")}


def rle_to_mask(rle: dict) -> np.ndarray:
    """Decode a COCO RLE (``counts`` as str or bytes) to a boolean ``(H, W)`` mask."""
    return mask_utils.decode(_as_coco_rle(rle)).astype(bool)


def rle_area(rle: dict) -> int:
    """Number of foreground pixels of a COCO RLE (``pycocotools.mask.area``)."""
    return int(mask_utils.area(_as_coco_rle(rle)))


def rle_bbox(rle: dict) -> list[float]:
    """COCO box ``[x, y, w, h]`` (floats, pixel-edge convention) of an RLE via ``toBbox``.

    An empty RLE gives ``[0.0, 0.0, 0.0, 0.0]`` (pycocotools' answer).
    """
    return [float(v) for v in mask_utils.toBbox(_as_coco_rle(rle))]


def _as_coco_rle(rle: dict) -> dict:
    # pycocotools' C layer wants bytes counts; accept the str form we store in JSON.
    counts = rle["counts"]
    if isinstance(counts, str):
        counts = counts.encode("ascii")
    return {"size": [int(rle["size"][0]), int(rle["size"][1])], "counts": counts}
