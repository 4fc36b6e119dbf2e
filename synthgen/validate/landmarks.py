"""Landmark check: rebuild each person's body from ``scene_humans.json`` and re-derive its
surface-landmark keypoints (nose, eyes, ears, toes, heels, fingertips, face points: the rows of
COCO-17 / WholeBody-133 whose SMPL-X source index is >= 55), which the files hold no 3-D point for.

For a person of image ``im_id`` the body backend the dataset names (``dataset.json`` config echo
``humans``: ``model``, ``flat_hand_mean``, and for ``smplx`` ``model_dir``, ``gender``, ...) is
built with the render's own :func:`synthgen.runner.pipeline.make_body_model` and posed with the
person's ``smplx`` parameters (world frame, metres); its landmarks are assembled into the extended
SMPL-X array with :func:`~synthgen.bodies.keypoints.extended_joints`, as the render does, and
taken to the camera frame with the image's ``cam_R_w2c`` / ``cam_t_w2c`` (``scene_camera.json``,
mm). Then, per landmark row of both keypoint fields:

- position: a labelled row (v > 0) must equal the projection with ``cam_K`` within
  :data:`~synthgen.validate.keypoints.KEYPOINT_TOL_PX` (the render writes it exactly; the rebuilt
  body agrees to ~1e-5 px, float32 skinning), and a row is v=0 exactly when its landmark has no
  source (the mannequin has no face) or projects outside the image;
- flag: re-derived with the render's own rule,
  :func:`synthgen.groundtruth.labels.keypoints_from_joints` (landmark test: v=2 unless the clean
  depth ``depth_gt`` at its pixel is more than ``LANDMARK_TOL`` in front of it), on the landmark
  at the written (u, v) with the rebuilt depth, so the pixel is the render's own. ``depth_gt`` is
  quantised to ``depth_scale``, so the rule is evaluated with ``depth_gt`` one step nearer and one
  step farther: only a flag that both disagree with is reported.

When the model files of an ``smplx`` dataset are not found (they are the user's), the check is
skipped with a counted note, not a problem. Runs in this process: one body forward per person and
scene (~35 ms for the mannequin), no GL.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

import numpy as np

from synthgen.bodies.base import SMPLXParams
from synthgen.bodies.keypoints import (COCO17_FROM_SMPLX, COCO17_NAMES, NUM_SMPLX_JOINTS,
                                       SMPLX_FACE_CONTOUR, SMPLX_LANDMARK_NAMES,
                                       WHOLEBODY133_FROM_SMPLX, WHOLEBODY133_NAMES,
                                       extended_joints)
from synthgen.groundtruth.labels import LANDMARK_TOL, keypoints_from_joints
from synthgen.groundtruth.projection import pixel_index, project, transform
from synthgen.writers.bop import load_image, load_scene_camera, uint16_to_depth
from synthgen.writers.humans import load_scene_humans

from .keypoints import check_projected_rows
from .report import Report

#: The note counted (per person instance) when an smplx dataset's model files are not found.
SMPLX_MISSING_NOTE = "smplx model files not found: landmark flags not re-derived"

#: (field in scene_humans.json, its names, its extended SMPL-X source index per row)
SCHEMAS = (("keypoints_coco17", COCO17_NAMES, COCO17_FROM_SMPLX),
           ("keypoints_wholebody133", WHOLEBODY133_NAMES, WHOLEBODY133_FROM_SMPLX))


@dataclass(frozen=True)
class PersonRef:
    """One person of one image whose files passed the file checks (``scene_humans.json``,
    ``scene_camera.json`` with a pinhole ``cam_K``, ``depth_gt``): where the landmark check
    finds it. ``width`` x ``height`` pixels."""

    split: str
    scene_id: int
    im_id: int
    person_id: int
    scene_dir: Path
    rel: str             # the scene folder relative to the dataset root
    width: int
    height: int

    @property
    def item(self) -> str:
        return f"{self.rel}/scene_humans.json image {self.im_id} person {self.person_id}"


def source_name(e: int) -> str:
    """The name of extended SMPL-X point ``e`` (>= 55)."""
    if e < NUM_SMPLX_JOINTS + len(SMPLX_LANDMARK_NAMES):
        return SMPLX_LANDMARK_NAMES[e - NUM_SMPLX_JOINTS]
    if e >= SMPLX_FACE_CONTOUR[0]:
        return f"face contour point {e - SMPLX_FACE_CONTOUR[0]}"
    return f"inner face point {e - NUM_SMPLX_JOINTS - len(SMPLX_LANDMARK_NAMES)}"


def make_body(humans_cfg: dict[str, Any] | None) -> tuple[Any | None, str | None]:
    """The body backend of the dataset's config echo ``humans`` (a dict), built by the render's
    own ``make_body_model``: ``(body, None)``, or ``(None, note)`` saying why it could not be.
    A relative ``model_dir`` is taken from the current folder (the scene file's folder, which
    the render resolved it against, is not recorded)."""
    if not isinstance(humans_cfg, dict) or "model" not in humans_cfg:
        return None, "dataset.json has no config.humans.model: landmark flags not re-derived"
    from synthgen.runner.pipeline import make_body_model

    # make_body_model reads only cfg.humans' attributes: the echo, as attributes, is enough
    cfg = SimpleNamespace(humans=SimpleNamespace(**humans_cfg))
    try:
        return make_body_model(cfg, base_dir=None), None
    except Exception as exc:  # noqa: BLE001 - a missing model or extra is a note, not a crash
        if humans_cfg.get("model") == "smplx":
            return None, SMPLX_MISSING_NOTE
        return None, (f"body model {humans_cfg.get('model')!r} could not be built "
                      f"({type(exc).__name__}: {exc}): landmark flags not re-derived")


def person_params(person: dict) -> SMPLXParams:
    """The body parameters of a ``scene_humans`` person: an Anny person's ``body_params``
    (phenotype and the driving SMPL-X-convention pose), else its ``smplx`` block."""
    if person["body_model"] == "anny":
        a = person["body_params"]
        return SMPLXParams(**{k: np.asarray(v, np.float64) for k, v in a["pose"].items()},
                           phenotype={k: float(v) for k, v in a["phenotype"].items()})
    return SMPLXParams(**{k: np.asarray(v, np.float64) for k, v in person["smplx"].items()})


def _params_key(p: SMPLXParams) -> bytes:
    arrays = b"".join(np.asarray(v, np.float64).tobytes() for k, v in sorted(vars(p).items()) if k != "phenotype")
    return arrays + repr(sorted((p.phenotype or {}).items())).encode()


def extended_world(body, params: SMPLXParams) -> np.ndarray:
    """(144, 3) extended SMPL-X points of ``body`` posed with ``params`` (world frame, metres),
    NaN where the backend has no source: what the render's ``person_ext`` holds."""
    out = body.forward(params)
    return extended_joints(out.joints, out.landmarks, getattr(out, "face", None))


