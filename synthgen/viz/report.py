"""``synthgen report``: an HTML page of dataset statistics with matplotlib plots (Agg) beside it.

Everything is computed from the written files:

- counts per split: images (manifest), persons and objects visible (COCO annotations) and
  recorded (scene_humans.json / scene_gt.json entries, visible or not);
- ``visib_fract`` of objects and persons (scene_gt_info.json / scene_humans.json) and
  truncation, the fraction of the amodal box (``bbox_obj``, ``bbox_amodal``) outside the image,
  over the instances whose amodal box overlaps the image;
- camera distance (camera centre to the centroid of the image's visible objects, metres) and
  elevation (angle of the optical axis below the horizontal, world Z up, degrees) from
  ``cam_R_w2c`` / ``cam_t_w2c``;
- object rotation coverage: the camera's azimuth / elevation in each visible object's model frame;
- keypoint visibility rate per joint (COCO-17 and the 42 hand points) over visible persons;
- sensor depth error: ``depth - depth_gt`` (mm) over pixels valid in both, on a sample of frames;
- the contact sheet of :func:`synthgen.viz.preview.preview_dataset`.

The report folder is written like a shard: into a temporary sibling folder, flushed, then
renamed into place, so it is whole or absent (see :func:`report_dataset` for what it may replace).
"""
from __future__ import annotations

import html
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from synthgen.bodies.keypoints import COCO17_NAMES
from synthgen.runner.output import fsync_path, fsync_tree, shard_tmp_dir
from synthgen.viz.dataset import Dataset, VizError, open_dataset, sample_frames
from synthgen.viz.preview import check_output_location, render_sheet
from synthgen.writers.bop import load_image

#: frames whose depth and depth_gt are compared
DEPTH_SAMPLE = 8
#: frames on the report's contact sheet
SHEET_N = 16
#: plot resolution
DPI = 100

HAND_NAMES = tuple(f"{side}_{part}" for side in ("L", "R") for part in
                   ["root"] + [f"{f}{k}" for f in ("thumb", "index", "middle", "ring", "pinky")
                               for k in range(1, 5)])


@dataclass
class Stats:
    """What the report plots; units in the comments."""
    splits: list[str]
    images: dict[str, int] = field(default_factory=dict)
    persons_visible: dict[str, int] = field(default_factory=dict)   # COCO person annotations
    objects_visible: dict[str, int] = field(default_factory=dict)   # COCO object annotations
    persons_recorded: dict[str, int] = field(default_factory=dict)  # scene_humans entries
    objects_recorded: dict[str, int] = field(default_factory=dict)  # scene_gt entries
    obj_visib: list[float] = field(default_factory=list)
    person_visib: list[float] = field(default_factory=list)
    obj_trunc: list[float] = field(default_factory=list)            # fraction 0..1
    person_trunc: list[float] = field(default_factory=list)
    cam_distance: list[float] = field(default_factory=list)         # metres
    cam_elevation: list[float] = field(default_factory=list)        # degrees below horizontal
    view_azimuth: list[float] = field(default_factory=list)         # degrees, model frame
    view_elevation: list[float] = field(default_factory=list)       # degrees, model frame
    coco_vis: list[np.ndarray] = field(default_factory=list)        # (17,) v per visible person
    hand_vis: list[np.ndarray] = field(default_factory=list)        # (42,)
    depth_diff_mm: np.ndarray = field(default_factory=lambda: np.zeros(0))
    depth_pixels: int = 0             # pixels valid in depth_gt over the sampled frames
    depth_dropouts: int = 0           # of those, 0 in the sensor depth
    depth_spurious: int = 0           # pixels valid in depth but 0 in depth_gt
    depth_frames: int = 0
    depth_missing: int = 0            # sampled frames without a depth_gt PNG


def truncation(box: list[float], width: int, height: int) -> float | None:
    """Fraction of the area of box ``[x, y, w, h]`` (pixels) outside the ``width`` x ``height``
    image; None for an empty box (``[-1, -1, -1, -1]`` or zero area)."""
    x, y, w, h = (float(v) for v in box)
    if w <= 0 or h <= 0:
        return None
    iw = max(0.0, min(x + w, width) - max(x, 0.0))
    ih = max(0.0, min(y + h, height) - max(y, 0.0))
    return 1.0 - (iw * ih) / (w * h)


