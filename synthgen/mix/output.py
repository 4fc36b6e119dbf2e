"""Write a planned mix: COCO per split, manifest, report, images; atomically.

Everything is written into a temporary sibling folder ``.OUT.mix-tmp-<pid>`` and renamed to OUT
at the end, so OUT holds a whole mix or what it held before. An existing non-empty OUT is replaced
only with ``overwrite`` (and never when it holds a git repository, the current directory or one of
the mix's own inputs).

Image paths (``file_name`` in the COCO files, ``image`` in the manifest), all resolving from OUT:

- ``relative`` (default): the path of the original file relative to OUT's real location
  (``os.path.relpath``, may start with ``../``); nothing is copied, so moving OUT breaks them.
- ``absolute``: the original file's resolved absolute path (``OUT / file_name`` is that path).
- ``symlink``: ``images/<source>/<path below the source's image root>``, a symbolic link to the
  original's absolute path (OUT can move; the originals must stay).
- ``copy``: the same path, a byte copy (OUT is self-contained).
"""
from __future__ import annotations

import os
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from synthgen.mix.config import MixConfig, MixError
from synthgen.mix.keypoints import COCO17_NAMES, KeypointMap, complete_wholebody
from synthgen.mix.plan import SplitPlan
from synthgen.mix.sources import Entry, LoadedSource


def check_output(out: Path, overwrite: bool, sources: list[LoadedSource] | None = None) -> None:
    """Refuse an OUT that is a file, non-empty without ``overwrite``, a git repository or the
    current directory, or one that is or holds an input of the mix."""
    if out.exists() and not out.is_dir():
        raise MixError(f"output {out}: expected a directory, found a file")
    real = out.resolve()
    for src in sources or []:
        for f in src.files:
            if f == real or f.is_relative_to(real):
                raise MixError(f"output {out} holds input {f} of source {src.name!r}; choose "
                               f"another -o")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise MixError(f"output {out} is not empty; pass --overwrite to replace it or choose "
                           f"another -o")
        if (real / ".git").exists() or Path.cwd().resolve().is_relative_to(real):
            raise MixError(f"output {out}: refusing to --overwrite a folder that holds a git "
                           f"repository or the current directory")


def _categories(sources: list[LoadedSource], cfg: MixConfig):
    """Output categories by name: person is 1 (COCO-17 keypoints and skeleton), then every other
    name in order of first appearance (sources in order, categories by id); returns the category
    list, per source local id -> output id (None = dropped by the map) and the unused map keys."""
    from synthgen.writers.coco import coco_categories

    cats = coco_categories({})
    ids = {"person": 1}
    local: list[dict[int, int | None]] = []
    used: set[str] = set()
    for src in sources:
        m: dict[int, int | None] = {}
        for cid in sorted(src.categories):
            name = src.categories[cid]
            if name in cfg.category_map:
                used.add(name)
                name = cfg.category_map[name]
            if name is None:
                m[cid] = None
                continue
            if name not in ids:
                ids[name] = len(cats) + 1
                cats.append({"id": ids[name], "name": name, "supercategory": "object"})
            m[cid] = ids[name]
        local.append(m)
    unused = sorted(set(cfg.category_map) - used)
    return cats, local, unused


class _Visibility:
    """v=0/1/2 counts of COCO-17 keypoints over person annotations."""

    def __init__(self):
        self.persons = 0
        self.v = Counter()
        self.per_kp = {n: Counter() for n in COCO17_NAMES}

    def add(self, ann: dict) -> None:
        kp = ann.get("keypoints")
        if not isinstance(kp, list) or len(kp) != 51:
            return
        self.persons += 1
        for j, name in enumerate(COCO17_NAMES):
            v = kp[3 * j + 2]
            v = int(v) if v in (0, 1, 2) else 0
            self.v[v] += 1
            self.per_kp[name][v] += 1

    def merge(self, other: "_Visibility") -> None:
        self.persons += other.persons
        self.v.update(other.v)
        for n in COCO17_NAMES:
            self.per_kp[n].update(other.per_kp[n])

    def report(self) -> dict[str, Any]:
        total = sum(self.v.values())
        frac = {f"v{k}": (self.v[k] / total if total else 0.0) for k in (0, 1, 2)}
        return {"persons": self.persons, "v0": self.v[0], "v1": self.v[1], "v2": self.v[2],
                "fraction": frac,
                # COCO-17 order (a list: JSON objects are written with sorted keys)
                "per_keypoint": [{"name": n, "v0": c[0], "v1": c[1], "v2": c[2]}
                                 for n, c in self.per_kp.items()]}


