"""Does synthgen data help a real object-pose model? A transfer benchmark on real LM-O frames.

synthgen renders the eight LM-O models (through the ``bop:`` asset reference) in clutter
(``lmo.yaml`` beside this script). A small PVNet-like model (the heatmap network of
:mod:`heatmaps`, random init) predicts, in a crop around each object's visible box, the 2D
positions of 9 model keypoints (bounding-box centre + 8 farthest-point-sampled vertices, per
object its own 9 output channels); OpenCV's EPnP + RANSAC + LM refinement turns them into a
6-DoF pose. Tested on the held-out block of real LM-O frames (the last 90 by im_id; the first 40
are the real fine-tuning block, 10 frames between them are left out), instances with at least
10 % visible (BOP'19's rule), with ADD(-S) < 0.1 d recall per object and mean (ADD-S for the
objects whose models_info declares symmetries). Per seed:

- ``synthgen only``: trained on synthgen's images;
- ``synthgen+ft``: then fine-tuned on the real fine-tuning block;
- ``real only``: random init, trained on the real fine-tuning block for as many iterations
  as pretraining and fine-tuning together (``Size.scratch_iters``);
- ``oracle heatmaps``: the ground-truth heatmaps through the same decoding and PnP, the ceiling
  that the crop size, heatmap resolution and keypoints outside the window leave.

Crops come from the visible box (``bbox_visib``), as a detector would give them, for every method
alike (an oracle detector: the benchmark measures pose, not detection).

Usage::

    python benchmarks/transfer/objects.py --size cpu --work /tmp/transfer_obj
    python benchmarks/transfer/objects.py --size gpu --work /data/transfer_obj   # where CUDA is
"""
from __future__ import annotations

import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from heatmaps import Augment, CropSet, crop_windows, model, predict, train  # noqa: E402
import runs  # noqa: E402
from metrics import add_or_adds, is_symmetric, mean_spread  # noqa: E402
from objdata import (Instance, bbox_centre, load_bop_scene, load_info, model_keypoints,  # noqa: E402
                     model_vertices, project, real_blocks, solve_pose, subsample, synthgen_source_ids, window)

N_KP = 9          # centre + 8 farthest points
AUGMENT = Augment(scale=(0.8, 1.2), rotation_deg=20.0, shift=0.08)   # rigid objects: never mirrored


SIZES = {
    "cpu": runs.Size(crop=64, frames=1500, pretrain_iters=2500, real_iters=800, batch=32),
    "gpu": runs.Size(crop=128, frames=20000, pretrain_iters=40000, real_iters=4000, batch=64, seeds=(0, 1, 2)),
    "smoke": runs.Size(crop=32, frames=10, pretrain_iters=20, real_iters=10, batch=8, seeds=(0,)),
}


def make_crops(instances: list[Instance], kps: dict[int, np.ndarray], ids: list[int], size: int) -> CropSet:
    """Crops around the visible boxes; points (N, 9 x len(ids), 3): the instance's own object's 9
    channels hold its projected keypoints (flag 1), all others flag 0."""
    pts = np.zeros((len(instances), N_KP * len(ids), 3))
    centres, sides = np.zeros((len(instances), 2)), np.zeros(len(instances))
    for n, inst in enumerate(instances):
        o = ids.index(inst.obj_id)
        pts[n, o * N_KP:(o + 1) * N_KP, :2] = project(inst.K, inst.R, inst.t, kps[inst.obj_id])
        pts[n, o * N_KP:(o + 1) * N_KP, 2] = 1
        centres[n], sides[n] = window(inst.bbox_visib)
    return crop_windows([i.image for i in instances], centres, sides, pts, size, context=1.25)


def _channels(instances: list[Instance], ids: list[int]) -> np.ndarray:
    """Per instance, the output channels (N, 9) of its object's keypoints."""
    return np.array([[ids.index(i.obj_id) * N_KP + k for k in range(N_KP)] for i in instances])


def evaluate(net, crops: CropSet, instances: list[Instance], kps, pts, info, ids, size: runs.Size) -> dict[int, float]:
    """ADD(-S) < 0.1 d recall per object id (a failed PnP counts as a miss)."""
    xy, conf = predict(net, crops, size.crop, _channels(instances, ids))
    return _recall(xy, conf, instances, kps, pts, info)


