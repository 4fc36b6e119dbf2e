"""AMASS-style motion files: read an ``.npz`` without pickle into SMPL-X parameters
(:func:`load_motion`) and take one frame of a motion as a pose sample (:func:`sample_motion_pose`).
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from ..errors import InputError

from .base import SMPLXParams
from .hand_poses import smplx_hand_mean
from .pose_sampling import BODY_TO_WORLD, PoseSample, classify_posture, perturb


class MotionError(InputError, ValueError):
    """A motion file that cannot be used; the message is one line naming file, key, expected
    and found."""


# AMASS ``poses`` layouts, column ranges (all axis-angle radians, 3 per joint):
#   smplh  156 = root 0:3 | body 3:66 (21 joints) | left hand 66:111 | right hand 111:156
#   smplx  165 = root 0:3 | body 3:66 | jaw 66:69 | leye 69:72 | reye 72:75 | left hand 75:120
#                | right hand 120:165
#   smpl    72 = root 0:3 | body 3:66 | SMPL's two hand joints 66:72 (dropped: SMPL-X has fingers)
#   body    66 = root 0:3 | body 3:66 (hands relaxed)
_LAYOUTS = {156: "smplh", 165: "smplx", 72: "smpl", 66: "body"}


@dataclass
class Motion:
    """A motion sequence in SMPL-X parameter terms. Arrays have T rows.

    ``global_orient`` (T, 3) is the file's root orientation, kept as the body's orientation
    relative to the *world* (AMASS is Z up, like our world, so an AMASS sequence stands
    upright); ``trans`` (T, 3) metres; ``left/right_hand_pose`` (T, 45) SMPL-X parameters for a
    ``flat_hand_mean=False`` model (AMASS stores absolute finger rotations; the mean is
    subtracted at load unless ``hands_absolute=False``); jaw/eye poses zero where the layout has
    none; ``betas`` as stored (16 for AMASS; SMPLXParams takes the first 10).
    """

    path: str
    layout: str
    global_orient: np.ndarray
    body_pose: np.ndarray
    left_hand_pose: np.ndarray
    right_hand_pose: np.ndarray
    jaw_pose: np.ndarray
    leye_pose: np.ndarray
    reye_pose: np.ndarray
    trans: np.ndarray
    betas: np.ndarray
    gender: str = "neutral"
    fps: float | None = None

    @property
    def num_frames(self) -> int:
        return int(self.body_pose.shape[0])

    def params(self, frame: int) -> SMPLXParams:
        """Frame ``frame`` as world SMPL-X parameters, the file's root and translation kept."""
        p = SMPLXParams()
        p.betas = np.asarray(self.betas[:10], dtype=np.float64).copy()
        for k in ("global_orient", "body_pose", "left_hand_pose", "right_hand_pose", "jaw_pose",
                  "leye_pose", "reye_pose"):
            setattr(p, k, np.asarray(getattr(self, k)[frame], dtype=np.float64).copy())
        p.transl = np.asarray(self.trans[frame], dtype=np.float64).copy()
        return p


def _fail(path, key, expected, found) -> MotionError:
    return MotionError(f"{path}: key '{key}' expected {expected}, found {found}")


def _shape_str(a) -> str:
    return f"shape {tuple(np.shape(a))}"


