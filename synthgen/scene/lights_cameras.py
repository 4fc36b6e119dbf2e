"""Seeded light and camera samplers (pure numpy; no engine objects).

Cameras are OpenCV: ``T_w2c`` maps world to a camera frame with x right, y down, z forward.
"""
from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from ..errors import InputError

from .draws import uniform as _u
from .description import Camera, Light
from .layout import Layout
from .materials import kelvin_to_rgb


class SamplingError(InputError, ValueError):
    """The configuration asks for something no draw can satisfy (one line, names the keys)."""


def light_pose(position: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """Pose whose local -Z axis points along ``direction`` (the pyrender light convention)."""
    z = -np.asarray(direction, float) / np.linalg.norm(direction)
    helper = np.array([0.0, 1.0, 0.0]) if abs(z[2]) > 0.9 else np.array([0.0, 0.0, 1.0])
    x = np.cross(helper, z)
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    T = np.eye(4)
    T[:3, :3] = np.column_stack([x, y, z])
    T[:3, 3] = position
    return T


def sample_lights(lc, layout: Layout, target: np.ndarray, rng: np.random.Generator) -> list[Light]:
    """``lc.count`` lights of the configured types. Point and spot lights hang under the ceiling
    (spots aim near ``target``); directional lights come from above at 30-80 deg elevation."""
    lights = []
    n = int(rng.integers(lc.count[0], lc.count[1] + 1))
    for _ in range(n):
        kind = lc.types[int(rng.integers(len(lc.types)))]
        color = kelvin_to_rgb(_u(rng, lc.color_temperature_k))
        if kind == "directional":
            el, az = np.deg2rad(_u(rng, (30.0, 80.0))), _u(rng, (0.0, 2 * np.pi))
            d = -np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])
            pos = np.array([layout.size_x / 2, layout.size_y / 2, layout.height - 0.05])
            lights.append(Light("directional", color, _u(rng, lc.directional_intensity), light_pose(pos, d)))
            continue
        pos = np.array([_u(rng, (0.4, layout.size_x - 0.4)), _u(rng, (0.4, layout.size_y - 0.4)),
                        layout.height - _u(rng, (0.1, 0.4))])
        if kind == "spot":
            aim = target + rng.uniform(-0.5, 0.5, size=3) * np.array([1.0, 1.0, 0.2])
            lights.append(Light("spot", color, _u(rng, lc.spot_intensity), light_pose(pos, aim - pos)))
        else:
            lights.append(Light("point", color, _u(rng, lc.point_intensity), light_pose(pos, [0.0, 0.0, -1.0])))
    return lights


def look_at_w2c(eye: np.ndarray, target: np.ndarray, roll: float = 0.0,
                up: np.ndarray = np.array([0.0, 0.0, 1.0])) -> np.ndarray:
    """World -> OpenCV camera transform of a camera at ``eye`` looking at ``target`` with ``up``
    (default world +Z) pointing up in the image, then rolled by ``roll`` radians about the
    viewing axis."""
    f = np.asarray(target, float) - eye
    f = f / np.linalg.norm(f)
    r = np.cross(f, np.asarray(up, float))
    if np.linalg.norm(r) < 1e-9:          # looking straight down/up: any horizontal right axis
        r = np.array([1.0, 0.0, 0.0])
    r /= np.linalg.norm(r)
    d = np.cross(f, r)
    R_c2w = np.column_stack([r, d, f]) @ Rotation.from_rotvec([0.0, 0.0, roll]).as_matrix()
    T = np.eye(4)
    T[:3, :3] = R_c2w.T
    T[:3, 3] = -R_c2w.T @ eye
    return T


def base_intrinsics(sensor, width: int, height: int) -> np.ndarray:
    """K of the sensor preset scaled to ``width`` x ``height``; principal points scale about pixel
    corners: cx' = (cx + 0.5) W'/W - 0.5."""
    ax, ay = width / sensor.width, height / sensor.height
    return np.array([[sensor.fx * ax, 0.0, (sensor.cx + 0.5) * ax - 0.5],
                     [0.0, sensor.fy * ay, (sensor.cy + 0.5) * ay - 0.5],
                     [0.0, 0.0, 1.0]])


