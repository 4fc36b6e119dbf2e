"""Are synthgen's people read like real people by a pose model trained only on real photos?

    .venv/bin/python benchmarks/realism.py -o WORK [--render NAME=OVERRIDES ...]
        [--synthetic NAME=DIR ...] [--frames 80] [--lspet ../shared/realdata/lspet]
        [--lspet-images 4001-5000] [--limit N] [--pose-python .realism/bin/python]

Runs MediaPipe Pose (BlazePose GHUM 3D, "full" landmark model; trained on real photographs,
weights inside the mediapipe wheel, nothing downloaded) on square crops of synthgen people and of
the real LSPET people, cut the same way, and reports for each set the detection rate and PCK@0.1
of the 12 limb joints LSP and COCO share (shoulders, elbows, wrists, hips, knees, ankles).
Synthgen issue #16, point 5: synthgen's people should be read at least as well as real ones.

Sets:

- ``--render NAME=OVERRIDES`` (repeatable) renders ``python -m synthgen render SCENE -o WORK/NAME
  frames=F OVERRIDES --workers W --quiet`` first (OVERRIDES: space-separated ``key=value``, may be
  empty: ``--render mannequin=`` or ``--render anny="humans.model=anny"``); a non-empty
  ``WORK/NAME`` is refused unless ``--overwrite``.
- ``--synthetic NAME=DIR`` (repeatable) reads an existing dataset: every ``DIR/annotations/
  coco_*.json``, images relative to ``DIR``, every category with a ``keypoints`` list (COCO-17
  names). Keypoints there have pixel centres at integers (OpenCV); ``v`` 0 unlabelled (off the
  image), 1 labelled but hidden, 2 visible.
- LSPET, always: ``joints.mat`` read by synthgen's own reader
  (:func:`synthgen.mix.sources.lsp.lsp_joints`), images ``im%05d.jpg`` numbers
  ``--lspet-images`` (default 4001-5000, both ends included). MATLAB's 1-based pixel centres; a
  joint with flag 1 is labelled and counts as visible (LSPET says nothing about occlusion).

Who is scored: a person with at least ``--min-joints`` (6) of the 12 limb joints labelled
(v >= 1) whose *size* is at least ``--min-size`` (40) px, in image order, the first ``--limit``
per set. Size = the longer side of the tight box around the person's labelled limb joints, in
image pixels.

Crop (one code path, :func:`square_box` and :func:`cut`, for both sides): a square of side
``--margin`` (1.5) x size, centred on that box, resampled to ``--crop`` (256) px with Pillow's
bilinear filter (antialiased when shrinking); parts outside the image are black.

Metrics, per set: *detection* = share of persons for which the model returned a pose (its person
detector and landmark model, default confidences 0.5); *PCK@0.1* = share of the scored joints
whose predicted position is within 0.1 x size of the label, where scored joints are the visible
limb joints (v = 2; for LSPET every labelled one) of all persons, an undetected person's joints
counting as misses; *PCK among detected* = the same over detected persons only. Also in
``results.json``: PCK over every labelled joint (v >= 1, hidden ones too), PCK per joint, and PCK
with the model's left and right swapped (a check on label conventions: left = the person's left
in COCO, LSP and MediaPipe alike).

The pose model runs in a separate venv. mediapipe 0.10.14's wheel ships the models of the legacy
``solutions.pose`` and leaves numpy free (0.10.21 ships them too but pins numpy < 2; the newest,
1.2.3, has only the Tasks API, whose ``.task`` model is a download); it needs protobuf < 5, and
the ray extra's opentelemetry-proto and google-api-core need protobuf >= 5:

    python3.11 -m venv .realism
    .realism/bin/pip install "mediapipe==0.10.14"

(the ``realism`` extra of pyproject.toml names the same pin). This script runs in the main venv;
it writes the crops of each set to ``WORK/crops_NAME.npy`` and runs
``benchmarks/realism_pose.py`` in ``--pose-python`` on them. It prints a table and writes
``WORK/results.json`` (machine, date, seconds per stage, settings, per-set numbers) and
``WORK/sheet_NAME.png`` (the first 24 crops with labels and predictions). No random draw: the
same inputs give the same numbers. Bad input: one line, exit code 2.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

#: The 12 limb joints LSP and COCO share, COCO-17 names (left = the person's left).
LIMB_JOINTS: tuple[str, ...] = (
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle")
#: LIMB_JOINTS index of each joint's mirror image (left <-> right).
MIRROR: tuple[int, ...] = tuple(
    LIMB_JOINTS.index(n.replace("left_", "@").replace("right_", "left_").replace("@", "right_"))
    for n in LIMB_JOINTS)

DEFAULT_LSPET = REPO.parent / "shared" / "realdata" / "lspet"
DEFAULT_POSE_PYTHON = REPO / ".realism" / "bin" / "python"
SCENE = REPO / "scenes" / "kitchen.yaml"
SHEET_N = 24


class RealismError(Exception):
    """Bad input: one line for the user, exit code 2."""


@dataclass(frozen=True)
class Person:
    """One person to score: ``joints`` is ``12 x 3`` (:data:`LIMB_JOINTS` order), ``x, y`` in
    image pixels in the corner frame (origin at the top-left corner of the top-left pixel, pixel
    ``k`` spans ``[k, k + 1)``, so its centre is ``k + 0.5``) and ``v`` (0 unlabelled, 1 labelled
    but hidden, 2 visible); unlabelled rows are ``0, 0, 0``."""

    image: Path
    ref: str
    joints: np.ndarray


@dataclass(frozen=True)
class Box:
    """A square crop window in image pixels (corner frame): top-left ``x0, y0`` and ``side``."""

    x0: float
    y0: float
    side: float


# ---------------------------------------------------------------------------------------------
# geometry

def person_size(joints: np.ndarray) -> float:
    """Longer side (image px) of the tight box around the labelled (v >= 1) joints; 0 if none."""
    xy = joints[joints[:, 2] >= 1, :2]
    if len(xy) == 0:
        return 0.0
    return float(np.max(xy.max(axis=0) - xy.min(axis=0)))


def square_box(joints: np.ndarray, margin: float) -> Box:
    """The crop window: a square of side ``margin x`` :func:`person_size` (at least 1 px),
    centred on the labelled joints' tight box (image px, corner frame)."""
    xy = joints[joints[:, 2] >= 1, :2]
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    centre = (lo + hi) / 2.0
    side = max(margin * person_size(joints), 1.0)
    return Box(float(centre[0] - side / 2), float(centre[1] - side / 2), float(side))