def camera_centre_w(R_w2c: np.ndarray, t_w2c: np.ndarray) -> np.ndarray:
    """Camera centre in the world frame, in the unit of ``t_w2c``: C = -R^T t."""
    return -np.asarray(R_w2c, np.float64).reshape(3, 3).T @ np.asarray(t_w2c, np.float64).reshape(3)


def camera_elevation_deg(R_w2c: np.ndarray) -> float:
    """Angle of the optical axis below the horizontal (world Z up), degrees: 90 looks straight
    down. The optical axis in the world frame is the third row of ``R_w2c``."""
    z_axis_w = np.asarray(R_w2c, np.float64).reshape(3, 3)[2]
    return float(np.degrees(np.arcsin(np.clip(-z_axis_w[2] / np.linalg.norm(z_axis_w), -1, 1))))


def viewpoint_in_model(R_m2c: np.ndarray, t_m2c: np.ndarray) -> tuple[float, float]:
    """Azimuth (about model Z, from +X, degrees in (-180, 180]) and elevation (above the model's
    XY plane, degrees) of the camera centre seen from the model origin."""
    R = np.asarray(R_m2c, np.float64).reshape(3, 3)
    c = -R.T @ np.asarray(t_m2c, np.float64).reshape(3)
    r = float(np.linalg.norm(c))
    if r == 0:
        return 0.0, 0.0
    return float(np.degrees(np.arctan2(c[1], c[0]))), float(np.degrees(np.arcsin(c[2] / r)))


def _visible(entry: dict) -> bool:
    """Whether a scene_gt_info / scene_humans entry has visible pixels."""
    if "px_count_visib" in entry:
        return int(entry["px_count_visib"]) > 0
    return float(entry.get("visib_fract", 0.0)) > 0  # files written before px counts existed


def _object_centres_w(gts: list[dict], infos: list[dict], cam: dict) -> np.ndarray:
    """World positions (mm) of the image's visible objects (all when none is visible)."""
    vis = [g for g, i in zip(gts, infos) if _visible(i)] or gts
    if not vis:
        return np.zeros((0, 3))
    R, t = cam["cam_R_w2c"], cam["cam_t_w2c"].reshape(3)
    t_m2c = np.stack([g["cam_t_m2c"].reshape(3) for g in vis])
    return (t_m2c - t) @ R  # R^T (t_m2c - t_w2c), row-wise


def collect_stats(ds: Dataset, seed: int = 0) -> Stats:
    """Read every scene's annotation files (and a sample of depth PNGs) into :class:`Stats`."""
    st = Stats(splits=ds.splits())
    has_coco: dict[str, bool] = {}
    for split in st.splits:
        st.images[split] = sum(1 for f in ds.frames if f.split == split)
        coco = ds.coco(split)
        has_coco[split] = coco is not None
        anns = coco.get("annotations", []) if coco is not None else []
        # COCO has an annotation exactly for each instance with a non-empty visible mask
        st.persons_visible[split] = sum(1 for a in anns if a.get("category_id") == 1)
        st.objects_visible[split] = sum(1 for a in anns if a.get("category_id") != 1)
        st.persons_recorded[split] = st.objects_recorded[split] = 0
    for f in ds.frames:
        sc = ds.scene(f.split, f.scene_id)
        gts, infos = sc.gt.get(f.im_id, []), sc.gt_info.get(f.im_id, [])
        persons = sc.humans.get(f.im_id, [])
        cam = sc.camera.get(f.im_id)
        st.objects_recorded[f.split] += len(gts)
        st.persons_recorded[f.split] += len(persons)
        if not has_coco[f.split]:  # no COCO file: count the instances with visible pixels
            st.persons_visible[f.split] += sum(1 for p in persons if _visible(p))
            st.objects_visible[f.split] += sum(1 for i in infos if _visible(i))
        for gt, info in zip(gts, infos):
            # instances whose amodal box overlaps the image: ones wholly outside it (px_count_all
            # > 0 on the 3x canvas) would swamp both histograms with 0 visible / 1 truncated
            tr = truncation(info["bbox_obj"], f.width, f.height)
            if tr is not None and tr < 1.0:
                st.obj_visib.append(float(info["visib_fract"]))
                st.obj_trunc.append(tr)
            if _visible(info):
                az, el = viewpoint_in_model(gt["cam_R_m2c"], gt["cam_t_m2c"])
                st.view_azimuth.append(az)
                st.view_elevation.append(el)
        for p in persons:
            tr = truncation(p["bbox_amodal"], f.width, f.height)
            if tr is not None and tr < 1.0:
                st.person_visib.append(float(p["visib_fract"]))
                st.person_trunc.append(tr)
            if _visible(p):
                st.coco_vis.append(np.asarray(p["keypoints_coco17"])[:, 2].round().astype(int))
                wb = p.get("keypoints_wholebody133")
                if wb is not None and len(wb) == 133:
                    st.hand_vis.append(np.asarray(wb)[91:133, 2].round().astype(int))
        if cam is not None:
            st.cam_elevation.append(camera_elevation_deg(cam["cam_R_w2c"]))
            centres = _object_centres_w(gts, infos, cam)
            if len(centres):
                c = camera_centre_w(cam["cam_R_w2c"], cam["cam_t_w2c"])
                st.cam_distance.append(float(np.linalg.norm(centres.mean(axis=0) - c)) / 1000.0)
    _depth_stats(ds, st, seed)
    return st