def check_person_landmarks(person: dict, ext_cam: np.ndarray, K: np.ndarray,
                           depth_gt: np.ndarray, depth_scale: float, item: str,
                           report: Callable[[str, str], None]) -> tuple[int, int]:
    """Check the landmark rows of one ``scene_humans`` person (as ``load_scene_humans`` gives
    it) against the rebuilt points ``ext_cam`` (144, 3), camera frame, metres; ``depth_gt``
    (H, W) metres, 0 = nothing rendered. Returns (positions checked, flags re-derived)."""
    H, W = depth_gt.shape
    step = depth_scale / 1000.0                       # one depth step, metres
    d = depth_gt.astype(np.float64)
    nearer = np.where(d > 0, d - step, 0.0)           # the rule at either end of the step
    farther = np.where(d > 0, d + step, 0.0)
    Kinv = np.linalg.inv(np.asarray(K, np.float64))
    n_pos = n_flags = 0
    for field, names, src in SCHEMAS:
        rows = np.asarray(person[field], dtype=np.float64)
        idx = np.flatnonzero(src >= NUM_SMPLX_JOINTS)
        pts = ext_cam[src[idx]]
        uv = project(K, pts)
        n_pos += len(idx)

        def source(i: int) -> tuple[str, str]:
            lm = source_name(int(src[i]))
            return (f"landmark {lm} of the rebuilt body",
                    f"the rebuilt body has no landmark {lm} in front of the camera")

        agree = check_projected_rows(rows, idx, uv, W, H, lambda i: f"{item} {field}[{i}] ({names[i]})",
                                     source, report)
        # flags re-derived where the position agrees (v in 1, 2; other values are schema errors)
        flag_rows = [k for k in agree if rows[idx[k], 2] in (1, 2)]
        if not flag_rows:
            continue
        sel = np.asarray(flag_rows)
        # the rebuilt depth at the written (u, v): the pixel is the render's own even where the
        # rebuilt point (float32 skinning) lies a hair across a pixel edge
        z = pts[sel, 2]
        uv1 = np.column_stack([rows[idx[sel], :2], np.ones(len(sel))])
        at = (uv1 @ Kinv.T) * z[:, None]
        ids = src[idx[sel]]
        lm_rows = np.ones(len(sel), bool)
        no_region = np.zeros((H, W), bool)            # the landmark rule does not read it
        lo = keypoints_from_joints(at, lm_rows, K, nearer, no_region, keypoint_ids=ids)[:, 2]
        hi = keypoints_from_joints(at, lm_rows, K, farther, no_region, keypoint_ids=ids)[:, 2]
        r, c = pixel_index(project(K, at))
        for n, k in enumerate(sel):
            i = idx[k]
            vis = rows[i, 2]
            n_flags += 1
            if lo[n] == 0 or hi[n] == 0:
                continue   # on the image border within rounding: the position check decides
            front = z[n] - float(d[r[n], c[n]])
            seen = (f"the surface there is {front * 100:+.1f} cm in front of it" if d[r[n], c[n]] > 0
                    else "nothing was rendered there")
            where = f"{item} {field}[{i}] ({names[i]})"
            lm = source_name(int(ids[n]))
            if vis == 2 and hi[n] == 1:
                report(where, f"v=2 but at pixel ({c[n]}, {r[n]}) of landmark {lm} {seen} "
                              f"(hidden beyond {LANDMARK_TOL * 100:.0f} cm)")
            elif vis == 1 and lo[n] == 2:
                report(where, f"v=1 but at pixel ({c[n]}, {r[n]}) of landmark {lm} {seen} "
                              f"(visible unless more than {LANDMARK_TOL * 100:.0f} cm in front)")
    return n_pos, n_flags


