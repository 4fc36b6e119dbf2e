"""Pose check: re-render each object model (every instance, or a sample) alone at its labelled pose and compare.

For an instance (image, gt_id) the model ``models/obj_{obj_id:06d}.ply`` (millimetres, converted
to metres) is rendered by the project's :class:`~synthgen.render.Renderer` in a scene that holds
only that object, with pose ``T_m2c`` = (``cam_R_m2c``, ``cam_t_m2c``) and a camera with ``cam_K``,
the image size and ``T_w2c`` = identity, so the model pose *is* the model-to-camera pose. Two
comparisons, each allowed :data:`MAX_DIFF_PX` odd pixels (a pixel centre lying on an edge may
flip with float rounding of the pose):

- silhouette: the rendered silhouette vs the amodal ``mask/`` PNG, both inside the image:
  IoU >= ``iou_min``;
- depth: wherever the model is rendered and ``depth_gt`` has a value, the scene cannot lie
  *behind* the model's surface, since the object itself is in the scene (an occluder can only
  be in front). Pixels where ``depth_gt`` exceeds the rendered Z by more than ``depth_tol_mm``
  + ``depth_scale`` count as "behind"; more than :data:`MAX_DIFF_PX` and :data:`BEHIND_FRAC` of
  the compared pixels is a problem. A sound label agrees to the depth quantisation
  (depth_scale / 2 = 0.05 mm at BOP's 0.1) plus the depth-buffer resolution (< 0.05 mm to 6 m
  with the pipeline's 5 cm near plane). A rotation by 1 degree about an axis across the view
  brings half of the visible surface forward by a fraction of a millimetre, which the
  silhouette of a small object may not show but ``depth_gt`` does.

Why not "median |rendered - depth_gt| over mask_visib": BOP's visibility rule counts a pixel as
visible when an occluder is less than 15 mm in front, so an object behind a touching neighbour
(a mug against a box) legitimately differs from ``depth_gt`` by several millimetres over most of
its visible pixels. Limits: a label pushed away from the camera along the ray is seen only
through its silhouette; an object hidden behind occluders has no depth evidence; a rotation
about a continuous symmetry axis changes nothing and is (rightly) never reported.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from synthgen.writers.bop import load_image, uint16_to_depth

from .report import PoseResult, Report

#: Silhouettes that differ in at most this many pixels pass whatever their IoU, and this many
#: "behind" pixels always pass: at 640x480 a sound label was seen once with 1 such pixel.
MAX_DIFF_PX = 2
#: Largest fraction of the compared pixels that may show the scene behind the model.
BEHIND_FRAC = 0.005
IOU_MIN = 0.99
DEPTH_TOL_MM = 0.1


@dataclass(frozen=True)
class Instance:
    """One object instance of one image, with what the pose check needs (from the scene files).

    ``K`` (3, 3) pixels; ``R_m2c`` (3, 3); ``t_m2c_mm`` (3,) millimetres; ``px_mask`` the
    amodal ``mask/`` pixel count inside the image (0 when the file is missing or empty)."""

    split: str
    scene_id: int
    im_id: int
    gt_id: int
    obj_id: int
    scene_dir: Path
    K: np.ndarray
    width: int
    height: int
    depth_scale: float
    R_m2c: np.ndarray
    t_m2c_mm: np.ndarray
    px_mask: int

    @property
    def item(self) -> str:
        return (f"{self.split}/{self.scene_id:06d}/scene_gt.json image {self.im_id} "
                f"gt {self.gt_id} (obj {self.obj_id})")

    @property
    def stem(self) -> str:
        return f"{self.im_id:06d}_{self.gt_id:06d}.png"


def spread_sample(instances: list[Instance], sample: int, rng: np.random.Generator
                  ) -> list[Instance]:
    """Up to ``sample`` instances (all when ``sample <= 0`` or fewer exist), spread over scenes:
    scenes in random order take turns, each giving its instances in random order."""
    if sample <= 0 or sample >= len(instances):
        return list(instances)
    by_scene: dict[tuple[str, int], list[Instance]] = defaultdict(list)
    for inst in instances:
        by_scene[(inst.split, inst.scene_id)].append(inst)
    keys = sorted(by_scene)
    queues = [[by_scene[k][i] for i in rng.permutation(len(by_scene[k]))]
              for k in (keys[i] for i in rng.permutation(len(keys)))]
    chosen: list[Instance] = []
    depth = 0
    while len(chosen) < sample:
        for q in queues:
            if depth < len(q):
                chosen.append(q[depth])
                if len(chosen) == sample:
                    break
        depth += 1
    return chosen


#: Instances per pose-check task handed to a worker process: large enough that a worker's
#: start (a spawned interpreter importing pyrender and making a GL context, 1-3 s) is paid for.
MIN_TASK = 25


def check_poses(report: Report, out: Path, instances: list[Instance],
                models: dict[int, dict[str, np.ndarray]], *, iou_min: float = IOU_MIN,
                depth_tol_mm: float = DEPTH_TOL_MM,
                progress: Callable[[str, int, int], None] | None = None,
                workers: int = 1) -> None:
    """Re-render ``instances`` (models: obj_id -> ``load_model_ply`` dict, mm) and add a
    :class:`PoseResult` per instance and a ``pose`` problem per failed comparison to ``report``.

    ``workers`` > 1 splits the instances into tasks of at least :data:`MIN_TASK` consecutive
    instances (sorted by model) rendered by that many spawned processes, each with its own
    renderer; results are merged in task order, so the report is the same for any ``workers``.
    Raises :class:`~synthgen.render.GLUnavailableError` when no GL context can be made.
    """
    if not instances:
        return
    # Sorted by model: a renderer keeps one prepared scene and rebuilds only when it changes.
    todo = sorted(instances, key=lambda i: (i.obj_id, i.split, i.scene_id, i.im_id, i.gt_id))
    n_tasks = min(int(workers) * 4, len(todo) // MIN_TASK) if workers > 1 else 1
    if n_tasks <= 1:
        _render_task(todo, models, iou_min, depth_tol_mm, report,
                     lambda n: progress("poses", n, len(todo)) if progress is not None else None)
    else:
        import multiprocessing

        bounds = np.linspace(0, len(todo), n_tasks + 1).astype(int)
        tasks = []
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            chunk = todo[lo:hi]
            tasks.append((chunk, {o: models[o] for o in {i.obj_id for i in chunk}}, iou_min,
                          depth_tol_mm))
        done = 0
        if progress is not None:
            progress("poses", 0, len(todo))
        # spawn, not fork: a GL context (EGL/OSMesa) does not survive fork, and each worker
        # makes its own renderer
        with multiprocessing.get_context("spawn").Pool(min(int(workers), n_tasks)) as pool:
            for problems, poses, gl_error in pool.imap(_task_worker, tasks):  # in task order
                if gl_error is not None:
                    from synthgen.render import GLUnavailableError

                    raise GLUnavailableError(*gl_error)
                for p in problems:
                    report.add(p.check, p.item, p.what)
                report.poses.extend(poses)
                report.counts["poses_rendered"] += len(poses)
                done += len(poses)
                if progress is not None and done < len(todo):
                    progress("poses", done, len(todo))
    if progress is not None:
        progress("poses", len(todo), len(todo))


def _task_worker(task) -> tuple[list, list[PoseResult], tuple[str, str] | None]:
    """One worker task: render its instances into a fresh report; return its problems, its
    results and, when no GL context could be made, (platform, reason) of the error (passed as
    plain data: GLUnavailableError's two-argument constructor does not survive pickling)."""
    from synthgen.render import GLUnavailableError

    chunk, models, iou_min, depth_tol_mm = task
    local = Report(out=Path("."))
    try:
        _render_task(chunk, models, iou_min, depth_tol_mm, local, None)
    except GLUnavailableError as exc:
        return [], [], (exc.platform, exc.reason)
    return local.problems, local.poses, None


def _render_task(todo: list[Instance], models: dict[int, dict[str, np.ndarray]], iou_min: float,
                 depth_tol_mm: float, report: Report, tick: Callable[[int], None] | None) -> None:
    """Render ``todo`` (sorted by model) with one renderer and compare each with its files."""
    from synthgen.render import RENDER_ZFAR, RENDER_ZNEAR, Renderer, object_label
    from synthgen.scene.description import Camera, MeshData, ObjectInstance, Scene

    scenes: dict[int, Scene] = {}
    label = object_label(0)
    first = todo[0]
    # the render workers' clip planes: the same near plane clips the same parts of objects close
    # to the camera and gives the same depth-buffer resolution
    with Renderer(first.width, first.height, znear=RENDER_ZNEAR, zfar=RENDER_ZFAR) as renderer:
        for n, inst in enumerate(todo):
            if tick is not None:
                tick(n)
            if inst.obj_id not in scenes:
                scenes.clear()  # one model at a time: the previous one's buffers can go
                model = models[inst.obj_id]
                obj = ObjectInstance(obj_id=inst.obj_id, name=f"obj_{inst.obj_id:06d}",
                                     mesh=MeshData(model["pts"] / 1000.0, model["faces"]),
                                     pose_world=np.eye(4))
                scenes[inst.obj_id] = Scene(scene_id=0, structures=[], objects=[obj], persons=[],
                                            lights=[], cameras=[])
            scene = scenes[inst.obj_id]
            T = np.eye(4)
            T[:3, :3] = inst.R_m2c
            T[:3, 3] = np.asarray(inst.t_m2c_mm, dtype=np.float64).reshape(3) / 1000.0
            scene.objects[0].pose_world = T
            cam = Camera(K=np.asarray(inst.K, dtype=np.float64), width=inst.width,
                         height=inst.height, T_w2c=np.eye(4))
            depth = renderer.render_amodal(scene, cam, [label], canvas_scale=1)[label].image_depth()
            _compare(report, inst, depth.astype(np.float64), iou_min, depth_tol_mm)
            report.counts["poses_rendered"] += 1


def _compare(report: Report, inst: Instance, depth_m: np.ndarray, iou_min: float,
             depth_tol_mm: float) -> None:
    d = inst.scene_dir
    mask = load_image(d / "mask" / inst.stem) > 0
    rendered = depth_m > 0
    inter = int(np.count_nonzero(mask & rendered))
    union = int(np.count_nonzero(mask | rendered))
    iou = inter / union if union else 1.0
    ok = True
    if iou < iou_min and union - inter > MAX_DIFF_PX:
        ok = False
        report.add("pose", inst.item,
                   f"model rendered at cam_R_m2c/cam_t_m2c vs mask/{inst.stem}: IoU {iou:.4f} < "
                   f"{iou_min} ({union - inter} px differ; mask {int(mask.sum())} px, "
                   f"rendered {int(rendered.sum())} px)")
    depth_gt_path = d / "depth_gt" / f"{inst.im_id:06d}.png"
    n_depth = n_behind = 0
    if depth_gt_path.is_file():
        depth_gt = uint16_to_depth(load_image(depth_gt_path), inst.depth_scale)
        if depth_gt.shape == rendered.shape:
            sel = rendered & (depth_gt > 0)
            tol_m = (depth_tol_mm + inst.depth_scale) / 1000.0
            n_depth = int(sel.sum())
            n_behind = int(np.count_nonzero(depth_gt[sel] - depth_m[sel] > tol_m))
            if n_behind > max(MAX_DIFF_PX, BEHIND_FRAC * n_depth):
                ok = False
                report.add("pose", inst.item,
                           f"model rendered at cam_R_m2c/cam_t_m2c vs depth_gt/"
                           f"{inst.im_id:06d}.png: the scene lies behind the model surface by "
                           f"more than {tol_m * 1000:.2f} mm at {n_behind} of {n_depth} px")
    report.poses.append(PoseResult(
        split=inst.split, scene_id=inst.scene_id, im_id=inst.im_id, gt_id=inst.gt_id,
        obj_id=inst.obj_id, px_mask=int(mask.sum()), px_render=int(rendered.sum()), iou=iou,
        depth_px=n_depth, behind_px=n_behind, ok=ok))