def _depth_stats(ds: Dataset, st: Stats, seed: int) -> None:
    diffs = []
    for f in sample_frames(ds.frames, DEPTH_SAMPLE, np.random.default_rng(seed)):
        d = ds.root / f.scene_dir
        p, pg = d / "depth" / f"{f.im_id:06d}.png", d / "depth_gt" / f"{f.im_id:06d}.png"
        if not (p.is_file() and pg.is_file()):
            st.depth_missing += 1
            continue
        scale = float(ds.scene(f.split, f.scene_id).camera[f.im_id].get("depth_scale", 1.0))
        raw, raw_gt = load_image(p).astype(np.int64), load_image(pg).astype(np.int64)
        valid = (raw > 0) & (raw_gt > 0)
        diffs.append((raw[valid] - raw_gt[valid]) * scale)  # stored units -> mm
        st.depth_pixels += int((raw_gt > 0).sum())
        st.depth_dropouts += int(((raw == 0) & (raw_gt > 0)).sum())
        st.depth_spurious += int(((raw > 0) & (raw_gt == 0)).sum())
        st.depth_frames += 1
    st.depth_diff_mm = np.concatenate(diffs) if diffs else np.zeros(0)


# --------------------------------------------------------------------------------------------
# Plots
# --------------------------------------------------------------------------------------------

def _figure(ncols: int = 1, width: float = 6.4, height: float = 3.6):
    # Figure + Agg canvas directly: no pyplot, so no global figure registry or backend switch
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = [fig.add_subplot(1, ncols, i + 1) for i in range(ncols)]
    return fig, axes


