"""What the checks share: the dataset-wide context (report, loaded dataset-level files, running
state), and the records of one scene and one image handed from the driver to the family modules.

Every check takes the :class:`DatasetContext` first and records findings through it
(:meth:`DatasetContext.add`); nothing here raises on bad data.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from synthgen.writers.bop import load_image
from synthgen.writers.jsonio import load_json

from .. import schema as S
from ..landmarks import PersonRef
from ..poses import Instance
from ..report import Report

if TYPE_CHECKING:  # pragma: no cover - typing only
    from .coco import CocoIndex

#: Rotation matrices must be orthonormal with det +1 to this tolerance.
ROTATION_TOL = 1e-6
#: Tolerance (mm) between models_info.json and the numbers recomputed from the PLY (float32 mm).
MODEL_INFO_TOL_MM = 0.01
#: Tolerance of ratios and of float fields that are copies of each other.
FLOAT_TOL = 1e-6

Progress = Callable[[str, int, int], None]


@dataclass
class DatasetContext:
    """The dataset being checked (folder ``out``), the report findings go to, the dataset-level
    files once loaded and what the scene checks collect for the end of the run."""

    out: Path
    report: Report
    progress: Progress | None = None
    camera: dict[str, Any] | None = None             # camera.json (writers.bop.load_camera)
    models_info: dict[int, dict] | None = None
    dataset_objects: dict[int, str] | None = None    # obj_id -> name (dataset.json)
    # (split, scene_id, im_id) -> (line number, line); lines are popped as images are checked
    manifest: dict[tuple[str, int, int], tuple[int, dict]] = field(default_factory=dict)
    manifest_ok: bool = False                        # manifest.jsonl was read: images need a line
    instances: list[Instance] = field(default_factory=list)   # for the pose check
    persons: list[PersonRef] = field(default_factory=list)    # for the landmark check
    humans_config: dict[str, Any] | None = None      # dataset.json config.humans (the echo)
    models: dict[int, dict[str, np.ndarray]] = field(default_factory=dict)
    obj_refs: dict[int, str] = field(default_factory=dict)    # obj_id -> first scene_gt using it
    image_sizes: Counter = field(default_factory=Counter)
    images_per_split: Counter = field(default_factory=Counter)
    scene_count: int = 0

    @property
    def counts(self) -> Counter:
        return self.report.counts

    def add(self, check: str, item: str, what: str) -> None:
        self.report.add(check, item, what)

    def reporter(self, check: str) -> Callable[[str, str], None]:
        return lambda item, what: self.add(check, item, what)

    def rel(self, path: Path) -> str:
        try:
            return Path(path).relative_to(self.out).as_posix()
        except ValueError:
            return str(path)

    def read_json(self, path: Path, spec: Any, *, required: bool = True) -> Any | None:
        """The raw JSON of ``path`` when it exists, parses and matches ``spec``; else None (with
        the problem recorded)."""
        rel = self.rel(path)
        if not path.is_file():
            if required:
                self.add("files", rel, "missing")
            return None
        try:
            raw = load_json(path)
        except json.JSONDecodeError as exc:
            self.add("json", rel, f"invalid JSON: {exc}")
            return None
        except (OSError, UnicodeDecodeError) as exc:
            self.add("json", rel, f"cannot read: {exc}")
            return None
        self.counts["json_files"] += 1
        findings = S.check(raw, spec)
        for key_path, msg in findings:
            self.add("schema", rel, f"{key_path or '(top level)'}: {msg}")
        if len(findings) >= S.MAX_FINDINGS_PER_FILE:
            self.add("schema", rel, f"stopped after {S.MAX_FINDINGS_PER_FILE} findings")
        return None if findings else raw

    def typed(self, loader: Callable[[Path], Any], path: Path) -> Any | None:
        """``loader(path)`` (a ``synthgen.writers`` loader) on a file whose schema passed."""
        try:
            return loader(path)
        except Exception as exc:  # noqa: BLE001 - any loader failure is a finding, not a crash
            self.add("json", self.rel(path), f"cannot load: {type(exc).__name__}: {exc}")
            return None

    def read_image(self, path: Path, kind: str, width: int, height: int) -> np.ndarray | None:
        """Decode ``path`` and check it: ``rgb`` (H, W, 3) uint8, ``depth`` (H, W) uint16, ``mask``
        (H, W) uint8 holding only 0 and 255. Returns the array as stored, or None."""
        rel = self.rel(path)
        if not path.is_file():
            self.add("files", rel, "missing")
            return None
        try:
            arr = load_image(path)
        except Exception as exc:  # noqa: BLE001 - Pillow raises several types for bad files
            self.add("files", rel, f"cannot decode: {exc}")
            return None
        self.counts["files_decoded"] += 1
        want = {"rgb": ("8-bit RGB", np.uint8, 3), "depth": ("16-bit single-channel", np.uint16, 2),
                "mask": ("8-bit single-channel", np.uint8, 2)}[kind]
        if arr.dtype != want[1] or arr.ndim != want[2] or (kind == "rgb" and arr.shape[2] != 3):
            self.add("files", rel, f"expected {want[0]}, found {arr.dtype} of shape {arr.shape}")
            return None
        if arr.shape[:2] != (height, width):
            self.add("files", rel, f"{arr.shape[1]}x{arr.shape[0]} pixels, expected "
                                   f"{width}x{height}")
            return None
        if kind == "mask":
            bad = np.unique(arr[(arr != 0) & (arr != 255)])
            if bad.size:
                self.add("files", rel, f"mask values other than 0 and 255: {bad[:5].tolist()}")
                return None
        return arr

    def read_mask(self, path: Path, width: int, height: int) -> np.ndarray | None:
        """A mask PNG as a boolean (H, W) array, or None (problem recorded)."""
        raw = self.read_image(path, "mask", width, height)
        return raw > 0 if raw is not None else None

    def read_mask_pair(self, scene_dir: Path, rel: str, amodal: str, modal: str, stem: str, width: int,
                       height: int) -> tuple[np.ndarray | None, np.ndarray | None]:
        """The amodal and visible masks ``<amodal>/<stem>`` and ``<modal>/<stem>`` of one instance
        (None where unreadable, problem recorded), with a problem when visible pixels lie outside
        the amodal mask."""
        mask = self.read_mask(scene_dir / amodal / stem, width, height)
        visib = self.read_mask(scene_dir / modal / stem, width, height)
        if mask is not None and visib is not None and np.any(visib & ~mask):
            self.add("consistency", f"{rel}/{modal}/{stem}",
                     f"{int(np.count_nonzero(visib & ~mask))} visible px outside the amodal {amodal}/{stem}")
        return mask, visib

    def check_rotation(self, R: np.ndarray, item: str, name: str) -> None:
        R = np.asarray(R, dtype=np.float64)
        err = float(np.abs(R @ R.T - np.eye(3)).max())
        det = float(np.linalg.det(R))
        if err > ROTATION_TOL or abs(det - 1.0) > ROTATION_TOL:
            self.add("consistency", item, f"{name} is not a rotation (|R R^T - I| {err:.2e}, "
                                          f"det {det:.6f})")


@dataclass
class SceneContext:
    """One scene folder and its loaded JSON files (None where missing or broken)."""

    split: str
    scene_id: int
    dir: Path
    rel: str                                   # the folder relative to the dataset root
    cams: dict[int, dict] | None = None        # scene_camera.json
    gts: dict[int, list[dict]] | None = None   # scene_gt.json
    infos: dict[int, list[dict]] | None = None  # scene_gt_info.json
    humans: dict[int, list[dict]] | None = None  # scene_humans.json
    coco: "CocoIndex | None" = None            # the split's COCO file


@dataclass
class ImageContext:
    """One image of a scene, with what its instances are checked against.

    ``K`` is the image's ``cam_K`` when it is a pinhole matrix (else None); ``depth_scale`` mm per
    depth step; ``depth_valid`` (H, W) bool: the sensor depth PNG's non-zero pixels;
    ``depth_gt`` (H, W) float64 metres: the noise-free depth (Z in the OpenCV camera frame,
    0 = nothing rendered). Annotations of the split's COCO file for this image, by ``gt_id`` and
    by ``person_id``, are popped as the instances claim them."""

    scene: SceneContext
    im_id: int
    width: int
    height: int
    cam: dict | None = None
    K: np.ndarray | None = None
    depth_scale: float | None = None
    depth_valid: np.ndarray | None = None
    depth_gt: np.ndarray | None = None
    obj_anns: dict[int, dict] = field(default_factory=dict)
    person_anns: dict[int, dict] = field(default_factory=dict)

    @property
    def rel(self) -> str:
        return self.scene.rel

    @property
    def coco(self) -> "CocoIndex | None":
        return self.scene.coco
