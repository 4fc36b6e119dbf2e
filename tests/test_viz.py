"""``synthgen preview`` / ``synthgen report`` (synthgen.viz) on a small kitchen rendered through
the CLI."""
from __future__ import annotations

import html
import re
import shutil
import subprocess
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from PIL import Image

from conftest import REPO, run_cli
from synthgen.bodies.keypoints import COCO17_NAMES
from synthgen.viz import (NotADatasetError, VizError, preview_dataset, preview_frames,
                          report_dataset, sheet_layout)
from synthgen.viz import overlay, preview, report
from synthgen.writers import (load_coco, load_dataset_json, load_depth, load_scene_camera,
                              load_scene_humans)

W, H = 160, 120
L_WRIST, R_WRIST = COCO17_NAMES.index("left_wrist"), COCO17_NAMES.index("right_wrist")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("viz") / "kitchen"
    r = run_cli("render", REPO / "scenes" / "kitchen.yaml", "frames=4", "views_per_scene=2",
                f"camera.width={W}", f"camera.height={H}", "camera.person_target_prob=1",
                "-o", out, "--quiet")
    assert r.returncode == 0, r.stderr
    return out


@pytest.fixture(scope="module")
def sheet(dataset, tmp_path_factory) -> tuple[Path, np.ndarray]:
    png = preview_dataset(dataset, tmp_path_factory.mktemp("sheet") / "preview.png", n=4, seed=0)
    return png, np.asarray(Image.open(png).convert("RGB"))


def test_preview_size_and_frames(dataset, sheet):
    png, img = sheet
    frames = preview_frames(dataset, n=4, seed=0)
    # 4 frames of 2 scenes: all of them, both scenes, dataset order
    assert [(f.scene_id, f.im_id) for f in frames] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    # the geometry from the layout constants: one row of 4 tiles, each RGB | depth
    scale = preview.PANEL_W / W
    assert scale == 2.0
    tile_w = 2 * preview.PANEL_W + preview.PANEL_GAP
    expect = (preview.PAD + 4 * (tile_w + preview.PAD),
              preview.HEADER_H + preview.LABEL_H + round(H * scale) + 2 * preview.PAD)
    assert img.shape[1::-1] == expect == sheet_layout(W, H, 4).size
    # 7 frames with COLS=4: two rows
    seven = sheet_layout(W, H, 7)
    assert seven.rows == 2 and seven.tile_origin(4)[0] == preview.PAD


def test_preview_wrists_carry_visibility_colour(dataset, sheet):
    _, img = sheet
    layout = sheet_layout(W, H, 4)
    s = layout.scale
    checked = {1: 0, 2: 0}
    for i, f in enumerate(preview_frames(dataset, n=4, seed=0)):
        humans = load_scene_humans(dataset / f.scene_dir / "scene_humans.json")[f.im_id]
        x0, y0 = layout.tile_origin(i)
        # every drawn body keypoint of the image, in sheet pixels (computed here, not by viz)
        pts = [(x0 + round((u + 0.5) * s - 0.5), y0 + round((v + 0.5) * s - 0.5), int(vis))
               for p in humans for u, v, vis in p["keypoints_coco17"] if vis > 0]
        for p in humans:
            for j in (L_WRIST, R_WRIST):
                u, v, vis = p["keypoints_coco17"][j]
                if vis == 0:
                    continue
                x, y = x0 + round((u + 0.5) * s - 0.5), y0 + round((v + 0.5) * s - 0.5)
                if not (0 <= u <= W - 1 and 0 <= v <= H - 1):
                    continue
                # a body disc of the other visibility drawn within reach would cover the centre
                reach = 2 * (overlay.KP_RADIUS + 1)
                if any(abs(px - x) <= reach and abs(py - y) <= reach and pv != vis
                       for px, py, pv in pts):
                    continue
                want = overlay.KP_VISIBLE if vis == 2 else overlay.KP_OCCLUDED
                assert tuple(img[y, x]) == want, (f.name, j, u, v, vis)
                checked[int(vis)] += 1
    assert sum(checked.values()) >= 2, checked
    # the overlay colours are overlays, not image content: few pixels carry them
    kp = np.all(img == overlay.KP_VISIBLE, axis=2) | np.all(img == overlay.KP_OCCLUDED, axis=2)
    assert 0 < kp.mean() < 0.02