def _empty(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def _hist(ax, values: list[float], bins, title: str, xlabel: str, colour: str) -> None:
    ax.set_title(title)
    if not values:
        _empty(ax, "none")
        return
    ax.hist(values, bins=bins, color=colour, edgecolor="black", linewidth=0.4)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("count")


def plot_counts(st: Stats, path: Path) -> None:
    fig, (ax,) = _figure(width=6.4, height=3.2)
    labels = ["images", "persons\n(visible)", "objects\n(visible)", "persons\n(recorded)",
              "objects\n(recorded)"]
    x = np.arange(len(labels))
    w = 0.8 / max(1, len(st.splits))
    for k, split in enumerate(st.splits):
        vals = [st.images.get(split, 0), st.persons_visible.get(split, 0),
                st.objects_visible.get(split, 0), st.persons_recorded.get(split, 0),
                st.objects_recorded.get(split, 0)]
        bars = ax.bar(x + (k - (len(st.splits) - 1) / 2) * w, vals, w, label=split)
        ax.bar_label(bars, fontsize=8)
    ax.set_xticks(x, labels)
    ax.set_ylabel("count")
    ax.set_title("Images, persons and objects per split")
    ax.legend()
    fig.savefig(path)


def plot_visib(st: Stats, path: Path) -> None:
    fig, (a, b) = _figure(2, width=9.0)
    bins = np.linspace(0, 1, 21)
    _hist(a, st.obj_visib, bins, f"objects (n={len(st.obj_visib)})", "visib_fract", "tab:blue")
    _hist(b, st.person_visib, bins, f"persons (n={len(st.person_visib)})", "visib_fract",
          "tab:red")
    fig.suptitle("Visible fraction of instances whose amodal box overlaps the image")
    fig.savefig(path)


def plot_truncation(st: Stats, path: Path) -> None:
    fig, (a, b) = _figure(2, width=9.0)
    bins = np.linspace(0, 1, 21)
    _hist(a, st.obj_trunc, bins, f"objects (n={len(st.obj_trunc)})",
          "fraction of bbox_obj outside the image", "tab:blue")
    _hist(b, st.person_trunc, bins, f"persons (n={len(st.person_trunc)})",
          "fraction of bbox_amodal outside the image", "tab:red")
    fig.suptitle("Truncation of instances whose amodal box overlaps the image")
    fig.savefig(path)


def plot_camera(st: Stats, path: Path) -> None:
    fig, (a, b) = _figure(2, width=9.0)
    _hist(a, st.cam_distance, 20, "camera centre to objects' centroid", "distance (m)", "tab:green")
    _hist(b, st.cam_elevation, np.linspace(-90, 90, 37),
          "optical axis below horizontal (world Z up)", "elevation (deg)", "tab:green")
    fig.suptitle(f"Cameras (n={len(st.cam_elevation)} images)")
    fig.savefig(path)


def plot_rotation(st: Stats, path: Path) -> None:
    fig, (ax,) = _figure(width=7.0, height=4.0)
    ax.set_title(f"Camera viewpoint in the object's model frame (n={len(st.view_azimuth)} "
                 "visible instances)")
    if not st.view_azimuth:
        _empty(ax, "no visible objects")
    else:
        _, _, _, im = ax.hist2d(st.view_azimuth, st.view_elevation,
                                bins=[np.linspace(-180, 180, 25), np.linspace(-90, 90, 13)],
                                cmap="viridis", cmin=None)
        fig.colorbar(im, ax=ax, label="instances")
        ax.set_xlabel("azimuth about model Z (deg)")
        ax.set_ylabel("elevation above model XY (deg)")
    fig.savefig(path)


def _vis_bars(ax, vis: list[np.ndarray], names: tuple[str, ...], title: str) -> None:
    ax.set_title(f"{title} (n={len(vis)} visible persons)")
    if not vis:
        _empty(ax, "no visible persons")
        return
    v = np.stack(vis)
    x = np.arange(len(names))
    r2, r1 = (v == 2).mean(axis=0), (v == 1).mean(axis=0)
    ax.bar(x, r2, color="gold", label="visible (v=2)")
    ax.bar(x, r1, bottom=r2, color="magenta", label="occluded (v=1)")
    ax.bar(x, 1 - r2 - r1, bottom=r2 + r1, color="lightgrey", label="unlabelled (v=0)")
    ax.set_xticks(x, names, rotation=90, fontsize=7)
    ax.set_ylim(0, 1)
    ax.set_ylabel("fraction of persons")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))


def plot_keypoints(st: Stats, path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 6.5), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    _vis_bars(fig.add_subplot(2, 1, 1), st.coco_vis, COCO17_NAMES, "COCO-17 keypoints")
    _vis_bars(fig.add_subplot(2, 1, 2), st.hand_vis, HAND_NAMES,
              "Hand keypoints (WholeBody 91-132)")
    fig.savefig(path)


def depth_noise_free(st: Stats) -> bool:
    """True when the sampled sensor depth equals depth_gt at every pixel."""
    return (st.depth_frames > 0 and st.depth_dropouts == 0 and st.depth_spurious == 0
            and not np.any(st.depth_diff_mm))


def plot_depth(st: Stats, path: Path) -> None:
    fig, (ax,) = _figure(width=7.0, height=3.6)
    d = st.depth_diff_mm
    title = f"Sensor depth - depth_gt over {st.depth_frames} sampled frames"
    if st.depth_frames == 0:
        _empty(ax, "no depth_gt PNGs to compare")
    elif depth_noise_free(st):
        ax.hist(d, bins=21, range=(-1, 1), color="tab:purple")
        ax.text(0.5, 0.6, "no sensor noise\n(depth == depth_gt at every pixel)", ha="center",
                va="center", transform=ax.transAxes, fontsize=14)
        ax.set_xlabel("depth - depth_gt (mm)")
    elif d.size == 0:
        _empty(ax, "no pixel valid in both depth and depth_gt")
    else:
        lo, hi = np.percentile(d, [0.5, 99.5])
        if hi <= lo:
            lo, hi = lo - 1, hi + 1
        ax.hist(np.clip(d, lo, hi), bins=60, color="tab:purple")
        ax.set_xlabel("depth - depth_gt (mm), clipped to the 0.5-99.5 percentiles")
        ax.set_ylabel("pixels")
        ax.axvline(0, color="black", linewidth=0.6)
        title += f": mean {d.mean():.2f} mm, std {d.std():.2f} mm"
    if st.depth_pixels:
        title += f"\ndropouts (depth 0, depth_gt > 0): {st.depth_dropouts / st.depth_pixels:.2%}"
    ax.set_title(title, fontsize=10)
    fig.savefig(path)


