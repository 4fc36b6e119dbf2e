"""``synthgen mix`` arguments and entry point (see the package docstring for the syntax).

Sources and their modifiers are order-sensitive on the command line (a modifier applies to the
source named just before it), so argparse only records them in order (``args.mix_events``) and
:func:`config_from_args` interprets them, with one-line errors.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from synthgen.errors import EXIT_BAD_INPUT, InputError, error_line
from synthgen.mix.config import (IMAGE_MODES, WHOLEBODY_MODES, MixConfig, MixError,
                                 SourceSpec, copy_config, load_category_map, load_mix_config,
                                 parse_synthetic_arg, set_source_field)

_SOURCE_OPTIONS = {"synthetic": "OUT[:W]", "coco": "JSON", "wholebody": "JSON", "bop": "DIR",
                   "manifest": "FILE", "lsp": "FILE.mat",
                   "mpii": "JSON|MAT"}
_SOURCE_HELP = {
    "synthetic": "a synthgen dataset folder, optional weight after ':' (e.g. out/kitchen:2)",
    "coco": "a COCO keypoints/instances JSON (image root: --images DIR, default its folder)",
    "wholebody": "a COCO-WholeBody JSON (133 keypoints; mapped to COCO-17 by name)",
    "bop": "a BOP dataset, split or scene folder (scene_gt + scene_gt_info or mask_visib, "
           "scene_camera, rgb PNG/JPEG); real BOP scenes as shipped",
    "manifest": "a JSONL manifest in synthgen's schema (image paths relative to its folder or "
                "--images DIR)",
    "lsp": "an LSP / LSPET joints.mat (14 joints; image root: --images DIR, default images/ "
           "beside it)",
    "mpii": "an MPII JSON list as mmpose ships it, or MPII's release .mat (16 joints; image "
            "root: --images DIR, default images/ beside the file's folder)",
}
_MODIFIERS = {
    "image_root": ("--image-root", "DIR", "image root of the source just named"),
    "weight": ("--weight", "W", "its sampling weight (default 1)"),
    "count": ("--count", "N", "take exactly N of its images"),
    "split": ("--split", "NAME", "output split it feeds (default train; val*/test* stay real)"),
    "from_split": ("--from-split", "NAME", "read only this split of it (synthetic, bop, manifest)"),
    "name": ("--name", "NAME", "its name in the output (images/<name>/, report)"),
    "keypoints": ("--keypoints", "SCHEMA", "its keypoint names: coco17|wholebody133|crowdpose14|"
                                           "lsp14|mpii16 or name1,name2,... (default: the "
                                           "file's category or format)"),
    "as": ("--as", "KIND", "count it as real or synthetic"),
}


class _Event(argparse.Action):
    """Append ``(key, value)`` to ``namespace.mix_events`` in command-line order."""

    def __call__(self, parser, namespace, values, option_string=None):
        events = list(getattr(namespace, "mix_events", None) or [])
        events.append((self.dest[len("mix_ev_"):], values))
        setattr(namespace, "mix_events", events)


def add_mix_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``synthgen mix`` arguments to ``parser`` (its own parser or a subcommand's)."""
    parser.set_defaults(mix_events=None)
    src = parser.add_argument_group("sources (repeatable; modifiers follow the source they "
                                    "belong to)")
    for key, metavar in _SOURCE_OPTIONS.items():
        src.add_argument(f"--{key}", metavar=metavar, dest=f"mix_ev_{key}", action=_Event,
                         default=argparse.SUPPRESS, help=_SOURCE_HELP[key])
    mod = parser.add_argument_group("source modifiers")
    mod.add_argument("--images", metavar="DIR|MODE", dest="mix_ev_images", action=_Event,
                     default=argparse.SUPPRESS,
                     help="after a source: its image root; a mode word (relative|absolute|"
                          "symlink|copy) anywhere: how images are referenced (see --image-mode)")
    for key, (flag, metavar, text) in _MODIFIERS.items():
        mod.add_argument(flag, metavar=metavar, dest=f"mix_ev_{key}", action=_Event,
                         default=argparse.SUPPRESS, help=text)
    opt = parser.add_argument_group("mix options")
    opt.add_argument("--config", metavar="MIX.yaml", default=None,
                     help="mix config (YAML: sources and options); command-line options win, "
                          "command-line sources are added after the config's")
    opt.add_argument("-o", "--output", metavar="OUT", default=None, help="output folder")
    opt.add_argument("--overwrite", action="store_true", help="replace a non-empty OUT")
    opt.add_argument("--seed", type=int, default=None, help="sampling seed (default 0)")
    opt.add_argument("--total", type=int, default=None, help="images per training split")
    opt.add_argument("--synthetic-ratio", type=float, default=None, metavar="R",
                     help="fraction of synthetic images in each training split")
    opt.add_argument("--replacement", action=argparse.BooleanOptionalAction, default=None,
                     help="sample with replacement (default: without)")
    opt.add_argument("--curriculum", type=float, default=None, metavar="F",
                     help="write pretrain (synthetic) and finetune (real + synthetic making up "
                          "the fraction F) instead of train")
    opt.add_argument("--image-mode", choices=IMAGE_MODES, default=None,
                     help="file_name relative to OUT (default), absolute, or a symlink / copy "
                          "under OUT/images/<source>/")
    opt.add_argument("--category-map", metavar="FILE", default=None,
                     help="YAML/JSON {name: new_name or null (drop)} applied to every source")
    opt.add_argument("--skip-bad", action=argparse.BooleanOptionalAction, default=None,
                     help="drop bad entries (counted in the report) instead of failing")
    opt.add_argument("--wholebody-fields", choices=WHOLEBODY_MODES, default=None,
                     help="keep (default) or drop the COCO-WholeBody annotation fields")
    opt.add_argument("-q", "--quiet", action="store_true", help="do not print the mix table")