def test_preview_depth_panel_and_axes(dataset, sheet):
    _, img = sheet
    layout = sheet_layout(W, H, 4)
    turbo = matplotlib.colormaps[overlay.DEPTH_COLORMAP]
    near = tuple((np.asarray(turbo(0.0)[:3]) * 255 + 0.5).astype(np.uint8))
    far = tuple((np.asarray(turbo(1.0)[:3]) * 255 + 0.5).astype(np.uint8))
    for i, f in enumerate(preview_frames(dataset, n=4, seed=0)):
        cam = load_scene_camera(dataset / f.scene_dir / "scene_camera.json")[f.im_id]
        depth = load_depth(dataset / f.scene_dir / "depth" / f"{f.im_id:06d}.png",
                           cam["depth_scale"])
        dx, dy = layout.depth_origin(i)
        # 2x nearest-neighbour: image pixel (u, v) covers sheet (dx + 2u .. +1, dy + 2v .. +1)
        v, u = np.unravel_index(np.argmin(np.where(depth > 0, depth, np.inf)), depth.shape)
        assert tuple(img[dy + 2 * v + 1, dx + 2 * u + 1]) == near
        v, u = np.unravel_index(np.argmax(depth), depth.shape)
        assert tuple(img[dy + 2 * v, dx + 2 * u]) == far
    # object axes were drawn from the poses: each axis colour is on the sheet
    for c in (overlay.AXIS_X, overlay.AXIS_Y, overlay.AXIS_Z):
        assert np.all(img == c, axis=2).sum() > 10


def test_report_plots_and_counts(dataset, tmp_path):
    index = report_dataset(dataset, tmp_path / "report")
    assert index == tmp_path / "report" / "index.html"
    text = index.read_text(encoding="utf-8")
    srcs = re.findall(r'src="([^"]+)"', text)
    assert len(srcs) == len(report.PLOTS) and "preview.png" in srcs
    for src in srcs:
        assert not src.startswith(("/", "http", "file:")), src  # relative, next to the page
        path = index.parent / src
        assert path.is_file() and path.stat().st_size > 0, src
        with Image.open(path) as im:
            assert im.format == "PNG" and im.size[0] > 100 and im.size[1] > 100
    coco = load_coco(dataset / "annotations" / "coco_train_synth.json")
    persons = sum(a["category_id"] == 1 for a in coco["annotations"])
    objects = sum(a["category_id"] != 1 for a in coco["annotations"])
    assert persons >= 1 and objects >= 1
    row = re.search(r"<tr><td>train_synth</td>(.*?)</tr>", text).group(1)
    assert re.findall(r"<td>(\d+)</td>", row)[:3] == [str(len(coco["images"])), str(persons),
                                                      str(objects)]
    assert len(coco["images"]) == 4
    info = load_dataset_json(dataset / "dataset.json")
    assert "<td>160x120</td>" in text
    assert html.escape(info["renderer"]["renderer"]) in text  # the GL renderer string


def test_report_stats_from_files(dataset):
    ds = report.open_dataset(dataset)
    st = report.collect_stats(ds)
    # the ideal sensor writes depth == depth_gt: the plot says "no sensor noise"
    assert st.depth_frames == 4 and report.depth_noise_free(st)
    assert len(st.cam_elevation) == 4
    # kitchen.yaml: camera elevation 25-55 deg (cameras look down), targets 1.3-3 m away
    assert all(0 < e < 90 for e in st.cam_elevation)
    assert all(0.3 < d < 6 for d in st.cam_distance)
    assert all(0 <= t < 1 for t in st.obj_trunc)
    assert len(st.coco_vis) >= 1 and st.coco_vis[0].shape == (17,)
    assert len(st.hand_vis) == len(st.coco_vis) and st.hand_vis[0].shape == (42,)


