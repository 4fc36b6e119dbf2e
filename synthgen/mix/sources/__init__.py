"""Readers of the mix inputs: synthgen datasets, COCO / COCO-WholeBody files, BOP folders, JSONL
manifests, LSP / LSPET ``joints.mat`` files and MPII's mmpose-style JSON. Each turns its input into :class:`Entry` records (one per image) with harmonised
annotations (keypoints as COCO-17 by name, see :mod:`synthgen.mix.keypoints`).

Checks, each a *bad entry* (without ``skip_bad`` the first one is a :class:`MixError` naming the
file and the entry; with it the entry is dropped and counted by kind):

- ``missing_image``: the image file does not exist;
- ``broken_json``: a JSONL manifest line that is not JSON (a whole JSON file that does not parse
  is always an error: there is nothing left to keep);
- ``keypoint_length``: ``keypoints`` (or a WholeBody ``*_kpts`` field) with the wrong number of
  values for its schema;
- ``duplicate_id``: an image or annotation id (a manifest's (split, scene_id, im_id), or its image
  path when those are absent) that occurs twice;
- ``bad_number``: a keypoint, box, area or polygon value (a BOP pose, box, pixel count or
  camera value, an LSP / MPII joint coordinate) that is not a finite number: NaN, an infinity
  (JSON ``NaN``, ``Infinity``, ``1e999``), a string, a bool or ``null``;
- ``bad_entry``: an entry lacking a required field, an annotation naming an unknown image or
  category, or one whose geometry is unusable (a ``bbox`` that is not ``[x, y, w, h]`` with
  w, h >= 0, a ``segmentation`` that is neither polygons nor an RLE, neither of the two).

Every kept annotation has ``bbox`` and ``area``: missing ones are derived
(:func:`.annotations.box_and_area`; ``area`` from the segmentation via ``pycocotools.mask.area``,
else the box's ``w * h``).

Image paths (a COCO ``file_name``, a manifest's ``image``, a BOP ``rgb/`` file, symbolic links
followed) must resolve inside the folder they belong to (``--images``, the manifest's folder, the
dataset folder): one that leads out is always an error naming the file and the entry, with or
without ``skip_bad`` (see :func:`.base.resolve_image`).

Dropping is per image: a bad annotation drops the image it belongs to with all its annotations
(an image with a person left unlabelled would teach a detector that people are background); a
duplicated image id drops every image with that id; an annotation naming no image is dropped
alone.

One module per input format (:mod:`.coco`, :mod:`.synthetic`, :mod:`.manifest`, :mod:`.bop`,
:mod:`.lsp`, :mod:`.mpii`; :mod:`.joints` holds what the joint-list readers share),
each with a ``load_<type>_source(spec, bad, wholebody_mode) -> LoadedSource``; the records and
helpers they share are in :mod:`.base` and :mod:`.annotations`; :data:`LOADERS` maps a source
type to its reader.
"""
from __future__ import annotations

from synthgen.mix.config import SourceSpec
from synthgen.mix.sources.base import BadLog, Entry, LoadedSource
from synthgen.mix.sources.bop import load_bop_source
from synthgen.mix.sources.coco import load_coco_source
from synthgen.mix.sources.lsp import load_lsp_source
from synthgen.mix.sources.manifest import load_manifest_source
from synthgen.mix.sources.mpii import load_mpii_source
from synthgen.mix.sources.synthetic import load_synthetic_source

LOADERS = {"synthetic": load_synthetic_source, "coco": load_coco_source,
           "wholebody": load_coco_source, "bop": load_bop_source,
           "manifest": load_manifest_source, "lsp": load_lsp_source,
           "mpii": load_mpii_source}


def load_source(spec: SourceSpec, *, skip_bad: bool, wholebody_mode: str) -> LoadedSource:
    """Read one source (see the module docstring for the checks); ``name`` is set by the caller."""
    bad = BadLog(skip_bad)
    src = LOADERS[spec.type](spec, bad, wholebody_mode)
    src.bad = bad.counts
    return src


__all__ = ["BadLog", "Entry", "LOADERS", "LoadedSource", "load_source"]