def to_crop(xy: np.ndarray, box: Box, size: int) -> np.ndarray:
    """Image px (corner frame) -> crop px (corner frame of the ``size x size`` crop)."""
    return (np.asarray(xy, float) - [box.x0, box.y0]) * (size / box.side)


def from_crop(uv: np.ndarray, box: Box, size: int) -> np.ndarray:
    """Crop px -> image px, both in the corner frame (inverse of :func:`to_crop`)."""
    return np.asarray(uv, float) * (box.side / size) + [box.x0, box.y0]


def cut(image: np.ndarray, box: Box, size: int) -> np.ndarray:
    """The ``size x size x 3`` uint8 crop of an ``H x W x 3`` uint8 RGB image: ``box`` resampled
    with Pillow's bilinear filter (antialiased when shrinking); outside the image is black. Crop
    pixel ``(i, j)`` is centred on image point :func:`from_crop` ``((j + 0.5, i + 0.5))``."""
    from PIL import Image

    h, w = image.shape[:2]
    ix0, iy0 = int(np.floor(box.x0)), int(np.floor(box.y0))
    ix1, iy1 = int(np.ceil(box.x0 + box.side)), int(np.ceil(box.y0 + box.side))
    canvas = np.zeros((iy1 - iy0, ix1 - ix0, 3), np.uint8)
    sx0, sy0, sx1, sy1 = max(ix0, 0), max(iy0, 0), min(ix1, w), min(iy1, h)
    if sx1 > sx0 and sy1 > sy0:
        canvas[sy0 - iy0:sy1 - iy0, sx0 - ix0:sx1 - ix0] = image[sy0:sy1, sx0:sx1]
    region = (box.x0 - ix0, box.y0 - iy0, box.x0 - ix0 + box.side, box.y0 - iy0 + box.side)
    out = Image.fromarray(canvas).resize((size, size), Image.Resampling.BILINEAR, box=region)
    return np.asarray(out, np.uint8)


# ---------------------------------------------------------------------------------------------
# model output -> joints, metrics

