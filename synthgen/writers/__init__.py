"""Writers and paired loaders for every synthgen output file.

- :mod:`.jsonio`: the one sorted-key, byte-stable JSON writer (``save_json`` / ``load_json``).
- :mod:`.bop`: images, depth, masks, ``scene_camera``/``scene_gt``/``scene_gt_info``,
  ``camera.json``, model PLYs and ``models_info`` (millimetres; :func:`save_models` takes
  the asset library's metres).
- :mod:`.humans`: ``scene_humans.json`` (metres).
- :mod:`.coco`: COCO(+WholeBody) parts and their merge.
- :mod:`.manifest`: ``manifest.jsonl`` and ``dataset.json``.
- :mod:`.shard`: :func:`write_shard_files`, all files of one BOP scene.
"""
from synthgen.writers.bop import (ModelGeometry, compute_model_info, load_camera, load_depth, load_mask,
                                  load_model_ply, load_models_info, load_scene_camera,
                                  load_scene_gt, load_scene_gt_info, save_camera, save_depth,
                                  save_mask, save_model_ply, save_models, save_models_info, save_scene_camera,
                                  save_scene_gt, save_scene_gt_info)
from synthgen.writers.coco import coco_categories, load_coco, merge_coco_parts, save_coco, save_merged_coco
from synthgen.writers.humans import load_scene_humans, save_scene_humans
from synthgen.writers.jsonio import load_json, save_json
from synthgen.writers.manifest import (load_dataset_json, load_manifest, merge_manifest_parts,
                                       save_dataset_json, save_manifest, save_merged_manifest)
from synthgen.writers.shard import write_shard_files

__all__ = [
    "ModelGeometry", "coco_categories", "compute_model_info", "load_camera", "load_coco", "load_dataset_json",
    "load_depth", "load_json", "load_manifest", "load_mask", "load_model_ply", "load_models_info",
    "load_scene_camera", "load_scene_gt", "load_scene_gt_info", "load_scene_humans",
    "merge_coco_parts", "merge_manifest_parts", "save_camera", "save_coco", "save_dataset_json",
    "save_depth", "save_json", "save_manifest", "save_mask", "save_merged_coco", "save_merged_manifest",
    "save_model_ply", "save_models", "save_models_info",
    "save_scene_camera", "save_scene_gt", "save_scene_gt_info", "save_scene_humans",
    "write_shard_files",
]
