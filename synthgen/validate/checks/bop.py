"""BOP files: ``camera.json``, the scene JSON files, per-image rgb / depth / camera, each object
instance's masks against ``scene_gt_info.json`` and its COCO annotation, and the models against
``models_info.json``. Rules: shared spec ``formats.md`` (bop_toolkit's calc_gt_info)."""
from __future__ import annotations

import numpy as np

from synthgen.groundtruth.masks import EMPTY_BOP_BOX, bbox_from_mask
from synthgen.writers.bop import (compute_model_info, load_camera, load_model_ply,
                                  load_models_info, load_scene_camera, load_scene_gt,
                                  load_scene_gt_info, uint16_to_depth)
from synthgen.writers.humans import load_scene_humans

from .. import schema as S
from ..poses import Instance
from .coco import check_mask_annotation
from .context import FLOAT_TOL, MODEL_INFO_TOL_MM, DatasetContext, ImageContext, SceneContext

SCENE_FILES = (("scene_camera.json", S.SCENE_CAMERA, load_scene_camera, "cams"),
               ("scene_gt.json", S.SCENE_GT, load_scene_gt, "gts"),
               ("scene_gt_info.json", S.SCENE_GT_INFO, load_scene_gt_info, "infos"),
               ("scene_humans.json", S.SCENE_HUMANS, load_scene_humans, "humans"))


def load_dataset_files(ctx: DatasetContext) -> None:
    """``camera.json`` and ``models/models_info.json`` into the context."""
    if ctx.read_json(ctx.out / "camera.json", S.CAMERA_JSON) is not None:
        ctx.camera = ctx.typed(load_camera, ctx.out / "camera.json")
    info_path = ctx.out / "models" / "models_info.json"
    if ctx.read_json(info_path, S.MODELS_INFO) is not None:
        ctx.models_info = ctx.typed(load_models_info, info_path)


def load_scene_files(ctx: DatasetContext, sc: SceneContext) -> set[int]:
    """Read the scene's four JSON files into ``sc``, check they list the same images and
    scene_gt / scene_gt_info the same instances; returns the image ids."""
    present = {}
    for name, spec, loader, attr in SCENE_FILES:
        raw = ctx.read_json(sc.dir / name, spec)
        data = ctx.typed(loader, sc.dir / name) if raw is not None else None
        setattr(sc, attr, data)
        present[name] = data
    ids: set[int] = set()
    for f in present.values():
        if f is not None:
            ids.update(f)
    for name, f in present.items():
        if f is not None and set(f) != ids:
            missing = sorted(ids - set(f))
            ctx.add("consistency", f"{sc.rel}/{name}", f"no entry for image ids {missing[:10]}")
    if sc.gts is not None and sc.infos is not None:
        for im_id in sorted(set(sc.gts) & set(sc.infos)):
            if len(sc.gts[im_id]) != len(sc.infos[im_id]):
                ctx.add("consistency", f"{sc.rel}/scene_gt_info.json image {im_id}",
                        f"{len(sc.infos[im_id])} entries but scene_gt.json has "
                        f"{len(sc.gts[im_id])}")
    return ids


def check_K(ctx: DatasetContext, K: np.ndarray, item: str) -> bool:
    K = np.asarray(K, dtype=np.float64)
    if not (K[0, 0] > 0 and K[1, 1] > 0 and K[0, 1] == 0 and K[1, 0] == 0
            and np.array_equal(K[2], [0.0, 0.0, 1.0])):
        ctx.add("consistency", item, f"cam_K is not a pinhole matrix: {K.reshape(-1).tolist()}")
        return False
    return True


def check_K_vs_camera_json(ctx: DatasetContext, K: np.ndarray, item: str) -> None:
    """An image's cam_K against camera.json: equal when camera.json says ``"intrinsics":
    "exact"``; the same cx, cy and fx, fy scaled by one factor inside its ``focal_scale`` when
    it says ``"nominal"``; not compared for a file without ``intrinsics``."""
    c = ctx.camera
    if c is None or c["intrinsics"] is None:
        return
    K0 = c["K"]
    if c["intrinsics"] == "exact":
        if not np.allclose(K, K0, rtol=1e-12, atol=1e-9):
            ctx.add("consistency", item, f"cam_K {K.reshape(-1).tolist()} but camera.json says "
                                         f"every image has its K {K0.reshape(-1).tolist()} "
                                         "(intrinsics: exact)")
        return
    sx, sy = K[0, 0] / K0[0, 0], K[1, 1] / K0[1, 1]
    lo, hi = c["focal_scale"] if c["focal_scale"] is not None else (sx, sx)
    if not (np.allclose(K[:2, 2], K0[:2, 2], rtol=0, atol=1e-9) and abs(sx - sy) <= 1e-9
            and lo - 1e-9 <= sx <= hi + 1e-9):
        ctx.add("consistency", item, f"cam_K {K.reshape(-1).tolist()} is not camera.json's "
                                     f"nominal K with fx, fy times one factor in [{lo}, {hi}] "
                                     f"(fx x{sx:.6f}, fy x{sy:.6f})")