def limb_predictions(landmarks: np.ndarray, names: list[str] | tuple[str, ...]) -> np.ndarray:
    """``N x L x >=2`` model landmarks named ``names`` -> ``N x 12 x 2`` (:data:`LIMB_JOINTS`
    order), matched by name, so a model whose ``left_*`` is the person's left maps to COCO/LSP
    left. A limb joint missing from ``names`` is an error."""
    names = [str(n) for n in names]
    missing = [j for j in LIMB_JOINTS if j not in names]
    if missing:
        raise RealismError(f"pose model landmarks: no {', '.join(missing)} among "
                           f"{len(names)} names")
    index = [names.index(j) for j in LIMB_JOINTS]
    return np.asarray(landmarks, float)[:, index, :2]


def pck(pred: np.ndarray, joints: np.ndarray, sizes: np.ndarray, detected: np.ndarray,
        alpha: float = 0.1, min_v: int = 2) -> dict:
    """PCK of ``N x 12 x 2`` predictions against ``N x 12 x 3`` labels (same pixel frame):
    a scored joint (``v >= min_v``) is correct when its prediction lies within
    ``alpha x sizes[n]`` of the label (distance ``<=``). Undetected persons' joints are misses.

    Returns ``pck`` (all persons), ``pck_detected`` (detected persons only; None if none),
    ``per_joint`` (name -> share over all persons, None where none is scored), ``scored`` and
    ``correct`` (joint counts), shares as fractions in [0, 1]."""
    scored = joints[:, :, 2] >= min_v
    dist = np.linalg.norm(pred - joints[:, :, :2], axis=2)
    with np.errstate(invalid="ignore"):
        hit = (dist <= alpha * np.asarray(sizes, float)[:, None]) & scored
    hit &= np.asarray(detected, bool)[:, None]
    det = np.asarray(detected, bool)

    def share(h: np.ndarray, s: np.ndarray) -> float | None:
        return float(h.sum() / s.sum()) if s.sum() else None

    return {"pck": share(hit, scored), "pck_detected": share(hit[det], scored[det]),
            "per_joint": {n: share(hit[:, j], scored[:, j]) for j, n in enumerate(LIMB_JOINTS)},
            "scored": int(scored.sum()), "correct": int(hit.sum())}


# ---------------------------------------------------------------------------------------------
# data

def selected(people: list[Person], min_joints: int, min_size: float,
             limit: int | None) -> list[Person]:
    """People with ``>= min_joints`` labelled limb joints and size ``>= min_size`` px, in order,
    at most ``limit``."""
    out = [p for p in people
           if int((p.joints[:, 2] >= 1).sum()) >= min_joints and person_size(p.joints) >= min_size]
    return out if limit is None else out[:limit]


def synthetic_people(root: Path) -> list[Person]:
    """Every person annotation of a synthgen dataset at ``root`` (all ``annotations/coco_*.json``,
    images relative to ``root``)."""
    files = sorted((root / "annotations").glob("coco_*.json"))
    if not files:
        raise RealismError(f"{root}: no annotations/coco_*.json (expected a synthgen dataset "
                           f"folder)")
    return [p for f in files for p in coco_people(f, root)]


