"""What the joint-list readers (:mod:`.lsp`, :mod:`.mpii`) share: a person annotation built from
one person's joints, its box taken from the labelled joints, and the image size read from the
file."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

from synthgen.mix.keypoints import KeypointMap
from synthgen.mix.sources.annotations import harmonise


def labelled_box(rows: Sequence[Sequence[float]], width: int, height: int) -> list[float] | None:
    """COCO ``[x, y, w, h]`` (pixels) of the labelled (v > 0) joints ``rows`` (``[x, y, v]``),
    clipped to the ``width`` x ``height`` image; None when no joint is labelled.

    The tight box of the points, without padding: these sets have no person box or
    segmentation, and a joint box is what keypoint-only COCO converters write. Labelled joints
    may lie outside the image (an annotator's guess); the box is clipped to it, the joints are
    not.
    """
    pts = [(float(r[0]), float(r[1])) for r in rows if r[2] > 0]
    if not pts:
        return None
    x0 = min(max(min(p[0] for p in pts), 0.0), float(width))
    y0 = min(max(min(p[1] for p in pts), 0.0), float(height))
    x1 = min(max(max(p[0] for p in pts), 0.0), float(width))
    y1 = min(max(max(p[1] for p in pts), 0.0), float(height))
    return [x0, y0, x1 - x0, y1 - y0]


def person_annotation(rows: list[list[Any]], kmap: KeypointMap, width: int, height: int,
                      wholebody_mode: str, **extra: Any) -> dict[str, Any] | None:
    """One COCO person annotation (category 1) from joints ``rows`` in ``kmap``'s schema:
    keypoints mapped to COCO-17 by name, ``bbox`` = :func:`labelled_box`, ``area`` its
    ``w * h`` (as COCO's converters do without a segmentation), ``iscrowd`` 0, ``extra``
    fields kept. None when no joint is labelled (no geometry)."""
    box = labelled_box(rows, width, height)
    if box is None:
        return None
    flat = [v for r in rows for v in r]
    ann = {"category_id": 1, "iscrowd": 0, "keypoints": flat, "bbox": box,
           "area": box[2] * box[3], **extra}
    return harmonise(ann, kmap, False, wholebody_mode)


def finite(v: Any) -> bool:
    """A real, finite number (a NumPy scalar included; not a bool or a string)."""
    try:
        return not isinstance(v, (bool, str)) and math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def image_size(path: Path) -> tuple[int, int] | str:
    """(width, height) of an image file (header only), or what is wrong with it."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            return int(im.size[0]), int(im.size[1])
    except OSError as exc:
        return f"not a readable image: {exc}"
