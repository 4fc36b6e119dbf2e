"""Does synthgen data help a real keypoint model? A transfer benchmark on real LSPET photographs.

A small top-down heatmap model (a ResNet-style encoder and two deconvolutions, defined here,
random init, nothing downloaded) is trained on person crops for the 12 limb joints LSP and COCO
share, and tested with PCK@0.2 (threshold: 0.2 x the longer side of the box of the labelled
joints) on the fixed held-out block of LSPET images 4001-5000, which no run trains on and no
setting was chosen on. Per seed, three ways of training are compared:

- ``scratch``: random init, trained on N real LSPET persons for as many iterations as
  pretraining and fine-tuning together (``Size.scratch_iters``);
- ``synthgen+ft``: trained on synthgen's people (``people.yaml`` beside this script), then
  fine-tuned on the same N real persons;
- ``synthgen only``: the pretrained model, N = 0.

for N in {0, 100, 500, 2000}; every cell is the mean over the seeds, +- half their range.

Data comes through synthgen's own commands: ``synthgen render people.yaml`` for the synthetic
set and ``synthgen mix --lsp joints.mat`` for the real one (COCO files both), so the benchmark
reads what a user would train on.

Usage::

    python benchmarks/transfer/keypoints.py --size cpu --work /tmp/transfer_kp
    python benchmarks/transfer/keypoints.py --size gpu --work /data/transfer_kp   # where CUDA is

``--size cpu`` finishes on 2 cores in under 90 minutes (64 px crops, few iterations: small
numbers, a real comparison); ``--size gpu`` uses 192 px crops and longer training. The table is
printed and written to ``<work>/results.json`` with the seeds, sizes and times.
"""
from __future__ import annotations

import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from heatmaps import Augment, CropSet, model, predict, train  # noqa: E402
from kpdata import FLIP_ORDER, load_coco_people, make_crops, real_subset, split_blocks  # noqa: E402
import runs  # noqa: E402
from metrics import mean_spread, pck  # noqa: E402


@dataclass(frozen=True)
class Size(runs.Size):
    """A :class:`runs.Size` and the numbers N of real persons to train on."""

    real_n: tuple[int, ...] = (100, 500, 2000)


SIZES = {
    "cpu": Size(crop=64, frames=1500, pretrain_iters=1500, real_iters=500, batch=32),
    "gpu": Size(crop=192, frames=20000, pretrain_iters=30000, real_iters=6000, batch=64, seeds=(0, 1, 2)),
    # seconds, for checking the plumbing end to end
    "smoke": Size(crop=32, frames=20, pretrain_iters=20, real_iters=10, batch=8, real_n=(20,)),
}


AUGMENT = Augment(flip_order=FLIP_ORDER)   # people: mirrored images swap left and right


def evaluate(net, crops: CropSet, gt: np.ndarray, size: Size) -> float:
    """PCK@0.2 of ``net`` on ``crops`` against image-pixel ground truth (N, 12, 3)."""
    return pck(predict(net, crops, size.crop)[0], gt)[0]


def fit(net, crops: CropSet, iters: int, size: Size, seed: int, log: str) -> None:
    train(net, crops, iters, size.crop, size.batch, seed, log, AUGMENT)


def prepare_data(work: Path, size: Size, lspet: Path, workers: int) -> tuple[Path, Path]:
    """Render the synthetic set and convert LSPET with synthgen's own commands (each reused when
    already complete). Returns the two COCO files."""
    synth = work / "synthetic"
    if not (synth / "DONE").exists():
        runs.synthgen("render", str(HERE / "people.yaml"), "-o", str(synth), f"frames={size.frames}",
                  "--workers", str(workers), "-q", *(["--resume"] if synth.exists() else []))
    real = work / "lspet"
    if not (real / "annotations" / "coco_train.json").exists():
        runs.synthgen("mix", "--lsp", str(lspet / "joints.mat"), "--image-mode", "absolute", "-o", str(real), "-q")
    return synth / "annotations" / "coco_train_synth.json", real / "annotations" / "coco_train.json"


def run(size_name: str, work: Path, lspet: Path, workers: int, device: str) -> dict:
    import torch

    size = SIZES[size_name]
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    t_start = time.time()
    synth_json, real_json = prepare_data(work, size, lspet, workers)
    t_data = time.time() - t_start
    synth_people = load_coco_people(synth_json, synth_json.parent.parent)
    pool, test = split_blocks(load_coco_people(real_json))
    print(f"synthetic persons {len(synth_people)}, LSPET training pool {len(pool)}, test block {len(test)}")
    synth_crops = make_crops(synth_people, size.crop)
    test_crops = make_crops(test, size.crop)
    test_gt = np.stack([p.joints for p in test])

    results: dict[str, dict[str, list[float]]] = {}

    def record(method: str, n: int, value: float) -> None:
        results.setdefault(method, {}).setdefault(str(n), []).append(value)
        print(f"  -> {method} N={n}: PCK@0.2 {value:.4f}", flush=True)

    for seed in size.seeds:
        torch.manual_seed(seed)
        pre = model(12).to(device)
        fit(pre, synth_crops, size.pretrain_iters, size, seed, f"seed {seed} synthgen pretraining")
        record("synthgen only", 0, evaluate(pre, test_crops, test_gt, size))
        state = {k: v.clone() for k, v in pre.state_dict().items()}
        for n in size.real_n:
            real_crops = make_crops(real_subset(pool, n, seed), size.crop)
            torch.manual_seed(seed)
            scratch = model(12).to(device)
            fit(scratch, real_crops, size.scratch_iters, size, seed + 1000 * n, f"seed {seed} scratch N={n}")
            record("scratch", n, evaluate(scratch, test_crops, test_gt, size))
            ft = model(12).to(device)
            ft.load_state_dict(state)
            fit(ft, real_crops, size.real_iters, size, seed + 1000 * n, f"seed {seed} synthgen+ft N={n}")
            record("synthgen+ft", n, evaluate(ft, test_crops, test_gt, size))
    return {"size": size_name, "settings": asdict(size), "results": results,
            "synthetic_persons": len(synth_people), "test_persons": len(test),
            "seconds_data": round(t_data, 1), "seconds_total": round(time.time() - t_start, 1),
            "machine": runs.machine(device),
            "date": time.strftime("%Y-%m-%d")}


def table(res: dict) -> str:
    """Markdown table: rows are methods, columns N, cells mean +- half-range of PCK@0.2 (%)."""
    ns = ["0", *[str(n) for n in res["settings"]["real_n"]]]
    lines = ["| method | " + " | ".join(f"N={n}" for n in ns) + " |", "|---" * (len(ns) + 1) + "|"]
    for method in ("scratch", "synthgen+ft", "synthgen only"):
        cells = []
        for n in ns:
            v = res["results"].get(method, {}).get(n)
            cells.append("-" if not v else "%.1f +- %.1f" % tuple(100 * x for x in mean_spread(v)))
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary(res: dict) -> str:
    return (f"{res['synthetic_persons']} synthetic persons, {res['test_persons']} LSPET test persons; "
            "PCK@0.2 (%) on LSPET 4001-5000:")


def main(argv=None) -> int:
    return runs.main(argv, __doc__, SIZES, "lspet", run, summary, table)


if __name__ == "__main__":
    raise SystemExit(main())
