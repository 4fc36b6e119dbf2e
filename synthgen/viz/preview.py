"""``synthgen preview``: a contact sheet of sampled frames with their labels drawn on them.

Every overlay comes from the written annotation files (scene_humans.json keypoints, scene_gt.json
poses with models_info boxes, scene_camera.json intrinsics, mask_visib PNGs, depth PNGs), so a wrong
label is a visibly wrong overlay.

Layout (:class:`SheetLayout`): a header with the title and the legend, then a grid of
:data:`COLS` tiles per row in dataset order. A tile is a one-line label above two panels of
:data:`PANEL_W` pixels width: the RGB image with its overlays, then the colourized depth.
Image pixel centre ``(u, v)`` of tile ``i`` lands on sheet pixel :meth:`SheetLayout.to_sheet`.

Output safety (:func:`check_output_location`, shared with ``synthgen report``): the output never
goes inside a synthgen dataset (the one read or any other) nor replaces the folder holding the
one read, an existing file is replaced only when asked (``overwrite``), and the PNG is written
to a temporary name and renamed into place, so it is whole or absent.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from synthgen.runner.output import atomic_path, is_synthgen_dataset
from synthgen.viz.dataset import Dataset, FrameRef, VizError, open_dataset, sample_frames
from synthgen.viz.overlay import (colourize_depth, draw_legend, draw_object, draw_person_keypoints,
                                  draw_person_lines, image_to_canvas, instance_colour, tint,
                                  PERSON_TINT)
from synthgen.writers import load_depth, load_mask
from synthgen.writers.bop import load_image

#: width of one panel (RGB or depth) on the sheet, pixels; the image is scaled to it
PANEL_W = 320
#: tiles per row
COLS = 4
#: margin around and between tiles, pixels
PAD = 8
#: gap between the RGB and the depth panel of a tile
PANEL_GAP = 4
#: height of the label line above each tile's panels
LABEL_H = 16
#: height of the header band (title + legend)
HEADER_H = 64
#: sheet background
BACKGROUND = (24, 24, 24)
TEXT = (230, 230, 230)
#: default number of frames on a sheet
DEFAULT_N = 16


@dataclass(frozen=True)
class SheetLayout:
    """Geometry of a contact sheet of ``count`` frames of ``width`` x ``height`` pixels."""
    width: int
    height: int
    count: int

    @property
    def scale(self) -> float:
        """Sheet pixels per image pixel, horizontally (:attr:`scale_y` vertically: equal up to
        the rounding of the panel height)."""
        return PANEL_W / self.width

    @property
    def panel_h(self) -> int:
        return max(1, int(round(self.height * self.scale)))

    @property
    def scale_y(self) -> float:
        return self.panel_h / self.height

    @property
    def cols(self) -> int:
        return max(1, min(COLS, self.count))

    @property
    def rows(self) -> int:
        return max(1, -(-self.count // self.cols))

    @property
    def tile_w(self) -> int:
        return 2 * PANEL_W + PANEL_GAP

    @property
    def tile_h(self) -> int:
        return LABEL_H + self.panel_h

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the sheet PNG in pixels."""
        return (PAD + self.cols * (self.tile_w + PAD),
                HEADER_H + self.rows * (self.tile_h + PAD) + PAD)

    def tile_origin(self, index: int) -> tuple[int, int]:
        """Sheet pixel (x, y) of the top-left corner of tile ``index``'s RGB panel."""
        if not 0 <= index < self.count:
            raise IndexError(f"tile {index} out of range 0..{self.count - 1}")
        r, c = divmod(index, self.cols)
        return (PAD + c * (self.tile_w + PAD), HEADER_H + r * (self.tile_h + PAD) + LABEL_H)

    def depth_origin(self, index: int) -> tuple[int, int]:
        """Sheet pixel (x, y) of the top-left corner of tile ``index``'s depth panel."""
        x, y = self.tile_origin(index)
        return (x + PANEL_W + PANEL_GAP, y)

    def to_sheet(self, index: int, u: float, v: float) -> tuple[int, int]:
        """The sheet pixel (x, y) on which image pixel-centre coordinates (u, v) of tile
        ``index`` are drawn (the pixel a keypoint disc is centred on)."""
        xy = image_to_canvas(np.array([[u, v]]), self.scale, self.scale_y,
                             self.tile_origin(index))[0]
        return int(round(xy[0])), int(round(xy[1]))


