"""The COCO files (``annotations/coco_<split>.json``): categories, each annotation on its own
(RLE, area, bbox, keypoint fields), the link of images and annotations to the scene files, and an
object annotation against its ``mask_visib`` PNG. Person annotations against ``scene_humans.json``
and the person masks are in :mod:`.humans`."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from synthgen.groundtruth.masks import rle_area, rle_bbox, rle_to_mask
from synthgen.bodies.keypoints import WHOLEBODY133_PARTS as WHOLEBODY_PARTS
from synthgen.scene.kinds import RGB_FORMATS
from synthgen.writers.coco import (COCO17_KEYPOINT_NAMES, COCO17_SKELETON, PERSON_CATEGORY_ID, load_coco,
                                   object_category_id)

from .. import schema as S
from ..keypoints import COCO17_NAMES, WHOLEBODY133_NAMES, check_rows
from .context import FLOAT_TOL, DatasetContext, ImageContext

RGB_SUFFIXES = RGB_FORMATS


@dataclass
class CocoIndex:
    """One split's COCO file, indexed."""

    rel: str
    images: dict[tuple[int, int], dict] = field(default_factory=dict)  # (scene_id, im_id)
    anns_by_image: dict[int, list[dict]] = field(default_factory=lambda: defaultdict(list))
    seen_images: set = field(default_factory=set)
    items: dict[int, str] = field(default_factory=dict)  # annotation id -> name in messages
    broken: set = field(default_factory=set)  # ids of annotations too broken to compare

    def item(self, ann: dict) -> str:
        return self.items.get(ann["id"], f"{self.rel} annotation {ann['id']}")


def load_coco_file(ctx: DatasetContext, split: str) -> CocoIndex | None:
    path = ctx.out / "annotations" / f"coco_{split}.json"
    raw = ctx.read_json(path, S.COCO_FILE)
    if raw is None:
        return None
    coco_data = ctx.typed(load_coco, path)
    if coco_data is None:
        return None
    rel = ctx.rel(path)
    coco = CocoIndex(rel=rel)
    check_categories(ctx, coco_data["categories"], rel)
    image_ids: dict[int, dict] = {}
    for img in coco_data["images"]:
        item = f"{rel} image {img['id']}"
        if img["id"] in image_ids:
            ctx.add("consistency", item, "duplicate image id")
            continue
        image_ids[img["id"]] = img
        if img["split"] != split:
            ctx.add("consistency", item, f"split {img['split']!r} in the file of split {split!r}")
        key = (img["scene_id"], img["im_id"])
        if key in coco.images:
            ctx.add("consistency", item, f"scene {key[0]} image {key[1]} listed twice")
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
            ctx.add("consistency", item, "duplicate annotation id")
            continue
        ann_ids.add(ann["id"])
        ctx.counts["coco_annotations"] += 1
        if ann["image_id"] not in image_ids:
            ctx.add("consistency", item, f"image_id {ann['image_id']} is not an image")
            continue
        if ann["category_id"] not in cat_ids:
            ctx.add("consistency", item, f"category_id {ann['category_id']} is not a category")
        if not check_annotation(ctx, ann, img, item):
            coco.broken.add(ann["id"])
        if ("person_id" if ann["category_id"] == PERSON_CATEGORY_ID else "gt_id") in ann:
            coco.anns_by_image[ann["image_id"]].append(ann)
    return coco


def check_categories(ctx: DatasetContext, cats: list[dict], rel: str) -> None:
    by_id = {}
    for c in cats:
        if c["id"] in by_id:
            ctx.add("consistency", f"{rel} category {c['id']}", "duplicate category id")
        by_id[c["id"]] = c
    person = by_id.get(PERSON_CATEGORY_ID)
    if person is None:
        ctx.add("consistency", f"{rel} categories", "no person category (id 1)")
    else:
        if person["name"] != "person":
            ctx.add("consistency", f"{rel} category 1", f"name {person['name']!r}, not 'person'")
        if person.get("keypoints") != list(COCO17_KEYPOINT_NAMES):
            ctx.add("consistency", f"{rel} category 1", "keypoints are not the 17 COCO names "
                                                        "in order")
        if person.get("skeleton") != [list(e) for e in COCO17_SKELETON]:
            ctx.add("consistency", f"{rel} category 1", "skeleton is not COCO's")
    for cid, c in sorted(by_id.items()):
        if cid == PERSON_CATEGORY_ID:
            continue
        obj_id = cid - 1
        if ctx.models_info is not None and obj_id not in ctx.models_info:
            ctx.add("consistency", f"{rel} category {cid}",
                    f"obj_id {obj_id} (= id - 1) is not in models/models_info.json")
        if ctx.dataset_objects and obj_id in ctx.dataset_objects and \
                ctx.dataset_objects[obj_id] != c["name"]:
            ctx.add("consistency", f"{rel} category {cid}",
                    f"name {c['name']!r} but dataset.json names obj {obj_id} "
                    f"{ctx.dataset_objects[obj_id]!r}")