def load_motion(path: str | os.PathLike, hands_absolute: bool = True) -> Motion:
    """Read an AMASS-style ``.npz`` (keys ``poses`` (T, 156|165|72|66), ``trans`` (T, 3),
    ``betas`` (n,) n >= 10, optional ``gender`` and ``mocap_framerate``/``mocap_frame_rate``);
    see :class:`Motion` for the mapping. Raises :class:`MotionError` (one line) on a bad file."""
    path = os.fspath(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            keys = set(npz.files)

            def get(key: str):
                try:
                    return np.asarray(npz[key])
                except ValueError as exc:  # object arrays need pickle: refused
                    raise _fail(path, key, "a numeric array", f"unreadable data ({exc})") from None

            for key in ("poses", "trans", "betas"):
                if key not in keys:
                    raise _fail(path, key, "to be present", f"keys {sorted(keys)}")
            poses, trans, betas = get("poses"), get("trans"), get("betas")
            gender = "neutral"
            if "gender" in keys:
                try:
                    g = npz["gender"]
                    g = g.item()
                    gender = (g.decode() if isinstance(g, bytes) else str(g)).strip()
                except (ValueError, AttributeError):
                    gender = "neutral"
            fps = None
            for k in ("mocap_framerate", "mocap_frame_rate"):
                if k in keys:
                    fps = float(np.asarray(get(k)).reshape(-1)[0])
    except MotionError:
        raise
    except (OSError, ValueError, EOFError) as exc:
        msg = " ".join(str(exc).split())
        raise MotionError(f"{path}: cannot read as .npz ({type(exc).__name__}: {msg})") from None

    expected = "shape (T, 156) SMPL-H, (T, 165) SMPL-X, (T, 72) SMPL or (T, 66) with T >= 1"
    if poses.ndim != 2 or poses.shape[1] not in _LAYOUTS or poses.shape[0] < 1:
        raise _fail(path, "poses", expected, _shape_str(poses))
    if not np.issubdtype(poses.dtype, np.number) or not np.isfinite(poses).all():
        raise _fail(path, "poses", "finite numbers", "non-finite or non-numeric values")
    T = poses.shape[0]
    if trans.shape != (T, 3) or not np.issubdtype(trans.dtype, np.number):
        raise _fail(path, "trans", f"shape ({T}, 3) to match poses", _shape_str(trans))
    if not np.isfinite(trans).all():
        raise _fail(path, "trans", "finite numbers", "non-finite values")
    if betas.ndim != 1 or betas.shape[0] < 10 or not np.issubdtype(betas.dtype, np.number):
        raise _fail(path, "betas", "shape (n,) with n >= 10 (AMASS: 16)", _shape_str(betas))

    poses = poses.astype(np.float64)
    layout = _LAYOUTS[poses.shape[1]]
    zeros3 = np.zeros((T, 3))
    jaw, leye, reye = zeros3, zeros3.copy(), zeros3.copy()
    if layout == "smplh":
        lh, rh = poses[:, 66:111], poses[:, 111:156]
    elif layout == "smplx":
        jaw, leye, reye = poses[:, 66:69], poses[:, 69:72], poses[:, 72:75]
        lh, rh = poses[:, 75:120], poses[:, 120:165]
    else:
        lh = rh = None
    mean = smplx_hand_mean().reshape(2, 45)
    if lh is None:
        lh, rh = np.zeros((T, 45)), np.zeros((T, 45))   # relaxed hands
    elif hands_absolute:
        lh, rh = lh - mean[0], rh - mean[1]
    return Motion(path=path, layout=layout, global_orient=poses[:, 0:3].copy(),
                  body_pose=poses[:, 3:66].copy(), left_hand_pose=np.array(lh),
                  right_hand_pose=np.array(rh), jaw_pose=np.array(jaw), leye_pose=np.array(leye),
                  reye_pose=np.array(reye), trans=trans.astype(np.float64),
                  betas=betas.astype(np.float64), gender=gender or "neutral", fps=fps)


def sample_motion_pose(motion: Motion, rng: np.random.Generator, frame: int | None = None,
                       noise_deg: float = 0.0,
                       limits: Mapping[str, np.ndarray] | None = None) -> PoseSample:
    """One frame of ``motion`` (uniform when ``frame`` is None) as a :class:`PoseSample`.

    The file's world root orientation R is kept: ``root_orient = Rx(90)^-1 R`` so that
    :meth:`PoseSample.to_params` gives ``global_orient = Rz(yaw) R`` (the scene sampler adds the
    yaw and a translation). Mocap is not clamped unless ``limits`` is given; ``posture`` comes
    from :func:`classify_posture`."""
    if frame is None:
        frame = int(rng.integers(motion.num_frames))
    if not 0 <= frame < motion.num_frames:
        raise ValueError(f"frame {frame} outside [0, {motion.num_frames})")
    root = (BODY_TO_WORLD.inv() * Rotation.from_rotvec(motion.global_orient[frame])).as_rotvec()
    body = motion.body_pose[frame].copy()
    tag = f"motion:{os.path.basename(motion.path)}#{frame}"
    s = PoseSample(body_pose=body, left_hand_pose=motion.left_hand_pose[frame].copy(),
                   right_hand_pose=motion.right_hand_pose[frame].copy(), root_orient=root,
                   names=(tag, tag), mix=0.0, posture=classify_posture(body, root),
                   hands=("motion", "motion"))
    if noise_deg > 0 or limits is not None:
        s = perturb(s, rng, noise_deg, noise_deg / 2.0, limits)
    return s
