"""File, schema and consistency checks of a dataset (everything but the re-render).

Reads every file through the project's loaders (:mod:`synthgen.writers`), checks each JSON file
against :mod:`synthgen.validate.schema` before using it, and then checks the files against each
other: masks vs ``scene_gt_info`` vs COCO RLEs, ``scene_humans`` keypoints vs their joints and vs
COCO, the manifest and ``dataset.json`` counts vs the scenes, models vs ``models_info``.
Findings go to a :class:`~synthgen.validate.report.Report`; nothing here raises on bad data.
"""
from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from synthgen.groundtruth.masks import (EMPTY_BOP_BOX, bbox_from_mask, rle_area, rle_bbox,
                                        rle_to_mask)
from synthgen.writers.bop import (compute_model_info, load_camera, load_image, load_model_ply,
                                  load_models_info, load_scene_camera, load_scene_gt,
                                  load_scene_gt_info)
from synthgen.writers.coco import (COCO17_KEYPOINT_NAMES, COCO17_SKELETON, PERSON_CATEGORY_ID,
                                   WHOLEBODY_PARTS, load_coco, object_category_id)
from synthgen.writers.humans import load_scene_humans
from synthgen.writers.jsonio import load_json
from synthgen.writers.manifest import load_manifest, manifest_sort_key

from . import schema as S
from .keypoints import (COCO17_NAMES, WHOLEBODY133_NAMES, check_coco_person,
                        check_person_projection, check_rows)
from .poses import Instance
from .report import Report

SCENE_DIR = re.compile(r"^\d{6}$")
COCO_FILE = re.compile(r"^coco_(.+)\.json$")
RESERVED_DIRS = {"models", "annotations"}
RGB_SUFFIXES = ("png", "jpg")
#: Rotation matrices must be orthonormal with det +1 to this tolerance.
ROTATION_TOL = 1e-6
#: Tolerance (mm) between models_info.json and the numbers recomputed from the PLY (float32 mm).
MODEL_INFO_TOL_MM = 0.01
#: Tolerance of ratios and of float fields that are copies of each other.
FLOAT_TOL = 1e-6

Progress = Callable[[str, int, int], None]


@dataclass
class _Coco:
    """One split's COCO file, indexed."""

    rel: str
    images: dict[tuple[int, int], dict] = field(default_factory=dict)  # (scene_id, im_id)
    anns_by_image: dict[int, list[dict]] = field(default_factory=lambda: defaultdict(list))
    seen_images: set = field(default_factory=set)
    items: dict[int, str] = field(default_factory=dict)  # annotation id -> name in messages
    broken: set = field(default_factory=set)  # ids of annotations too broken to compare

    def item(self, ann: dict) -> str:
        return self.items.get(ann["id"], f"{self.rel} annotation {ann['id']}")