def test_geometry_helpers():
    # box [-10, 0, 20, 10] in a 100x100 image: half of it is left of the image
    assert report.truncation([-10, 0, 20, 10], 100, 100) == pytest.approx(0.5)
    assert report.truncation([10, 10, 20, 10], 100, 100) == 0.0
    assert report.truncation([-1, -1, -1, -1], 100, 100) is None
    # camera looking straight down (optical axis = world -Z): elevation 90 deg
    down = np.array([[1.0, 0, 0], [0, -1, 0], [0, 0, -1]])
    assert report.camera_elevation_deg(down) == pytest.approx(90.0)
    # camera looking along world +X (horizontal): x_c = -Y_w, y_c = -Z_w, z_c = X_w
    level = np.array([[0.0, -1, 0], [0, 0, -1], [1, 0, 0]])
    assert report.camera_elevation_deg(level) == pytest.approx(0.0)
    # camera 2 m above the model origin looking down on it: elevation 90 in the model frame
    az, el = report.viewpoint_in_model(down, np.array([0.0, 0, 2000]))
    assert el == pytest.approx(90.0)
    # camera at model +Y, level, looking at the origin: azimuth 90, elevation 0
    R = np.array([[1.0, 0, 0], [0, 0, -1], [0, -1, 0]])  # x_c = X_m, y_c = -Z_m, z_c = -Y_m
    t = -R @ np.array([0.0, 1500, 0])
    az, el = report.viewpoint_in_model(R, t)
    assert (az, el) == (pytest.approx(90.0), pytest.approx(0.0))
    # pixel-centre mapping: pixel u covers canvas [2u, 2u + 2) at scale 2; centre at 2u + 0.5
    assert overlay.image_to_canvas(np.array([[3.0, 4.0]]), 2.0, 2.0).tolist() == [[6.5, 8.5]]


def test_keypoint_discs_and_object_drawing():
    from PIL import ImageDraw

    bg = (10, 10, 10)
    canvas = Image.new("RGB", (100, 100), bg)
    draw = ImageDraw.Draw(canvas)
    coco = np.zeros((17, 3))
    coco[0], coco[1], coco[2] = [10, 10, 2], [30, 10, 1], [50, 10, 0]
    wb = np.zeros((133, 3))
    wb[91] = [70, 10, 1]  # left hand root, occluded
    overlay.draw_person_keypoints(draw, coco, wb, 1.0, 1.0, (0, 0))
    px = canvas.load()
    assert px[10, 10] == overlay.KP_VISIBLE and px[30, 10] == overlay.KP_OCCLUDED
    assert px[50, 10] == bg  # v=0 is not drawn
    assert px[70, 10] == overlay.KP_OCCLUDED
    assert px[10 + overlay.KP_RADIUS + 1, 10] == overlay.KP_OUTLINE

    # a 200 mm cube 1 m in front of a camera with f = 100 px, c = (50, 50), no rotation
    canvas = Image.new("RGB", (100, 100), bg)
    draw = ImageDraw.Draw(canvas)
    info = {"min_x": -100, "min_y": -100, "min_z": -100, "size_x": 200, "size_y": 200,
            "size_z": 200, "diameter": 200 * 3 ** 0.5}
    K = np.array([[100.0, 0, 50], [0, 100, 50], [0, 0, 1]])
    colour = (200, 100, 0)
    assert overlay.draw_object(draw, info, np.eye(3), np.array([0, 0, 1000.0]), K, colour,
                               1.0, 1.0, (0, 0))
    px = canvas.load()
    # front face (z = 900 mm) edges at u, v = 50 +- 11.1; back face (1100 mm) at 50 +- 9.1
    assert px[61, 45] == colour and px[45, 61] == colour and px[59, 45] == colour
    assert px[55, 45] == bg
    # x axis to the right (u to 62.1), y axis down the image (v to 62.1)
    assert px[56, 50] == overlay.AXIS_X and px[50, 56] == overlay.AXIS_Y
    # behind the camera: nothing drawn
    assert not overlay.draw_object(draw, info, np.eye(3), np.array([0, 0, -1000.0]), K, colour,
                                   1.0, 1.0, (0, 0))


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
def test_report_renders_in_chromium(dataset, tmp_path):
    index = report_dataset(dataset, tmp_path / "report")
    shot = tmp_path / "shot.png"
    cmd = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}",
           "--window-size=1200,2000", index.resolve().as_uri()]
    subprocess.run(cmd, capture_output=True, timeout=90)
    assert shot.is_file() and shot.stat().st_size > 0
    px = np.asarray(Image.open(shot).convert("RGB")).reshape(-1, 3)
    # not blank: the page's text, tables and plots give many colours and no dominant one > 95 %
    colours, counts = np.unique(px, axis=0, return_counts=True)
    assert len(colours) > 50 and counts.max() / len(px) < 0.95