def check_annotation(ctx: DatasetContext, ann: dict, img: dict, item: str) -> bool:
    """Checks of one annotation on its own: RLE, area, bbox, keypoint fields. Returns False
    when the annotation is too broken to link to the scene files."""
    rle = ann["segmentation"]
    if list(rle["size"]) != [img["height"], img["width"]]:
        ctx.add("consistency", item, f"segmentation size {rle['size']} but the image is "
                                     f"{img['height']}x{img['width']} (H x W)")
        return False
    try:
        area = rle_area(rle)
        box = rle_bbox(rle)
        rle_to_mask(rle)  # the only pycocotools call that checks the counts sum to H x W
    except Exception as exc:  # noqa: BLE001 - pycocotools' C layer raises assorted errors
        ctx.add("consistency", item, f"segmentation RLE does not decode: {exc}")
        return False
    if ann["area"] != area:
        ctx.add("consistency", item, f"area {ann['area']} but the RLE has {area} px")
    if not np.allclose(ann["bbox"], box, atol=FLOAT_TOL, rtol=0):
        ctx.add("consistency", item, f"bbox {ann['bbox']} but the RLE's toBbox is {box}")
    if area == 0:
        ctx.add("consistency", item, "empty segmentation (invisible instances get no annotation)")
    is_person = ann["category_id"] == PERSON_CATEGORY_ID
    findings = S.check(ann, S.COCO_PERSON_FIELDS if is_person else S.COCO_OBJECT_FIELDS)
    for key_path, msg in findings:
        ctx.add("schema", item, f"{key_path}: {msg} ({'person' if is_person else 'object'} "
                                "annotation)")
    n_labelled = 0
    if "keypoints" in ann:
        n_labelled = check_annotation_keypoints(ctx, ann, item)
    if findings:
        return False
    if not is_person:
        if ann["category_id"] != object_category_id(ann["obj_id"]):
            ctx.add("consistency", item, f"category_id {ann['category_id']} but obj_id "
                                         f"{ann['obj_id']} (expected {ann['obj_id'] + 1})")
        if n_labelled or any(ann.get(f"{p}_valid") for p in WHOLEBODY_PARTS):
            ctx.add("consistency", item, "object annotation with labelled keypoints")
    return True


def check_annotation_keypoints(ctx: DatasetContext, ann: dict, item: str) -> int:
    """COCO keypoint rules of one annotation's keypoint fields; returns num labelled body points."""
    reporter = ctx.reporter("keypoints")
    body = np.asarray(ann["keypoints"], dtype=np.float64).reshape(-1, 3)
    check_rows(body, f"{item} keypoints", COCO17_NAMES, reporter)
    n_labelled = int(np.count_nonzero(body[:, 2] > 0))
    if "num_keypoints" in ann and ann["num_keypoints"] != n_labelled:
        ctx.add("consistency", item, f"num_keypoints {ann['num_keypoints']} but {n_labelled} "
                                     "keypoints have v > 0")
    for part, (a, b) in WHOLEBODY_PARTS.items():
        if f"{part}_kpts" not in ann:
            continue
        rows = np.asarray(ann[f"{part}_kpts"], dtype=np.float64).reshape(-1, 3)
        check_rows(rows, f"{item} {part}_kpts", WHOLEBODY133_NAMES[a:b], reporter)
        labelled = rows[rows[:, 2] > 0]
        valid = bool(len(labelled))
        if f"{part}_valid" in ann and ann[f"{part}_valid"] != valid:
            ctx.add("consistency", item, f"{part}_valid is {ann[f'{part}_valid']} but "
                                         f"{len(labelled)} {part} points have v > 0")
        if part != "foot" and f"{part}_box" in ann:
            want = [0.0, 0.0, 0.0, 0.0]
            if valid:
                lo, hi = labelled[:, :2].min(axis=0), labelled[:, :2].max(axis=0)
                want = [float(lo[0]), float(lo[1]), float(hi[0] - lo[0]), float(hi[1] - lo[1])]
            if not np.allclose(ann[f"{part}_box"], want, atol=FLOAT_TOL, rtol=0):
                ctx.add("consistency", item, f"{part}_box {ann[f'{part}_box']} is not the box "
                                             f"of its labelled points {want}")
    return n_labelled


def check_coco_leftovers(ctx: DatasetContext, split: str, coco: CocoIndex) -> None:
    for key, img in coco.images.items():
        if img["id"] not in coco.seen_images:
            ctx.add("consistency", f"{coco.rel} image {img['id']}",
                    f"scene {key[0]} image {key[1]} of split {split} is not in the dataset")


