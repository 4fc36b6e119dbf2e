"""Mask/box helpers: BOP boxes, COCO RLE encode/decode, area and toBbox wrappers."""
from __future__ import annotations

import json

import numpy as np
import pytest

from synthgen.groundtruth.masks import (bbox_from_mask, mask_to_rle, rle_area, rle_bbox,
                                        rle_to_mask)


def _rect(h: int, w: int, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    m = np.zeros((h, w), dtype=bool)
    m[y0:y1 + 1, x0:x1 + 1] = True  # inclusive pixel ranges
    return m


def test_bbox_from_mask_bop_convention_no_plus_one():
    m = _rect(24, 32, 3, 10, 5, 20)
    assert bbox_from_mask(m) == [5, 3, 15, 7]


def test_bbox_from_mask_single_pixel_has_zero_size():
    m = np.zeros((5, 6), dtype=np.uint8)
    m[4, 2] = 1
    assert bbox_from_mask(m) == [2, 4, 0, 0]


def test_bbox_from_mask_empty_is_minus_one():
    assert bbox_from_mask(np.zeros((7, 9), dtype=bool)) == [-1, -1, -1, -1]


def test_bbox_from_mask_two_blobs_spans_both():
    m = np.zeros((10, 10), dtype=bool)
    m[1, 8] = True
    m[7, 2] = True
    assert bbox_from_mask(m) == [2, 1, 6, 6]


def test_bbox_from_mask_rejects_3d():
    with pytest.raises(ValueError):
        bbox_from_mask(np.zeros((2, 3, 3), dtype=bool))


def test_rle_roundtrip_random_masks_and_str_counts():
    rng = np.random.default_rng(0)
    for shape in [(24, 32), (1, 7), (13, 1), (31, 17)]:
        m = rng.random(shape) < 0.4
        rle = mask_to_rle(m)
        assert isinstance(rle["counts"], str)
        assert rle["size"] == [shape[0], shape[1]]
        json.dumps(rle)  # JSON-serialisable as is
        np.testing.assert_array_equal(rle_to_mask(rle), m)
        assert rle_area(rle) == int(m.sum())


def test_rle_of_non_contiguous_view_is_correct():
    # A transposed / strided view must still encode the pixels it shows (Fortran copy inside).
    rng = np.random.default_rng(1)
    base = rng.random((32, 48)) < 0.5
    view = base.T[::2, 1::3]
    np.testing.assert_array_equal(rle_to_mask(mask_to_rle(view)), view)


def test_rle_bbox_is_coco_edge_box_of_bop_box():
    m = _rect(24, 32, 3, 10, 5, 20)
    rle = mask_to_rle(m)
    x, y, w, h = bbox_from_mask(m)
    # COCO box counts covered columns/rows (pixel-edge convention): BOP w, h plus one.
    assert rle_bbox(rle) == [float(x), float(y), float(w + 1), float(h + 1)]
    assert all(isinstance(v, float) for v in rle_bbox(rle))
    assert rle_area(rle) == 8 * 16


def test_rle_of_empty_mask_has_zero_area_and_box():
    rle = mask_to_rle(np.zeros((4, 5), dtype=bool))
    assert rle_area(rle) == 0
    assert rle_bbox(rle) == [0.0, 0.0, 0.0, 0.0]


def test_window_mask_is_the_full_mask_to_numpy_and_the_writers(tmp_path):
    """A WindowMask keeps only the window of its pixels but reads as the full (H, W) mask:
    np.asarray, sums, BOP boxes, COCO RLE and the BOP mask PNG's bytes equal those of the full
    array (the writers build their inputs from the window)."""
    from synthgen.groundtruth.masks import WindowMask, bbox_from_mask, mask_to_rle
    from synthgen.writers.bop import save_mask

    rng = np.random.default_rng(3)
    for _ in range(20):
        full = np.zeros((37, 53), bool)
        h, w = rng.integers(0, 12, size=2)
        y, x = rng.integers(0, 37 - h), rng.integers(0, 53 - w)
        full[y:y + h, x:x + w] = rng.random((h, w)) < 0.6
        wm = WindowMask.from_full(full)
        np.testing.assert_array_equal(np.asarray(wm), full)
        assert wm.shape == full.shape and wm.sum() == full.sum() and wm.any() == full.any()
        assert wm.window.size <= max(h * w, 0) or not full.any()
        assert bbox_from_mask(wm) == bbox_from_mask(full)
        assert mask_to_rle(wm) == mask_to_rle(full)
        f255 = wm.filled(255)
        assert f255.dtype == np.uint8 and set(np.unique(f255)) <= {0, 255}
        np.testing.assert_array_equal(f255, full.astype(np.uint8) * 255)
        assert wm.filled(1, order="F").flags.f_contiguous
        save_mask(tmp_path / "w.png", wm)
        save_mask(tmp_path / "f.png", full)
        assert (tmp_path / "w.png").read_bytes() == (tmp_path / "f.png").read_bytes()
    with pytest.raises(ValueError, match="does not fit"):
        WindowMask(np.ones((5, 5), bool), (50, 0), (37, 53))
