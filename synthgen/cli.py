"""The ``synthgen`` command. Only this module knows about argv and exit codes.

Exit codes: 0 success; 1 a run that failed for a reason other than its input; 2 bad input
(config, assets, CLI arguments, output folder) or no GL context, reported as one line on stderr
with no traceback and nothing written. Every such error is a :class:`synthgen.errors.InputError`,
which each sub-command reports through :func:`_reports_input_errors`.
"""
from __future__ import annotations

import argparse
import functools
import os
import sys
from pathlib import Path
from typing import Callable

from . import __version__
from .errors import EXIT_BAD_INPUT, InputError, error_line


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse's default exits 2 too; keep it to one line
        self.exit(EXIT_BAD_INPUT, error_line(message) + "\n")


def _fail(message: str) -> int:
    """A bad CLI argument found by a sub-command itself: its one line, exit 2."""
    print(error_line(message), file=sys.stderr)
    return EXIT_BAD_INPUT


def _worker_count(workers: int | None) -> int:
    """``--workers``: the number given (at least 1), else one per CPU."""
    if workers is not None and workers < 1:
        raise InputError(f"--workers: expected an integer >= 1, found {workers}")
    return workers if workers is not None else (os.cpu_count() or 1)


def _reports_input_errors(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """``command`` with any :class:`~synthgen.errors.InputError` it lets out reported as the
    error's one line on stderr and its exit code (2), without a traceback."""
    @functools.wraps(command)
    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except InputError as exc:
            print(exc.line(), file=sys.stderr)
            return exc.exit_code
    return run


def cmd_setup(args: argparse.Namespace) -> int:
    """Build what the default body needs once: Anny's model cache (``$ANNY_CACHE_DIR`` or
    ``~/.cache/anny``), with progress and the folder it lives in."""
    from .bodies.anny_backend import build_cache, cache_dir, cache_is_built

    if cache_is_built() and not args.force:
        print(f"Anny cache already built in {cache_dir()}")
        return 0
    build_cache(log=lambda line: print(line, flush=True))
    return 0


@_reports_input_errors
def cmd_render(args: argparse.Namespace) -> int:
    from .config import config_to_dict, load_scene_config
    from .runner.job import RenderFailed, run_render

    try:
        cfg = load_scene_config(args.scene, args.overrides)
        out = Path(args.output) if args.output else Path("output") / Path(args.scene).stem
        if args.resume and args.overwrite:
            return _fail("--resume and --overwrite exclude each other: choose one")
        if args.verify and not args.resume:
            return _fail("--verify checks the scenes a --resume keeps: pass --resume too")
        if not args.ray_timeout > 0:
            return _fail(f"--ray-timeout: expected seconds > 0, found {args.ray_timeout:g}")
        workers = _worker_count(args.workers)
        result = run_render(cfg, out, config_dict=config_to_dict(cfg), overwrite=args.overwrite,
                            resume=args.resume, quiet=args.quiet, base_dir=Path(args.scene).resolve().parent,
                            workers=workers, executor=args.executor, ray_address=args.ray_address,
                            verify=args.verify, ray_timeout=args.ray_timeout)
    except RenderFailed as exc:
        for scene_index, error in exc.failures:
            print(f"synthgen: scene {scene_index} failed: {error}", file=sys.stderr)
        print(f"synthgen: {len(exc.failures)} of {exc.result.scenes} scenes failed; the others are complete in "
              f"{exc.result.out}; rerun with --resume to finish", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("synthgen: interrupted; finished scenes are kept: rerun with --resume to continue",
              file=sys.stderr)
        return 130
    except OSError as exc:
        # the output's file system failed under us (disk full, a folder removed mid-run)
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"synthgen: error writing the dataset: {exc.strerror or exc}{where}; fix it and rerun "
              f"with --resume", file=sys.stderr)
        return 1
    fps = result.rendered / max(result.seconds, 1e-9)
    kept = result.rendered < result.frames
    resumed = f" ({result.frames - result.rendered} kept from before)" if kept else ""
    print(f"synthgen: wrote {result.frames} frames in {result.scenes} scenes to {result.out}{resumed}: "
          f"{result.rendered} rendered in {result.seconds:.1f} s ({fps:.2f} frames/s), "
          f"{result.bytes_written / 1e6:.1f} MB{' written by this run' if kept else ''}")
    if args.profile:
        print(format_stage_times(result.stage_seconds, result.rendered))
    return 0


def format_stage_times(seconds: dict[str, float], frames: int) -> str:
    """The ``--profile`` table: wall time by pipeline stage, summed over workers (the writer
    thread's ``write`` overlaps the others), in seconds, milliseconds per frame and percent."""
    total = sum(seconds.values()) or 1e-9
    lines = ["synthgen: where the time went (wall seconds summed over workers; write runs beside the rest):"]
    for stage, sec in sorted(seconds.items(), key=lambda kv: -kv[1]):
        per_frame = 1000 * sec / max(frames, 1)
        lines.append(f"  {stage:<14} {sec:8.1f} s {per_frame:8.1f} ms/frame {100 * sec / total:5.1f} %")
    return "\n".join(lines)


@_reports_input_errors
def cmd_validate(args: argparse.Namespace) -> int:
    from .validate import format_report, validate_dataset

    if args.sample < 0:
        return _fail(f"--sample: expected an integer >= 0, found {args.sample}")
    workers = _worker_count(args.workers)
    progress = None
    if not args.quiet:
        def progress(stage: str, done: int, total: int) -> None:
            print(f"\rvalidate: {stage} {done}/{total}", end="" if done < total else "\n", file=sys.stderr)
    report = validate_dataset(Path(args.dataset), sample=args.sample, seed=args.seed, progress=progress,
                              poses=not args.no_poses, workers=workers)
    print(format_report(report))
    return 0 if report.ok else 1


@_reports_input_errors
def cmd_preview(args: argparse.Namespace) -> int:
    from .viz import preview_dataset

    if args.n < 1:
        return _fail(f"--n: expected an integer >= 1, found {args.n}")
    png = preview_dataset(Path(args.dataset), Path(args.output), n=args.n, seed=args.seed,
                          overwrite=args.overwrite)
    print(f"synthgen: wrote {png}")
    return 0


@_reports_input_errors
def cmd_report(args: argparse.Namespace) -> int:
    from .viz import report_dataset

    html = report_dataset(Path(args.dataset), Path(args.output), overwrite=args.overwrite)
    print(f"synthgen: wrote {html}")
    return 0


@_reports_input_errors
def cmd_info(args: argparse.Namespace) -> int:
    import importlib.util

    from .render import GLUnavailableError, gl_info
    from .render.gl import gpu_egl_devices

    print(f"synthgen {__version__}")
    try:
        info = gl_info()
        print(f"GL platform: {info.get('platform')}")
        print(f"GL vendor:   {info.get('vendor')}")
        print(f"GL renderer: {info.get('renderer')}")
        print(f"GL version:  {info.get('version')}")
        if info.get("platform") == "egl":
            gpus = gpu_egl_devices()
            pinned = os.environ.get("EGL_DEVICE_ID", "").strip()
            spread = f"pinned by EGL_DEVICE_ID={pinned}" if pinned else \
                ("workers spread over them" if len(gpus) > 1 else "all workers on EGL's default device")
            print(f"GL devices:  {len(gpus)} GPU{'' if len(gpus) == 1 else 's'} "
                  f"(EGL devices {', '.join(map(str, gpus)) or 'none'}); {spread}")
        gl_ok = True
    except GLUnavailableError as exc:   # info's own report of it, on stdout beside the rest
        print(f"GL: unavailable: {exc}")
        gl_ok = False
    extras = {"smplx": ("smplx", "torch"), "ray": ("ray",), "dev": ("pytest",),
              "xtcocotools": ("xtcocotools",)}
    for name, mods in extras.items():
        ok = all(importlib.util.find_spec(m) is not None for m in mods)
        print(f"extra {name:<12} {'available' if ok else 'not installed'}")
    from .bodies.anny_backend import cache_dir, cache_is_built

    print(f"anny cache   {cache_dir()}: " + ("built" if cache_is_built() else "missing (run `synthgen setup`)"))
    return 0 if gl_ok else EXIT_BAD_INPUT


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="synthgen", description="Synthetic training data for human and object pose "
                                             "estimation (BOP + COCO output).")
    p.add_argument("--version", action="version", version=f"synthgen {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    r = sub.add_parser("render", help="render a scene config into a dataset")
    r.add_argument("scene", help="scene config YAML, e.g. scenes/kitchen.yaml")
    r.add_argument("overrides", nargs="*",
                   help="dotlist overrides, before or after the options, e.g. frames=8 camera.width=320")
    r.add_argument("-o", "--output", help="output dataset folder (default: output/<scene name>)")
    r.add_argument("--overwrite", action="store_true", help="replace a non-empty output folder")
    r.add_argument("--resume", action="store_true",
                   help="continue an interrupted render into the same OUT: finished scenes are kept "
                        "when their files have the sizes their DONE records (else rendered again)")
    r.add_argument("--verify", action="store_true",
                   help="with --resume: keep a finished scene only when its files' SHA-256 checksums match "
                        "its DONE too (reads every file)")
    r.add_argument("-w", "--workers", type=int, default=None,
                   help="local worker processes (default: the CPU count)")
    r.add_argument("--executor", choices=("local", "ray"), default="local",
                   help="run scenes in local processes or as Ray tasks")
    r.add_argument("--ray-address", default=None, help="Ray cluster address (default: start Ray locally)")
    r.add_argument("--ray-timeout", type=float, default=60.0, metavar="SECONDS",
                   help="give up, before writing anything, when --ray-address has not answered in this time "
                        "(default 60)")
    r.add_argument("-q", "--quiet", action="store_true", help="no progress bar (CI logs)")
    r.add_argument("--profile", action="store_true",
                   help="print where the time went, by pipeline stage, after the summary")
    r.set_defaults(func=cmd_render)
    v = sub.add_parser("validate", help="check that a dataset is sound (exit 0) or list its problems (exit 1)")
    v.add_argument("dataset", help="a dataset folder written by 'synthgen render'")
    v.add_argument("--sample", type=int, default=0,
                   help="object instances to re-render for the pose check, a seeded sample spread "
                        "over scenes (default 0 = every instance)")
    v.add_argument("-w", "--workers", type=int, default=None,
                   help="processes for the pose check, each with its own renderer (default: CPU count)")
    v.add_argument("--seed", type=int, default=0, help="seed of the instance sample")
    v.add_argument("--no-poses", action="store_true", help="skip the re-render pose check (no GL needed)")
    v.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    v.set_defaults(func=cmd_validate)
    mx = sub.add_parser("mix", help="mix synthetic datasets with real data into training/validation sets")
    from .mix import add_mix_arguments, run_mix

    add_mix_arguments(mx)
    mx.set_defaults(func=_reports_input_errors(run_mix))
    pv = sub.add_parser("preview", help="contact sheet of sampled frames with label overlays")
    pv.add_argument("dataset", help="a dataset folder written by 'synthgen render'")
    pv.add_argument("-o", "--output", default="preview.png",
                    help="PNG to write, outside any dataset (default: preview.png)")
    pv.add_argument("--overwrite", action="store_true", help="replace an existing PNG")
    pv.add_argument("--n", type=int, default=16, help="frames on the sheet (default 16)")
    pv.add_argument("--seed", type=int, default=0, help="seed of the frame sample")
    pv.set_defaults(func=cmd_preview)
    rp = sub.add_parser("report", help="HTML dataset report with plots")
    rp.add_argument("dataset", help="a dataset folder written by 'synthgen render'")
    rp.add_argument("-o", "--output", default="report",
                    help="folder for index.html and its plots, outside any dataset (default: report)")
    rp.add_argument("--overwrite", action="store_true", help="replace an existing report folder")
    rp.set_defaults(func=cmd_report)
    i = sub.add_parser("info", help="version, GL vendor/renderer and available extras")
    i.set_defaults(func=cmd_info)
    st = sub.add_parser("setup", help="build the Anny body model's one-time cache (make runs it; minutes)")
    st.add_argument("--force", action="store_true", help="rebuild even when the cache is there")
    st.set_defaults(func=cmd_setup)
    return p


def parse_args(parser: argparse.ArgumentParser, argv: list[str] | None = None) -> argparse.Namespace:
    """``parser.parse_args`` where ``render``'s ``key=value`` overrides may also come after its
    options, as with Hydra-style tools: ``render SCENE -o OUT frames=8`` (argparse alone stops
    filling the ``overrides`` positional at the first option). The overrides keep their order on
    the line; anything else left over is argparse's usual one-line error, exit 2. (argparse's
    ``parse_intermixed_args`` cannot be used: it refuses parsers with subcommands.)"""
    args, extra = parser.parse_known_args(argv)
    if extra and getattr(args, "command", None) == "render":
        # A left-over word that is not an option can only be an override: the positionals
        # (SCENE, then the overrides that directly follow it) are already filled.
        args.overrides = [*args.overrides, *(a for a in extra if not a.startswith("-"))]
        extra = [a for a in extra if a.startswith("-")]
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(build_parser(), argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