# --------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------

PLOTS = (  # file name, heading, caption
    ("counts.png", "Counts", "Images per split (manifest); persons and objects visible (COCO "
     "annotations) and recorded (scene_humans.json / scene_gt.json entries, visible or not)."),
    ("visib_fract.png", "Visibility", "visib_fract (scene_gt_info.json, scene_humans.json) of "
     "every instance whose amodal box overlaps the image."),
    ("truncation.png", "Truncation", "Fraction of the amodal box (bbox_obj / bbox_amodal) that "
     "lies outside the image, same instances."),
    ("camera.png", "Cameras", "Distance from the camera centre to the centroid of the image's "
     "visible objects, and elevation of the optical axis below the horizontal."),
    ("rotation_coverage.png", "Object rotation coverage", "Where the camera sits in each visible "
     "object's model frame (from cam_R_m2c / cam_t_m2c)."),
    ("keypoint_visibility.png", "Keypoint visibility", "Per joint: share of visible persons with "
     "the keypoint visible (v=2), occluded (v=1) or unlabelled (v=0)."),
    ("depth_error.png", "Sensor depth error", "depth - depth_gt in mm over pixels valid in both, "
     "on a sample of frames."),
    ("preview.png", "Sample frames", "Labels drawn from the annotation files (see the legend) | "
     "colourized depth."),
)

_CSS = ("body{font-family:sans-serif;margin:24px;max-width:1400px;color:#222}"
        "table{border-collapse:collapse;margin-bottom:16px}"
        "td,th{border:1px solid #bbb;padding:4px 10px;text-align:left}"
        "th{background:#eee}img{max-width:100%;border:1px solid #ccc}"
        "figure{margin:0 0 28px 0}figcaption{color:#555;font-size:90%}")


def _summary_rows(ds: Dataset) -> list[tuple[str, str]]:
    info = ds.info
    sizes = sorted({(f.width, f.height) for f in ds.frames})
    renderer = info.get("renderer", {})
    if isinstance(renderer, dict):
        renderer = ", ".join(f"{renderer[k]}" for k in ("renderer", "vendor", "version")
                             if k in renderer) or str(renderer)
    seconds = info.get("seconds")
    return [("dataset", str(ds.root.resolve())),
            ("generator", f"{info.get('generator', '?')} {info.get('version', '')}".strip()),
            ("seed", str(info.get("seed", "?"))),
            ("scenes", str(len(ds.scenes()))),
            ("resolution", ", ".join(f"{w}x{h}" for w, h in sizes)),
            ("sensor", str(info.get("sensor", "?"))),
            ("renderer", str(renderer)),
            ("render time", f"{seconds:.1f} s" if isinstance(seconds, (int, float)) else "?")]