def test_bad_input(tmp_path, dataset):
    with pytest.raises(NotADatasetError, match="dataset.json") as e:
        preview_dataset(tmp_path, tmp_path / "p.png")
    assert "\n" not in str(e.value)
    with pytest.raises(NotADatasetError, match="no such directory"):
        report_dataset(tmp_path / "missing", tmp_path / "r")
    half = tmp_path / "half"
    half.mkdir()
    (half / "dataset.json").write_text("{}")
    with pytest.raises(NotADatasetError, match="DONE") as e:
        report_dataset(half, tmp_path / "r")
    assert "\n" not in str(e.value)
    assert not (tmp_path / "r").exists()  # nothing written on bad input
    with pytest.raises(VizError, match="at least 1"):
        preview_dataset(dataset, tmp_path / "p.png", n=0)
    with pytest.raises(VizError, match="png"):
        preview_dataset(dataset, tmp_path / "p.jpg")


# --- outputs never land in a dataset, never replace files unasked, never half-written ---------

def _first_image(dataset: Path) -> Path:
    return dataset / preview_frames(dataset, n=1, seed=0)[0].image


def _one_line_exit_2(r: subprocess.CompletedProcess) -> str:
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    return lines[0]


def test_outputs_inside_a_dataset_are_refused(dataset, tmp_path):
    image = _first_image(dataset)
    before = image.read_bytes()
    listing = sorted(p.relative_to(dataset) for p in dataset.rglob("*"))
    # through the CLI, even with --overwrite: the dataset's own image is not replaced
    line = _one_line_exit_2(run_cli("preview", dataset, "-o", image, "--overwrite"))
    assert "inside the dataset" in line and str(image) in line
    line = _one_line_exit_2(run_cli("report", dataset, "-o", image.parent, "--overwrite"))
    assert "inside the dataset" in line
    # a symlink into the dataset is followed
    link = tmp_path / "link"
    link.symlink_to(image.parent, target_is_directory=True)
    line = _one_line_exit_2(run_cli("preview", dataset, "-o", link / image.name, "--overwrite"))
    assert "inside the dataset" in line
    with pytest.raises(VizError, match="inside the dataset"):
        preview_dataset(dataset, dataset / "preview.png")
    with pytest.raises(VizError, match="inside the dataset"):
        report_dataset(dataset, dataset / "report")
    # the folder holding the dataset read would be replaced by --overwrite
    with pytest.raises(VizError, match="holds the dataset"):
        report_dataset(dataset, dataset.parent, overwrite=True)
    # another synthgen dataset (its marker written when a render starts) is off limits too
    other = tmp_path / "other"
    other.mkdir()
    (other / ".synthgen").write_text("{}")
    with pytest.raises(VizError, match=f"is inside the synthgen dataset {re.escape(str(other))}"):
        preview_dataset(dataset, other / "sub" / "p.png")
    with pytest.raises(VizError, match=f"is the synthgen dataset {re.escape(str(other))}"):
        report_dataset(dataset, other, overwrite=True)
    assert image.read_bytes() == before
    assert sorted(p.relative_to(dataset) for p in dataset.rglob("*")) == listing
    assert sorted(p.name for p in other.iterdir()) == [".synthgen"]