def coco_people(path: Path, image_root: Path) -> list[Person]:
    """The persons of a COCO keypoint file (every category with a ``keypoints`` list holding the
    COCO-17 limb joint names; crowd annotations skipped), in image id then annotation id order.
    Keypoints there have pixel centres at integers (synthgen's and OpenCV's convention), so
    ``0.5`` is added to labelled ``x, y``."""
    try:
        data = json.loads(path.read_text())
        images = {im["id"]: im["file_name"] for im in data["images"]}
        cats = {c["id"]: list(c["keypoints"]) for c in data["categories"] if c.get("keypoints")}
        anns = sorted(data["annotations"], key=lambda a: (a["image_id"], a["id"]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise RealismError(f"{path}: not a COCO keypoint file ({type(exc).__name__}: "
                           f"{exc})") from None
    for cat, names in cats.items():
        if any(j not in names for j in LIMB_JOINTS):
            raise RealismError(f"{path}: category {cat}: keypoints lack some of "
                               f"{', '.join(LIMB_JOINTS)}")
    people: list[Person] = []
    for a in anns:
        if a.get("category_id") not in cats or a.get("iscrowd"):
            continue
        names = cats[a["category_id"]]
        kp = np.asarray(a.get("keypoints", []), float)
        if kp.size != 3 * len(names) or not np.isfinite(kp).all():
            raise RealismError(f"{path}: annotation {a.get('id')}: expected {len(names)} finite "
                               f"keypoint rows (x, y, v), found {kp.size} numbers")
        rows = kp.reshape(-1, 3)[[names.index(j) for j in LIMB_JOINTS]].copy()
        lab = rows[:, 2] >= 1
        rows[lab, :2] += 0.5          # pixel centres at integers -> corner frame
        rows[~lab] = 0.0
        if a["image_id"] not in images:
            raise RealismError(f"{path}: annotation {a.get('id')}: no image {a['image_id']}")
        people.append(Person(image_root / images[a["image_id"]], f"{path.name}#{a['id']}", rows))
    return people


def lspet_people(root: Path, first: int, last: int) -> list[Person]:
    """LSPET persons (one per image) of images ``first..last`` (1-based, inclusive)."""
    from synthgen.mix.config import MixError
    from synthgen.mix.keypoints import LSP14_NAMES
    from synthgen.mix.sources.lsp import lsp_joints

    try:
        joints, layout = lsp_joints(root / "joints.mat")
    except MixError as exc:
        raise RealismError(str(exc)) from None
    if not 1 <= first <= last <= len(joints):
        raise RealismError(f"--lspet-images: expected a range within 1-{len(joints)} "
                           f"({root / 'joints.mat'}), found {first}-{last}")
    index = [LSP14_NAMES.index(j) for j in LIMB_JOINTS]
    people = []
    for k in range(first, last + 1):
        block = joints[k - 1][index]
        if not np.isfinite(block).all():
            raise RealismError(f"{root / 'joints.mat'}: image {k}: a joint value is not finite")
        if layout == "lspet":       # flag 1 = labelled (no occlusion information)
            v = np.where(block[:, 2] == 1, 2.0, 0.0)
        else:                       # LSP: flag 1 = occluded, every joint labelled
            v = np.where(block[:, 2] == 0, 2.0, 1.0)
        rows = np.column_stack([block[:, :2] - 0.5, v])   # 1-based centres -> corner frame
        rows[v == 0] = 0.0
        name = f"im{k:05d}.jpg" if layout == "lspet" else f"im{k:04d}.jpg"
        people.append(Person(root / "images" / name, f"{name}", rows))
    return people


def load_rgb(path: Path) -> np.ndarray:
    """An image file as ``H x W x 3`` uint8 RGB."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"), np.uint8)
    except (OSError, UnidentifiedImageError) as exc:
        raise RealismError(f"{path}: cannot read image ({exc})") from None


def crops_of(people: list[Person], margin: float, size: int) -> tuple[np.ndarray, list[Box]]:
    """The crops (``N x size x size x 3`` uint8) and windows of ``people``, images read once."""
    crops = np.zeros((len(people), size, size, 3), np.uint8)
    boxes: list[Box] = []
    cache: tuple[Path | None, np.ndarray | None] = (None, None)
    for i, p in enumerate(people):
        if cache[0] != p.image:
            cache = (p.image, load_rgb(p.image))
        box = square_box(p.joints, margin)
        crops[i] = cut(cache[1], box, size)
        boxes.append(box)
    return crops, boxes


# ---------------------------------------------------------------------------------------------
# running things

def render(name: str, overrides: str, out: Path, scene: Path, frames: int, workers: int,
           overwrite: bool) -> None:
    """``python -m synthgen render`` into ``out`` (this interpreter, the checkout's synthgen)."""
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise RealismError(f"--render {name}: {out} is not empty (give --overwrite, or read it "
                           f"with --synthetic {name}={out})")
    cmd = [sys.executable, "-m", "synthgen", "render", str(scene), "-o", str(out),
           f"frames={frames}", *overrides.split(), "--workers", str(workers), "--quiet",
           "--overwrite"]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO)] + [p for p in [env.get("PYTHONPATH")] if p])
    env.setdefault("PYOPENGL_PLATFORM", "egl")
    env.setdefault("PYGLET_HEADLESS", "1")
    r = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        last = (r.stderr.strip() or r.stdout.strip() or "no output").splitlines()[-1]
        raise RealismError(f"--render {name}={overrides}: synthgen render exited "
                           f"{r.returncode}: {last}")