def sheet_layout(width: int, height: int, count: int) -> SheetLayout:
    """The layout of a sheet of ``count`` frames of ``width`` x ``height`` image pixels."""
    if width < 1 or height < 1 or count < 1:
        raise VizError(f"bad sheet geometry: {width}x{height}, {count} frames")
    return SheetLayout(int(width), int(height), int(count))


def preview_frames(out: str | Path, n: int = DEFAULT_N, seed: int = 0) -> list[FrameRef]:
    """The frames :func:`preview_dataset` puts on its sheet, in tile order."""
    return sample_frames(open_dataset(out).frames, n, np.random.default_rng(seed))


def _font(size: int):
    return ImageFont.load_default(size=size)


def render_tile(ds: Dataset, frame: FrameRef, layout: SheetLayout, sheet: Image.Image,
                index: int, font) -> None:
    """Draw frame ``frame`` as tile ``index`` of ``sheet``."""
    scene = ds.scene(frame.split, frame.scene_id)
    d = ds.root / frame.scene_dir
    stem = f"{frame.im_id:06d}"
    if frame.im_id not in scene.camera:
        raise VizError(f"{d / 'scene_camera.json'}: no entry for image {frame.im_id}")
    cam = scene.camera[frame.im_id]
    K = cam["cam_K"]
    gts = scene.gt.get(frame.im_id, [])
    infos = scene.gt_info.get(frame.im_id, [])
    persons = scene.humans.get(frame.im_id, [])

    try:
        rgb = load_image(ds.root / frame.image)
    except OSError:
        raise VizError(f"{ds.root / frame.image}: missing or unreadable") from None
    if rgb.ndim == 2:
        rgb = np.repeat(rgb[:, :, None], 3, axis=2)
    rgb = np.ascontiguousarray(rgb[:, :, :3]).copy()
    if rgb.shape[:2] != (layout.height, layout.width):
        raise VizError(f"{ds.root / frame.image}: {rgb.shape[1]}x{rgb.shape[0]} pixels, "
                       f"expected {layout.width}x{layout.height}")

    # masks at image resolution, then the composite is scaled once
    tints = [(d / "mask_visib" / f"{stem}_{gt_id:06d}.png", instance_colour(gt_id))
             for gt_id in range(len(gts))]
    tints += [(d / "mask_visib_person" / f"{stem}_{int(p['person_id']):06d}.png", PERSON_TINT)
              for p in persons]
    for path, colour in tints:
        if path.is_file():
            try:
                tint(rgb, load_mask(path), colour)
            except (OSError, ValueError) as exc:
                raise VizError(f"{path}: {' '.join(str(exc).split())}") from None

    x0, y0 = layout.tile_origin(index)
    size = (PANEL_W, layout.panel_h)
    # overlays are drawn on the panel alone, so lines leaving the image are clipped at its edge
    panel = Image.fromarray(rgb).resize(size, Image.Resampling.BILINEAR)

    depth_path = d / "depth" / f"{stem}.png"
    if depth_path.is_file():
        depth_rgb, drange = colourize_depth(load_depth(depth_path,
                                                       float(cam.get("depth_scale", 1.0))))
    else:
        depth_rgb, drange = np.zeros((layout.height, layout.width, 3), np.uint8), None
    dx, dy = layout.depth_origin(index)
    sheet.paste(Image.fromarray(depth_rgb).resize(size, Image.Resampling.NEAREST), (dx, dy))

    draw = ImageDraw.Draw(panel)
    sx, sy = layout.scale, layout.scale_y
    # boxes of objects with visible pixels (per scene_gt_info), in gt_id order
    for gt_id, gt in enumerate(gts):
        info = infos[gt_id] if gt_id < len(infos) else {}
        if info.get("px_count_visib", 0) <= 0:
            continue
        model = ds.models_info.get(int(gt["obj_id"]))
        if model is None:
            raise VizError(f"{ds.root / 'models' / 'models_info.json'}: no entry for obj_id "
                           f"{gt['obj_id']}")
        draw_object(draw, model, gt["cam_R_m2c"], gt["cam_t_m2c"], K, instance_colour(gt_id),
                    sx, sy, (0, 0))
    # skeleton lines first, then every keypoint disc on top of everything
    for p in persons:
        draw_person_lines(draw, p["keypoints_coco17"], p.get("keypoints_wholebody133"), sx, sy,
                          (0, 0))
    for p in persons:
        draw_person_keypoints(draw, p["keypoints_coco17"], p.get("keypoints_wholebody133"),
                              sx, sy, (0, 0))

    sheet.paste(panel, (x0, y0))

    draw = ImageDraw.Draw(sheet)
    n_obj = sum(1 for i in infos if i.get("px_count_visib", 0) > 0)
    n_per = sum(1 for p in persons if p.get("px_count_visib", 0) > 0)
    label = f"{frame.name}  persons {n_per}  objects {n_obj}"
    draw.text((x0, y0 - LABEL_H + 2), label, fill=TEXT, font=font)
    if drange is not None:
        rtxt = f"depth {drange[0]:.2f}-{drange[1]:.2f} m"
        draw.text((dx + PANEL_W - int(draw.textlength(rtxt, font=font)), y0 - LABEL_H + 2), rtxt,
                  fill=TEXT, font=font)