def check_image_files(ctx: DatasetContext, img: ImageContext, rgb) -> None:
    """The image's rgb, depth and depth_gt PNGs and its scene_camera entry; fills ``img.cam``,
    ``K``, ``depth_scale``, ``depth_valid`` and ``depth_gt``."""
    sc, W, H = img.scene, img.width, img.height
    ctx.read_image(rgb, "rgb", W, H)
    cam = sc.cams.get(img.im_id) if sc.cams is not None else None
    img.cam = cam
    if cam is not None:
        item = f"{sc.rel}/scene_camera.json image {img.im_id}"
        img.depth_scale = float(cam["depth_scale"])
        if check_K(ctx, cam["cam_K"], item):
            img.K = cam["cam_K"]
            check_K_vs_camera_json(ctx, img.K, item)
        ctx.check_rotation(cam["cam_R_w2c"], item, "cam_R_w2c")
        if not img.depth_scale > 0:
            ctx.add("consistency", item, f"depth_scale {img.depth_scale} is not positive")
            img.depth_scale = None
        elif ctx.camera is not None and img.depth_scale != ctx.camera["depth_scale"]:
            ctx.add("consistency", item, f"depth_scale {img.depth_scale} but camera.json has "
                                         f"{ctx.camera['depth_scale']}")
    depth_raw = ctx.read_image(sc.dir / "depth" / f"{img.im_id:06d}.png", "depth", W, H)
    # px_count_valid counts silhouette pixels where the sensor measured a depth (depth/ > 0)
    img.depth_valid = depth_raw > 0 if depth_raw is not None else None
    gt_raw = ctx.read_image(sc.dir / "depth_gt" / f"{img.im_id:06d}.png", "depth", W, H)
    if gt_raw is not None and img.depth_scale is not None:
        img.depth_gt = uint16_to_depth(gt_raw, img.depth_scale)


def check_object(ctx: DatasetContext, img: ImageContext, gt_id: int, gt: dict,
                 info: dict | None, ann: dict | None) -> None:
    """One object instance: rotation, mask/ and mask_visib/ PNGs, its scene_gt_info entry, its
    COCO annotation; queues it for the pose check."""
    sc, W, H, im_id = img.scene, img.width, img.height, img.im_id
    rel = sc.rel
    ctx.counts["object_instances"] += 1
    item = f"{rel}/scene_gt.json image {im_id} gt {gt_id} (obj {gt['obj_id']})"
    obj_id = int(gt["obj_id"])
    ctx.obj_refs.setdefault(obj_id, f"{rel}/scene_gt.json")
    ctx.check_rotation(gt["cam_R_m2c"], item, "cam_R_m2c")
    stem = f"{im_id:06d}_{gt_id:06d}.png"
    mask, visib = ctx.read_mask_pair(sc.dir, rel, "mask", "mask_visib", stem, W, H)
    if info is not None:
        check_gt_info(ctx, info, f"{rel}/scene_gt_info.json image {im_id} gt {gt_id}",
                      mask, visib, img.depth_valid, W, H)
    # COCO: an annotation exactly for the visible instances, its RLE the mask_visib PNG
    if img.coco is not None and visib is not None:
        ann = check_mask_annotation(ctx, img, ann, visib, f"gt {gt_id}",
                                    f"{rel}/mask_visib/{stem}")
        if ann is not None and ann["obj_id"] != obj_id:
            ctx.add("consistency", img.coco.item(ann), f"obj_id {ann['obj_id']} but "
                                                       f"scene_gt.json has {obj_id} for gt {gt_id}")
    if mask is not None and img.K is not None and img.depth_scale is not None:
        ctx.instances.append(Instance(
            split=sc.split, scene_id=sc.scene_id, im_id=im_id, gt_id=gt_id, obj_id=obj_id,
            scene_dir=sc.dir, K=np.asarray(img.K, dtype=np.float64), width=W, height=H,
            depth_scale=img.depth_scale, R_m2c=np.asarray(gt["cam_R_m2c"], dtype=np.float64),
            t_m2c_mm=np.asarray(gt["cam_t_m2c"], dtype=np.float64).reshape(3),
            px_mask=int(mask.sum())))


