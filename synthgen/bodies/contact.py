"""Floor and seat contact of a posed body: the lowest point of each body part, feet-on-floor and
seat checks, levelling both feet of a pose (:func:`plant_feet`) and dropping a pose onto the floor
(:func:`pose_on_floor`). World frame: Z up, metres; a body model is only needed to evaluate a pose.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from .base import BodyOutput, SMPLXParams
from .joint_limits import from_anatomical, to_anatomical
from .pose_sampling import PoseSample, body_row, foot_orientations, solve_ankles

# Body parts by the dominant skinning joint of their vertices (SMPL-X indices, as in
# BodyOutput.skin_joint).
PART_SKIN_JOINTS: Mapping[str, tuple[int, ...]] = {
    "left_foot": (7, 10), "right_foot": (8, 11),     # ankle (heel) and foot (toes)
    "left_shin": (4,), "right_shin": (5,),           # the knee joint moves the shank: knee-down
    "seat": (0, 1, 2),                               # pelvis and thighs: buttocks on a seat
    "left_hand": (20,) + tuple(range(25, 40)), "right_hand": (21,) + tuple(range(40, 55)),
}

CONTACTS: Mapping[str, str] = {
    "standing": "both feet on the floor (walking: at least one); nothing else below the knees.",
    "crouching": "both feet flat on the floor; the seat part stays above the floor.",
    "kneeling": "a shin (just below the knee) and the tucked toes of that leg on the floor; "
                "for one knee, the other foot flat on the floor.",
    "sitting": "both feet on the floor and the seat part (buttocks, back of the thighs) on a "
               "seat whose top is at seat_contact().height, covering seat_contact().points_xy.",
}
"""What touches what per posture (floor z = the lowest vertex after the sampler drops the body)."""


def part_heights(body: BodyOutput, floor_z: float = 0.0) -> dict[str, float]:
    """Lowest point (metres above ``floor_z``, world Z up) of each :data:`PART_SKIN_JOINTS` part."""
    z = np.asarray(body.vertices)[:, 2]
    sj = np.asarray(body.skin_joint)
    return {part: float(z[np.isin(sj, joints)].min() - floor_z)
            for part, joints in PART_SKIN_JOINTS.items() if np.isin(sj, joints).any()}


def feet_on_floor(body: BodyOutput, floor_z: float = 0.0, tol: float = 0.01,
                  both: bool = False) -> bool:
    """True when the lowest foot point (heel, sole or toes: vertices whose dominant joint is an
    ankle or foot, SMPL-X 7, 8, 10, 11) is within ``tol`` metres of the floor plane z =
    ``floor_z`` (world Z up) and no vertex of the body is below ``floor_z - tol``. ``both``
    requires each foot to touch (standing, crouching, sitting; not mid-swing walking)."""
    h = part_heights(body, floor_z)
    if float(np.asarray(body.vertices)[:, 2].min()) < floor_z - tol:
        return False
    feet = [h["left_foot"], h["right_foot"]]
    return all(abs(f) <= tol for f in feet) if both else abs(min(feet)) <= tol


@dataclass(frozen=True)
class SeatContact:
    """Where a seated body meets its seat (world, metres, Z up): ``height`` of the seat top
    above the floor (the lowest buttock/thigh point) and ``points_xy`` (N, 2), the world xy of
    the seat-part vertices within the contact band, i.e. the footprint the seat must support
    (buttocks to mid-thigh)."""

    height: float
    points_xy: np.ndarray

    @property
    def center_xy(self) -> np.ndarray:
        return self.points_xy.mean(axis=0)


def seat_contact(body: BodyOutput, floor_z: float = 0.0, band: float = 0.03) -> SeatContact:
    """The seat a posed, floor-placed body needs: its top at the lowest seat-part point (pelvis
    and thigh vertices, :data:`PART_SKIN_JOINTS` 'seat') and its footprint the seat-part
    vertices within ``band`` metres of that height."""
    v = np.asarray(body.vertices)
    sel = v[np.isin(np.asarray(body.skin_joint), PART_SKIN_JOINTS["seat"])]
    lo = sel[:, 2].min()
    return SeatContact(height=float(lo - floor_z), points_xy=sel[sel[:, 2] <= lo + band, :2].copy())


def _extend_leg(s: PoseSample, side: str, deg: float) -> PoseSample:
    """Straighten the ``side`` leg by ``deg`` (knee flex -deg, hip flex -deg/2; negative bends
    it), the ankle re-solved so the foot keeps its orientation."""
    body = np.asarray(s.body_pose, dtype=np.float64).reshape(21, 3).copy()
    feet = foot_orientations(s.root_orient, body)
    for joint, k in ((f"{side}_knee", 1.0), (f"{side}_hip", 0.5)):
        a = to_anatomical(joint, body[body_row(joint)])
        a[0] -= k * deg
        body[body_row(joint)] = from_anatomical(joint, a)
    return replace(s, body_pose=solve_ankles(s.root_orient, body, feet).ravel())


def plant_feet(body_model, sample: PoseSample, betas: np.ndarray | None = None,
               tol: float = 0.003, max_iter: int = 5, phenotype: dict | None = None) -> PoseSample:
    """Bring both feet of a ``both_feet`` pose to the same floor height (within ``tol`` metres).

    SMPL-X's skeleton is not left/right symmetric (the hips differ by ~1 cm in height) and pose
    noise moves each foot, so a symmetric crouch or seated pose leaves one foot a few cm in the
    air. This straightens the higher leg (or, if that knee is nearly straight, bends the lower
    one) by a secant search on the body model; feet keep their orientation. Returns the sample
    unchanged when it is not ``both_feet``. ``body_model``: anything with ``forward``."""
    if not sample.both_feet:
        return sample

    def gap(s: PoseSample) -> float:
        h = part_heights(body_model.forward(s.to_params(betas=betas, phenotype=phenotype)))
        return h["left_foot"] - h["right_foot"]

    d = gap(sample)
    if abs(d) <= tol:
        return sample
    high, low = ("left", "right") if d > 0 else ("right", "left")
    bp = np.reshape(sample.body_pose, (21, 3))
    knee = to_anatomical(f"{high}_knee", bp[body_row(f"{high}_knee")])[0]
    side, sign = (high, 1.0) if knee > 8.0 else (low, -1.0)
    # secant search for the degrees of straightening x that zero the signed gap f(x)
    x0, f0 = 0.0, d
    x1 = 3.0 * sign
    best = sample
    for _ in range(max_iter):
        s1 = _extend_leg(sample, side, x1)
        f1 = gap(s1)
        if abs(f1) < abs(d):
            best, d = s1, f1
        if abs(f1) <= tol or f1 == f0:
            break
        x0, f0, x1 = x1, f1, x1 - f1 * (x1 - x0) / (f1 - f0)
        x1 = float(np.clip(x1, -25.0, 25.0))
    return best


def pose_on_floor(body_model, sample: PoseSample, betas: np.ndarray | None = None,
                  yaw: float = 0.0, xy: Sequence[float] = (0.0, 0.0), floor_z: float = 0.0,
                  plant: bool = True, phenotype: dict | None = None) -> tuple[SMPLXParams, BodyOutput]:
    """Evaluate ``sample`` with ``body_model`` and translate it so the pelvis is above ``xy`` and
    the lowest vertex touches the floor z = ``floor_z`` (world, metres), as the scene sampler's
    ``place_person`` does; with ``plant``, :func:`plant_feet` first levels the feet of a
    ``both_feet`` pose. Returns the parameters (``transl`` set) and the shifted output.
    ``phenotype``: the body shape of a backend without betas (Anny)."""
    if plant:
        sample = plant_feet(body_model, sample, betas, phenotype=phenotype)
    params = sample.to_params(betas=betas, yaw=yaw, phenotype=phenotype)
    out = body_model.forward(params)
    shift = np.array([xy[0] - out.joints[0, 0], xy[1] - out.joints[0, 1],
                      floor_z - out.vertices[:, 2].min()])
    params.transl = np.asarray(params.transl, dtype=np.float64) + shift
    shifted = BodyOutput(vertices=out.vertices + shift, faces=out.faces, joints=out.joints + shift,
                         landmarks={k: v + shift for k, v in out.landmarks.items()},
                         skin_joint=out.skin_joint)
    return params, shifted