def check_output_location(output: Path, dataset: Path) -> None:
    """Refuse (:class:`~synthgen.viz.dataset.VizError`, one line) an ``output`` path of
    ``synthgen preview`` / ``report`` that lies inside the dataset folder ``dataset`` being read,
    inside any other synthgen dataset (a folder :func:`~synthgen.runner.output.is_synthgen_dataset`
    recognises), or that holds ``dataset``. Paths are compared after resolving symlinks, so a
    link into a dataset is caught too."""
    target, root = Path(output).resolve(), Path(dataset).resolve()
    if target.is_relative_to(root):
        raise VizError(f"output {output} is inside the dataset {dataset} being read; "
                       f"write it outside the dataset (choose another -o)")
    if root.is_relative_to(target):
        raise VizError(f"output {output} holds the dataset {dataset} being read; choose another -o")
    for folder in (target, *target.parents):
        if is_synthgen_dataset(folder):
            where = "is" if folder == target else "is inside"
            raise VizError(f"output {output} {where} the synthgen dataset {folder}; write it "
                           f"outside any dataset (choose another -o)")


def render_sheet(ds: Dataset, n: int = DEFAULT_N, seed: int = 0) -> Image.Image:
    """The contact sheet of ``n`` frames of the opened dataset ``ds`` (see :func:`preview_dataset`)."""
    frames = sample_frames(ds.frames, n, np.random.default_rng(seed))
    sizes = {(f.width, f.height) for f in frames}
    if len(sizes) > 1:
        raise VizError(f"{ds.root}: frames of several resolutions {sorted(sizes)}; one sheet needs one")
    width, height = sizes.pop()
    layout = sheet_layout(width, height, len(frames))
    sheet = Image.new("RGB", layout.size, BACKGROUND)
    font, title_font = _font(11), _font(14)
    draw = ImageDraw.Draw(sheet)
    title = (f"{ds.root.name}: {len(frames)} of {len(ds.frames)} frames, {width}x{height}, "
             f"seed {seed}  (RGB + labels from the annotation files | depth)")
    draw.text((PAD, 6), title, fill=TEXT, font=title_font)
    draw_legend(draw, PAD, 26, layout.size[0] - PAD, font)
    for i, frame in enumerate(frames):
        render_tile(ds, frame, layout, sheet, i, font)
    return sheet


def preview_dataset(out: Path, png: Path, n: int = DEFAULT_N, seed: int = 0,
                    overwrite: bool = False) -> Path:
    """Write a contact sheet PNG of ``n`` frames of dataset ``out`` (fewer when it has fewer),
    sampled with ``numpy.random.default_rng(seed)`` and spread over scenes, to ``png``.

    ``png`` may not lie inside a dataset (:func:`check_output_location`); an existing file there
    is replaced only with ``overwrite``. The PNG is written to a temporary name beside ``png`` and
    renamed into place: on any error nothing is left at ``png`` (an old file stays as it was).

    Returns the PNG path. Raises :class:`~synthgen.viz.dataset.NotADatasetError` when ``out`` is
    not a finished synthgen dataset and :class:`~synthgen.viz.dataset.VizError` for other bad
    input (``n`` < 1, ``png`` not ending in ``.png``, an output refused as above, unreadable
    files, mixed resolutions).
    """
    png = Path(png)
    if png.suffix.lower() != ".png":
        raise VizError(f"{png}: the preview is a PNG: name it *.png")
    ds = open_dataset(out)
    check_output_location(png, ds.root)
    if png.is_dir():
        raise VizError(f"output {png} is a directory; the preview is a PNG file")
    if (png.exists() or png.is_symlink()) and not overwrite:
        raise VizError(f"output {png} exists; pass --overwrite to replace it or choose another -o")
    sheet = render_sheet(ds, n, seed)
    png.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(png) as tmp:
        sheet.save(tmp, format="PNG")
    return png
