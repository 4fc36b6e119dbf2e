"""Read a finished synthgen dataset for looking at it: which frames exist and their annotations.

Everything is read back from the written files through :mod:`synthgen.writers` (nothing is
recomputed from the scene), so a wrong label shows up as a wrong overlay or a wrong plot.
Units are those of the files: BOP JSON in millimetres, ``scene_humans.json`` in metres, pixel
coordinates in the OpenCV/BOP pixel-centre convention.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from synthgen.errors import InputError
from synthgen.writers import (load_coco, load_dataset_json, load_manifest, load_models_info,
                              load_scene_camera, load_scene_gt, load_scene_gt_info,
                              load_scene_humans)


class VizError(InputError, ValueError):
    """Bad input to ``synthgen preview`` / ``synthgen report``; ``str()`` is one line."""


class NotADatasetError(VizError):
    """The folder is not a finished synthgen dataset (no ``dataset.json`` / ``DONE``)."""


@dataclass(frozen=True)
class FrameRef:
    """One synthetic image of the dataset: where it lies and how big it is (pixels)."""
    split: str
    scene_id: int
    im_id: int
    image: str  # rgb path relative to the dataset root
    width: int
    height: int

    @property
    def scene_dir(self) -> str:
        return f"{self.split}/{self.scene_id:06d}"

    @property
    def name(self) -> str:
        return f"{self.split}/{self.scene_id:06d}/{self.im_id:06d}"


@dataclass
class SceneAnnotations:
    """The per-scene BOP + human files of one scene folder, keyed by im_id (see the loaders for
    shapes: ``cam_K``/``cam_R_*`` (3, 3), ``cam_t_*`` (3, 1) mm; humans in metres)."""
    camera: dict[int, dict]
    gt: dict[int, list[dict]]
    gt_info: dict[int, list[dict]]
    humans: dict[int, list[dict]]


@dataclass
class Dataset:
    """A finished synthgen dataset opened for reading (see :func:`open_dataset`)."""
    root: Path
    info: dict[str, Any]
    frames: list[FrameRef]
    models_info: dict[int, dict]
    _scenes: dict[tuple[str, int], SceneAnnotations] = field(default_factory=dict, repr=False)

    def scene(self, split: str, scene_id: int) -> SceneAnnotations:
        """The annotation files of one scene, read once and kept (one dataset's worth)."""
        key = (split, int(scene_id))
        if key not in self._scenes:
            d = self.root / split / f"{int(scene_id):06d}"
            humans_path = d / "scene_humans.json"
            self._scenes[key] = SceneAnnotations(
                camera=_read(load_scene_camera, d / "scene_camera.json"),
                gt=_read(load_scene_gt, d / "scene_gt.json"),
                gt_info=_read(load_scene_gt_info, d / "scene_gt_info.json"),
                # a dataset written without people may lack the file: no persons then
                humans=_read(load_scene_humans, humans_path) if humans_path.is_file() else {})
        return self._scenes[key]

    def scenes(self) -> list[tuple[str, int]]:
        """(split, scene_id) of every scene that has frames, in dataset order."""
        return sorted({(f.split, f.scene_id) for f in self.frames})

    def splits(self) -> list[str]:
        return sorted({f.split for f in self.frames})

    def coco(self, split: str) -> dict[str, Any] | None:
        """``annotations/coco_<split>.json`` or None when the file is absent."""
        path = self.root / "annotations" / f"coco_{split}.json"
        return _read(load_coco, path) if path.is_file() else None


def _read(loader, path: Path):
    """Call a writers loader and turn a missing or malformed file into a one-line VizError."""
    try:
        return loader(path)
    except FileNotFoundError:
        raise VizError(f"{path}: missing") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        msg = " ".join(str(exc).split())
        raise VizError(f"{path}: unreadable ({msg})") from None


def open_dataset(out: str | Path) -> Dataset:
    """Open the dataset in folder ``out`` (written by ``synthgen render``, possibly mixed with
    real images by ``synthgen mix``: only ``"source": "synthetic"`` manifest lines are used).

    Raises :class:`NotADatasetError` when ``out`` is not a directory or lacks ``dataset.json`` or
    ``DONE``, :class:`VizError` when a required file is unreadable or there are no frames.
    """
    root = Path(out)
    if not root.is_dir():
        raise NotADatasetError(f"{root}: not a synthgen dataset (no such directory)")
    if not (root / "dataset.json").is_file():
        raise NotADatasetError(f"{root}: not a synthgen dataset (no dataset.json)")
    if not (root / "DONE").is_file():
        raise NotADatasetError(f"{root}: not a finished synthgen dataset (no DONE; "
                               "rerun synthgen render with --resume)")
    info = _read(load_dataset_json, root / "dataset.json")
    lines = _read(load_manifest, root / "manifest.jsonl")
    try:
        frames = [FrameRef(split=str(r["split"]), scene_id=int(r["scene_id"]),
                           im_id=int(r["im_id"]), image=str(r["image"]), width=int(r["width"]),
                           height=int(r["height"]))
                  for r in lines if r.get("source", "synthetic") == "synthetic"]
    except (KeyError, TypeError, ValueError) as exc:
        raise VizError(f"{root / 'manifest.jsonl'}: malformed line ({exc})") from None
    if not frames:
        raise VizError(f"{root}: the manifest lists no synthetic frames")
    frames.sort(key=lambda f: (f.split, f.scene_id, f.im_id))
    models_path = root / "models" / "models_info.json"
    models_info = _read(load_models_info, models_path) if models_path.is_file() else {}
    return Dataset(root=root, info=info, frames=frames, models_info=models_info)


def sample_frames(frames: list[FrameRef], n: int, rng: np.random.Generator) -> list[FrameRef]:
    """Pick ``min(n, len(frames))`` frames spread over scenes: scenes in a random order, one
    random not-yet-picked frame from each in turn, so ``n`` >= the scene count covers every
    scene. Returned in dataset order (split, scene_id, im_id)."""
    if n < 1:
        raise VizError(f"the number of frames must be at least 1, got {n}")
    by_scene: dict[tuple[str, int], list[FrameRef]] = {}
    for f in frames:
        by_scene.setdefault((f.split, f.scene_id), []).append(f)
    keys = sorted(by_scene)
    pools = [list(by_scene[keys[i]]) for i in rng.permutation(len(keys))]
    for pool in pools:
        rng.shuffle(pool)
    picked: list[FrameRef] = []
    while len(picked) < min(n, len(frames)):
        for pool in pools:
            if pool and len(picked) < n:
                picked.append(pool.pop())
    return sorted(picked, key=lambda f: (f.split, f.scene_id, f.im_id))
