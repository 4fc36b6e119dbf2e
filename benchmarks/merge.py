"""Memory and time of the end-of-run merge (COCO file and manifest) for a large job.

    .venv/bin/python benchmarks/merge.py [--frames 24000] [--in-memory]

Renders one kitchen scene at 640x480 through the CLI for a real shard part (6 frames), then
merges --frames worth of shard parts, each a link to that part (the COCO parts) or a renumbered
copy (the manifest parts, whose keys must increase), the way the runner's ``finalize`` does
(``save_merged_coco`` + ``save_merged_manifest``: one part in memory at a time), in a fresh
process, and prints wall time, output size and peak RSS. ``--in-memory`` also runs the previous
way (``merge_coco_parts`` + ``save_coco``, ``merge_manifest_parts`` + ``save_manifest``: the
whole split in memory) for comparison. Linux (peak RSS from ``ru_maxrss`` in KiB).
Speed and memory are measured here, never in unit tests; record results in RESULTS.md.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

_CHILD = r"""
import resource, sys, time, json
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from synthgen.writers.coco import merge_coco_parts, save_coco, save_merged_coco
from synthgen.writers.manifest import merge_manifest_parts, save_manifest, save_merged_manifest
root, mode = Path(sys.argv[2]), sys.argv[3]
cats = {int(k): v for k, v in json.loads((root / "categories.json").read_text()).items()}
coco_parts = sorted((root / "parts").glob("*/coco_part.json"))
manifest_parts = sorted((root / "parts").glob("*/manifest_part.jsonl"))
t = time.perf_counter()
if mode == "streamed":
    save_merged_coco(root / "coco.json", coco_parts, cats)
    save_merged_manifest(root / "manifest.jsonl", manifest_parts)
else:
    save_coco(root / "coco.json", merge_coco_parts(coco_parts, cats))
    save_manifest(root / "manifest.jsonl", merge_manifest_parts(manifest_parts))
dt = time.perf_counter() - t
print(json.dumps({"seconds": dt, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "coco_mb": (root / "coco.json").stat().st_size / 1e6}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=24000)
    ap.add_argument("--in-memory", action="store_true", help="also time the whole-split-in-memory merge")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        ds = root / "ds"
        r = subprocess.run([sys.executable, "-m", "synthgen", "render", str(REPO / "scenes" / "kitchen.yaml"),
                            "frames=6", "views_per_scene=6", "-o", str(ds), "--quiet", "--workers", "1"],
                           cwd=REPO, capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f"render failed: {r.stderr.strip().splitlines()[-1:]}")
        shard = ds / "train_synth" / "000000"
        info = json.loads((ds / "dataset.json").read_text())
        cats = {int(k): v["name"] for k, v in info["objects"].items()}
        (root / "categories.json").write_text(json.dumps(cats))
        manifest = [json.loads(x) for x in (shard / "manifest_part.jsonl").read_text().splitlines()]
        n_parts = max(1, args.frames // len(manifest))
        for k in range(n_parts):
            d = root / "parts" / f"{k:06d}"
            d.mkdir(parents=True)
            (d / "coco_part.json").symlink_to(shard / "coco_part.json")
            (d / "manifest_part.jsonl").write_text(
                "".join(json.dumps(dict(m, scene_id=k), sort_keys=True) + "\n" for m in manifest))
        print(f"{n_parts} parts of {len(manifest)} frames ({n_parts * len(manifest)} frames), "
              f"{(shard / 'coco_part.json').stat().st_size / 1e3:.0f} kB of COCO part each")
        for mode in (["streamed", "in-memory"] if args.in_memory else ["streamed"]):
            r = subprocess.run([sys.executable, "-c", _CHILD, str(REPO), str(root), mode],
                               capture_output=True, text=True)
            if r.returncode != 0:
                print(f"{mode}: failed: {r.stderr.strip().splitlines()[-1:]}")
                continue
            res = json.loads(r.stdout.strip().splitlines()[-1])
            print(f"{mode}: {res['seconds']:.1f} s, COCO file {res['coco_mb']:.0f} MB, peak RSS {res['rss_mb']:.0f} MB")


if __name__ == "__main__":
    main()
