"""File, schema and consistency checks of a dataset (everything but the re-render).

Reads every file through the project's loaders (:mod:`synthgen.writers`), checks each JSON file
against :mod:`synthgen.validate.schema` before using it, and then checks the files against each
other. One module per file family, each a set of functions taking the
:class:`~.context.DatasetContext` first:

- :mod:`.manifest`: ``dataset.json``, ``manifest.jsonl``, splits and scene folders;
- :mod:`.bop`: ``camera.json``, the scene JSON files, rgb / depth, object masks vs
  ``scene_gt_info``, models vs ``models_info``;
- :mod:`.coco`: the COCO files, annotations on their own and vs the visible masks;
- :mod:`.humans`: ``scene_humans.json``, the person masks, keypoints (projection and flags).

:class:`DatasetChecker` walks the dataset (dataset files, then scene by scene, image by image,
with a :class:`~.context.SceneContext` and an :class:`~.context.ImageContext`) and calls them.
Findings go to a :class:`~synthgen.validate.report.Report`; nothing here raises on bad data.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from synthgen.writers.bop import load_image

from .. import schema as S
from ..poses import Instance
from ..report import Report
from . import bop, coco, humans, manifest
from .coco import CocoIndex
from .context import DatasetContext, ImageContext, Progress, SceneContext

__all__ = ["CocoIndex", "DatasetChecker", "DatasetContext", "ImageContext", "SceneContext"]


class DatasetChecker:
    """Runs the checks over dataset ``out`` into ``report``; :meth:`run` returns the object
    instances (for the pose check) and the loaded models (obj_id -> ``load_model_ply`` dict)."""

    def __init__(self, out: Path, report: Report, progress: Progress | None = None):
        self.ctx = DatasetContext(out=Path(out), report=report, progress=progress)

    def load_manifest(self) -> None:
        """Read and check ``manifest.jsonl`` alone (schema, order, duplicates)."""
        manifest.load_manifest(self.ctx)

    def run(self) -> tuple[list[Instance], dict[int, dict[str, np.ndarray]]]:
        ctx = self.ctx
        out = ctx.out
        dataset = ctx.read_json(out / "dataset.json", S.DATASET_JSON)
        if dataset is not None:
            manifest.check_dataset_header(ctx, dataset)
            humans_cfg = dataset["config"].get("humans")
            ctx.humans_config = humans_cfg if isinstance(humans_cfg, dict) else None
        bop.load_dataset_files(ctx)
        if not (out / "DONE").is_file():
            ctx.add("files", "DONE", "missing: the render did not finish")
        manifest.load_manifest(ctx)

        splits = manifest.find_splits(ctx)
        ctx.counts["splits"] = len(splits)
        cocos = {split: coco.load_coco_file(ctx, split) for split in splits}
        dirs = [(split, d) for split in splits for d in manifest.scene_dirs(ctx, split)]
        for n, (split, d) in enumerate(dirs):
            if ctx.progress is not None:
                ctx.progress("scenes", n, len(dirs))
            try:
                self.check_scene(SceneContext(split=split, scene_id=int(d.name), dir=d,
                                              rel=ctx.rel(d), coco=cocos.get(split)))
            except Exception as exc:  # noqa: BLE001 - report, never a traceback
                ctx.add("internal", ctx.rel(d), f"could not be checked: "
                                                f"{type(exc).__name__}: {exc}")
        if ctx.progress is not None:
            ctx.progress("scenes", len(dirs), len(dirs))
        ctx.scene_count = len(dirs)
        ctx.counts["scenes"] = len(dirs)
        for split, c in cocos.items():
            if c is not None:
                coco.check_coco_leftovers(ctx, split, c)
        manifest.check_manifest_leftovers(ctx)
        bop.check_models(ctx)
        if dataset is not None:
            manifest.check_dataset_counts(ctx, dataset)
        bop.check_camera_json(ctx)
        return ctx.instances, ctx.models

    def check_scene(self, sc: SceneContext) -> None:
        ctx = self.ctx
        if not (sc.dir / "DONE").is_file():
            ctx.add("files", f"{sc.rel}/DONE", "missing: the scene folder is incomplete")
        ids = bop.load_scene_files(ctx, sc)
        if sc.humans is not None:
            person_sets = {im: sorted(p["person_id"] for p in ps) for im, ps in sc.humans.items()}
            if len({tuple(v) for v in person_sets.values()}) > 1:
                ctx.add("consistency", f"{sc.rel}/scene_humans.json",
                        "images list different persons (every person of the scene must be "
                        f"listed in every image): {person_sets}")
        for im_id in sorted(ids):
            try:
                self.check_image(sc, im_id)
            except Exception as exc:  # noqa: BLE001 - report, never a traceback
                ctx.add("internal", f"{sc.rel} image {im_id}",
                        f"could not be checked: {type(exc).__name__}: {exc}")

    def check_image(self, sc: SceneContext, im_id: int) -> None:
        ctx = self.ctx
        ctx.counts["images"] += 1
        ctx.images_per_split[sc.split] += 1
        size = coco.image_size(ctx, sc.split, sc.scene_id, im_id, sc.coco)
        rgb = coco.rgb_path(ctx, sc.split, sc.scene_id, im_id, sc.dir, sc.coco)
        if size is None:  # nothing declares it: take the rgb's own size
            try:
                size = load_image(rgb).shape[1::-1]
            except Exception:  # noqa: BLE001 - reported by read_image below
                size = (0, 0)
        img = ImageContext(scene=sc, im_id=im_id, width=int(size[0]), height=int(size[1]))
        ctx.image_sizes[(img.width, img.height)] += 1
        bop.check_image_files(ctx, img, rgb)
        manifest.check_manifest_line(ctx, img)
        coco.link_image(ctx, img)

        gt_list = sc.gts.get(im_id, []) if sc.gts is not None else []
        info_list = sc.infos.get(im_id) if sc.infos is not None else None
        for gt_id, gt in enumerate(gt_list):
            info = info_list[gt_id] if info_list is not None and gt_id < len(info_list) else None
            bop.check_object(ctx, img, gt_id, gt, info, img.obj_anns.pop(gt_id, None))
        for person in (sc.humans.get(im_id, []) if sc.humans is not None else []):
            humans.check_person(ctx, img, person, img.person_anns.pop(person["person_id"], None),
                                len(gt_list))
        if sc.coco is not None:
            coco.check_unclaimed(ctx, img)
