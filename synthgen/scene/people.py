"""People in a scene: where they stand, how they are posed, what they hold or reach for.

Pure data and numpy (the body model is called through its ``forward``; no engine objects).
World frame: Z up, metres. A person's SMPL-X ``global_orient`` is a yaw about world Z composed
with the +90 deg turn about X that stands SMPL-X's Y-up body frame upright; ``transl`` puts the
pelvis above the chosen floor spot and the lowest vertex on the floor (z = 0).

Activities (drawn per person): ``hold`` an object in the palm of one hand (the object is added to
the scene's objects with its exact pose, and the person lists it in ``held_objects``); ``reach``
for an object resting on a counter or table (two-bone arm IK puts the palm on the object);
``idle`` otherwise.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from ..assets.library import AssetModel
from ..bodies.base import BodyModel, SMPLXParams
from ..bodies.kinematics import forward_kinematics, palm_frame, reach
from .draws import uniform as _u
from .description import Material, ObjectInstance, PersonInstance, Shell, StructureElement
from ..groundtruth.projection import transform
from .layout import Layout
from .materials import object_material, random_color

PERSON_RADIUS = 0.3   # floor clearance kept around a standing person's pelvis, metres


def orient_for_yaw(yaw: float) -> np.ndarray:
    """SMPL-X global_orient (axis-angle) of a body standing upright in the Z-up world, facing
    (sin(yaw), -cos(yaw), 0): yaw 0 faces -Y."""
    return (Rotation.from_rotvec([0.0, 0.0, yaw]) * Rotation.from_rotvec([np.pi / 2, 0.0, 0.0])).as_rotvec()


def yaw_facing(direction_xy: np.ndarray) -> float:
    """The yaw whose facing direction is ``direction_xy``."""
    return float(np.arctan2(direction_xy[0], -direction_xy[1]))


# Pose names that suit each activity (the library's names, synthgen.bodies.pose_library).
ACTIVITY_POSES = {
    "hold": ("carrying", "two_handed_manipulation", "standing", "walking"),
    "reach": ("standing", "reaching_forward", "bending_over"),
}


class PoseSource:
    """Draws poses for people: from the named-pose library (``humans.poses``, all when empty,
    with ``humans.pose_noise_deg``), or from AMASS-style motion files (``humans.motion_files``,
    relative to the scene folder) for idle people when any are given. Holding and reaching draw
    from the poses that suit them (``ACTIVITY_POSES``) and never mirror, so the grasping hand is
    known."""

    def __init__(self, hc, base_dir=None):
        from ..bodies.motion import load_motion
        from ..bodies.pose_library import POSE_GROUPS, POSE_NAMES, build_named_poses

        self.hc = hc
        self.poses = build_named_poses()
        known = set(self.poses) | set(POSE_GROUPS)
        for n in hc.poses:
            if n not in known:
                raise ValueError(f"humans.poses: expected names from {', '.join(POSE_NAMES)}, found {n!r}")
        self.idle_names = list(hc.poses) or list(POSE_NAMES)
        self.motions = []
        for f in hc.motion_files:
            path = Path(f).expanduser()
            if not path.is_absolute() and base_dir is not None:
                path = Path(base_dir) / path
            self.motions.append(load_motion(path))

    def __call__(self, rng: np.random.Generator, activity: str):
        from ..bodies.motion import sample_motion_pose
        from ..bodies.pose_sampling import sample_pose

        noise = self.hc.pose_noise_deg
        if activity == "idle" and self.motions:
            return sample_motion_pose(self.motions[int(rng.integers(len(self.motions)))], rng, noise_deg=0.0)
        if activity in ACTIVITY_POSES:
            names = ACTIVITY_POSES[activity]
            return sample_pose(rng, weights={n: 1.0 for n in names}, noise_deg=noise, poses=self.poses,
                               mirror=False, interpolate=activity != "reach")
        return sample_pose(rng, weights={n: 1.0 for n in self.idle_names}, noise_deg=noise, poses=self.poses)


def sample_phenotype(pc, rng: np.random.Generator) -> dict[str, float]:
    """An Anny phenotype from ``humans.phenotype`` (:class:`~synthgen.config.schema.PhenotypeConfig`):
    the age group first (child / elderly / adult by their shares), its age in years and the
    gender, then height, weight, muscle and proportions: from Anny's WHO-calibrated distributions
    for that age and sex (``distribution: calibrated``) or uniformly in their ranges
    (``uniform``). Returns label -> value, plus ``age_years``."""
    from ..bodies.anny_backend import age_from_years, calibrated_shape

    u = rng.random()
    ages = pc.child_age_years if u < pc.child_share else (
        pc.elderly_age_years if u < pc.child_share + pc.elderly_share else pc.adult_age_years)
    years = _u(rng, tuple(ages))
    out = {"gender": _u(rng, tuple(pc.gender)), "age": float(age_from_years(years))}
    if pc.distribution == "calibrated":
        out.update(calibrated_shape(rng, out["age"], out["gender"]))
    else:
        out.update({k: _u(rng, tuple(getattr(pc, k))) for k in ("muscle", "weight", "height", "proportions")})
    out["age_years"] = years
    return out


def _shape_of(phenotype: dict | None) -> dict | None:
    """The phenotype a body model reads (without the ``age_years`` note)."""
    return None if phenotype is None else {k: v for k, v in phenotype.items() if k != "age_years"}


class _RestCache:
    """Rest joints (body frame) per shape (betas and phenotype): one zero-pose forward per
    distinct shape."""

    def __init__(self, body: BodyModel):
        self.body = body
        self._key: bytes | None = None
        self._joints: np.ndarray | None = None

    def __call__(self, betas: np.ndarray, phenotype: dict | None = None) -> np.ndarray:
        key = np.asarray(betas, np.float64).tobytes() + repr(sorted((phenotype or {}).items())).encode()
        if key != self._key:
            self._joints = self.body.forward(SMPLXParams(betas=np.asarray(betas, float),
                                                         phenotype=phenotype)).joints
            self._key = key
        return self._joints


def body_hits_furniture(vertices: np.ndarray, layout: Layout, tol: float = 0.005) -> bool:
    """True when any body vertex lies inside a furniture box by more than ``tol`` (the floor slab,
    walls and ceiling count: a body must not sink into the floor or a wall either)."""
    return any(_hits_box(vertices, c, s, tol) for c, s in layout.boxes)


def _hits_box(vertices: np.ndarray, centre: np.ndarray, size: np.ndarray, tol: float = 0.005) -> bool:
    """True when any vertex lies inside the axis-aligned box (``centre``, ``size``) by more
    than ``tol`` metres."""
    half = np.asarray(size) / 2 - tol
    return bool(np.all((vertices > centre - half) & (vertices < centre + half), axis=1).any())


def _spot_is_free(layout: Layout, p: np.ndarray, taken: list[np.ndarray], r: float = PERSON_RADIUS) -> bool:
    if not (r < p[0] < layout.size_x - r and r < p[1] < layout.size_y - r):
        return False
    if any(x0 - r < p[0] < x1 + r and y0 - r < p[1] < y1 + r for x0, y0, x1, y1 in layout.footprints):
        return False
    return all(np.linalg.norm(p - q) >= 2 * r for q in taken)


def _spot_near_support(layout: Layout, support, rng: np.random.Generator, towards: np.ndarray | None):
    """A floor point just outside one edge of ``support``'s rectangle (axis-aligned), and the
    direction from it to the support. With ``towards`` the edge nearest that point is used and
    the spot is placed opposite it."""
    c, (hx, hy) = support.pose_world[:2, 3], (support.size[0] / 2, support.size[1] / 2)
    gap = PERSON_RADIUS + _u(rng, (0.02, 0.12))
    if towards is None:
        side = int(rng.integers(4))
        along = _u(rng, (-0.9, 0.9))
    else:
        d = towards[:2] - c
        side = int(np.argmin([hy - d[1], d[1] + hy, hx - d[0], d[0] + hx]))   # nearest edge
        along = (d[0] / hx) if side < 2 else (d[1] / hy)
        along = float(np.clip(along, -0.95, 0.95))
    normal = [np.array([0.0, 1.0]), np.array([0.0, -1.0]), np.array([1.0, 0.0]), np.array([-1.0, 0.0])][side]
    edge = c + (np.array([along * hx, 0.0]) if side < 2 else np.array([0.0, along * hy])) + normal * (hy if side < 2 else hx)
    return edge + normal * gap, -normal


def _pose_person(body: BodyModel, sample, betas: np.ndarray, yaw: float, xy: np.ndarray,
                 flat_hand_mean: bool, phenotype: dict | None = None) -> SMPLXParams:
    """Params for ``sample`` facing ``yaw`` with the pelvis above ``xy`` and the lowest vertex
    on the floor (feet planted flat where the pose has both feet down)."""
    from ..bodies.contact import pose_on_floor
    from ..bodies.hand_poses import smplx_hand_mean

    # motion-capture frames are kept as recorded (only the library's poses get their feet planted)
    from_motion = sample.names[0].startswith("motion:")
    p, _ = pose_on_floor(body, sample, betas=betas, yaw=yaw, xy=xy, plant=not from_motion, phenotype=phenotype)
    if flat_hand_mean:   # the library's hand poses are relative to SMPL-X's mean hand
        mean = smplx_hand_mean()   # (2, 15, 3): [left, right]
        p.left_hand_pose = p.left_hand_pose + mean[0].reshape(-1)
        p.right_hand_pose = p.right_hand_pose + mean[1].reshape(-1)
    return p


def _seat_for(person: PersonInstance, yaw: float):
    """A stool under a seated person: top at the lowest pelvis/thigh point, footprint the seat
    contact points behind the knees (so the shins hang clear), as an axis-aligned box."""
    from ..bodies.base import BodyOutput
    from ..bodies.contact import seat_contact

    out = BodyOutput(person.vertices, person.faces, person.joints_world, person.landmarks_world, person.skin_joint)
    sc = seat_contact(out)
    facing = np.array([np.sin(yaw), -np.cos(yaw)])
    knees = 0.5 * (person.joints_world[4, :2] + person.joints_world[5, :2])
    pts = sc.points_xy[(sc.points_xy - knees) @ facing < -0.12]
    if len(pts) < 3 or sc.height < 0.2:
        return None
    lo, hi = pts.min(axis=0) - 0.02, pts.max(axis=0) + 0.02
    centre = np.array([(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, sc.height / 2])
    size = np.array([hi[0] - lo[0], hi[1] - lo[1], sc.height - 0.002])
    return centre, size


# SMPL-X joints the shells count as in the part map: hair the head, skirts and aprons the pelvis
_SHELL_PART = {"hair": 15, "skirt": 0, "apron": 0}


class Wardrobe:
    """Dresses Anny people (``humans.appearance: procedural``): per person an outfit drawn for the
    room (:func:`synthgen.scene.appearance.sample_outfit`), its texture painted on the body's UV
    layout, and shells for hair and loose garments over the posed body. Built once per job (the
    body's texel maps are cached in it)."""

    def __init__(self, body, setting: str, texture_size: int):
        from .appearance import body_surface

        self.surface = body_surface(body)
        self.setting = setting
        self.size = texture_size

    def dress(self, rng: np.random.Generator, vertices: np.ndarray) -> tuple[Material, list[Shell], dict]:
        """Material (albedo texture), shells and the outfit record of a person whose posed
        vertices (world metres) are ``vertices``; the outfit comes from its own generator,
        seeded from ``rng`` by one draw."""
        from .appearance import garment_shells, hair_shell, outfit_record, paint, sample_outfit, shell_texture

        outfit = sample_outfit(np.random.default_rng(int(rng.integers(0, 2**63 - 1))), self.setting)
        shells: list[Shell] = []
        garments = garment_shells(self.surface, vertices, outfit)
        for g in garments:
            tex = shell_texture(g, size=128, seed=outfit.texture_seed)   # a few mm per texel on a skirt
            shells.append(Shell(g.name, g.vertices, g.faces, Material(base_color=(1.0, 1.0, 1.0, 1.0),
                                roughness=float(g.garment.roughness), texture=tex), _SHELL_PART.get(g.name, 0), g.uv))
        hair = hair_shell(self.surface, vertices, outfit)
        if hair is not None:
            shells.append(Shell("hair", hair[0], hair[1], Material(base_color=(*outfit.hair.colour, 1.0),
                                roughness=float(outfit.hair.roughness)), _SHELL_PART["hair"]))
        material = Material(base_color=(1.0, 1.0, 1.0, 1.0), roughness=float(outfit.skin.roughness),
                            texture=paint(self.surface, outfit, self.size, shells=bool(garments)))
        # a garment not worn is left out (the layout's only nulls are joints without a source)
        record = {k: v for k, v in outfit_record(outfit).items() if v is not None}
        return material, shells, record


def anny_record(p: SMPLXParams, age_years: float | None, flat_hand_mean: bool) -> dict:
    """The ``anny`` block of scene_humans.json: everything that rebuilds the rendered body with
    :class:`~synthgen.bodies.anny_backend.AnnyBody` (phenotype; the SMPL-X-convention pose that
    drives it through synthgen's documented mapping, axis-angle radians, world frame, metres)."""
    import anny

    pose = {k: v for k, v in p.to_lists().items()
            if k in ("global_orient", "body_pose", "left_hand_pose", "right_hand_pose", "transl")}
    return {"version": anny.__version__, "topology": "anny", "mapping": "synthgen-smplx-drive/1",
            "phenotype": {k: float(v) for k, v in (p.phenotype or {}).items()},
            "age_years": None if age_years is None else float(age_years),
            "flat_hand_mean": bool(flat_hand_mean), "pose": pose}


def _finish(body: BodyModel, p: SMPLXParams, person_id: int, rng: np.random.Generator, activity: str,
            name: str, age_years: float | None = None, flat_hand_mean: bool = False,
            dressed: bool = False) -> PersonInstance:
    out = body.forward(p)
    dz = -out.vertices[:, 2].min()           # IK may lower a hand below the feet: keep on the floor
    face = out.face                          # (68, 3) face landmarks, None for the mannequin
    if face is not None:
        face = face + [0.0, 0.0, dz]
    if abs(dz) > 1e-9:
        p.transl = np.asarray(p.transl, float) + np.array([0.0, 0.0, dz])
        out.vertices = out.vertices + [0.0, 0.0, dz]
        out.joints = out.joints + [0.0, 0.0, dz]
        out.landmarks = {k: v + [0.0, 0.0, dz] for k, v in out.landmarks.items()}
    # the smplx block only where it reproduces the rendered body (the SMPL-X-shaped backends)
    is_anny = body.name == "anny"
    # a dressed person gets its material once accepted (sample_people: Wardrobe.dress)
    material = Material() if dressed else Material(base_color=random_color(rng, 0.35, 0.85),
                                                   roughness=_u(rng, (0.4, 0.8)))
    return PersonInstance(
        person_id=person_id, body_model=body.name, gender=body.gender, smplx={} if is_anny else p.to_lists(),
        anny=anny_record(p, age_years, flat_hand_mean) if is_anny else None,
        vertices=out.vertices, faces=out.faces, joints_world=out.joints, landmarks_world=out.landmarks,
        skin_joint=out.skin_joint, face_world=face, material=material, activity=activity, pose_name=name)


def held_object_pose(joints: np.ndarray, side: str, asset: AssetModel, rng: np.random.Generator) -> np.ndarray:
    """Model->world pose of ``asset`` held in the palm of ``side``: its long model axis (Z, the
    axis of cans, bottles and mugs) across the palm (palm y), its centre one half-width out of the
    palm along the palm normal, with a small random twist about the long axis."""
    P = palm_frame(joints, side)
    ext = np.ptp(asset.mesh.vertices, axis=0)
    half_width = 0.5 * float(max(ext[0], ext[1]))
    y, z = P[:3, 1], P[:3, 2]
    # model Z -> palm y (across the hand), model X -> palm normal z, model Y completes
    R = np.column_stack([z, np.cross(y, z), y])
    R = R @ Rotation.from_rotvec([0.0, 0.0, _u(rng, (-0.5, 0.5))]).as_matrix()
    T = np.eye(4)
    T[:3, :3] = R
    T[:3, 3] = P[:3, 3] + z * (half_width + 0.01)
    return T


def sample_people(cfg, layout: Layout, body: BodyModel, objects: list[ObjectInstance],
                  on_support: list[str], holdables: list[AssetModel], rng: np.random.Generator,
                  pose_fn=None, max_tries: int = 30, base_dir=None,
                  wardrobe: Wardrobe | None = None) -> list[PersonInstance]:
    """Sample ``humans.count`` people; held objects are appended to ``objects`` and seats (stools
    under seated people) to ``layout`` (both in place).

    Each person tries up to ``max_tries`` spots and poses for its activity, then as many idle; a
    person whose body would intersect furniture (or another person's spot) at every try is left
    out."""
    hc = cfg.humans
    pose_fn = pose_fn or PoseSource(hc, base_dir)
    n = int(rng.integers(hc.count[0], hc.count[1] + 1))
    rest_of = _RestCache(body)
    supports = {s.name: s for s in layout.supports}
    reachable = [k for k, (o, sup) in enumerate(zip(objects, on_support))
                 if o.obj_id > 0 and sup.split(":")[0] in ("counter", "island", "table", "workbench")]
    focus = [s for s in layout.supports if s.name.split(":")[0] in layout.focus and s.name.split(":")[0] != "shelf"]
    persons: list[PersonInstance] = []
    taken: list[np.ndarray] = []
    for j in range(n):
        if body.name == "anny":   # Anny has a phenotype instead of betas
            drawn = sample_phenotype(hc.phenotype, rng)
            betas, phenotype = np.zeros(10), _shape_of(drawn)
        else:
            drawn, phenotype = None, None
            betas = rng.uniform(hc.betas_range[0], hc.betas_range[1], size=10)
        rest = rest_of(betas, phenotype)
        u = rng.random()
        activity = "hold" if (u < hc.hold_prob and holdables) else \
            ("reach" if (u < hc.hold_prob + hc.reach_prob and reachable) else "idle")
        for attempt in range(2 * max_tries):
            if attempt == max_tries:
                activity = "idle"   # the activity found no room: the person still appears, idle
            sample = pose_fn(rng, activity)
            if activity == "reach":
                k = reachable[int(rng.integers(len(reachable)))]
                xy, facing = _spot_near_support(layout, supports[on_support[k]], rng, objects[k].pose_world[:3, 3])
            elif focus and sample.posture == "standing" and rng.random() < 0.7:
                xy, facing = _spot_near_support(layout, focus[int(rng.integers(len(focus)))], rng, None)
            else:
                xy = np.array([_u(rng, (0.5, layout.size_x - 0.5)), _u(rng, (0.5, layout.size_y - 0.5))])
                a = _u(rng, (0.0, 2 * np.pi))
                facing = np.array([np.cos(a), np.sin(a)])
            # kneeling and crouching people, and seated ones with their stool, need more floor
            radius = PERSON_RADIUS if sample.posture == "standing" else 0.5
            if not _spot_is_free(layout, xy, taken, radius):
                continue
            yaw = yaw_facing(facing) + _u(rng, (-0.35, 0.35))
            p = _pose_person(body, sample, betas, yaw, xy, hc.flat_hand_mean, phenotype)
            # the hand that holds or reaches: the pose's grasping hand (right when both or none)
            side = "left" if sample.hands[0] == "grasp" and sample.hands[1] != "grasp" else "right"
            if activity == "reach" and not _reach_object(rest, p, side, objects[k]):
                continue
            person = _finish(body, p, j, rng, activity, sample.label,
                             age_years=None if drawn is None else drawn["age_years"],
                             flat_hand_mean=hc.flat_hand_mean, dressed=wardrobe is not None)
            if body_hits_furniture(person.vertices, layout):
                continue
            seat = _seat_for(person, yaw) if sample.needs_seat else None
            if sample.needs_seat and (seat is None or _hits_box(person.vertices, *seat)):
                continue   # no stool fits under this pose (the shins hang where it would stand)
            if activity == "hold":
                held_asset = holdables[int(rng.integers(len(holdables)))]
                T = held_object_pose(person.joints_world, side, held_asset, rng)
                objects.append(ObjectInstance(obj_id=held_asset.obj_id, name=held_asset.name, mesh=held_asset.mesh,
                                              pose_world=T, material=object_material(cfg.materials, rng)))
                on_support.append(f"hand:{j}")
                person.held_objects = [len(objects) - 1]
            if seat is not None:
                _add_seat(layout, seat, rng)
            if wardrobe is not None:
                person.material, person.shells, person.appearance = wardrobe.dress(rng, person.vertices)
                person.uv, person.face_uv = wardrobe.surface.uv, wardrobe.surface.face_uv
            persons.append(person)
            taken.append(xy)
            break
    return persons


def _add_seat(layout: Layout, seat, rng: np.random.Generator) -> None:
    from .layout import _box_mesh

    centre, size = seat
    T = np.eye(4)
    T[:3, 3] = centre
    layout.structures.append(StructureElement("seat", _box_mesh(size), T, Material(
        base_color=random_color(rng, 0.2, 0.8), roughness=_u(rng, (0.4, 0.9)))))
    layout.boxes.append((centre, size))


def _reach_object(rest: np.ndarray, p: SMPLXParams, side: str, obj: ObjectInstance,
                  tol: float = 0.03) -> bool:
    """Arm IK that puts the palm centre (see ``palm_frame``) on the point of ``obj``'s surface
    nearest the shoulder, 1 cm out; edits ``p`` and returns whether the palm ended within
    ``tol`` of that point. The wrist target is corrected by the palm's residual each round,
    since the hand keeps its own rotation."""
    P, _ = forward_kinematics(rest, p)
    shoulder = P[16 if side == "left" else 17]
    surf = transform(obj.pose_world, obj.mesh.vertices)
    nearest = surf[np.argmin(np.linalg.norm(surf - shoulder, axis=1))]
    d = shoulder - nearest
    goal = nearest + 0.01 * d / np.linalg.norm(d)
    wrist_goal = goal.copy()
    for _ in range(4):
        reach(rest, p, side, wrist_goal)
        P, _ = forward_kinematics(rest, p)
        palm = palm_frame(P, side)[:3, 3]
        err = goal - palm
        if np.linalg.norm(err) < 0.005:
            break
        wrist_goal = wrist_goal + err
    return bool(np.linalg.norm(goal - palm) < tol)