def manifest_line(entry: Entry, file_name: str, split: str, src: LoadedSource, index: int,
                  image_id: int) -> dict[str, Any]:
    """The manifest line of one output image.

    ``(split, scene_id, im_id)`` is the key synthgen's manifest schema (and ``synthgen
    validate``) identifies a line by, so in a mix it identifies the image in the mix:
    ``scene_id`` is the source's 0-based position among the mix's sources (the order of
    ``mix_report.json``'s ``sources``), ``im_id`` (and ``image_id``) the image's COCO id in the mix,
    unique over all splits; two sources, or one image drawn twice with replacement, never share
    a key. The source's own ids are ``source_scene_id`` / ``source_im_id`` (-1 where the source
    has none: a photo has no scene; a COCO photo's ``source_im_id`` is its COCO image id), and
    ``view_id``, ``frame_id``, ``seed``, ``persons``, ``objects`` are the source's (-1 where they
    do not apply)."""
    meta = entry.meta
    return {"image": file_name, "source": src.kind, "split": split, "scene_id": index,
            "im_id": image_id, "view_id": meta["view_id"], "frame_id": meta["frame_id"],
            "seed": meta["seed"], "width": int(entry.image["width"]),
            "height": int(entry.image["height"]), "persons": meta["persons"],
            "objects": meta["objects"], "source_name": src.name, "image_id": image_id,
            "source_scene_id": meta["scene_id"], "source_im_id": meta["im_id"]}