def _html(ds: Dataset, st: Stats) -> str:
    e = html.escape
    parts = ["<!DOCTYPE html>", "<html><head><meta charset=\"utf-8\">",
             f"<title>synthgen report: {e(ds.root.name)}</title>", f"<style>{_CSS}</style>",
             "</head><body>", f"<h1>synthgen report: {e(ds.root.name)}</h1>", "<table>"]
    parts += [f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in _summary_rows(ds)]
    parts += ["</table>", "<table id=\"counts\"><tr><th>split</th><th>images</th>"
              "<th>persons (visible)</th><th>objects (visible)</th><th>persons (recorded)</th>"
              "<th>objects (recorded)</th></tr>"]
    for s in st.splits:
        cells = [st.images.get(s, 0), st.persons_visible.get(s, 0), st.objects_visible.get(s, 0),
                 st.persons_recorded.get(s, 0), st.objects_recorded.get(s, 0)]
        parts.append(f"<tr><td>{e(s)}</td>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    if len(st.splits) > 1:
        tot = [sum(d.get(s, 0) for s in st.splits) for d in
               (st.images, st.persons_visible, st.objects_visible, st.persons_recorded,
                st.objects_recorded)]
        parts.append("<tr><th>total</th>" + "".join(f"<th>{c}</th>" for c in tot) + "</tr>")
    parts.append("</table>")
    for name, heading, caption in PLOTS:
        parts.append(f"<figure><h2>{e(heading)}</h2><img src=\"{e(name)}\" alt=\"{e(heading)}\">"
                     f"<figcaption>{e(caption)}</figcaption></figure>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


#: what a report folder holds; ``--overwrite`` replaces only a folder holding nothing else
REPORT_FILES = frozenset({"index.html", *(name for name, _, _ in PLOTS)})


def _check_report_dir(report_dir: Path, overwrite: bool) -> None:
    """Refuse a ``report_dir`` that is a file or a link, or a non-empty folder unless
    ``overwrite`` and it holds only a previous report's files (so a mistyped ``-o`` cannot
    replace a folder of other files)."""
    if report_dir.is_symlink() or (report_dir.exists() and not report_dir.is_dir()):
        raise VizError(f"output {report_dir}: exists and is not a directory")
    held = sorted(p.name for p in report_dir.iterdir()) if report_dir.is_dir() else []
    if not held:
        return
    if not overwrite:
        raise VizError(f"output {report_dir} exists and is not empty; pass --overwrite to replace "
                       f"it or choose another -o")
    foreign = [name for name in held if name not in REPORT_FILES]
    if foreign:
        more = f" and {len(foreign) - 1} more" if len(foreign) > 1 else ""
        raise VizError(f"output {report_dir}: --overwrite replaces only a synthgen report, and this "
                       f"folder holds {foreign[0]}{more}; choose another -o")


def _replace_dir(tmp: Path, final: Path) -> None:
    """Rename the finished folder ``tmp`` to ``final``. An existing ``final`` (checked by
    :func:`_check_report_dir`) is first renamed aside, removed once the new one is in place, and
    put back if that rename fails: ``final`` ends as the whole old report or the whole new one."""
    if final.exists():
        aside = shard_tmp_dir(final)
        os.replace(final, aside)
        try:
            os.replace(tmp, final)
        except BaseException:
            os.replace(aside, final)
            raise
        shutil.rmtree(aside, ignore_errors=True)
    else:
        os.replace(tmp, final)
    fsync_path(final.parent)


def report_dataset(out: Path, report_dir: Path, overwrite: bool = False) -> Path:
    """Write ``report_dir/index.html`` and its PNG plots for dataset ``out``; returns the HTML path.

    The page references only the PNGs next to it (relative paths). ``report_dir`` may not lie
    inside a dataset (:func:`~synthgen.viz.preview.check_output_location`); an existing non-empty
    folder is replaced only with ``overwrite`` and only when it holds a report's files alone. The
    report is written into a temporary sibling folder and renamed to ``report_dir`` at the end: on
    any error nothing is left at ``report_dir`` (an old report stays as it was).

    Raises :class:`~synthgen.viz.dataset.NotADatasetError` when ``out`` is not a finished synthgen
    dataset and :class:`~synthgen.viz.dataset.VizError` when ``report_dir`` is refused as above or
    an annotation file is unreadable.
    """
    report_dir = Path(report_dir)
    ds = open_dataset(out)
    check_output_location(report_dir, ds.root)
    _check_report_dir(report_dir, overwrite)
    st = collect_stats(ds)
    report_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = shard_tmp_dir(report_dir)
    tmp.mkdir()
    try:
        plot_counts(st, tmp / "counts.png")
        plot_visib(st, tmp / "visib_fract.png")
        plot_truncation(st, tmp / "truncation.png")
        plot_camera(st, tmp / "camera.png")
        plot_rotation(st, tmp / "rotation_coverage.png")
        plot_keypoints(st, tmp / "keypoint_visibility.png")
        plot_depth(st, tmp / "depth_error.png")
        render_sheet(ds, n=SHEET_N, seed=0).save(tmp / "preview.png", format="PNG")
        (tmp / "index.html").write_text(_html(ds, st), encoding="utf-8")
        fsync_tree(tmp)
        _replace_dir(tmp, report_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return report_dir / "index.html"