def test_existing_outputs_need_overwrite(dataset, tmp_path):
    png = tmp_path / "p.png"
    png.write_bytes(b"old")
    line = _one_line_exit_2(run_cli("preview", dataset, "-o", png, "--n", "2"))
    assert "exists; pass --overwrite" in line and png.read_bytes() == b"old"
    r = run_cli("preview", dataset, "-o", png, "--n", "2", "--overwrite")
    assert r.returncode == 0, r.stderr
    with Image.open(png) as im:
        assert im.format == "PNG" and im.size == sheet_layout(W, H, 2).size
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.png"]   # no temporary left
    (tmp_path / "dir.png").mkdir()
    with pytest.raises(VizError, match="is a directory"):
        preview_dataset(dataset, tmp_path / "dir.png", overwrite=True)

    rep = tmp_path / "report"
    rep.mkdir()
    (rep / "index.html").write_text("stale")
    line = _one_line_exit_2(run_cli("report", dataset, "-o", rep))
    assert "exists and is not empty; pass --overwrite" in line
    assert sorted(p.name for p in rep.iterdir()) == ["index.html"]
    r = run_cli("report", dataset, "-o", rep, "--overwrite")
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in rep.iterdir()) == sorted(report.REPORT_FILES)
    assert "synthgen report: kitchen" in (rep / "index.html").read_text()
    # --overwrite replaces a report, not a folder of other files
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("precious")
    (mine / "index.html").write_text("mine")
    with pytest.raises(VizError, match="replaces only a synthgen report, and this folder holds thesis.tex"):
        report_dataset(dataset, mine, overwrite=True)
    assert (mine / "thesis.tex").read_text() == "precious" and (mine / "index.html").read_text() == "mine"
    # an empty folder is used as is
    empty = tmp_path / "empty"
    empty.mkdir()
    assert report_dataset(dataset, empty) == empty / "index.html"
    assert sorted(p.name for p in empty.iterdir()) == sorted(report.REPORT_FILES)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]   # no temporaries


def test_failed_report_or_preview_leaves_nothing(dataset, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(dataset, broken)
    image = _first_image(broken)
    image.write_bytes(image.read_bytes()[:40])   # truncated: the plots are written, the sheet fails
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(VizError, match="missing or unreadable"):
        report_dataset(broken, out / "report")
    with pytest.raises(VizError, match="missing or unreadable"):
        preview_dataset(broken, out / "p.png")
    assert list(out.iterdir()) == []
    # an old report or preview stays as it was when replacing it fails
    old = report_dataset(dataset, out / "report").read_bytes()
    (out / "p.png").write_bytes(b"old")
    with pytest.raises(VizError, match="missing or unreadable"):
        report_dataset(broken, out / "report", overwrite=True)
    with pytest.raises(VizError, match="missing or unreadable"):
        preview_dataset(broken, out / "p.png", overwrite=True)
    assert (out / "report" / "index.html").read_bytes() == old
    assert sorted(p.name for p in (out / "report").iterdir()) == sorted(report.REPORT_FILES)
    assert (out / "p.png").read_bytes() == b"old"
    assert sorted(p.name for p in out.iterdir()) == ["p.png", "report"]