class DatasetChecker:
    """Runs the checks over dataset ``out`` into ``report``; :meth:`run` returns the object
    instances (for the pose check) and the loaded models (obj_id -> ``load_model_ply`` dict)."""

    def __init__(self, out: Path, report: Report, progress: Progress | None = None):
        self.out = Path(out)
        self.report = report
        self.progress = progress
        self.counts = report.counts
        self.instances: list[Instance] = []
        self.models: dict[int, dict[str, np.ndarray]] = {}
        self.obj_refs: dict[int, str] = {}  # obj_id -> first scene_gt file using it
        self.camera: dict[str, Any] | None = None
        self.models_info: dict[int, dict] | None = None
        self.dataset_objects: dict[int, str] | None = None  # obj_id -> name (dataset.json)
        self.manifest: dict[tuple[str, int, int], tuple[int, dict]] = {}
        self.manifest_ok = False  # manifest.jsonl was read: images must have a line
        self.image_sizes: Counter = Counter()
        self.images_per_split: Counter = Counter()
        self.scene_count = 0

    # -- helpers ---------------------------------------------------------------------------------

    def add(self, check: str, item: str, what: str) -> None:
        self.report.add(check, item, what)

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

    def check_rotation(self, R: np.ndarray, item: str, name: str) -> None:
        R = np.asarray(R, dtype=np.float64)
        err = float(np.abs(R @ R.T - np.eye(3)).max())
        det = float(np.linalg.det(R))
        if err > ROTATION_TOL or abs(det - 1.0) > ROTATION_TOL:
            self.add("consistency", item, f"{name} is not a rotation (|R R^T - I| {err:.2e}, "
                                          f"det {det:.6f})")

    def check_K(self, K: np.ndarray, item: str) -> bool:
        K = np.asarray(K, dtype=np.float64)
        if not (K[0, 0] > 0 and K[1, 1] > 0 and K[0, 1] == 0 and K[1, 0] == 0
                and np.array_equal(K[2], [0.0, 0.0, 1.0])):
            self.add("consistency", item,
                     f"cam_K is not a pinhole matrix: {K.reshape(-1).tolist()}")
            return False
        return True

    def check_K_vs_camera_json(self, K: np.ndarray, item: str) -> None:
        """An image's cam_K against camera.json: equal when camera.json says ``"intrinsics":
        "exact"``; the same cx, cy and fx, fy scaled by one factor inside its ``focal_scale``
        when it says ``"nominal"``; not compared for a file without ``intrinsics``."""
        c = self.camera
        if c is None or c["intrinsics"] is None:
            return
        K0 = c["K"]
        if c["intrinsics"] == "exact":
            if not np.allclose(K, K0, rtol=1e-12, atol=1e-9):
                self.add("consistency", item, f"cam_K {K.reshape(-1).tolist()} but camera.json "
                                              "says every image has its K "
                                              f"{K0.reshape(-1).tolist()} (intrinsics: exact)")
            return
        sx, sy = K[0, 0] / K0[0, 0], K[1, 1] / K0[1, 1]
        lo, hi = c["focal_scale"] if c["focal_scale"] is not None else (sx, sx)
        if not (np.allclose(K[:2, 2], K0[:2, 2], rtol=0, atol=1e-9) and abs(sx - sy) <= 1e-9
                and lo - 1e-9 <= sx <= hi + 1e-9):
            self.add("consistency", item, f"cam_K {K.reshape(-1).tolist()} is not camera.json's "
                                          f"nominal K with fx, fy times one factor in "
                                          f"[{lo}, {hi}] (fx x{sx:.6f}, fy x{sy:.6f})")

    # -- the run ---------------------------------------------------------------------------------

    def run(self) -> tuple[list[Instance], dict[int, dict[str, np.ndarray]]]:
        out = self.out
        dataset = self.read_json(out / "dataset.json", S.DATASET_JSON)
        if dataset is not None:
            self.check_dataset_header(dataset)
        raw_cam = self.read_json(out / "camera.json", S.CAMERA_JSON)
        if raw_cam is not None:
            self.camera = self.typed(load_camera, out / "camera.json")
        info_path = out / "models" / "models_info.json"
        if self.read_json(info_path, S.MODELS_INFO) is not None:
            self.models_info = self.typed(load_models_info, info_path)
        if not (out / "DONE").is_file():
            self.add("files", "DONE", "missing: the render did not finish")
        self.load_manifest()

        splits = self.find_splits()
        self.counts["splits"] = len(splits)
        cocos = {split: self.load_coco_file(split) for split in splits}
        scene_dirs = [(split, d) for split in splits for d in self.scene_dirs(split)]
        for n, (split, d) in enumerate(scene_dirs):
            if self.progress is not None:
                self.progress("scenes", n, len(scene_dirs))
            try:
                self.check_scene(split, d, cocos.get(split))
            except Exception as exc:  # noqa: BLE001 - report, never a traceback
                self.add("internal", self.rel(d), f"could not be checked: "
                                                  f"{type(exc).__name__}: {exc}")
        if self.progress is not None:
            self.progress("scenes", len(scene_dirs), len(scene_dirs))
        self.scene_count = len(scene_dirs)
        self.counts["scenes"] = len(scene_dirs)
        for split, coco in cocos.items():
            if coco is not None:
                self.check_coco_leftovers(split, coco)
        self.check_manifest_leftovers()
        self.check_models()
        if dataset is not None:
            self.check_dataset_counts(dataset)
        self.check_camera_json()
        return self.instances, self.models

    # -- dataset-level files ---------------------------------------------------------------------

    def check_dataset_header(self, dataset: dict) -> None:
        if dataset["generator"] != "synthgen":
            self.add("consistency", "dataset.json", f"generator is {dataset['generator']!r}, "
                                                    "not 'synthgen'")
        objects = {}
        for key, entry in dataset["objects"].items():
            where = f"objects.{key}"
            if not key.isdigit():
                self.add("schema", "dataset.json", f"{where}: key is not an obj_id")
                continue
            findings = S.check(entry, S.DATASET_OBJECT, where)
            for key_path, msg in findings:
                self.add("schema", "dataset.json", f"{key_path}: {msg}")
            if not findings:
                objects[int(key)] = entry["name"]
        self.dataset_objects = objects
        for split, n in dataset["images"].items():
            if not isinstance(n, int) or isinstance(n, bool):
                self.add("schema", "dataset.json", f"images.{split}: expected an integer")

    def load_manifest(self) -> None:
        path = self.out / "manifest.jsonl"
        if not path.is_file():
            self.add("files", "manifest.jsonl", "missing")
            return
        try:
            lines = load_manifest(path)
        except json.JSONDecodeError as exc:
            self.add("json", "manifest.jsonl",
                     f"invalid JSON on line {_bad_jsonl_line(path)}: {exc}")
            return
        except (OSError, UnicodeDecodeError) as exc:
            self.add("json", "manifest.jsonl", f"cannot read: {exc}")
            return
        self.counts["json_files"] += 1
        self.manifest_ok = True
        self.counts["manifest_lines"] = len(lines)
        valid: list[tuple[int, dict]] = []
        for n, rec in enumerate(lines, start=1):
            findings = S.check(rec, S.MANIFEST_LINE)
            for key_path, msg in findings[:5]:
                self.add("schema", f"manifest.jsonl line {n}", f"{key_path or '(line)'}: {msg}")
            if not findings:
                valid.append((n, rec))
        keys = [manifest_sort_key(r) for _, r in valid]
        if keys != sorted(keys):
            self.add("consistency", "manifest.jsonl",
                     "lines are not sorted by (split, scene_id, im_id)")
        for n, rec in valid:
            key = manifest_sort_key(rec)
            if key in self.manifest:
                self.add("consistency", f"manifest.jsonl line {n}",
                         f"duplicate of line {self.manifest[key][0]} for {key}")
                continue
            self.manifest[key] = (n, rec)

    def find_splits(self) -> list[str]:
        """Splits named by ``annotations/coco_<split>.json``, by the manifest or by a folder of
        scene folders."""
        splits = set()
        ann = self.out / "annotations"
        if ann.is_dir():
            for p in ann.iterdir():
                m = COCO_FILE.match(p.name)
                if m:
                    splits.add(m.group(1))
        splits.update(k[0] for k, (_, r) in self.manifest.items() if r["source"] == "synthetic")
        for p in self.out.iterdir():
            if p.is_dir() and not p.name.startswith(".") and p.name not in RESERVED_DIRS:
                if any(SCENE_DIR.match(c.name) and c.is_dir() for c in p.iterdir()):
                    splits.add(p.name)
        if not splits:
            self.add("files", ".", "no split: no annotations/coco_<split>.json, manifest line or "
                                   "scene folder")
        return sorted(splits)

    def scene_dirs(self, split: str) -> list[Path]:
        d = self.out / split
        if not d.is_dir():
            self.add("files", split, "missing split folder")
            return []
        dirs = []
        for p in sorted(d.iterdir()):
            if not p.is_dir():
                continue
            if SCENE_DIR.match(p.name):
                dirs.append(p)
            elif p.name.startswith(".tmp-"):
                self.add("files", self.rel(p), "leftover temporary shard folder of an interrupted "
                                               "render")
        if not dirs:
            self.add("files", split, "no scene folder")
        return dirs

    # -- COCO ------------------------------------------------------------------------------------

    def load_coco_file(self, split: str) -> _Coco | None:
        path = self.out / "annotations" / f"coco_{split}.json"
        raw = self.read_json(path, S.COCO_FILE)
        if raw is None:
            return None
        coco_data = self.typed(load_coco, path)
        if coco_data is None:
            return None
        rel = self.rel(path)
        coco = _Coco(rel=rel)
        self.check_categories(coco_data["categories"], rel)
        image_ids: dict[int, dict] = {}
        for img in coco_data["images"]:
            item = f"{rel} image {img['id']}"
            if img["id"] in image_ids:
                self.add("consistency", item, "duplicate image id")
                continue
            image_ids[img["id"]] = img
            if img["split"] != split:
                self.add("consistency", item,
                         f"split {img['split']!r} in the file of split {split!r}")
            key = (img["scene_id"], img["im_id"])
            if key in coco.images:
                self.add("consistency", item, f"scene {key[0]} image {key[1]} listed twice")
                continue
            coco.images[key] = img
        cat_ids = {c["id"] for c in coco_data["categories"]}
        ann_ids = set()
        for ann in coco_data["annotations"]:
            item = f"{rel} annotation {ann['id']}"
            img = image_ids.get(ann["image_id"])
            if img is not None:
                # name the image and the instance too: "annotation 7 (scene 0 image 1 gt 3)"
                who = (f"person {ann.get('person_id')}" if ann["category_id"] == PERSON_CATEGORY_ID
                       else f"gt {ann.get('gt_id')}")
                item += f" (scene {img['scene_id']} image {img['im_id']} {who})"
                coco.items.setdefault(ann["id"], item)
            if ann["id"] in ann_ids:
                self.add("consistency", item, "duplicate annotation id")
                continue
            ann_ids.add(ann["id"])
            self.counts["coco_annotations"] += 1
            if ann["image_id"] not in image_ids:
                self.add("consistency", item, f"image_id {ann['image_id']} is not an image")
                continue
            if ann["category_id"] not in cat_ids:
                self.add("consistency", item, f"category_id {ann['category_id']} is not a category")
            if not self.check_annotation(ann, img, item):
                coco.broken.add(ann["id"])
            if ("person_id" if ann["category_id"] == PERSON_CATEGORY_ID else "gt_id") in ann:
                coco.anns_by_image[ann["image_id"]].append(ann)
        return coco

    def check_categories(self, cats: list[dict], rel: str) -> None:
        by_id = {}
        for c in cats:
            if c["id"] in by_id:
                self.add("consistency", f"{rel} category {c['id']}", "duplicate category id")
            by_id[c["id"]] = c
        person = by_id.get(PERSON_CATEGORY_ID)
        if person is None:
            self.add("consistency", f"{rel} categories", "no person category (id 1)")
        else:
            if person["name"] != "person":
                self.add("consistency", f"{rel} category 1",
                         f"name {person['name']!r}, not 'person'")
            if person.get("keypoints") != list(COCO17_KEYPOINT_NAMES):
                self.add("consistency", f"{rel} category 1", "keypoints are not the 17 COCO names "
                                                             "in order")
            if person.get("skeleton") != [list(e) for e in COCO17_SKELETON]:
                self.add("consistency", f"{rel} category 1", "skeleton is not COCO's")
        for cid, c in sorted(by_id.items()):
            if cid == PERSON_CATEGORY_ID:
                continue
            obj_id = cid - 1
            if self.models_info is not None and obj_id not in self.models_info:
                self.add("consistency", f"{rel} category {cid}",
                         f"obj_id {obj_id} (= id - 1) is not in models/models_info.json")
            if self.dataset_objects and obj_id in self.dataset_objects and \
                    self.dataset_objects[obj_id] != c["name"]:
                self.add("consistency", f"{rel} category {cid}",
                         f"name {c['name']!r} but dataset.json names obj {obj_id} "
                         f"{self.dataset_objects[obj_id]!r}")

    def check_annotation(self, ann: dict, img: dict, item: str) -> bool:
        """Checks of one annotation on its own: RLE, area, bbox, keypoint fields. Returns False
        when the annotation is too broken to link to the scene files."""
        rle = ann["segmentation"]
        if list(rle["size"]) != [img["height"], img["width"]]:
            self.add("consistency", item, f"segmentation size {rle['size']} but the image is "
                                          f"{img['height']}x{img['width']} (H x W)")
            return False
        try:
            area = rle_area(rle)
            box = rle_bbox(rle)
            rle_to_mask(rle)  # the only pycocotools call that checks the counts sum to H x W
        except Exception as exc:  # noqa: BLE001 - pycocotools' C layer raises assorted errors
            self.add("consistency", item, f"segmentation RLE does not decode: {exc}")
            return False
        if ann["area"] != area:
            self.add("consistency", item, f"area {ann['area']} but the RLE has {area} px")
        if not np.allclose(ann["bbox"], box, atol=FLOAT_TOL, rtol=0):
            self.add("consistency", item, f"bbox {ann['bbox']} but the RLE's toBbox is {box}")
        if area == 0:
            self.add("consistency", item, "empty segmentation (invisible instances get no "
                                          "annotation)")
        is_person = ann["category_id"] == PERSON_CATEGORY_ID
        findings = S.check(ann, S.COCO_PERSON_FIELDS if is_person else S.COCO_OBJECT_FIELDS)
        for key_path, msg in findings:
            self.add("schema", item, f"{key_path}: {msg} ({'person' if is_person else 'object'} "
                                     "annotation)")
        n_labelled = 0
        if "keypoints" in ann:
            n_labelled = self.check_annotation_keypoints(ann, item)
        if findings:
            return False
        if not is_person:
            if ann["category_id"] != object_category_id(ann["obj_id"]):
                self.add("consistency", item, f"category_id {ann['category_id']} but obj_id "
                                              f"{ann['obj_id']} (expected {ann['obj_id'] + 1})")
            if n_labelled or any(ann.get(f"{p}_valid") for p in WHOLEBODY_PARTS):
                self.add("consistency", item, "object annotation with labelled keypoints")
        return True

    def check_annotation_keypoints(self, ann: dict, item: str) -> int:
        """COCO keypoint rules of one annotation's keypoint fields; returns num labelled body
        points."""
        reporter = self._reporter("keypoints")
        body = np.asarray(ann["keypoints"], dtype=np.float64).reshape(-1, 3)
        check_rows(body, f"{item} keypoints", COCO17_NAMES, reporter)
        n_labelled = int(np.count_nonzero(body[:, 2] > 0))
        if "num_keypoints" in ann and ann["num_keypoints"] != n_labelled:
            self.add("consistency", item, f"num_keypoints {ann['num_keypoints']} but "
                                          f"{n_labelled} keypoints have v > 0")
        for part, (a, b) in WHOLEBODY_PARTS.items():
            if f"{part}_kpts" not in ann:
                continue
            rows = np.asarray(ann[f"{part}_kpts"], dtype=np.float64).reshape(-1, 3)
            check_rows(rows, f"{item} {part}_kpts", WHOLEBODY133_NAMES[a:b], reporter)
            labelled = rows[rows[:, 2] > 0]
            valid = bool(len(labelled))
            if f"{part}_valid" in ann and ann[f"{part}_valid"] != valid:
                self.add("consistency", item, f"{part}_valid is {ann[f'{part}_valid']} but "
                                              f"{len(labelled)} {part} points have v > 0")
            if part != "foot" and f"{part}_box" in ann:
                want = [0.0, 0.0, 0.0, 0.0]
                if valid:
                    lo, hi = labelled[:, :2].min(axis=0), labelled[:, :2].max(axis=0)
                    want = [float(lo[0]), float(lo[1]), float(hi[0] - lo[0]), float(hi[1] - lo[1])]
                if not np.allclose(ann[f"{part}_box"], want, atol=FLOAT_TOL, rtol=0):
                    self.add("consistency", item, f"{part}_box {ann[f'{part}_box']} is not the box "
                                                  f"of its labelled points {want}")
        return n_labelled

    def _reporter(self, check: str) -> Callable[[str, str], None]:
        return lambda item, what: self.add(check, item, what)

    def check_coco_leftovers(self, split: str, coco: _Coco) -> None:
        for key, img in coco.images.items():
            if img["id"] not in coco.seen_images:
                self.add("consistency", f"{coco.rel} image {img['id']}",
                         f"scene {key[0]} image {key[1]} of split {split} is not in the dataset")

    # -- scenes ----------------------------------------------------------------------------------

    def check_scene(self, split: str, d: Path, coco: _Coco | None) -> None:
        rel = self.rel(d)
        scene_id = int(d.name)
        if not (d / "DONE").is_file():
            self.add("files", f"{rel}/DONE", "missing: the scene folder is incomplete")
        files = {}
        for name, spec, loader in (("scene_camera.json", S.SCENE_CAMERA, load_scene_camera),
                                   ("scene_gt.json", S.SCENE_GT, load_scene_gt),
                                   ("scene_gt_info.json", S.SCENE_GT_INFO, load_scene_gt_info),
                                   ("scene_humans.json", S.SCENE_HUMANS, load_scene_humans)):
            raw = self.read_json(d / name, spec)
            files[name] = self.typed(loader, d / name) if raw is not None else None
        cams, gts, infos, humans = (files["scene_camera.json"], files["scene_gt.json"],
                                    files["scene_gt_info.json"], files["scene_humans.json"])
        ids = set()
        for f in files.values():
            if f is not None:
                ids.update(f)
        for name, f in files.items():
            if f is not None and set(f) != ids:
                missing = sorted(ids - set(f))
                self.add("consistency", f"{rel}/{name}", f"no entry for image ids {missing[:10]}")
        if gts is not None and infos is not None:
            for im_id in sorted(set(gts) & set(infos)):
                if len(gts[im_id]) != len(infos[im_id]):
                    self.add("consistency", f"{rel}/scene_gt_info.json image {im_id}",
                             f"{len(infos[im_id])} entries but scene_gt.json has {len(gts[im_id])}")
        if humans is not None:
            person_sets = {im: sorted(p["person_id"] for p in ps) for im, ps in humans.items()}
            if len({tuple(v) for v in person_sets.values()}) > 1:
                self.add("consistency", f"{rel}/scene_humans.json",
                         "images list different persons (every person of the scene must be listed "
                         f"in every image): {person_sets}")
        for im_id in sorted(ids):
            try:
                self.check_image(split, scene_id, im_id, d, cams, gts, infos, humans, coco)
            except Exception as exc:  # noqa: BLE001 - report, never a traceback
                self.add("internal", f"{rel} image {im_id}",
                         f"could not be checked: {type(exc).__name__}: {exc}")

    def image_size(self, split: str, scene_id: int, im_id: int, coco: _Coco | None
                   ) -> tuple[int, int] | None:
        """(width, height) the image is declared with: manifest, else COCO, else camera.json."""
        line = self.manifest.get((split, scene_id, im_id))
        if line is not None:
            return line[1]["width"], line[1]["height"]
        if coco is not None and (scene_id, im_id) in coco.images:
            img = coco.images[(scene_id, im_id)]
            return img["width"], img["height"]
        if self.camera is not None:
            return self.camera["width"], self.camera["height"]
        return None

    def rgb_path(self, split: str, scene_id: int, im_id: int, d: Path, coco: _Coco | None) -> Path:
        names = []
        line = self.manifest.get((split, scene_id, im_id))
        if line is not None:
            names.append(("manifest.jsonl", line[1]["image"]))
        if coco is not None and (scene_id, im_id) in coco.images:
            names.append((coco.rel, coco.images[(scene_id, im_id)]["file_name"]))
        expected = {f"{self.rel(d)}/rgb/{im_id:06d}.{s}" for s in RGB_SUFFIXES}
        for source, name in names:
            if name not in expected:
                self.add("consistency", f"{source} {name}",
                         f"is not the rgb image of scene {scene_id} image {im_id} "
                         f"({self.rel(d)}/rgb/{im_id:06d}.png|jpg)")
        if len({n for _, n in names}) > 1:
            self.add("consistency", f"{self.rel(d)} image {im_id}",
                     f"manifest and COCO name different files: {[n for _, n in names]}")
        for _, name in names:
            if name in expected:
                return self.out / name
        for s in RGB_SUFFIXES:
            p = d / "rgb" / f"{im_id:06d}.{s}"
            if p.is_file():
                return p
        return d / "rgb" / f"{im_id:06d}.png"

    def check_image(self, split: str, scene_id: int, im_id: int, d: Path, cams, gts, infos,
                    humans, coco: _Coco | None) -> None:
        rel = self.rel(d)
        self.counts["images"] += 1
        self.images_per_split[split] += 1
        size = self.image_size(split, scene_id, im_id, coco)
        rgb_path = self.rgb_path(split, scene_id, im_id, d, coco)
        if size is None:  # nothing declares it: take the rgb's own size
            try:
                size = load_image(rgb_path).shape[1::-1]
            except Exception:  # noqa: BLE001 - reported by read_image below
                size = (0, 0)
        W, H = int(size[0]), int(size[1])
        self.image_sizes[(W, H)] += 1
        self.read_image(rgb_path, "rgb", W, H)
        cam = cams.get(im_id) if cams is not None else None
        depth_scale = float(cam["depth_scale"]) if cam is not None else None
        K = None
        if cam is not None:
            item = f"{rel}/scene_camera.json image {im_id}"
            if self.check_K(cam["cam_K"], item):
                K = cam["cam_K"]
                self.check_K_vs_camera_json(K, item)
            self.check_rotation(cam["cam_R_w2c"], item, "cam_R_w2c")
            if not depth_scale > 0:
                self.add("consistency", item, f"depth_scale {depth_scale} is not positive")
                depth_scale = None
            elif self.camera is not None and depth_scale != self.camera["depth_scale"]:
                self.add("consistency", item, f"depth_scale {depth_scale} but camera.json has "
                                              f"{self.camera['depth_scale']}")
        depth_raw = self.read_image(d / "depth" / f"{im_id:06d}.png", "depth", W, H)
        # px_count_valid counts silhouette pixels where the sensor measured a depth (depth/ > 0)
        depth_valid = depth_raw > 0 if depth_raw is not None else None
        self.read_image(d / "depth_gt" / f"{im_id:06d}.png", "depth", W, H)

        # manifest line
        line = self.manifest.pop((split, scene_id, im_id), None)
        if line is None:
            if self.manifest_ok:
                self.add("consistency", "manifest.jsonl", f"no line for {rel} image {im_id}")
        else:
            n, rec = line
            item = f"manifest.jsonl line {n}"
            if rec["source"] != "synthetic":
                self.add("consistency", item, f"source {rec['source']!r} for a rendered image")
            if gts is not None and im_id in gts and rec["objects"] != len(gts[im_id]):
                self.add("consistency", item, f"objects {rec['objects']} but scene_gt.json lists "
                                              f"{len(gts[im_id])}")
            if humans is not None and im_id in humans and rec["persons"] != len(humans[im_id]):
                self.add("consistency", item, f"persons {rec['persons']} but scene_humans.json "
                                              f"lists {len(humans[im_id])}")
        # COCO image
        coco_img = None
        anns: list[dict] = []
        if coco is not None:
            coco_img = coco.images.get((scene_id, im_id))
            if coco_img is None:
                self.add("consistency", coco.rel, f"no image for {rel} image {im_id}")
            else:
                coco.seen_images.add(coco_img["id"])
                anns = coco.anns_by_image.get(coco_img["id"], [])
                if (coco_img["width"], coco_img["height"]) != (W, H):
                    self.add("consistency", f"{coco.rel} image {coco_img['id']}",
                             f"{coco_img['width']}x{coco_img['height']} but the manifest says "
                             f"{W}x{H}")
        obj_anns: dict[int, dict] = {}
        person_anns: dict[int, dict] = {}
        for ann in anns:
            item = coco.item(ann)
            if ann["category_id"] == PERSON_CATEGORY_ID:
                key, target, what = ann["person_id"], person_anns, "person_id"
            else:
                key, target, what = ann["gt_id"], obj_anns, "gt_id"
            if key in target:
                self.add("consistency", item, f"second annotation of {what} {key} in {rel} "
                                              f"image {im_id} (first: {target[key]['id']})")
            else:
                target[key] = ann

        # objects
        gt_list = gts.get(im_id, []) if gts is not None else []
        info_list = infos.get(im_id) if infos is not None else None
        for gt_id, gt in enumerate(gt_list):
            self.check_object(split, scene_id, im_id, gt_id, gt, d, W, H, K, depth_scale,
                              info_list[gt_id] if info_list is not None and gt_id < len(info_list)
                              else None, depth_valid, obj_anns.pop(gt_id, None), coco)
        for gt_id, ann in sorted(obj_anns.items()) if gts is not None else ():
            self.add("consistency", coco.item(ann),
                     f"gt_id {gt_id} is not an instance of {rel} image {im_id}")

        # persons
        for person in (humans.get(im_id, []) if humans is not None else []):
            self.check_person(person, rel, im_id, cam, K, W, H,
                              person_anns.pop(person["person_id"], None), coco, len(gt_list))
        for pid, ann in sorted(person_anns.items()) if humans is not None else ():
            self.add("consistency", coco.item(ann),
                     f"person_id {pid} is not a person of {rel} image {im_id}")

    def check_object(self, split, scene_id, im_id, gt_id, gt, d: Path, W, H, K, depth_scale,
                     info, depth_valid, ann, coco: _Coco | None) -> None:
        rel = self.rel(d)
        self.counts["object_instances"] += 1
        item = f"{rel}/scene_gt.json image {im_id} gt {gt_id} (obj {gt['obj_id']})"
        obj_id = int(gt["obj_id"])
        self.obj_refs.setdefault(obj_id, f"{rel}/scene_gt.json")
        self.check_rotation(gt["cam_R_m2c"], item, "cam_R_m2c")
        stem = f"{im_id:06d}_{gt_id:06d}.png"
        mask_raw = self.read_image(d / "mask" / stem, "mask", W, H)
        visib_raw = self.read_image(d / "mask_visib" / stem, "mask", W, H)
        mask = mask_raw > 0 if mask_raw is not None else None
        visib = visib_raw > 0 if visib_raw is not None else None
        if mask is not None and visib is not None and np.any(visib & ~mask):
            self.add("consistency", f"{rel}/mask_visib/{stem}",
                     f"{int(np.count_nonzero(visib & ~mask))} visible px outside the amodal "
                     f"mask/{stem}")
        if info is not None:
            self.check_gt_info(info, f"{rel}/scene_gt_info.json image {im_id} gt {gt_id}",
                               mask, visib, depth_valid, W, H)
        # COCO: an annotation exactly for the visible instances, its RLE the mask_visib PNG
        if coco is not None and visib is not None:
            n_vis = int(visib.sum())
            if ann is None:
                if n_vis:
                    self.add("consistency", coco.rel, f"no annotation for {rel} image {im_id} "
                                                      f"gt {gt_id} ({n_vis} visible px)")
            elif ann["id"] not in coco.broken:
                a_item = coco.item(ann)
                if ann["obj_id"] != obj_id:
                    self.add("consistency", a_item, f"obj_id {ann['obj_id']} but scene_gt.json "
                                                    f"has {obj_id} for gt {gt_id}")
                rle_mask = rle_to_mask(ann["segmentation"])
                if rle_mask.shape == visib.shape and not np.array_equal(rle_mask, visib):
                    diff = int(np.count_nonzero(rle_mask ^ visib))
                    self.add("consistency", a_item,
                             f"segmentation differs from {rel}/mask_visib/{stem} in {diff} px")
                if ann["area"] != n_vis:
                    self.add("consistency", a_item, f"area {ann['area']} but {rel}/mask_visib/"
                                                    f"{stem} has {n_vis} px")
        if mask is not None and K is not None and depth_scale is not None:
            self.instances.append(Instance(
                split=split, scene_id=scene_id, im_id=im_id, gt_id=gt_id, obj_id=obj_id,
                scene_dir=d, K=np.asarray(K, dtype=np.float64), width=W, height=H,
                depth_scale=depth_scale, R_m2c=np.asarray(gt["cam_R_m2c"], dtype=np.float64),
                t_m2c_mm=np.asarray(gt["cam_t_m2c"], dtype=np.float64).reshape(3),
                px_mask=int(mask.sum())))

    def check_gt_info(self, info: dict, item: str, mask, visib, depth_valid, W: int, H: int) -> None:
        px_all, px_valid, px_visib = (info["px_count_all"], info["px_count_valid"],
                                      info["px_count_visib"])
        want = px_visib / px_all if px_all > 0 else 0.0
        if abs(info["visib_fract"] - want) > FLOAT_TOL:
            self.add("consistency", item, f"visib_fract {info['visib_fract']} but px_count_visib / "
                                          f"px_count_all = {px_visib}/{px_all} = {want:.6f}")
        if visib is not None:
            n = int(visib.sum())
            if px_visib != n:
                self.add("consistency", item,
                         f"px_count_visib {px_visib} but mask_visib has {n} px")
            box = bbox_from_mask(visib)
            if list(info["bbox_visib"]) != box:
                self.add("consistency", item, f"bbox_visib {info['bbox_visib']} but mask_visib's "
                                              f"box is {box}")
        elif px_visib == 0 and list(info["bbox_visib"]) != EMPTY_BOP_BOX:
            self.add("consistency", item,
                     "bbox_visib of an invisible instance is not [-1, -1, -1, -1]")
        if mask is not None:
            n_in = int(mask.sum())
            if n_in > px_all:
                self.add("consistency", item, f"px_count_all {px_all} but mask has {n_in} px "
                                              "inside the image alone")
            if depth_valid is not None:
                lo = int(np.count_nonzero(mask & depth_valid))
                # the PNG stores 0 beyond 65535 depth steps, where the sensor had depth: valid >= lo
                if not lo <= px_valid <= n_in:
                    self.add("consistency", item, f"px_count_valid {px_valid} but mask has {n_in} "
                                                  f"px, {lo} of them with sensor depth")
            bx, by, bw, bh = (int(v) for v in info["bbox_obj"])
            box = bbox_from_mask(mask)
            if px_visib == 0:
                # bop_toolkit's calc_gt_info: no visible pixel, no box (even when the hidden
                # silhouette lies in the image)
                if list(info["bbox_obj"]) != EMPTY_BOP_BOX:
                    self.add("consistency", item, f"bbox_obj {info['bbox_obj']} of an invisible "
                                                  "instance (px_count_visib 0) is not [-1, -1, -1, -1]")
            elif n_in and bw >= 0:
                inside = bx >= 0 and by >= 0 and bx + bw < W and by + bh < H
                mx, my, mw, mh = box
                encloses = bx <= mx and by <= my and mx + mw <= bx + bw and my + mh <= by + bh
                if not encloses or (inside and box != [bx, by, bw, bh]):
                    self.add("consistency", item, f"bbox_obj {info['bbox_obj']} but mask's box "
                                                  f"is {box}")
                if inside and n_in != px_all:
                    self.add("consistency", item, f"px_count_all {px_all} but the object lies in "
                                                  f"the image and its mask has {n_in} px")
            elif n_in:
                self.add("consistency", item, f"bbox_obj {info['bbox_obj']} but mask has {n_in} px")

    def check_person(self, person: dict, rel: str, im_id: int, cam, K, W: int, H: int,
                     ann: dict | None, coco: _Coco | None, n_objects: int) -> None:
        self.counts["persons"] += 1
        pid = person["person_id"]
        item = f"{rel}/scene_humans.json image {im_id} person {pid}"
        if cam is not None:
            if not np.allclose(person["cam_R_w2c"], cam["cam_R_w2c"], atol=1e-9, rtol=0):
                self.add("consistency", item, "cam_R_w2c differs from scene_camera.json")
            t_mm = np.asarray(person["cam_t_w2c"]).reshape(3) * 1000.0
            if not np.allclose(t_mm, np.asarray(cam["cam_t_w2c"]).reshape(3), atol=1e-6, rtol=0):
                self.add("consistency", item, "cam_t_w2c (m) differs from scene_camera.json (mm)")
        if not 0.0 <= person["visib_fract"] <= 1.0:
            self.add("consistency", item, f"visib_fract {person['visib_fract']} outside [0, 1]")
        counts = [person.get(k) for k in ("px_count_all", "px_count_valid", "px_count_visib")]
        if None not in counts:
            px_all, px_valid, px_visib = counts
            want = px_visib / px_all if px_all > 0 else 0.0
            if abs(person["visib_fract"] - want) > FLOAT_TOL:
                self.add("consistency", item,
                         f"visib_fract {person['visib_fract']} but px_count_visib / px_count_all "
                         f"= {px_visib}/{px_all}")
            # visible pixels show the person, so they are in its silhouette; valid ones (sensor
            # depth present) too, but a visible pixel may have lost its sensor depth to noise
            if not (px_visib <= px_all and px_valid <= px_all):
                self.add("consistency", item, f"px counts out of order: visib {px_visib}, valid "
                                              f"{px_valid}, all {px_all}")
        bad = [g for g in person["held_object_gt_ids"] if not 0 <= g < n_objects]
        if bad:
            self.add("consistency", item, f"held_object_gt_ids {bad} are not gt_ids of the image")
        if K is not None:
            self.counts["keypoints"] += check_person_projection(
                person, K, W, H, item, self._reporter("keypoints"))
        visible = list(person["bbox_visib"]) != EMPTY_BOP_BOX
        if "px_count_visib" in person and (person["px_count_visib"] > 0) != visible:
            self.add("consistency", item, f"px_count_visib {person['px_count_visib']} but "
                                          f"bbox_visib {person['bbox_visib']}")
        if (list(person["bbox_amodal"]) != EMPTY_BOP_BOX) != visible:
            self.add("consistency", item, f"bbox_amodal {person['bbox_amodal']} but bbox_visib "
                                          f"{person['bbox_visib']} (both are [-1, -1, -1, -1] "
                                          "exactly when nothing is visible)")
        if coco is None:
            return
        if ann is None:
            if visible:
                self.add("consistency", coco.rel, f"no annotation for {item} (bbox_visib "
                                                  f"{person['bbox_visib']})")
            return
        if ann["id"] in coco.broken:
            return
        a_item = coco.item(ann)
        if not visible:
            self.add("consistency", a_item, f"annotates {item}, whose bbox_visib is empty")
            return
        x, y, w, h = person["bbox_visib"]
        # COCO boxes are pixel edges around the mask; BOP boxes pixel indices (w = x_max - x_min)
        if not np.allclose(ann["bbox"], [x, y, w + 1, h + 1], atol=FLOAT_TOL, rtol=0):
            self.add("consistency", a_item, f"bbox {ann['bbox']} but scene_humans.json bbox_visib "
                                            f"{person['bbox_visib']} (COCO box [x, y, w+1, h+1])")
        if "px_count_visib" in person and ann["area"] != person["px_count_visib"]:
            self.add("consistency", a_item, f"area {ann['area']} but scene_humans.json "
                                            f"px_count_visib is {person['px_count_visib']}")
        self.counts["keypoints"] += check_coco_person(ann, person, a_item,
                                                      self._reporter("keypoints"))

    # -- leftovers and dataset-level counts ------------------------------------------------------

    def check_manifest_leftovers(self) -> None:
        for key, (n, rec) in sorted(self.manifest.items(), key=lambda kv: kv[1][0]):
            if rec["source"] == "real":
                if not (self.out / rec["image"]).is_file():
                    self.add("files", rec["image"], f"missing (manifest.jsonl line {n})")
                continue
            self.add("consistency", f"manifest.jsonl line {n}",
                     f"{key} is not an image of the dataset (no such scene or image id)")
        self.manifest.clear()

    def check_models(self) -> None:
        info = self.models_info
        ids = set(self.obj_refs) | (set(info) if info is not None else set())
        for obj_id in sorted(ids):
            path = self.out / "models" / f"obj_{obj_id:06d}.ply"
            rel = self.rel(path)
            if info is not None and obj_id not in info:
                self.add("consistency", "models/models_info.json",
                         f"no entry for obj {obj_id} (used in {self.obj_refs.get(obj_id)})")
            if not path.is_file():
                self.add("files", rel, "missing" + (f" (obj {obj_id} is used in "
                                                    f"{self.obj_refs[obj_id]})"
                                                    if obj_id in self.obj_refs else ""))
                continue
            try:
                model = load_model_ply(path)
                recomputed = compute_model_info(model["pts"])
            except Exception as exc:  # noqa: BLE001 - trimesh/qhull errors on a bad file
                self.add("files", rel, f"cannot load: {type(exc).__name__}: {exc}")
                continue
            self.counts["files_decoded"] += 1
            self.counts["models"] += 1
            if len(model["faces"]) == 0:
                self.add("files", rel, "model has no faces")
                continue
            self.models[obj_id] = model
            if info is not None and obj_id in info:
                for key, value in recomputed.items():
                    if abs(float(info[obj_id][key]) - value) > MODEL_INFO_TOL_MM:
                        self.add("consistency", f"models/models_info.json obj {obj_id}",
                                 f"{key} {info[obj_id][key]} but the PLY gives {value:.4f}")
        if self.dataset_objects is not None and info is not None and \
                set(self.dataset_objects) != set(info):
            self.add("consistency", "dataset.json",
                     f"objects {sorted(self.dataset_objects)} but models_info.json has "
                     f"{sorted(info)}")

    def check_dataset_counts(self, dataset: dict) -> None:
        images = {k: v for k, v in dataset["images"].items() if isinstance(v, int)}
        found = dict(self.images_per_split)
        if images != found:
            self.add("consistency", "dataset.json", f"images {images} but the scene folders hold "
                                                    f"{found}")
        if dataset["scenes"] != self.scene_count:
            self.add("consistency", "dataset.json", f"scenes {dataset['scenes']} but there are "
                                                    f"{self.scene_count} scene folders")

    def check_camera_json(self) -> None:
        if self.camera is None or not self.image_sizes:
            return
        size = (self.camera["width"], self.camera["height"])
        other = {s: n for s, n in self.image_sizes.items() if s != size}
        if other:
            desc = ", ".join(f"{n} of {w}x{h}" for (w, h), n in sorted(other.items()))
            self.add("consistency", "camera.json", f"{size[0]}x{size[1]} but images are {desc}")


def _bad_jsonl_line(path: Path) -> int:
    """1-based number of the first line of a JSON-lines file that does not parse (0 if none)."""
    with Path(path).open(encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, start=1):
            if line.strip():
                try:
                    json.loads(line)
                except json.JSONDecodeError:
                    return n
    return 0