def write_mix(out: Path, plans: list[SplitPlan], sources: list[LoadedSource],
              cfg: MixConfig, *, overwrite: bool) -> dict[str, Any]:
    """Write the mix into OUT atomically; returns the report (also in ``mix_report.json``)."""
    from synthgen import __version__
    from synthgen.writers.coco import save_coco
    from synthgen.writers.jsonio import save_json
    from synthgen.writers.manifest import manifest_sort_key, save_manifest

    out = Path(out)
    real_out = out.resolve()
    tmp = real_out.parent / f".{real_out.name}.mix-tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    real_out.parent.mkdir(parents=True, exist_ok=True)
    cats, local_cat, unused = _categories(sources, cfg)
    licenses: dict[tuple, int] = {}
    license_list: list[dict] = []

    def license_id(src: LoadedSource, lid: Any) -> Any:
        lic = src.licenses.get(lid) if isinstance(lid, int) else None
        if lic is None:
            return lid
        key = (lic.get("name"), lic.get("url"))
        if key not in licenses:
            licenses[key] = len(license_list) + 1
            license_list.append({**lic, "id": licenses[key]})
        return licenses[key]

    placed: dict[Path, Path] = {}  # destination under tmp -> original

    def file_name(src: LoadedSource, entry) -> str:
        if cfg.images == "relative":
            return Path(os.path.relpath(entry.image_path, real_out)).as_posix()
        if cfg.images == "absolute":
            return entry.image_path.as_posix()
        rel = f"images/{src.name}/{entry.store_name}"
        placed.setdefault(tmp / rel, entry.image_path)
        return rel

    try:
        tmp.mkdir()
        (tmp / "annotations").mkdir()
        manifest: list[dict] = []
        docs: list[tuple[str, list[dict], list[dict]]] = []
        split_reports: dict[str, Any] = {}
        vis_by_source = {s.name: _Visibility() for s in sources}
        cat_dropped: Counter = Counter()
        img_id = ann_id = 0
        for plan in plans:
            images: list[dict] = []
            annotations: list[dict] = []
            per_source: dict[str, Any] = {}
            for i, idx in plan.picks:
                src = sources[i]
                vis = _Visibility()
                n_ann = n_person = 0
                for k in idx:
                    entry = src.entries[int(k)]
                    img_id += 1
                    fname = file_name(src, entry)
                    image = {**entry.image, "id": img_id, "file_name": fname,
                             "split": plan.name, "source": src.kind, "source_name": src.name}
                    if "license" in image:
                        image["license"] = license_id(src, image["license"])
                    images.append(image)
                    for ann in entry.annotations:
                        cid = local_cat[i].get(ann["category_id"])
                        if cid is None:
                            cat_dropped[src.name] += 1
                            continue
                        ann_id += 1
                        annotations.append({**ann, "id": ann_id, "image_id": img_id,
                                            "category_id": cid})
                        n_ann += 1
                        if cid == 1:
                            n_person += 1
                            vis.add(ann)
                    manifest.append(manifest_line(entry, fname, plan.name, src, i, img_id))
                vis_by_source[src.name].merge(vis)
                per_source[src.name] = {
                    "kind": src.kind, "images": int(len(idx)),
                    "unique_images": int(len(np.unique(idx))), "annotations": n_ann,
                    "persons": n_person, "objects": n_ann - n_person,
                    "keypoint_visibility": vis.report()}
            n_wholebody = complete_wholebody(annotations)  # on all annotations or on none
            n_syn = sum(1 for im in images if im["source"] == "synthetic")
            split_reports[plan.name] = {
                "real_only": plan.real_only, "images": len(images),
                "annotations": len(annotations), "synthetic": n_syn,
                "wholebody_fields_completed": n_wholebody,
                "real": len(images) - n_syn,
                "synthetic_fraction": n_syn / len(images) if images else 0.0,
                "sources": per_source}
            docs.append((plan.name, images, annotations))
        # Written after all splits are built: every file lists every licence of the mix.
        for name, images, annotations in docs:
            save_coco(tmp / "annotations" / f"coco_{name}.json", {
                "info": {"description": f"synthgen mix of {len(sources)} sources",
                         "version": __version__, "contributor": "synthgen mix"},
                "licenses": license_list, "images": images, "annotations": annotations,
                "categories": cats})
        save_manifest(tmp / "manifest.jsonl", sorted(manifest, key=manifest_sort_key))
        for dest, original in placed.items():
            dest.parent.mkdir(parents=True, exist_ok=True)
            if cfg.images == "symlink":
                dest.symlink_to(original)
            else:
                shutil.copyfile(original, dest)
        report = _report(plans, sources, cfg, split_reports, vis_by_source, cats, unused,
                         cat_dropped)
        save_json(tmp / "mix_report.json", report)
        _commit(tmp, out, overwrite)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return report


def _report(plans, sources, cfg, split_reports, vis_by_source, cats, unused, cat_dropped):
    src_reports = {}
    for src in sources:
        maps: dict[str, Any] = {}
        for cid, kmap in sorted(src.keypoint_maps.items()):
            maps[src.categories.get(cid, str(cid))] = _map_report(kmap, cfg)
        src_reports[src.name] = {
            "type": src.spec.type, "kind": src.kind, "path": str(src.spec.path),
            "split": src.spec.split, "weight": src.spec.weight, "count": src.spec.count,
            "available": len(src.entries),
            "bad_entries": dict(sorted(src.bad.items())),
            "bad_entries_total": int(sum(src.bad.values())),
            "dropped_images": src.dropped_images,
            "dropped_annotations": src.dropped_annotations,
            "annotations_dropped_by_category_map": int(cat_dropped[src.name]),
            "keypoint_mapping": maps,
            "keypoint_visibility": vis_by_source[src.name].report(),
        }
    return {"seed": cfg.seed, "images": cfg.images, "total": cfg.total,
            "synthetic_ratio": cfg.synthetic_ratio, "replacement": cfg.replacement,
            "curriculum": cfg.curriculum, "skip_bad": cfg.skip_bad,
            "wholebody_fields": cfg.wholebody_fields,
            "category_map": cfg.category_map, "category_map_unused": unused,
            "categories": {c["name"]: c["id"] for c in cats},
            "splits": split_reports, "sources": src_reports}


