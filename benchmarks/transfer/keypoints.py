"""Does synthgen data help a real keypoint model? A transfer benchmark on real LSPET photographs.

A small top-down heatmap model (a ResNet-style encoder and two deconvolutions, defined here,
random init, nothing downloaded) is trained on person crops for the 12 limb joints LSP and COCO
share, and tested with PCK@0.2 (threshold: 0.2 x the longer side of the box of the labelled
joints) on the fixed held-out block of LSPET images 4001-5000, which no run trains on and no
setting was chosen on. Per seed, three ways of training are compared:

- ``scratch``: random init, trained on N real LSPET persons;
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

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))

from kpdata import FLIP_ORDER, CropSet, load_coco_people, make_crops, real_subset, split_blocks  # noqa: E402
from metrics import mean_spread, pck  # noqa: E402


@dataclass(frozen=True)
class Size:
    """One benchmark size: crop side (px; heatmaps are a quarter of it), synthetic frames,
    iterations of pretraining and of each real-data training, batch size."""

    crop: int
    frames: int
    pretrain_iters: int
    real_iters: int
    batch: int
    seeds: tuple[int, ...] = (0, 1)
    real_n: tuple[int, ...] = (100, 500, 2000)


SIZES = {
    "cpu": Size(crop=64, frames=3000, pretrain_iters=2500, real_iters=1000, batch=32),
    "gpu": Size(crop=192, frames=20000, pretrain_iters=30000, real_iters=6000, batch=64, seeds=(0, 1, 2)),
    # seconds, for checking the plumbing end to end
    "smoke": Size(crop=32, frames=20, pretrain_iters=20, real_iters=10, batch=8, real_n=(20,)),
}


def model(n_joints: int = 12):
    """ResNet-style encoder to 1/16 of the crop, two stride-2 deconvolutions to 1/4: heatmaps."""
    import torch.nn as nn

    def block(cin: int, cout: int, stride: int) -> nn.Module:
        class Block(nn.Module):
            def __init__(self):
                super().__init__()
                self.body = nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout),
                                          nn.ReLU(inplace=True), nn.Conv2d(cout, cout, 3, 1, 1, bias=False),
                                          nn.BatchNorm2d(cout))
                self.skip = (nn.Identity() if stride == 1 and cin == cout else
                             nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)))

            def forward(self, x):
                return (self.body(x) + self.skip(x)).relu()
        return Block()

    def up(cin: int, cout: int) -> nn.Module:
        return nn.Sequential(nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout),
                             nn.ReLU(inplace=True))

    return nn.Sequential(
        nn.Conv2d(3, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU(inplace=True),
        block(32, 32, 1), block(32, 64, 2), block(64, 64, 1), block(64, 128, 2), block(128, 256, 2),
        up(256, 128), up(128, 128), nn.Conv2d(128, n_joints, 1))


def _affines(n: int, rng: np.random.Generator | None, context: float) -> tuple[np.ndarray, np.ndarray]:
    """Per sample (A (n, 2, 2), t (n, 2)): input-normalised = A @ output-normalised + t
    (grid_sample coordinates, align_corners=False). Without ``rng``: the central person window.
    With it: scale 0.75-1.25, rotation +-30 deg, half of them mirrored, shift +-5 %."""
    A = np.repeat(np.eye(2)[None] / context, n, axis=0)
    t = np.zeros((n, 2))
    if rng is None:
        return A, t
    s = rng.uniform(0.75, 1.25, n)
    a = np.deg2rad(rng.uniform(-30, 30, n))
    flip = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    rot = np.stack([np.stack([np.cos(a), -np.sin(a)], -1), np.stack([np.sin(a), np.cos(a)], -1)], 1)
    A = A * s[:, None, None] @ rot * np.stack([flip, np.ones(n)], -1)[:, None, :]
    t = rng.uniform(-0.05, 0.05, (n, 2))
    return A, t


def _batch(crops: CropSet, idx: np.ndarray, size: int, rng: np.random.Generator | None):
    """Images (B, 3, size, size) float and heatmap-pixel joints (B, 12, 3) for crops ``idx``."""
    import torch
    import torch.nn.functional as F

    C = crops.images.shape[1]
    A, t = _affines(len(idx), rng, crops.context)
    theta = torch.from_numpy(np.concatenate([A, t[:, :, None]], axis=2)).float()
    img = torch.from_numpy(crops.images[idx]).permute(0, 3, 1, 2).float() / 255.0
    if rng is not None:   # brightness and per-channel gain jitter
        img = img * torch.from_numpy(rng.uniform(0.7, 1.3, (len(idx), 1, 1, 1)) *
                                     rng.uniform(0.9, 1.1, (len(idx), 3, 1, 1))).float()
    grid = F.affine_grid(theta, (len(idx), 3, size, size), align_corners=False)
    x = F.grid_sample(img, grid, mode="bilinear", padding_mode="zeros", align_corners=False) - 0.5
    hm = size // 4
    j = crops.joints[idx].copy()
    n_in = (2.0 * j[..., :2] + 1.0) / C - 1.0
    n_out = np.einsum("bij,bkj->bki", np.linalg.inv(A), n_in - t[:, None, :])
    j[..., :2] = ((n_out + 1.0) * hm - 1.0) / 2.0
    mirrored = np.linalg.det(A) < 0
    j[mirrored] = j[mirrored][:, list(FLIP_ORDER)]
    return x, j


def _targets(j: np.ndarray, hm: int):
    """Gaussian heatmaps (B, 12, hm, hm) and weights (B, 12): 1 for labelled joints inside."""
    import torch

    sigma = max(1.0, hm / 24.0)
    g = np.arange(hm, dtype=np.float64)
    gx = np.exp(-((g[None, None, :] - j[..., 0:1]) ** 2) / (2 * sigma ** 2))
    gy = np.exp(-((g[None, None, :] - j[..., 1:2]) ** 2) / (2 * sigma ** 2))
    inside = (j[..., 0] > -0.5) & (j[..., 0] < hm - 0.5) & (j[..., 1] > -0.5) & (j[..., 1] < hm - 0.5)
    w = (j[..., 2] > 0) & inside
    return (torch.from_numpy(gy[..., :, None] * gx[..., None, :]).float(),
            torch.from_numpy(w.astype(np.float32)))


def train(net, crops: CropSet, iters: int, size: Size, seed: int, log: str) -> None:
    """``iters`` steps of AdamW (lr 1e-3, weight decay 1e-4, 5 % warm-up, cosine decay) on
    augmented batches of ``crops``; MSE on the heatmaps of labelled joints."""
    import torch

    device = next(net.parameters()).device
    rng = np.random.default_rng(np.random.SeedSequence([seed, 77]))
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=1e-4)
    warm = max(1, iters // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda i: min(1.0, (i + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(i, iters) / iters)))
    net.train()
    t0 = time.time()
    for it in range(iters):
        idx = rng.integers(0, len(crops.images), size.batch)
        x, j = _batch(crops, idx, size.crop, rng)
        target, w = _targets(j, size.crop // 4)
        pred = net(x.to(device))
        loss = (((pred - target.to(device)) ** 2).mean(dim=(2, 3)) * w.to(device)).sum() / w.sum().clamp(min=1).to(device)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if (it + 1) % max(1, iters // 5) == 0:
            print(f"  {log}: iter {it + 1}/{iters} loss {loss.item():.5f} ({time.time() - t0:.0f} s)", flush=True)


def decode_heatmaps(h: np.ndarray) -> np.ndarray:
    """Heatmap-pixel peaks (B, J, 2) of heatmaps (B, J, hm, hm): the argmax, moved a quarter
    pixel towards the higher neighbour along x and along y."""
    b, j, hm, _ = h.shape
    py, px = np.divmod(h.reshape(b, j, -1).argmax(-1), hm)
    xy = np.stack([px, py], -1).astype(np.float64)
    bi, ji = np.meshgrid(np.arange(b), np.arange(j), indexing="ij")
    xl, xh = np.clip(px - 1, 0, hm - 1), np.clip(px + 1, 0, hm - 1)
    yl, yh = np.clip(py - 1, 0, hm - 1), np.clip(py + 1, 0, hm - 1)
    xy[..., 0] += 0.25 * np.sign(h[bi, ji, py, xh] - h[bi, ji, py, xl])
    xy[..., 1] += 0.25 * np.sign(h[bi, ji, yh, px] - h[bi, ji, yl, px])
    return xy


def heatmap_to_image(xy: np.ndarray, crops: CropSet, hm: int) -> np.ndarray:
    """Heatmap pixels (N, J, 2) of the un-augmented person windows -> image pixels (the inverse
    of the mapping :func:`_batch` applies to the joints)."""
    C = crops.images.shape[1]
    n_in = ((2.0 * xy + 1.0) / hm - 1.0) / crops.context
    return crops.to_image(((n_in + 1.0) * C - 1.0) / 2.0)


def predict(net, crops: CropSet, size: Size) -> np.ndarray:
    """Image-pixel predictions (N, 12, 2) for every crop's person window."""
    import torch

    device = next(net.parameters()).device
    net.eval()
    xy = np.zeros((len(crops.images), 12, 2))
    with torch.no_grad():
        for s in range(0, len(crops.images), 128):
            idx = np.arange(s, min(s + 128, len(crops.images)))
            x, _ = _batch(crops, idx, size.crop, None)
            xy[idx] = decode_heatmaps(net(x.to(device)).cpu().numpy())
    return heatmap_to_image(xy, crops, size.crop // 4)


def evaluate(net, crops: CropSet, gt: np.ndarray, size: Size) -> float:
    return pck(predict(net, crops, size), gt)[0]


def _synthgen(*args: str) -> None:
    cmd = [sys.executable, "-m", "synthgen", *args]
    print("$ synthgen " + " ".join(args), flush=True)
    subprocess.run(cmd, check=True, cwd=REPO)


def prepare_data(work: Path, size: Size, lspet: Path, workers: int) -> tuple[Path, Path]:
    """Render the synthetic set and convert LSPET with synthgen's own commands (each reused when
    already complete). Returns the two COCO files."""
    synth = work / "synthetic"
    if not (synth / "DONE").exists():
        _synthgen("render", str(HERE / "people.yaml"), "-o", str(synth), f"frames={size.frames}",
                  "--workers", str(workers), "-q", *(["--resume"] if synth.exists() else []))
    real = work / "lspet"
    if not (real / "annotations" / "coco_train.json").exists():
        _synthgen("mix", "--lsp", str(lspet / "joints.mat"), "--image-mode", "absolute", "-o", str(real), "-q")
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
        pre = model().to(device)
        train(pre, synth_crops, size.pretrain_iters, size, seed, f"seed {seed} synthgen pretraining")
        record("synthgen only", 0, evaluate(pre, test_crops, test_gt, size))
        state = {k: v.clone() for k, v in pre.state_dict().items()}
        for n in size.real_n:
            real_crops = make_crops(real_subset(pool, n, seed), size.crop)
            torch.manual_seed(seed)
            scratch = model().to(device)
            train(scratch, real_crops, size.real_iters, size, seed + 1000 * n, f"seed {seed} scratch N={n}")
            record("scratch", n, evaluate(scratch, test_crops, test_gt, size))
            ft = model().to(device)
            ft.load_state_dict(state)
            train(ft, real_crops, size.real_iters, size, seed + 1000 * n, f"seed {seed} synthgen+ft N={n}")
            record("synthgen+ft", n, evaluate(ft, test_crops, test_gt, size))
    return {"size": size_name, "settings": asdict(size), "results": results,
            "synthetic_persons": len(synth_people), "test_persons": len(test),
            "seconds_data": round(t_data, 1), "seconds_total": round(time.time() - t_start, 1),
            "machine": f"{platform.machine()} {os.cpu_count()} cpus, torch {torch.__version__}, device {device}",
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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", choices=sorted(SIZES), default="cpu")
    ap.add_argument("--work", type=Path, required=True, help="folder for the rendered and converted data")
    ap.add_argument("--lspet", type=Path, default=REPO.parent / "shared" / "realdata" / "lspet")
    ap.add_argument("--workers", type=int, default=max(1, os.cpu_count() or 1))
    ap.add_argument("--device", default=None, help="torch device (default cuda when available)")
    args = ap.parse_args(argv)
    import torch

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    args.work.mkdir(parents=True, exist_ok=True)
    res = run(args.size, args.work, args.lspet, args.workers, device)
    (args.work / "results.json").write_text(json.dumps(res, indent=1))
    print(f"\n{res['date']}, {res['machine']}, {res['seconds_total']:.0f} s "
          f"({res['seconds_data']:.0f} s data), {res['synthetic_persons']} synthetic persons, "
          f"{res['test_persons']} LSPET test persons; PCK@0.2 (%) on LSPET 4001-5000:\n")
    print(table(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