def _default_name(spec: SourceSpec) -> str:
    p = spec.path.resolve() if spec.path.name in ("", ".", "..") else spec.path
    if spec.type == "bop" and (p / "scene_gt.json").is_file():  # one scene: lmo_test_000002
        base = "_".join(p.resolve().parts[-3:])
    elif spec.type == "bop" and p.is_dir() and any((s / "scene_gt.json").is_file()
                                                   for s in p.iterdir() if s.is_dir()):
        base = "_".join(p.resolve().parts[-2:])   # one split: lmo_test
    elif spec.type in ("synthetic", "bop"):
        base = p.name
    elif spec.type == "lsp":  # every LSP file is joints.mat: its folder tells them apart
        base = p.resolve().parent.name
    else:
        base = p.stem
    return re.sub(r"[^A-Za-z0-9._-]", "_", base) or spec.type


def config_from_args(args: argparse.Namespace) -> MixConfig:
    """The :class:`MixConfig` of parsed arguments (config file, then the command line)."""
    cfg = load_mix_config(args.config) if args.config else MixConfig()
    cfg = copy_config(cfg)
    last: SourceSpec | None = None
    for key, value in args.mix_events or []:
        if key in _SOURCE_OPTIONS:
            where = f"--{key} {value}"
            if key == "synthetic":
                path, weight = parse_synthetic_arg(value, where)
                last = SourceSpec(type=key, path=path, origin=where)
                if weight is not None:
                    last.weight = weight
            else:
                last = SourceSpec(type=key, path=Path(value).expanduser(), origin=where)
            cfg.sources.append(last)
            continue
        flag = "--images" if key == "images" else _MODIFIERS[key][0]
        if key == "images" and value in IMAGE_MODES:
            cfg.images = value
            continue
        if last is None:
            hint = (" (or a mode word: " + "|".join(IMAGE_MODES) + ")") if key == "images" else ""
            raise MixError(f"{flag} {value}: a source modifier must follow the source it belongs "
                           f"to, e.g. --coco JSON {flag} ...{hint}")
        field = "images" if key in ("images", "image_root") else key
        set_source_field(last, field, value, f"{flag} {value} (after {last.origin})")
    if args.output is not None:
        cfg.output = Path(args.output).expanduser()
    if args.seed is not None:
        if args.seed < 0:
            raise MixError(f"--seed: expected an integer >= 0, found {args.seed}")
        cfg.seed = args.seed
    if args.total is not None:
        if args.total < 1:
            raise MixError(f"--total: expected an integer >= 1, found {args.total}")
        cfg.total = args.total
    if args.synthetic_ratio is not None:
        if not 0.0 <= args.synthetic_ratio <= 1.0:
            raise MixError(f"--synthetic-ratio: expected a number in [0, 1], found "
                           f"{args.synthetic_ratio}")
        cfg.synthetic_ratio = args.synthetic_ratio
    if args.curriculum is not None:
        if not 0.0 <= args.curriculum < 1.0:
            raise MixError(f"--curriculum: expected a fraction in [0, 1), found {args.curriculum}")
        cfg.curriculum = args.curriculum
    for key in ("replacement", "skip_bad", "wholebody_fields"):
        if getattr(args, key) is not None:
            setattr(cfg, key, getattr(args, key))
    if args.image_mode is not None:
        cfg.images = args.image_mode
    if args.category_map is not None:
        cfg.category_map = load_category_map(args.category_map, "--category-map")
        cfg.category_map_file = args.category_map
    if not cfg.sources:
        raise MixError("no sources: give --synthetic, --coco, --wholebody, --bop, --manifest, "
                       "--lsp or --mpii (or 'sources:' in --config)")
    if cfg.output is None:
        raise MixError("no output folder: give -o OUT (or 'output:' in --config)")
    return cfg


