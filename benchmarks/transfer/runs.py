"""What both transfer recipes share around their training: running synthgen's commands, the
machine line of a result, and the command line (size, work folder, real data folder, workers,
torch device) that runs a recipe and writes ``<work>/results.json``."""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parent.parent.parent
REALDATA = REPO.parent / "shared" / "realdata"


@dataclass(frozen=True)
class Size:
    """One benchmark size: crop side (px; heatmaps are a quarter of it), synthetic frames,
    iterations of pretraining and of each real-data fine-tuning, batch size, training seeds."""

    crop: int
    frames: int
    pretrain_iters: int
    real_iters: int
    batch: int
    seeds: tuple[int, ...] = (0, 1)

    @property
    def scratch_iters(self) -> int:
        """Iterations of a model trained on real data only: as many as pretraining plus
        fine-tuning, so the baseline gets the same number of gradient steps (a short schedule
        leaves a random-init heatmap model on its loss plateau, and the comparison would then
        measure convergence speed, not what the synthetic data teaches)."""
        return self.pretrain_iters + self.real_iters


def synthgen(*args: str) -> None:
    """Run ``synthgen ARGS`` with this interpreter from the repository root; raise on failure."""
    print("$ synthgen " + " ".join(args), flush=True)
    subprocess.run([sys.executable, "-m", "synthgen", *args], check=True, cwd=REPO)


def machine(device: str) -> str:
    import torch

    return f"{platform.machine()} {os.cpu_count()} cpus, torch {torch.__version__}, device {device}"


def main(argv, doc: str, sizes: dict, real_name: str, run: Callable[..., dict],
         summary: Callable[[dict], str], table: Callable[[dict], str]) -> int:
    """Parse ``--size --work --<real_name> --workers --device``, call ``run(size, work, real,
    workers, device)``, write its dict to ``<work>/results.json``, print ``summary`` and ``table``."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--size", choices=sorted(sizes), default="cpu")
    ap.add_argument("--work", type=Path, required=True, help="folder for the rendered and converted data")
    ap.add_argument(f"--{real_name}", type=Path, default=REALDATA / real_name, dest="real",
                    help=f"the real data folder (default {REALDATA / real_name})")
    ap.add_argument("--workers", type=int, default=max(1, os.cpu_count() or 1))
    ap.add_argument("--device", default=None, help="torch device (default cuda when available)")
    args = ap.parse_args(argv)
    import torch

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    args.work.mkdir(parents=True, exist_ok=True)
    res = run(args.size, args.work, args.real, args.workers, device)
    (args.work / "results.json").write_text(json.dumps(res, indent=1))
    print(f"\n{res['date']}, {res['machine']}, {res['seconds_total']:.0f} s ({res['seconds_data']:.0f} s data), "
          + summary(res) + "\n")
    print(table(res))
    return 0
