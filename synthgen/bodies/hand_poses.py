"""Hand poses for SMPL-X: SMPL-X's relaxed hand mean and the named hand poses (relaxed, grasp,
pinch, flat) as finger rotations. Pure numpy.

Hands. ``left_hand_pose``/``right_hand_pose`` are SMPL-X parameters for a model built with
``flat_hand_mean=False`` (the default of smplx and of :class:`~synthgen.bodies.mannequin.
MannequinBody`): they are *added* to SMPL-X's relaxed hand mean, so zeros is the relaxed hand.
The library writes hands as absolute finger rotations (flat hand = 0) and subtracts the mean
(:func:`smplx_hand_mean`, the table baked in mannequin-x) once at the boundary.
"""
from __future__ import annotations

import functools

import numpy as np

from .joint_limits import FINGER_NAMES, SIDES, from_anatomical

HAND_POSE_NAMES: tuple[str, ...] = ("relaxed", "grasp", "pinch", "flat")


@functools.lru_cache(maxsize=1)
def _hand_mean_cached() -> np.ndarray:
    from mannequin import _io   # mannequin-x ships SMPL-X's neutral hand mean (Apache-2.0 table)

    m = np.asarray(_io.load_calibration().hand_mean, dtype=np.float64).reshape(2, 15, 3)
    m.setflags(write=False)
    return m


def smplx_hand_mean() -> np.ndarray:
    """SMPL-X's relaxed hand mean, (2, 15, 3) axis-angle radians, [left, right]: the absolute
    finger rotations that zero hand parameters mean when ``flat_hand_mean=False``."""
    return _hand_mean_cached().copy()


def _finger_angles(name: str) -> dict[str, tuple[float, float, float]]:
    """Absolute anatomical angles (degrees) per finger joint of a named hand pose (left hand;
    the right hand uses the same angles on mirrored axes). Fingers not listed stay flat."""
    if name == "flat":
        return {}
    if name == "grasp":
        # power grasp of a cylinder of 4-6 cm diameter lying obliquely across the palm: the
        # fingers wrap it (little finger a bit more), the opposed thumb closes over it.
        out = {}
        curls = {"index": (35, 60, 40, 4), "middle": (35, 60, 40, 0),   # MCP, PIP, DIP, spread
                 "ring": (38, 62, 40, -4), "pinky": (45, 65, 40, -8)}
        for f, (mcp, pip, dip, spread) in curls.items():
            out[f + "1"], out[f + "2"], out[f + "3"] = (mcp, spread, 0), (pip, 0, 0), (dip, 0, 0)
        out["thumb1"], out["thumb2"], out["thumb3"] = (55, 10, 45), (0, 20, 0), (0, 25, 0)
        return out
    if name == "pinch":
        # tip pinch: index and thumb tips meet (within ~6 mm on the mannequin, found by a grid
        # search); the other fingers fold out of the way.
        out = {"index1": (55, 0, 0), "index2": (60, 0, 0), "index3": (30, 0, 0)}
        for f in ("middle", "ring", "pinky"):
            out[f + "1"], out[f + "2"], out[f + "3"] = (55, 0, 0), (70, 0, 0), (30, 0, 0)
        out["thumb1"], out["thumb2"], out["thumb3"] = (60, 20, 0), (0, 20, 0), (0, 20, 0)
        return out
    raise ValueError(f"unknown hand pose {name!r}; expected one of {', '.join(HAND_POSE_NAMES)}")


def hand_pose_absolute(name: str, side: str) -> np.ndarray:
    """Absolute finger rotations (15, 3) radians (flat hand = 0) of a named hand pose."""
    if side not in SIDES:
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    if name == "relaxed":
        return smplx_hand_mean()[SIDES.index(side)]
    table = _finger_angles(name)
    return np.stack([from_anatomical(f"{side}_{f}", np.asarray(table.get(f, (0.0, 0.0, 0.0))))
                     for f in FINGER_NAMES])


def hand_pose(name: str, side: str) -> np.ndarray:
    """SMPL-X hand parameters (45,) of a named hand pose ('relaxed', 'grasp', 'pinch', 'flat')
    for a ``flat_hand_mean=False`` model: absolute rotations minus the relaxed mean."""
    return (hand_pose_absolute(name, side) - smplx_hand_mean()[SIDES.index(side)]).ravel()