def mix(cfg: MixConfig, *, overwrite: bool = False) -> dict[str, Any]:
    """Read, sample and write the mix described by ``cfg``; returns the report.

    Nothing is written when an input is bad (a :class:`MixError` is raised first).
    """
    from synthgen.mix.output import check_output, write_mix
    from synthgen.mix.plan import plan_mix
    from synthgen.mix.sources import load_source

    out = Path(cfg.output)
    check_output(out, overwrite)
    names: set[str] = set()
    loaded = []
    for spec in cfg.sources:
        if not spec.path.exists():
            raise MixError(f"{spec.origin}: {spec.path} does not exist")
        src = load_source(spec, skip_bad=cfg.skip_bad, wholebody_mode=cfg.wholebody_fields)
        if spec.name is not None:
            if spec.name in names:
                raise MixError(f"{spec.origin}: source name {spec.name!r} is used twice")
            src.name = spec.name
        else:
            base = _default_name(spec)
            src.name, k = base, 2
            while src.name in names:
                src.name, k = f"{base}_{k}", k + 1
        names.add(src.name)
        loaded.append(src)
    check_output(out, overwrite, loaded)
    plans = plan_mix(loaded, cfg)
    return write_mix(out, plans, loaded, cfg, overwrite=overwrite)


def run_mix(args: argparse.Namespace) -> int:
    """Run ``synthgen mix`` for parsed ``args``; returns the exit code (0 ok, 2 bad input with
    one line on stderr and nothing written, 1 a failure while writing)."""
    from synthgen.mix.output import format_table

    try:
        cfg = config_from_args(args)
        report = mix(cfg, overwrite=bool(args.overwrite))
    except InputError as exc:   # a MixError, or bad input found by a module mix calls
        print(exc.line(), file=sys.stderr)
        return exc.exit_code
    except OSError as exc:
        print(error_line(f"mix: {exc}"), file=sys.stderr)
        return 1
    if not args.quiet:
        print(format_table(report))
    n = sum(s["images"] for s in report["splits"].values())
    print(f"synthgen: wrote a mix of {n} images in {len(report['splits'])} splits "
          f"({', '.join(report['splits'])}) to {cfg.output}")
    return 0


__all__ = ["add_mix_arguments", "config_from_args", "mix", "run_mix"]