def _map_report(kmap: KeypointMap, cfg: MixConfig) -> dict[str, Any]:
    rep = kmap.report()
    if rep["schema"] in ("coco17", "wholebody133"):  # named schemas: no need to list the names
        del rep["input_names"]
    if rep["schema"] == "wholebody133":
        # 116 names; they stay in the WholeBody fields unless those are dropped.
        rep["dropped_kept_in_wholebody_fields"] = cfg.wholebody_fields == "keep"
    return rep


def _commit(tmp: Path, out: Path, overwrite: bool) -> None:
    real = out.resolve()
    if real.is_dir() and any(real.iterdir()):
        if not overwrite:  # checked before; a folder filled meanwhile is not ours to replace
            raise MixError(f"output {out} is not empty; pass --overwrite to replace it")
        old = real.parent / f".{real.name}.mix-old-{os.getpid()}"
        os.replace(real, old)
        os.replace(tmp, real)
        shutil.rmtree(old, ignore_errors=True)
        return
    if real.is_dir():
        real.rmdir()
    os.replace(tmp, real)


def format_table(report: dict[str, Any]) -> str:
    """The printed summary: one row per (split, source), then keypoint mappings and skips."""
    head = ("split", "source", "kind", "images", "unique", "persons", "objects", "kp v2", "kp v1",
            "kp v0")
    rows = []
    for split, rep in report["splits"].items():
        for name, s in rep["sources"].items():
            f = s["keypoint_visibility"]["fraction"]
            kp = ([f"{100 * f[k]:.1f}%" for k in ("v2", "v1", "v0")]
                  if s["keypoint_visibility"]["persons"] else ["-", "-", "-"])
            rows.append([split, name, s["kind"], str(s["images"]), str(s["unique_images"]),
                         str(s["persons"]), str(s["objects"]), *kp])
        rows.append([split, "(all)", f"{100 * rep['synthetic_fraction']:.0f}% syn",
                     str(rep["images"]), "", "", "", "", "", ""])
    widths = [max(len(str(r[c])) for r in [head, *rows]) for c in range(len(head))]
    lines = ["  ".join(str(v).ljust(w) if c < 3 else str(v).rjust(w)
                       for c, (v, w) in enumerate(zip(r, widths))).rstrip()
             for r in [head, *rows]]
    for name, s in report["sources"].items():
        for cat, m in s["keypoint_mapping"].items():
            if m["schema"] == "coco17":
                continue
            if m["schema"] == "wholebody133":
                kept = m.get("dropped_kept_in_wholebody_fields")
                dropped = (f"{len(m['dropped'])} names outside COCO-17"
                           + (" (kept in the WholeBody fields)" if kept else ""))
            else:
                dropped = ", ".join(m["dropped"]) or "none"
            lines.append(f"keypoints {name} ({cat}): {m['schema']} -> coco17; dropped: {dropped}; "
                         f"unmatched, written v=0: {', '.join(m['unmatched']) or 'none'}")
        if s["bad_entries_total"]:
            kinds = ", ".join(f"{k} {v}" for k, v in s["bad_entries"].items())
            lines.append(f"skipped bad entries in {name}: {kinds} ({s['dropped_images']} images "
                         f"dropped)")
    if report["category_map_unused"]:
        lines.append(f"category map names matching no category: "
                     f"{', '.join(report['category_map_unused'])}")
    return "\n".join(lines)