def link_image(ctx: DatasetContext, img: ImageContext) -> None:
    """The COCO image of ``img`` (size, seen) and its annotations, filed into ``img.obj_anns``
    (by gt_id) and ``img.person_anns`` (by person_id); a second annotation of one instance is
    a problem."""
    coco, sc = img.coco, img.scene
    if coco is None:
        return
    coco_img = coco.images.get((sc.scene_id, img.im_id))
    if coco_img is None:
        ctx.add("consistency", coco.rel, f"no image for {sc.rel} image {img.im_id}")
        return
    coco.seen_images.add(coco_img["id"])
    if (coco_img["width"], coco_img["height"]) != (img.width, img.height):
        ctx.add("consistency", f"{coco.rel} image {coco_img['id']}",
                f"{coco_img['width']}x{coco_img['height']} but the manifest says "
                f"{img.width}x{img.height}")
    for ann in coco.anns_by_image.get(coco_img["id"], []):
        if ann["category_id"] == PERSON_CATEGORY_ID:
            key, target, what = ann["person_id"], img.person_anns, "person_id"
        else:
            key, target, what = ann["gt_id"], img.obj_anns, "gt_id"
        if key in target:
            ctx.add("consistency", coco.item(ann), f"second annotation of {what} {key} in "
                                                   f"{sc.rel} image {img.im_id} (first: "
                                                   f"{target[key]['id']})")
        else:
            target[key] = ann


def check_unclaimed(ctx: DatasetContext, img: ImageContext) -> None:
    """Annotations of the image that no instance of the scene files claimed."""
    sc = img.scene
    for gt_id, ann in sorted(img.obj_anns.items()) if sc.gts is not None else ():
        ctx.add("consistency", img.coco.item(ann),
                f"gt_id {gt_id} is not an instance of {sc.rel} image {img.im_id}")
    for pid, ann in sorted(img.person_anns.items()) if sc.humans is not None else ():
        ctx.add("consistency", img.coco.item(ann),
                f"person_id {pid} is not a person of {sc.rel} image {img.im_id}")


def check_mask_annotation(ctx: DatasetContext, img: ImageContext, ann: dict | None,
                          visib: np.ndarray, what: str, mask_rel: str) -> dict | None:
    """An instance's COCO annotation against its visible-mask PNG: an annotation exactly when the
    mask has pixels, its RLE that mask, its area the mask's pixel count. ``what`` names the
    instance ("gt 3", "person 0"). Returns the annotation when it can be compared further."""
    coco = img.coco
    n_vis = int(visib.sum())
    if ann is None:
        if n_vis:
            ctx.add("consistency", coco.rel, f"no annotation for {img.rel} image {img.im_id} "
                                             f"{what} ({n_vis} visible px)")
        return None
    if ann["id"] in coco.broken:
        return None
    a_item = coco.item(ann)
    rle_mask = rle_to_mask(ann["segmentation"])
    if rle_mask.shape == visib.shape and not np.array_equal(rle_mask, visib):
        diff = int(np.count_nonzero(rle_mask ^ visib))
        ctx.add("consistency", a_item, f"segmentation differs from {mask_rel} in {diff} px")
    if ann["area"] != n_vis:
        ctx.add("consistency", a_item, f"area {ann['area']} but {mask_rel} has {n_vis} px")
    return ann


def image_size(ctx: DatasetContext, split: str, scene_id: int, im_id: int,
               coco: CocoIndex | None) -> tuple[int, int] | None:
    """(width, height) the image is declared with: manifest, else COCO, else camera.json."""
    line = ctx.manifest.get((split, scene_id, im_id))
    if line is not None:
        return line[1]["width"], line[1]["height"]
    if coco is not None and (scene_id, im_id) in coco.images:
        img = coco.images[(scene_id, im_id)]
        return img["width"], img["height"]
    if ctx.camera is not None:
        return ctx.camera["width"], ctx.camera["height"]
    return None


def rgb_path(ctx: DatasetContext, split: str, scene_id: int, im_id: int, d, coco: CocoIndex | None):
    """The rgb file of the image, as the manifest and COCO name it (they must agree)."""
    names = []
    line = ctx.manifest.get((split, scene_id, im_id))
    if line is not None:
        names.append(("manifest.jsonl", line[1]["image"]))
    if coco is not None and (scene_id, im_id) in coco.images:
        names.append((coco.rel, coco.images[(scene_id, im_id)]["file_name"]))
    expected = {f"{ctx.rel(d)}/rgb/{im_id:06d}.{s}" for s in RGB_SUFFIXES}
    for source, name in names:
        if name not in expected:
            ctx.add("consistency", f"{source} {name}",
                    f"is not the rgb image of scene {scene_id} image {im_id} "
                    f"({ctx.rel(d)}/rgb/{im_id:06d}.png|jpg)")
    if len({n for _, n in names}) > 1:
        ctx.add("consistency", f"{ctx.rel(d)} image {im_id}",
                f"manifest and COCO name different files: {[n for _, n in names]}")
    for _, name in names:
        if name in expected:
            return ctx.out / name
    for s in RGB_SUFFIXES:
        p = d / "rgb" / f"{im_id:06d}.{s}"
        if p.is_file():
            return p
    return d / "rgb" / f"{im_id:06d}.png"