def check_landmarks(report: Report, persons: list[PersonRef], humans_cfg: dict | None,
                    progress: Callable[[str, int, int], None] | None = None) -> None:
    """Rebuild and check the landmarks of ``persons`` (grouped by scene; each scene's JSON
    files and each image's ``depth_gt`` read once), adding ``keypoints`` problems, the counts
    ``landmarks`` / ``landmark_flags`` and, when the body cannot be built, a note per person."""
    if not persons:
        return
    body, note = make_body(humans_cfg)
    if body is None:
        report.notes[note] += len(persons)
        return
    add = lambda item, what: report.add("keypoints", item, what)  # noqa: E731
    by_scene: dict[tuple[str, int], list[PersonRef]] = defaultdict(list)
    for p in persons:
        by_scene[(p.split, p.scene_id)].append(p)
    done = 0
    for key in sorted(by_scene):
        refs = sorted(by_scene[key], key=lambda p: (p.im_id, p.person_id))
        sdir, rel = refs[0].scene_dir, refs[0].rel
        try:
            cams = load_scene_camera(sdir / "scene_camera.json")
            humans = load_scene_humans(sdir / "scene_humans.json")
            world: dict[tuple[int, bytes], np.ndarray] = {}   # one forward per person and pose
            depth: dict[int, np.ndarray] = {}
            for ref in refs:
                if progress is not None:
                    progress("landmarks", done, len(persons))
                done += 1
                person = next(q for q in humans[ref.im_id] if q["person_id"] == ref.person_id)
                if person["body_model"] != getattr(body, "name", person["body_model"]):
                    report.add("consistency", ref.item,
                               f"body_model {person['body_model']!r} but dataset.json config "
                               f"humans.model is {getattr(body, 'name', '?')!r}")
                    continue
                cam = cams[ref.im_id]
                T = np.eye(4)
                T[:3, :3] = np.asarray(cam["cam_R_w2c"], np.float64).reshape(3, 3)
                T[:3, 3] = np.asarray(cam["cam_t_w2c"], np.float64).reshape(3) / 1000.0
                params = person_params(person)
                pkey = (ref.person_id, _params_key(params))
                if pkey not in world:
                    world[pkey] = extended_world(body, params)
                ext = transform(T, world[pkey])
                if ref.im_id not in depth:
                    raw = load_image(sdir / "depth_gt" / f"{ref.im_id:06d}.png")
                    depth[ref.im_id] = uint16_to_depth(raw, cam["depth_scale"])
                n_pos, n_flags = check_person_landmarks(person, ext, cam["cam_K"], depth[ref.im_id],
                                                        float(cam["depth_scale"]), ref.item, add)
                report.counts["landmarks"] += n_pos
                report.counts["landmark_flags"] += n_flags
        except Exception as exc:  # noqa: BLE001 - report, never a traceback
            report.add("internal", rel, f"landmarks could not be checked: "
                                        f"{type(exc).__name__}: {exc}")
    if progress is not None:
        progress("landmarks", len(persons), len(persons))