def _segment_hits_box(p0: np.ndarray, p1: np.ndarray, c: np.ndarray, s: np.ndarray) -> bool:
    """Slab test: does the segment p0 -> p1 pass through the axis-aligned box (centre c, size s)?"""
    d = p1 - p0
    lo, hi = c - s / 2, c + s / 2
    t0, t1 = 0.0, 1.0
    for k in range(3):
        if abs(d[k]) < 1e-12:
            if p0[k] < lo[k] or p0[k] > hi[k]:
                return False
            continue
        a, b = (lo[k] - p0[k]) / d[k], (hi[k] - p0[k]) / d[k]
        a, b = min(a, b), max(a, b)
        t0, t1 = max(t0, a), min(t1, b)
        if t0 > t1:
            return False
    return True


def view_is_valid(layout: Layout, eye: np.ndarray, target: np.ndarray, margin: float = 0.15) -> bool:
    """The eye is inside the room and outside furniture, and nothing blocks the line of sight
    (the last 2 cm before the target are not tested: the target sits on a surface)."""
    if not (margin < eye[0] < layout.size_x - margin and margin < eye[1] < layout.size_y - margin
            and 0.2 < eye[2] < layout.height - 0.1):
        return False
    if layout.inside_furniture(eye, margin=0.05):
        return False
    d = target - eye
    end = target - 0.02 * d / np.linalg.norm(d)
    return not any(_segment_hits_box(eye, end, c, s) for c, s in layout.boxes)


def sample_cameras(cc, sensor, layout: Layout, targets: list[np.ndarray], n: int,
                   rng: np.random.Generator, scene_name: str = "scene",
                   person_targets: list[np.ndarray] | None = None) -> list[Camera]:
    """``n`` look-at views. Each view picks one of ``targets`` (world points on the focus
    supports; a person's chest with probability ``cc.person_target_prob`` when there are people),
    an eye at ``distance``/``elevation``/``azimuth`` from it (azimuth 0 = from the
    direction of the room centre), a roll and a focal factor; invalid views (eye outside the room
    or in furniture, line of sight blocked) are redrawn up to ``cc.max_tries`` times per view."""
    K0 = base_intrinsics(sensor, cc.width, cc.height)
    centre = np.array([layout.size_x / 2, layout.size_y / 2])
    cams = []
    for view in range(n):
        on_person = bool(person_targets) and rng.random() < cc.person_target_prob
        pool = person_targets if on_person else targets
        for _ in range(cc.max_tries):
            target = pool[int(rng.integers(len(pool)))]
            to_centre = centre - target[:2]
            # object views look from the room's open side; person views from any side
            base = np.arctan2(to_centre[1], to_centre[0]) if np.linalg.norm(to_centre) > 0.3 and not on_person \
                else _u(rng, (0.0, 2 * np.pi))
            dist = _u(rng, cc.person_distance if on_person else cc.distance)
            el = np.deg2rad(_u(rng, cc.elevation_deg))
            if on_person:   # a tall person's chest: keep the eye under the ceiling (a lower view)
                room = (layout.height - 0.15 - target[2]) / dist
                el = min(el, float(np.arcsin(np.clip(room, -1.0, 1.0))))
            az = base + np.deg2rad(_u(rng, cc.azimuth_deg))
            roll = np.deg2rad(_u(rng, cc.roll_deg))
            f = _u(rng, cc.focal_scale)
            eye = target + dist * np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])
            if view_is_valid(layout, eye, target):
                break
        else:
            raise SamplingError(f"scene {scene_name}: no valid camera view after {cc.max_tries} tries; "
                               f"reduce camera.distance or camera.elevation_deg, or enlarge the room")
        K = K0.copy()
        K[0, 0] *= f
        K[1, 1] *= f
        cams.append(Camera(K=K, width=cc.width, height=cc.height, T_w2c=look_at_w2c(eye, target, roll),
                           view_id=view))
    return cams


