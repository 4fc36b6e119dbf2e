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
