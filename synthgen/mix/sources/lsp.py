"""Leeds Sports Pose ``joints.mat`` files (``--lsp``): LSP (2,000 images) and LSP Extended
(LSPET, 10,000 images), one annotated person per image, 14 joints (:data:`LSP14_NAMES`).

The MATLAB variable ``joints`` comes in two orientations, told apart by its shape, and its third
value per joint means a different thing in each:

- ``14 x 3 x N`` (LSPET): ``x, y, flag`` with flag 1 = labelled, 0 = not labelled (mostly
  outside the image). LSPET's Mechanical Turk labels say nothing about occlusion, so a labelled
  joint is written v=2 and an unlabelled one ``[0, 0, 0]``; v=1 never occurs.
- ``3 x 14 x N`` (LSP): every joint is labelled (occluded ones at the annotator's estimate) and
  the flag is 1 where the joint is *occluded*, 0 where it is visible (the LSP README calls it a
  visibility flag; its readers, e.g. the LSP data preparation of pytorch-pose's ``gen_lsp.m``,
  use ``1 - flag`` as visibility). So flag 0 is v=2 and flag 1 is v=1 (labelled, not visible).

A ``N`` of one may be stored without its axis (``14 x 3`` or ``3 x 14``). Coordinates are pixels
as in the file (MATLAB's 1-based pixel centres; not shifted). Image ``k`` (1-based) is
``im%04d.jpg`` (LSP) or ``im%05d.jpg`` (LSPET) under the image root; whichever exists is taken
(the orientation's own form first). The box is the labelled joints' tight box clipped to the
image (:func:`.joints.labelled_box`), ``area`` its ``w * h``; there is no segmentation. ``neck``
and ``head_top`` have no COCO-17 counterpart and are dropped (counted in the report).

Bad entries (one line naming the file and the image): a joint value that is NaN or infinite
(``bad_number``), a flag that is not 0 or 1 or an image without a labelled joint (``bad_entry``),
a missing or unreadable image (``missing_image``). A file scipy cannot read, without a
``joints`` variable or with ``joints`` of another shape is an error on its own.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from synthgen.mix.config import MixError, SourceSpec
from synthgen.mix.keypoints import LSP14_NAMES, KeypointMap
from synthgen.mix.sources.base import BadLog, Entry, LoadedSource, resolve_image
from synthgen.mix.sources.joints import image_size, person_annotation


def read_mat(path: Path, squeeze: bool = False) -> dict[str, Any]:
    """The variables of a MATLAB .mat file (``scipy.io.loadmat``: v4 to v7.2 files; it builds
    arrays and never unpickles; structs as attribute objects, unit axes squeezed with
    ``squeeze``); an unreadable file is a one-line :class:`MixError`."""
    import scipy.io
    from scipy.io.matlab import MatReadError

    try:
        data = scipy.io.loadmat(str(path), struct_as_record=False, squeeze_me=squeeze)
    except FileNotFoundError:
        raise MixError(f"{path}: file not found") from None
    except NotImplementedError as exc:  # MATLAB v7.3 files are HDF5
        raise MixError(f"{path}: cannot read this .mat file ({exc}); save it with "
                       f"MATLAB's -v7 option") from None
    except (MatReadError, ValueError, TypeError, OSError, EOFError, KeyError,
            IndexError) as exc:
        raise MixError(f"{path}: not a MATLAB .mat file scipy can read: "
                       f"{str(exc) or type(exc).__name__}") from None
    return {k: v for k, v in data.items() if not k.startswith("__")}


def lsp_joints(path: Path) -> tuple[np.ndarray, str]:
    """``joints`` of an LSP/LSPET file as an ``N x 14 x 3`` float array and its layout
    (``"lspet"`` for 14 x 3 x N, ``"lsp"`` for 3 x 14 x N)."""
    data = read_mat(path)
    if "joints" not in data:
        found = ", ".join(sorted(data)) or "none"
        raise MixError(f"{path}: no variable 'joints' (found: {found}); expected LSP's or "
                       f"LSPET's joints.mat")
    j = data["joints"]
    if not isinstance(j, np.ndarray) or j.dtype.kind not in "fiub":
        raise MixError(f"{path}: 'joints' is not a numeric matrix (found "
                       f"{getattr(j, 'dtype', type(j).__name__)})")
    shape = "x".join(str(n) for n in j.shape)
    if j.ndim == 2:
        j = j[..., None]
    if j.ndim == 3 and j.shape[:2] == (14, 3):
        return np.transpose(j, (2, 0, 1)).astype(np.float64), "lspet"
    if j.ndim == 3 and j.shape[:2] == (3, 14):
        return np.transpose(j, (2, 1, 0)).astype(np.float64), "lsp"
    raise MixError(f"{path}: 'joints' has shape {shape}, expected 14x3xN (LSPET: x, y, "
                   f"labelled) or 3x14xN (LSP: x, y, occluded)")


def load_lsp_source(spec: SourceSpec, bad: BadLog, wholebody_mode: str) -> LoadedSource:
    """``--lsp joints.mat [--images DIR]`` (image root default: ``images/`` beside the file)."""
    path = spec.path
    root = spec.images if spec.images is not None else path.parent / "images"
    names = spec.keypoints or LSP14_NAMES
    if len(names) != 14:
        raise MixError(f"{spec.origin}: keypoints: an LSP file has 14 joints, the schema given "
                       f"names {len(names)}")
    joints, layout = lsp_joints(path)
    if not root.is_dir():
        raise MixError(f"{spec.origin}: image root {root} is not a directory (give --images DIR)")
    kmap = KeypointMap.build(names)
    forms = ("im{:05d}.jpg", "im{:04d}.jpg") if layout == "lspet" else ("im{:04d}.jpg",
                                                                        "im{:05d}.jpg")
    entries: list[Entry] = []
    dropped = 0
    for k in range(1, len(joints) + 1):
        block = joints[k - 1]
        candidates = [f.format(k) for f in forms]
        where = f"{path}: image {k} ({candidates[0]})"
        found = None
        for name in candidates:
            f, store = resolve_image(root, name, where)
            if f.is_file():
                found = (f, store, name)
                break
        if found is None:
            bad("missing_image", f"{where}: image file not found: {root}/"
                                 f"{' or '.join(candidates)}")
            dropped += 1
            continue
        f, store, name = found
        where = f"{path}: image {k} ({name})"
        problem = _joint_problem(block, names)
        size = image_size(f) if problem is None else None
        if isinstance(size, str):
            bad("missing_image", f"{where}: {size}")
            dropped += 1
            continue
        if problem is not None:
            bad(problem[0], f"{where}: {problem[1]}")
            dropped += 1
            continue
        width, height = size
        rows: list[list[Any]] = []
        for x, y, flag in block.tolist():
            if layout == "lspet":
                rows.append([x, y, 2] if flag == 1 else [0, 0, 0])
            else:
                rows.append([x, y, 2 if flag == 0 else 1])
        ann = person_annotation(rows, kmap, width, height, wholebody_mode)
        if ann is None:
            bad("bad_entry", f"{where}: no joint is labelled (no box can be derived)")
            dropped += 1
            continue
        entries.append(Entry(
            image_path=f, store_name=store,
            image={"width": width, "height": height, "source_image_id": k,
                   "source_file_name": name},
            annotations=[ann],
            meta={"scene_id": -1, "im_id": k, "view_id": -1, "frame_id": -1, "seed": -1,
                  "persons": 1, "objects": 0}))
    return LoadedSource(spec=spec, name="", kind=spec.kind or "real", entries=entries,
                        categories={1: "person"}, person_categories={1},
                        keypoint_maps={1: kmap}, dropped_images=dropped,
                        files=[path.resolve(), root.resolve()])


def _joint_problem(block: np.ndarray, names: tuple[str, ...]) -> tuple[str, str] | None:
    for j, (x, y, flag) in enumerate(block.tolist()):
        for what, v in (("x", x), ("y", y), ("flag", flag)):
            if not np.isfinite(v):
                return ("bad_number", f"joint {j} ({names[j]}) {what} is {v}, expected a finite "
                                      f"number")
        if flag not in (0, 1):
            return ("bad_entry", f"joint {j} ({names[j]}) flag is {flag:g}, expected 0 or 1")
    return None