def check_gt_info(ctx: DatasetContext, info: dict, item: str, mask, visib, depth_valid,
                  W: int, H: int) -> None:
    """A ``scene_gt_info`` entry (object, or a person's entry in the same terms) against the
    instance's amodal ``mask`` and visible ``visib`` masks (either None when unreadable)."""
    px_all, px_valid, px_visib = (info["px_count_all"], info["px_count_valid"],
                                  info["px_count_visib"])
    box_key = "bbox_obj" if "bbox_obj" in info else "bbox_amodal"
    want = px_visib / px_all if px_all > 0 else 0.0
    if abs(info["visib_fract"] - want) > FLOAT_TOL:
        ctx.add("consistency", item, f"visib_fract {info['visib_fract']} but px_count_visib / "
                                     f"px_count_all = {px_visib}/{px_all} = {want:.6f}")
    if visib is not None:
        n = int(visib.sum())
        if px_visib != n:
            ctx.add("consistency", item, f"px_count_visib {px_visib} but the visible mask has "
                                         f"{n} px")
        box = bbox_from_mask(visib)
        if list(info["bbox_visib"]) != box:
            ctx.add("consistency", item, f"bbox_visib {info['bbox_visib']} but the visible "
                                         f"mask's box is {box}")
    elif px_visib == 0 and list(info["bbox_visib"]) != EMPTY_BOP_BOX:
        ctx.add("consistency", item, "bbox_visib of an invisible instance is not [-1, -1, -1, -1]")
    if mask is None:
        return
    n_in = int(mask.sum())
    if n_in > px_all:
        ctx.add("consistency", item, f"px_count_all {px_all} but the amodal mask has {n_in} px "
                                     "inside the image alone")
    if depth_valid is not None:
        lo = int(np.count_nonzero(mask & depth_valid))
        # the PNG stores 0 beyond 65535 depth steps, where the sensor had depth: valid >= lo
        if not lo <= px_valid <= n_in:
            ctx.add("consistency", item, f"px_count_valid {px_valid} but the amodal mask has "
                                         f"{n_in} px, {lo} of them with sensor depth")
    bx, by, bw, bh = (int(v) for v in info[box_key])
    box = bbox_from_mask(mask)
    if px_visib == 0:
        # bop_toolkit's calc_gt_info: no visible pixel, no box (even when the hidden
        # silhouette lies in the image)
        if list(info[box_key]) != EMPTY_BOP_BOX:
            ctx.add("consistency", item, f"{box_key} {info[box_key]} of an invisible instance "
                                         "(px_count_visib 0) is not [-1, -1, -1, -1]")
    elif n_in and bw >= 0:
        inside = bx >= 0 and by >= 0 and bx + bw < W and by + bh < H
        mx, my, mw, mh = box
        encloses = bx <= mx and by <= my and mx + mw <= bx + bw and my + mh <= by + bh
        if not encloses or (inside and box != [bx, by, bw, bh]):
            ctx.add("consistency", item, f"{box_key} {info[box_key]} but the amodal mask's box "
                                         f"is {box}")
        if inside and n_in != px_all:
            ctx.add("consistency", item, f"px_count_all {px_all} but the instance lies in the "
                                         f"image and its amodal mask has {n_in} px")
    elif n_in:
        ctx.add("consistency", item, f"{box_key} {info[box_key]} but the amodal mask has "
                                     f"{n_in} px")


def check_models(ctx: DatasetContext) -> None:
    info = ctx.models_info
    ids = set(ctx.obj_refs) | (set(info) if info is not None else set())
    for obj_id in sorted(ids):
        path = ctx.out / "models" / f"obj_{obj_id:06d}.ply"
        rel = ctx.rel(path)
        if info is not None and obj_id not in info:
            ctx.add("consistency", "models/models_info.json",
                    f"no entry for obj {obj_id} (used in {ctx.obj_refs.get(obj_id)})")
        if not path.is_file():
            ctx.add("files", rel, "missing" + (f" (obj {obj_id} is used in "
                                               f"{ctx.obj_refs[obj_id]})"
                                               if obj_id in ctx.obj_refs else ""))
            continue
        try:
            model = load_model_ply(path)
            recomputed = compute_model_info(model["pts"])
        except Exception as exc:  # noqa: BLE001 - trimesh/qhull errors on a bad file
            ctx.add("files", rel, f"cannot load: {type(exc).__name__}: {exc}")
            continue
        ctx.counts["files_decoded"] += 1
        ctx.counts["models"] += 1
        if len(model["faces"]) == 0:
            ctx.add("files", rel, "model has no faces")
            continue
        ctx.models[obj_id] = model
        if info is not None and obj_id in info:
            for key, value in recomputed.items():
                if abs(float(info[obj_id][key]) - value) > MODEL_INFO_TOL_MM:
                    ctx.add("consistency", f"models/models_info.json obj {obj_id}",
                            f"{key} {info[obj_id][key]} but the PLY gives {value:.4f}")
    if ctx.dataset_objects is not None and info is not None and \
            set(ctx.dataset_objects) != set(info):
        ctx.add("consistency", "dataset.json",
                f"objects {sorted(ctx.dataset_objects)} but models_info.json has {sorted(info)}")


def check_camera_json(ctx: DatasetContext) -> None:
    """camera.json's size against the images' sizes (its K is checked per image)."""
    if ctx.camera is None or not ctx.image_sizes:
        return
    size = (ctx.camera["width"], ctx.camera["height"])
    other = {s: n for s, n in ctx.image_sizes.items() if s != size}
    if other:
        desc = ", ".join(f"{n} of {w}x{h}" for (w, h), n in sorted(other.items()))
        ctx.add("consistency", "camera.json", f"{size[0]}x{size[1]} but images are {desc}")