def oracle(crops: CropSet, instances: list[Instance], kps, pts, info, ids, size: runs.Size) -> dict[int, float]:
    """The recall of perfect heatmaps (the Gaussian targets themselves) through the same decoding
    and PnP: the ceiling that crop size, heatmap resolution and points outside the window leave."""
    from heatmaps import batch, decode, heatmap_to_image, targets

    channels = _channels(instances, ids)
    _, j = batch(crops, np.arange(len(instances)), size.crop, None)
    t, _ = targets(j, size.crop // 4)
    xy, conf = decode(np.take_along_axis(t.numpy(), channels[:, :, None, None], axis=1))
    return _recall(heatmap_to_image(xy, crops, size.crop // 4), conf, instances, kps, pts, info)


def _recall(xy, conf, instances, kps, pts, info) -> dict[int, float]:
    hits: dict[int, list[bool]] = {}
    for n, inst in enumerate(instances):
        pose = solve_pose(inst.K, kps[inst.obj_id], xy[n], conf[n])
        ok = False
        if pose is not None:
            err = add_or_adds(pose[0], pose[1], inst.R, inst.t, pts[inst.obj_id], is_symmetric(info[inst.obj_id]))
            ok = err < 0.1 * info[inst.obj_id]["diameter"]
        hits.setdefault(inst.obj_id, []).append(ok)
    return {oid: float(np.mean(h)) for oid, h in sorted(hits.items())}


def synthetic_instances(work: Path, size: runs.Size, models: Path, workers: int, centres) -> list[Instance]:
    """Render ``lmo.yaml`` with the models folder named (reused when complete) and read its
    instances, poses moved to the source model frame."""
    out = work / "synthetic"
    if not (out / "DONE").exists():
        runs.synthgen("render", str(HERE / "lmo.yaml"), "-o", str(out), f"frames={size.frames}",
                  f"objects.groups.lmo.assets=[bop:{models.resolve()}]", "--workers", str(workers), "-q",
                  *(["--resume"] if out.exists() else []))
    id_map = synthgen_source_ids(out / "dataset.json")
    insts = []
    for scene in sorted(p for p in (out / "train_synth").iterdir() if p.is_dir()):
        insts += load_bop_scene(scene, id_map, centres=centres)
    return insts


def run(size_name: str, work: Path, lmo: Path, workers: int, device: str) -> dict:
    import torch

    size = SIZES[size_name]
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    t0 = time.time()
    models = lmo / "models"
    info = load_info(models)
    ids = sorted(info)
    verts = model_vertices(models, ids)
    kps = {oid: model_keypoints(v) for oid, v in verts.items()}
    pts = {oid: subsample(v) for oid, v in verts.items()}
    centres = {oid: bbox_centre(v) for oid, v in verts.items()}
    synth = synthetic_instances(work, size, models, workers, centres)
    t_data = time.time() - t0
    finetune, test = real_blocks(load_bop_scene(lmo / "test" / "000002"))
    print(f"synthetic instances {len(synth)}, LM-O fine-tuning block {len(finetune)}, test block {len(test)}")
    synth_crops = make_crops(synth, kps, ids, size.crop)
    ft_crops = make_crops(finetune, kps, ids, size.crop)
    test_crops = make_crops(test, kps, ids, size.crop)
    results: dict[str, list[dict[int, float]]] = {}

    def record(method: str, recall: dict[int, float]) -> None:
        results.setdefault(method, []).append(recall)
        print(f"  -> {method}: mean {np.mean(list(recall.values())):.4f} "
              + " ".join(f"{k}:{v:.2f}" for k, v in recall.items()), flush=True)

    record("oracle heatmaps", oracle(test_crops, test, kps, pts, info, ids, size))
    for seed in size.seeds:
        torch.manual_seed(seed)
        pre = model(N_KP * len(ids)).to(device)
        train(pre, synth_crops, size.pretrain_iters, size.crop, size.batch, seed, f"seed {seed} synthgen", AUGMENT)
        record("synthgen only", evaluate(pre, test_crops, test, kps, pts, info, ids, size))
        train(pre, ft_crops, size.real_iters, size.crop, size.batch, seed + 1, f"seed {seed} synthgen+ft", AUGMENT)
        record("synthgen+ft", evaluate(pre, test_crops, test, kps, pts, info, ids, size))
        torch.manual_seed(seed)
        scratch = model(N_KP * len(ids)).to(device)
        train(scratch, ft_crops, size.scratch_iters, size.crop, size.batch, seed + 1, f"seed {seed} real only", AUGMENT)
        record("real only", evaluate(scratch, test_crops, test, kps, pts, info, ids, size))
    return {"size": size_name, "settings": asdict(size), "objects": ids,
            "results": {m: [{str(k): v for k, v in r.items()} for r in rs] for m, rs in results.items()},
            "synthetic_instances": len(synth), "finetune_instances": len(finetune), "test_instances": len(test),
            "seconds_data": round(t_data, 1), "seconds_total": round(time.time() - t0, 1),
            "machine": runs.machine(device),
            "date": time.strftime("%Y-%m-%d")}


def table(res: dict) -> str:
    """Markdown: rows are methods, columns each object's recall and the mean (%, mean +- half
    the range over seeds)."""
    ids = [str(i) for i in res["objects"]]
    lines = ["| method | " + " | ".join(f"obj {i}" for i in ids) + " | mean |", "|---" * (len(ids) + 2) + "|"]
    for method in ("real only", "synthgen only", "synthgen+ft", "oracle heatmaps"):
        runs = res["results"].get(method, [])
        if not runs:
            continue
        cells = ["%.1f +- %.1f" % tuple(100 * x for x in mean_spread(r[i] for r in runs)) for i in ids]
        means = [np.mean([r[i] for i in ids]) for r in runs]
        cells.append("**%.1f +- %.1f**" % tuple(100 * x for x in mean_spread(means)))
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary(res: dict) -> str:
    return (f"{res['synthetic_instances']} synthetic instances, {res['finetune_instances']} real fine-tuning and "
            f"{res['test_instances']} real test instances; ADD(-S) < 0.1 d recall (%) on LM-O's last 90 frames:")


def main(argv=None) -> int:
    return runs.main(argv, __doc__, SIZES, "lmo", run, summary, table)


if __name__ == "__main__":
    raise SystemExit(main())