def _jittered_K(K0: np.ndarray, f: float) -> np.ndarray:
    K = K0.copy()
    K[0, 0] *= f
    K[1, 1] *= f
    return K


def sample_rig(cc, sensor, layout: Layout, target: np.ndarray, n: int, rng: np.random.Generator,
               scene_name: str = "scene") -> list[Camera]:
    """A calibrated rig of ``n`` cameras all looking at ``target`` and seeing the same scene
    state: azimuths evenly spaced over the configured azimuth span (a full ring when the span is
    360 deg or more) around the direction of the room centre, one elevation and one focal factor
    for the whole rig. A camera whose spot is blocked (outside the room, in furniture, line of
    sight cut) moves closer along its own ray, down to half the minimum distance; the whole rig is
    redrawn when that is not enough, up to ``cc.max_tries`` times."""
    K0 = base_intrinsics(sensor, cc.width, cc.height)
    lo, hi = np.deg2rad(cc.azimuth_deg[0]), np.deg2rad(cc.azimuth_deg[1])
    span = hi - lo
    full = span >= 2 * np.pi - 1e-9
    to_centre = np.array([layout.size_x / 2, layout.size_y / 2]) - target[:2]
    for _ in range(cc.max_tries):
        base = np.arctan2(to_centre[1], to_centre[0]) if not full else _u(rng, (0.0, 2 * np.pi))
        steps = (np.arange(n) / n) if full else ((np.arange(n) + 0.5) / n)
        azimuths = base + lo + span * steps if not full else base + 2 * np.pi * steps
        dist = _u(rng, cc.distance)
        el = np.deg2rad(_u(rng, cc.elevation_deg))
        K = _jittered_K(K0, _u(rng, cc.focal_scale))
        eyes = []
        for a in azimuths:
            ray = np.array([np.cos(el) * np.cos(a), np.cos(el) * np.sin(a), np.sin(el)])
            for d in np.linspace(dist, 0.5 * cc.distance[0], 8):
                if view_is_valid(layout, target + d * ray, target):
                    eyes.append(target + d * ray)
                    break
            else:
                break
        if len(eyes) == n:
            return [Camera(K=K.copy(), width=cc.width, height=cc.height, T_w2c=look_at_w2c(e, target), view_id=v)
                    for v, e in enumerate(eyes)]
    raise SamplingError(f"scene {scene_name}: no valid {n}-camera rig after {cc.max_tries} tries; "
                        f"reduce camera.distance or views_per_scene, or enlarge the room")


def sample_egocentric(cc, sensor, head: dict[str, np.ndarray], look_at: np.ndarray, n: int,
                      rng: np.random.Generator) -> list[Camera]:
    """``n`` head-mounted views of one person: the camera sits 3 cm in front of the midpoint of
    the eyes, its up axis is the head's up (neck -> head), and it looks at ``look_at`` (the hands
    or a held object), each view jittered by up to 5 degrees (head-mounted cameras wobble).

    ``head`` holds world points ``eyes`` (midpoint), ``nose``, ``neck``, ``head`` (SMPL-X joints
    and landmarks, metres)."""
    K0 = base_intrinsics(sensor, cc.width, cc.height)
    fwd = head["nose"] - head["eyes"]
    fwd -= (fwd @ (head["head"] - head["neck"])) / np.linalg.norm(head["head"] - head["neck"]) ** 2 * \
        (head["head"] - head["neck"])
    fwd /= np.linalg.norm(fwd)
    up = head["head"] - head["neck"]
    up /= np.linalg.norm(up)
    eye = head["eyes"] + 0.03 * fwd
    cams = []
    for v in range(n):
        jitter = Rotation.from_rotvec(rng.normal(0.0, np.deg2rad(5.0) / 2, size=3)).as_matrix()
        target = eye + jitter @ (look_at - eye)
        cams.append(Camera(K=_jittered_K(K0, _u(rng, cc.focal_scale)), width=cc.width, height=cc.height,
                           T_w2c=look_at_w2c(eye, target, 0.0, up=up), view_id=v))
    return cams
