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


class WindowMask:
    """An (H, W) boolean mask kept as the window that holds its pixels.

    A frame's records hold two masks per instance; as full images that is ~25 MB per frame for a
    cluttered 640x480 scene, and a shard holds all its frames until they are written. numpy sees
    the full array (``np.asarray(m)``, ``np.testing``, any ufunc), built on demand; ``sum``,
    ``any``, ``shape`` and ``window``/``origin`` need no full array. ``origin`` = (x0, y0) is the
    image pixel of ``window[0, 0]``.
    """

    __slots__ = ("window", "origin", "shape")

    def __init__(self, window: np.ndarray, origin: tuple[int, int], shape: tuple[int, int]):
        self.window = np.asarray(window, dtype=bool)
        self.origin = (int(origin[0]), int(origin[1]))
        self.shape = (int(shape[0]), int(shape[1]))
        x0, y0 = self.origin
        h, w = self.window.shape
        if not (0 <= x0 and 0 <= y0 and x0 + w <= self.shape[1] and y0 + h <= self.shape[0]):
            raise ValueError(f"window {w}x{h} at {self.origin} does not fit an image of shape {self.shape}")

    @classmethod
    def from_full(cls, mask: np.ndarray) -> "WindowMask":
        """The tightest window of a full (H, W) mask."""
        m = np.asarray(mask, dtype=bool)
        rows = np.flatnonzero(m.any(axis=1))
        if rows.size == 0:
            return cls(np.zeros((0, 0), bool), (0, 0), m.shape)
        cols = np.flatnonzero(m.any(axis=0))
        return cls(m[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1], (cols[0], rows[0]), m.shape)

    @property
    def ndim(self) -> int:
        return 2

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(bool)

    def __array__(self, dtype=None, copy=None):
        full = self.filled(1, bool)
        return full if dtype is None else full.astype(dtype)

    def filled(self, value: int = 1, dtype=np.uint8, order: str = "C") -> np.ndarray:
        """The full (H, W) array of ``dtype`` and memory ``order`` with ``value`` inside and 0
        outside, built from the window without a full boolean intermediate (the writers' PNG
        and RLE inputs)."""
        full = np.zeros(self.shape, dtype=dtype, order=order)
        x0, y0 = self.origin
        h, w = self.window.shape
        win = self.window.astype(dtype)
        if value != 1:
            win *= value
        full[y0:y0 + h, x0:x0 + w] = win
        return full

    def sum(self) -> int:
        return int(np.count_nonzero(self.window))

    def any(self) -> bool:
        return bool(self.window.any())

    def __repr__(self) -> str:
        h, w = self.window.shape
        return f"WindowMask({self.sum()} px in {w}x{h} at {self.origin}, shape {self.shape})"


def bbox_from_mask(mask: np.ndarray) -> list[int]:
    """BOP box ``[x, y, w, h]`` (pixels, ``w = x_max - x_min``) of the non-zero pixels of ``mask``.

    Returns ``[-1, -1, -1, -1]`` when the mask is empty.
    """
    if isinstance(mask, WindowMask):
        b = bbox_from_mask(mask.window)
        return b if b[2] < 0 else [b[0] + mask.origin[0], b[1] + mask.origin[1], b[2], b[3]]
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
    if isinstance(mask, WindowMask):
        rle = mask_utils.encode(mask.filled(1, np.uint8, order="F"))
    else:
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