def run_pose(pose_python: Path, crops_file: Path, out_file: Path,
             min_detection_confidence: float) -> dict[str, np.ndarray]:
    """``benchmarks/realism_pose.py`` on a crop file, in ``pose_python``; its arrays."""
    cmd = [str(pose_python), str(REPO / "benchmarks" / "realism_pose.py"), str(crops_file),
           str(out_file), "--min-detection-confidence", str(min_detection_confidence)]
    env = dict(os.environ, GLOG_minloglevel="2", TF_CPP_MIN_LOG_LEVEL="2")
    try:
        r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    except OSError as exc:
        raise RealismError(f"--pose-python {pose_python}: cannot run it ({exc})") from None
    if r.returncode != 0:
        lines = [x for x in r.stderr.strip().splitlines() if x.startswith("realism_pose:")]
        last = (lines or r.stderr.strip().splitlines() or ["no output"])[-1]
        raise RealismError(f"--pose-python {pose_python}: pose worker exited {r.returncode}: "
                           f"{last}")
    with np.load(out_file, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def contact_sheet(path: Path, crops: np.ndarray, labels: np.ndarray, preds: np.ndarray,
                  detected: np.ndarray, radius: np.ndarray) -> None:
    """The first crops in a grid: labels as circles of the PCK radius (white: visible, grey:
    hidden), predictions as dots (green within the radius, red outside); red frame = no pose.
    ``labels`` and ``preds`` in crop px."""
    from PIL import Image, ImageDraw

    n = min(len(crops), SHEET_N)
    if n == 0:
        return
    size, cols = crops.shape[1], min(n, 6)
    rows = (n + cols - 1) // cols
    sheet = Image.new("RGB", (cols * size, rows * size))
    for i in range(n):
        tile = Image.fromarray(crops[i])
        d = ImageDraw.Draw(tile)
        r = float(radius[i])
        for j in range(len(LIMB_JOINTS)):
            x, y, v = labels[i, j]
            if v >= 1:
                grey = (255,) * 3 if v >= 2 else (128,) * 3
                d.ellipse((x - r, y - r, x + r, y + r), outline=grey)
            if detected[i]:
                px, py = preds[i, j]
                ok = v >= 1 and np.hypot(px - x, py - y) <= r
                d.ellipse((px - 2, py - 2, px + 2, py + 2), fill=(0, 255, 0) if ok else (255, 0, 0))
        if not detected[i]:
            d.rectangle((0, 0, size - 1, size - 1), outline=(255, 0, 0), width=4)
        sheet.paste(tile, ((i % cols) * size, (i // cols) * size))
    sheet.save(path)


def evaluate(name: str, source: str, people: list[Person], work: Path, a: argparse.Namespace,
             seconds: dict) -> dict:
    """Crop, run the model and score one set; its entry of ``results.json``."""
    t = time.perf_counter()
    crops, boxes = crops_of(people, a.margin, a.crop)
    crops_file = work / f"crops_{name}.npy"
    np.save(crops_file, crops, allow_pickle=False)
    seconds[f"crop_{name}"] = time.perf_counter() - t
    t = time.perf_counter()
    out = run_pose(a.pose_python, crops_file, work / f"pose_{name}.npz",
                   a.min_detection_confidence)
    seconds[f"pose_{name}"] = time.perf_counter() - t
    detected = out["detected"].astype(bool)
    uv = limb_predictions(out["landmarks"], list(out["names"]))
    pred = np.stack([from_crop(uv[i], boxes[i], a.crop) for i in range(len(people))]) \
        if people else np.zeros((0, len(LIMB_JOINTS), 2))
    joints = np.stack([p.joints for p in people]) if people else np.zeros((0, 12, 3))
    sizes = np.array([person_size(p.joints) for p in people])
    vis = pck(pred, joints, sizes, detected, a.alpha, min_v=2)
    lab = pck(pred, joints, sizes, detected, a.alpha, min_v=1)
    swapped = pck(pred[:, list(MIRROR)], joints, sizes, detected, a.alpha, min_v=2)
    crop_labels = np.stack([np.column_stack([to_crop(p.joints[:, :2], b, a.crop), p.joints[:, 2]])
                            for p, b in zip(people, boxes)]) if people else joints
    crop_preds = np.stack([to_crop(pred[i], boxes[i], a.crop) for i in range(len(people))]) \
        if people else pred
    contact_sheet(work / f"sheet_{name}.png", crops, crop_labels, crop_preds, detected,
                  a.alpha * sizes * a.crop / np.array([b.side for b in boxes] or [1.0]))

    def pct(x: float | None) -> float | None:
        return None if x is None else round(100.0 * x, 2)

    return {
        "name": name, "source": source, "persons": len(people),
        "images": len({p.image for p in people}), "detected": int(detected.sum()),
        "detection_pct": pct(detected.mean()) if len(people) else None,
        "pck_pct": pct(vis["pck"]), "pck_detected_pct": pct(vis["pck_detected"]),
        "joints_scored": vis["scored"], "joints_correct": vis["correct"],
        "pck_labelled_pct": pct(lab["pck"]), "pck_labelled_detected_pct": pct(lab["pck_detected"]),
        "joints_labelled": lab["scored"],
        "pck_lr_swapped_pct": pct(swapped["pck"]),
        "pck_per_joint_pct": {k: pct(v) for k, v in vis["per_joint"].items()},
        "person_size_px": {"median": float(np.median(sizes)) if len(sizes) else None,
                           "min": float(sizes.min()) if len(sizes) else None,
                           "max": float(sizes.max()) if len(sizes) else None},
        "visible_limb_joints_per_person": float(vis["scored"] / len(people)) if people else None,
        "mediapipe_version": str(out["mediapipe_version"]),
    }


def table(rows: list[dict], alpha: float) -> str:
    head = ["set", "persons", "detection %", f"PCK@{alpha:g} %", "PCK among detected %",
            "PCK labelled (v>=1) %", "L/R swapped PCK %"]
    keys = ["persons", "detection_pct", "pck_pct", "pck_detected_pct", "pck_labelled_pct",
            "pck_lr_swapped_pct"]

    def fmt(v: object) -> str:
        return "-" if v is None else (f"{v:.1f}" if isinstance(v, float) else str(v))

    body = [[r["name"]] + [fmt(r[k]) for k in keys] for r in rows]
    widths = [max(len(x) for x in col) for col in zip(head, *body)]
    lines = [" | ".join(x.ljust(w) for x, w in zip(head, widths))]
    lines.append("-|-".join("-" * w for w in widths))
    lines += [" | ".join(x.ljust(w) for x, w in zip(r, widths)) for r in body]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# command line

def _named(text: str, flag: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not re.fullmatch(r"[A-Za-z0-9_-]+", name) or name == "lspet":
        raise RealismError(f"{flag}: expected NAME=VALUE with NAME of letters, digits, _ or - "
                           f"(not 'lspet'), found {text!r}")
    return name, value


def _range(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d+)-(\d+)", text)
    if not m or int(m.group(1)) > int(m.group(2)):
        raise RealismError(f"--lspet-images: expected FIRST-LAST (1-based, inclusive), found "
                           f"{text!r}")
    return int(m.group(1)), int(m.group(2))


def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-o", "--work", type=Path, required=True, help="work folder")
    ap.add_argument("--render", action="append", default=[], metavar="NAME=OVERRIDES")
    ap.add_argument("--synthetic", action="append", default=[], metavar="NAME=DIR")
    ap.add_argument("--scene", type=Path, default=SCENE)
    ap.add_argument("--frames", type=int, default=80, help="frames per --render set")
    ap.add_argument("--workers", type=int, default=1, help="render workers")
    ap.add_argument("--overwrite", action="store_true", help="re-render into a non-empty set")
    ap.add_argument("--lspet", type=Path, default=DEFAULT_LSPET)
    ap.add_argument("--lspet-images", default="4001-5000")
    ap.add_argument("--limit", type=int, default=None, help="persons per set")
    ap.add_argument("--min-joints", type=int, default=6)
    ap.add_argument("--min-size", type=float, default=40.0, help="px")
    ap.add_argument("--margin", type=float, default=1.5)
    ap.add_argument("--crop", type=int, default=256, help="crop side, px")
    ap.add_argument("--alpha", type=float, default=0.1, help="PCK threshold / person size")
    ap.add_argument("--min-detection-confidence", type=float, default=0.5)
    ap.add_argument("--pose-python", type=Path, default=None,
                    help=f"Python with mediapipe (default {DEFAULT_POSE_PYTHON.relative_to(REPO)}"
                         f" if present, else this one)")
    a = ap.parse_args(argv)
    for flag, v, ok in (("--frames", a.frames, a.frames >= 1),
                        ("--workers", a.workers, a.workers >= 1),
                        ("--limit", a.limit, a.limit is None or a.limit >= 1),
                        ("--min-joints", a.min_joints, 1 <= a.min_joints <= 12),
                        ("--min-size", a.min_size, np.isfinite(a.min_size) and a.min_size >= 1),
                        ("--margin", a.margin, np.isfinite(a.margin) and a.margin >= 1),
                        ("--crop", a.crop, 32 <= a.crop <= 2048),
                        ("--alpha", a.alpha, np.isfinite(a.alpha) and a.alpha > 0)):
        if not ok:
            raise RealismError(f"{flag}: out of range, found {v}")
    a.render = [_named(x, "--render") for x in a.render]
    a.synthetic = [_named(x, "--synthetic") for x in a.synthetic]
    names = [n for n, _ in a.render + a.synthetic]
    if len(set(names)) != len(names):
        raise RealismError(f"set names must differ, found {', '.join(names)}")
    a.first, a.last = _range(a.lspet_images)
    if a.pose_python is None:
        a.pose_python = (DEFAULT_POSE_PYTHON if DEFAULT_POSE_PYTHON.exists()
                         else Path(sys.executable))
    if not a.scene.is_file():
        raise RealismError(f"--scene: {a.scene} is not a file")
    if not (a.lspet / "joints.mat").is_file():
        raise RealismError(f"--lspet: {a.lspet / 'joints.mat'} not found (expected LSPET's "
                           f"folder with joints.mat and images/)")
    for n, d in a.synthetic:
        if not Path(d).is_dir():
            raise RealismError(f"--synthetic {n}: {d} is not a directory")
    return a


def main(argv: list[str] | None = None) -> int:
    t0 = time.perf_counter()
    try:
        a = parse(argv)
        a.work.mkdir(parents=True, exist_ok=True)
        seconds: dict[str, float] = {}
        sets: list[tuple[str, str, list[Person]]] = []
        for name, overrides in a.render:
            t = time.perf_counter()
            render(name, overrides, a.work / name, a.scene, a.frames, a.workers, a.overwrite)
            seconds[f"render_{name}"] = time.perf_counter() - t
            sets.append((name, f"synthgen render {a.scene.name} frames={a.frames} {overrides}"
                         .strip(), synthetic_people(a.work / name)))
        for name, d in a.synthetic:
            sets.append((name, str(Path(d).resolve()), synthetic_people(Path(d))))
        sets.append(("lspet", f"{a.lspet.resolve()} images {a.first}-{a.last}",
                     lspet_people(a.lspet, a.first, a.last)))
        rows = []
        for name, source, people in sets:
            chosen = selected(people, a.min_joints, a.min_size, a.limit)
            row = evaluate(name, source, chosen, a.work, a, seconds)
            row["candidates"] = len(people)
            rows.append(row)
    except RealismError as exc:
        print(f"realism: {exc}", file=sys.stderr)
        return 2
    seconds["total"] = time.perf_counter() - t0
    print(table(rows, a.alpha))
    print(f"({seconds['total']:.0f} s; details in {a.work / 'results.json'})")
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(a).items()
                if k not in ("render", "synthetic", "first", "last")}
    settings["render"] = [f"{n}={o}" for n, o in a.render]
    settings["synthetic"] = [f"{n}={d}" for n, d in a.synthetic]
    settings["model"] = ("MediaPipe Pose (legacy solutions.pose), model_complexity=1 "
                         "(pose_landmark_full.tflite), static_image_mode=True")
    settings["person_size"] = "longer side of the tight box of the labelled (v>=1) limb joints"
    results = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"node": platform.node(), "machine": platform.machine(),
                    "processor": _cpu_name(), "cpus": os.cpu_count(),
                    "python": platform.python_version(), "platform": platform.platform()},
        "seconds": {k: round(v, 2) for k, v in seconds.items()},
        "settings": settings, "limb_joints": list(LIMB_JOINTS), "sets": rows}
    (a.work / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    return 0


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


if __name__ == "__main__":
    raise SystemExit(main())
