"""Cluttered object placement: drop objects onto support surfaces, let them settle, reject and
redraw the ones that end badly.

Engine-free in and out: plain meshes (model frame, metres), 4x4 model->world poses (world Z up),
:class:`~synthgen.scene.description.SupportSurface` rectangles; pybullet lives inside one
:class:`~synthgen.physics.settle.Simulator` (its own DIRECT client) per call.

The procedure (:func:`place_objects`), in rounds:

1. Spawn. Every pending object, in item order, draws a support (area-weighted among its allowed
   supports; the others are tried next in a random, area-weighted order), an orientation and a
   spot. Orientation is upright-biased: with probability ``upright_probability`` the model's +Z
   (the asset convention's up) stays up with a uniform yaw, otherwise a uniformly random
   rotation; when that does not fit the support (footprint inside the rectangle minus
   ``edge_margin``, height under ``clearance``) it is redrawn, and as a last resort the object
   is laid with its shortest model axis vertical. The x/y spot is uniform over the rectangle
   minus the margin (with stacking on, with probability ``stack_probability`` it is right above
   an object already on that support). The release height puts the lowest point
   ``drop_height`` above the surface, and above the top of every object whose bounding box it
   overlaps in x/y, so nothing starts interpenetrating; with stacking off an x/y overlap is
   redrawn instead, and a spot overlapping static geometry is always redrawn.
2. Drop: all new objects at once, together with the ones already placed, until every body is
   slower than the speed thresholds (two checks in a row) or ``max_settle_time``.
3. Check each body: still inside the room; not below its support surface by more than
   ``fall_tolerance`` (fell off, e.g. to the floor); resting on a support (lowest point within
   ``rest_tolerance`` of a support rectangle) or, with stacking on, on another placed object;
   under its shelf's clearance; not interpenetrating anything by more than
   ``penetration_tolerance`` (the later-spawned of two objects is blamed); at rest.
   Rejected bodies are removed and their objects go back to step 1 until ``max_tries`` spawns
   are used; an object resting on a rejected one is rejected with it. After removals the rest
   is settled and checked again.

Determinism: all draws come from the ``rng`` argument in item order, and pybullet in DIRECT mode
is deterministic given the same calls in the same order, so the same inputs and rng state give
bit-identical poses.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Hashable, Sequence

import numpy as np
from scipy.spatial.transform import Rotation

from ..scene.description import MeshData, SupportSurface
from ..errors import InputError
from .settle import PhysicsParams, Simulator, require


class PlacementError(InputError, RuntimeError):
    """An object could not be placed in strict mode; ``str()`` is one line naming the object
    (position and key), its support(s), the tries used and the last reason."""


@dataclass(frozen=True)
class PlacementItem:
    """One object to place.

    ``key``: the caller's identifier (echoed in errors). ``mesh``: model frame, metres (shapes
    are cached per mesh object, so share one MeshData between instances of an asset).
    ``mass_kg``: > 0. ``supports``: names of the supports it may go on, in no particular order;
    None = any support.
    """

    key: Hashable
    mesh: MeshData
    mass_kg: float
    supports: tuple[str, ...] | None = None


@dataclass(frozen=True)
class PlacementParams:
    """Clutter knobs and the checks of a settled object (metres, seconds, kg, m/s, rad/s); the
    engine's own settings are ``physics`` (:class:`~synthgen.physics.settle.PhysicsParams`)."""

    stacking: bool = True             # may objects end on top of other objects
    stack_probability: float = 0.2    # with stacking: chance a spawn aims right above a placed object
    max_tries: int = 4                # spawns per object before it is dropped (or PlacementError)
    strict: bool = False              # raise PlacementError instead of dropping an object
    drop_height: tuple[float, float] = (0.005, 0.04)  # release gap under the lowest point (>= 2 margins + 1 mm)
    upright_probability: float = 0.6  # chance of model +Z up (random yaw) vs a random rotation
    edge_margin: float = 0.02         # keep spawn footprints this far inside support rectangles
    max_settle_time: float = 2.0      # simulated seconds per drop round
    linear_speed_tol: float = 0.01    # at rest below this linear speed
    angular_speed_tol: float = 0.1    # ... and this angular speed
    penetration_tolerance: float = 0.002  # deeper interpenetration rejects an object
    rest_tolerance: float = 0.005     # lowest point this close to a support = resting on it
    fall_tolerance: float = 0.02      # lowest point this far below its support = fell off
    spawn_attempts: int = 20          # x/y spots tried per support per spawn
    check_every: int = 12             # physics steps between rest checks
    # the engine: timestep, solver, collision margin, friction, damping, collision hulls
    physics: PhysicsParams = field(default_factory=PhysicsParams)

    def __post_init__(self) -> None:
        need = require
        need(0.0 <= self.stack_probability <= 1.0, "stack_probability", "a value in [0, 1]", self.stack_probability)
        need(self.max_tries >= 1, "max_tries", "an integer >= 1", self.max_tries)
        need(len(self.drop_height) == 2 and 0.0 <= self.drop_height[0] <= self.drop_height[1] <= 1.0,
             "drop_height", "a [low, high] pair with 0 <= low <= high <= 1", self.drop_height)
        need(0.0 <= self.upright_probability <= 1.0, "upright_probability", "a value in [0, 1]",
             self.upright_probability)
        need(self.edge_margin >= 0.0, "edge_margin", "a value >= 0", self.edge_margin)
        need(self.max_settle_time > 0.0, "max_settle_time", "a value > 0", self.max_settle_time)
        need(self.linear_speed_tol > 0.0, "linear_speed_tol", "a value > 0", self.linear_speed_tol)
        need(self.angular_speed_tol > 0.0, "angular_speed_tol", "a value > 0", self.angular_speed_tol)
        need(self.penetration_tolerance >= 0.0, "penetration_tolerance", "a value >= 0", self.penetration_tolerance)
        margin = self.physics.collision_margin
        need(self.rest_tolerance > 2 * margin, "rest_tolerance",
             f"a value > 2 * physics.collision_margin ({2 * margin})", self.rest_tolerance)
        need(self.fall_tolerance >= self.rest_tolerance, "fall_tolerance", "a value >= rest_tolerance",
             self.fall_tolerance)
        need(self.spawn_attempts >= 1, "spawn_attempts", "an integer >= 1", self.spawn_attempts)
        need(self.check_every >= 1, "check_every", "an integer >= 1", self.check_every)


@dataclass
class PlacementStats:
    """``steps``: physics steps over all rounds; ``converged``: the last drop came to rest before
    its time cap; ``rounds``: drop rounds run; ``tries``: spawns used per item; ``rejected``:
    (item position, reason) of every spawn or settled pose that was thrown away, in order."""

    steps: int = 0
    converged: bool = True
    rounds: int = 0
    tries: list[int] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class PlacementResult:
    """Per item (same order as the ``items`` argument): ``poses`` final model->world 4x4 (None
    when not placed); ``supports`` what it rests on: a support name, or ``"stack:<j>"`` (resting
    on item ``j``, a position in ``items``), None when not placed. ``failed``: positions of the
    items that could not be placed (ascending)."""

    poses: list[np.ndarray | None]
    supports: list[str | None]
    failed: list[int]
    stats: PlacementStats


# -- geometry helpers (numpy only) -----------------------------------------------------------

def _rot_z(yaw: float) -> np.ndarray:
    return Rotation.from_rotvec([0.0, 0.0, yaw]).as_matrix()


def _axis_up(axis: int) -> np.ndarray:
    """Rotation taking model axis ``axis`` (0 x, 1 y, 2 z) to world +Z."""
    if axis == 0:
        return Rotation.from_rotvec([0.0, -np.pi / 2, 0.0]).as_matrix()
    if axis == 1:
        return Rotation.from_rotvec([np.pi / 2, 0.0, 0.0]).as_matrix()
    return np.eye(3)


def _aabb(points: np.ndarray) -> np.ndarray:
    """(2, 3): min and max corner."""
    return np.stack([points.min(axis=0), points.max(axis=0)])


def _overlaps(a: np.ndarray, boxes: np.ndarray, dims: slice = slice(0, 3), pad: float = 0.0) -> np.ndarray:
    """Which of ``boxes`` ((n, 2, 3) min/max corners) overlap box ``a`` (2, 3) along ``dims``,
    each extent grown by ``pad``: (n,) bool."""
    return np.all(a[0, dims] - pad < boxes[:, 1, dims], axis=1) & np.all(boxes[:, 0, dims] - pad < a[1, dims], axis=1)


def _overlap(a: np.ndarray, b: np.ndarray, dims: slice = slice(0, 3), pad: float = 0.0) -> bool:
    return bool(_overlaps(a, b[None], dims, pad)[0])


@dataclass
class _Support:
    surface: SupportSurface
    R: np.ndarray        # support frame -> world rotation
    origin: np.ndarray   # world position of the rectangle centre (on the surface)
    half: np.ndarray     # (2,) half extents
    area: float

    @property
    def z(self) -> float:
        return float(self.origin[2])

    def to_local(self, pts: np.ndarray) -> np.ndarray:
        return (pts - self.origin) @ self.R

    def contains_xy(self, pts: np.ndarray, tol: float) -> np.ndarray:
        loc = self.to_local(pts)
        return np.all(np.abs(loc[:, :2]) <= self.half + tol, axis=1)


@dataclass
class _State:
    body: int | None = None
    target: int = -1         # support index aimed at by the current spawn
    seq: int = -1            # spawn sequence number (later spawns are blamed for overlaps)
    tries: int = 0
    placed: bool = False     # passed the checks of the last round
    failed: bool = False
    label: str | None = None
    reason: str = ""
    tried_supports: tuple[str, ...] = ()


# -- main entry point ----------------------------------------------------------------------

def place_objects(static: list[tuple[MeshData, np.ndarray]], supports: list[SupportSurface],
                  items: Sequence[PlacementItem], rng: np.random.Generator,
                  params: PlacementParams | None = None) -> PlacementResult:
    """Place ``items`` on ``supports`` among the ``static`` geometry (mesh, model->world pose)
    by dropping and settling them with pybullet; see the module doc for the procedure.

    Raises ``ValueError`` for bad input (unknown support name, non-positive mass) and, with
    ``params.strict``, :class:`PlacementError` for the first object that cannot be placed.
    """
    params = params or PlacementParams()
    if not supports:
        raise ValueError("supports: expected at least one support surface, found none")
    sups = [_support(s) for s in supports]
    names = [s.name for s in supports]
    if len(set(names)) != len(names):
        raise ValueError(f"supports: expected unique names, found {names}")
    allowed: list[list[int]] = []
    for i, it in enumerate(items):
        if not it.mass_kg > 0:
            raise ValueError(f"item {i} (key {it.key!r}): expected mass_kg > 0, found {it.mass_kg}")
        if it.supports is None:
            allowed.append(list(range(len(sups))))
            continue
        unknown = [n for n in it.supports if n not in names]
        if unknown or not it.supports:
            raise ValueError(f"item {i} (key {it.key!r}): unknown support names {list(unknown)}; "
                             f"expected some of {names}")
        allowed.append(sorted(names.index(n) for n in set(it.supports)))

    with Simulator(params.physics) as sim:
        return _Placer(sim, static, sups, list(items), allowed, rng, params).run()


def _support(s: SupportSurface) -> _Support:
    T = np.asarray(s.pose_world, dtype=np.float64)
    half = np.asarray(s.size, dtype=np.float64) / 2
    if not (half > 0).all():
        raise ValueError(f"support {s.name!r}: expected a positive size, found {tuple(s.size)}")
    return _Support(surface=s, R=T[:3, :3], origin=T[:3, 3].copy(), half=half, area=float(4 * half[0] * half[1]))


class _Placer:
    """State of one :func:`place_objects` call (kept in a class only to share it between steps)."""

    def __init__(self, sim: Simulator, static, sups: list[_Support], items: list[PlacementItem],
                 allowed: list[list[int]], rng: np.random.Generator, params: PlacementParams):
        self.sim, self.sups, self.items, self.allowed, self.rng, self.prm = sim, sups, items, allowed, rng, params
        self.states = [_State() for _ in items]
        self.stats = PlacementStats(tries=[0] * len(items))
        self.static_bodies: list[int] = []
        self.static_boxes: list[np.ndarray] = []
        boxes = []
        for mesh, pose in static:
            pose = np.asarray(pose, dtype=np.float64)
            self.static_bodies.append(sim.add_static(mesh, pose))
            box = _aabb(np.asarray(mesh.vertices, dtype=np.float64) @ pose[:3, :3].T + pose[:3, 3])
            self.static_boxes.append(box)
            boxes.append(box)
        for s in sups:
            corners = np.array([[sx, sy, 0.0] for sx in (-1, 1) for sy in (-1, 1)]) * np.r_[s.half, 0.0]
            boxes.append(_aabb(corners @ s.R.T + s.origin))
        allb = np.stack(boxes)
        self.room = np.stack([allb[:, 0].min(axis=0), allb[:, 1].max(axis=0)])
        self.seq = 0

    # -- loop -----------------------------------------------------------------------------
    def run(self) -> PlacementResult:
        dirty = False
        while True:
            pending = [i for i, st in enumerate(self.states) if not st.placed and not st.failed and st.body is None]
            if not pending and not dirty:
                break
            for i in pending:
                if self._spawn(i):
                    dirty = True
                else:
                    self.stats.rejected.append((i, self.states[i].reason))
                    if self.states[i].tries >= self.prm.max_tries:
                        self._fail(i)
            if not dirty:
                continue
            self.stats.rounds += 1
            live = [i for i, st in enumerate(self.states) if st.body is not None]
            for i in live:
                self.sim.wake(self.states[i].body)
            res = self.sim.settle([self.states[i].body for i in live], max_time=self.prm.max_settle_time,
                                  lin_tol=self.prm.linear_speed_tol, ang_tol=self.prm.angular_speed_tol,
                                  check_every=self.prm.check_every, lost_below=float(self.room[0, 2]) - 0.5)
            self.stats.steps += res.steps
            self.stats.converged = res.converged
            dirty = False
            bad: dict[int, str] = {}
            for k in res.lost:
                i = live[k]
                self.states[i].body = None    # already removed from the world by settle()
                bad[i] = "left the room"
            self._assess([i for i in live if i not in bad], res.converged, bad)
            for i in sorted(bad):
                st = self.states[i]
                if st.body is not None:
                    self.sim.remove(st.body)
                    st.body = None
                st.placed, st.label, st.reason = False, None, bad[i]
                self.stats.rejected.append((i, bad[i]))
                dirty = True
                if st.tries >= self.prm.max_tries:
                    self._fail(i)
        return PlacementResult(
            poses=[self.sim.pose(st.body) if st.placed else None for st in self.states],
            supports=[st.label if st.placed else None for st in self.states],
            failed=[i for i, st in enumerate(self.states) if st.failed],
            stats=self.stats)

    def _fail(self, i: int) -> None:
        st = self.states[i]
        st.failed = True
        if self.prm.strict:
            where = ", ".join(f"'{n}'" for n in st.tried_supports)
            where = f"support {where}" if len(st.tried_supports) == 1 else f"supports {where}"
            raise PlacementError(f"object {i} (key {self.items[i].key!r}) could not be placed on {where} "
                                 f"after {st.tries} tries: {st.reason}")

    # -- spawning -------------------------------------------------------------------------
    def _spawn(self, i: int) -> bool:
        """Draw a release pose for item ``i`` and add its body; False (with a reason) if none fits."""
        st, item, rng = self.states[i], self.items[i], self.rng
        st.tries += 1
        self.stats.tries[i] = st.tries
        hull = self.sim.hull(item.mesh)
        cand = self.allowed[i]
        w = np.array([self.sups[k].area for k in cand])
        order = [cand[j] for j in rng.choice(len(cand), size=len(cand), replace=False, p=w / w.sum())]
        st.tried_supports = tuple(self.sups[k].surface.name for k in order)
        occupied = self._occupied()
        reasons = []
        body = None
        for k in order:
            sup = self.sups[k]
            found = self._spot(hull.points, k, occupied, reasons)
            if found is None:
                continue
            pose, candidates = found
            if body is None:
                body = self.sim.add_dynamic(item.mesh, pose, item.mass_kg)
            # Exact check against static geometry, e.g. a wall beside a counter or a fitting on
            # it; redraw spots until one is clear.
            for pose in [pose] + candidates:
                self.sim.set_pose(body, pose)
                if self._clear_of_static(body):
                    st.body, st.target, st.seq = body, k, self.seq
                    st.tried_supports = (sup.surface.name,)
                    self.seq += 1
                    return True
            reasons.append(f"no spot on '{sup.surface.name}' clear of the static geometry")
        if body is not None:
            self.sim.remove(body)
        st.reason = reasons[0] if len(set(reasons)) == 1 else "; ".join(dict.fromkeys(reasons))
        return False

    def _occupied(self) -> list[tuple[np.ndarray, int, int]]:
        """World AABBs of all live bodies with (aabb, item index, target support)."""
        out = []
        for j, st in enumerate(self.states):
            if st.body is not None:
                out.append((_aabb(self.sim.world_points(st.body)), j, st.target))
        return out

    def _orientations(self, points: np.ndarray):
        """Candidate world rotations: upright-biased random draws, then each model axis up."""
        rng, prm = self.rng, self.prm
        for _ in range(8):
            if rng.random() < prm.upright_probability:
                yield _rot_z(rng.uniform(0.0, 2 * np.pi))
            else:
                yield Rotation.random(random_state=rng).as_matrix()
        for axis in np.argsort(np.ptp(points, axis=0), kind="stable"):
            yield _rot_z(rng.uniform(0.0, 2 * np.pi)) @ _axis_up(int(axis))

    def _spot(self, points: np.ndarray, k: int, occupied, reasons: list[str]):
        """A release pose on support ``k`` (plus up to spawn_attempts-1 alternatives for the static
        check), or None with a reason appended."""
        prm, rng, sup = self.prm, self.rng, self.sups[k]
        clearance = float(sup.surface.clearance)
        # The release gap never goes below the resting gap plus 1 mm, so a spawn never starts in
        # contact with its support.
        min_gap = max(prm.drop_height[0], 2 * prm.physics.collision_margin + 0.001)
        min_h = np.inf
        fits = None
        for R in self._orientations(points):
            loc = points @ (sup.R.T @ R).T        # orientation expressed in the support frame
            lo, hi = loc.min(axis=0), loc.max(axis=0)
            h = float(hi[2] - lo[2])
            min_h = min(min_h, h)
            xr = (-sup.half[0] + prm.edge_margin - lo[0], sup.half[0] - prm.edge_margin - hi[0])
            yr = (-sup.half[1] + prm.edge_margin - lo[1], sup.half[1] - prm.edge_margin - hi[1])
            if h + min_gap + 0.001 <= clearance and xr[0] <= xr[1] and yr[0] <= yr[1]:
                fits = (R, lo, hi, h, xr, yr)
                break
        if fits is None:
            if min_h + min_gap + 0.001 > clearance:
                reasons.append(f"at least {min_h:.3f} m tall in every tried orientation, over the "
                               f"{clearance:.3f} m clearance of '{sup.surface.name}'")
            else:
                reasons.append(f"footprint does not fit inside '{sup.surface.name}' "
                               f"({2 * sup.half[0]:.3f} x {2 * sup.half[1]:.3f} m less {prm.edge_margin} m margins)")
            return None
        R, lo, hi, h, xr, yr = fits
        on_sup = [(box, j) for box, j, tgt in occupied if tgt == k]
        # all occupied boxes at once: (n, 2, 3) min/max corners
        oboxes = np.stack([obox for obox, _j, _tgt in occupied]) if occupied else np.zeros((0, 2, 3))
        poses = []
        for _ in range(prm.spawn_attempts):
            if prm.stacking and on_sup and rng.random() < prm.stack_probability:
                box, _j = on_sup[int(rng.integers(len(on_sup)))]
                c = sup.to_local(((box[0] + box[1]) / 2)[None])[0]
                jitter = rng.uniform(-0.25, 0.25, size=2) * np.ptp(box[:, :2], axis=0)
                x = float(np.clip(c[0] + jitter[0] - (lo[0] + hi[0]) / 2, *xr))
                y = float(np.clip(c[1] + jitter[1] - (lo[1] + hi[1]) / 2, *yr))
            else:
                x, y = float(rng.uniform(*xr)), float(rng.uniform(*yr))
            gap = float(rng.uniform(*prm.drop_height)) if prm.drop_height[1] > prm.drop_height[0] \
                else float(prm.drop_height[0])
            gap = float(np.clip(gap, min_gap, max(min_gap, clearance - h - 0.001)))
            t_local = np.array([x, y, gap - lo[2]])
            t = sup.origin + sup.R @ t_local
            box = _aabb(points @ R.T + t)
            z_low = box[0, 2]
            under = _overlaps(box, oboxes, slice(0, 2), pad=0.002)    # footprints (x, y) under this spawn
            if under.any():
                if not prm.stacking:
                    continue
                z_low = max(z_low, float((oboxes[under, 1, 2] + gap).max()))
            t[2] += z_low - box[0, 2]
            if z_low + h > sup.z + clearance - 0.0005:
                continue
            T = np.eye(4)
            T[:3, :3], T[:3, 3] = R, t
            poses.append(T)
        if not poses:
            reasons.append(f"no free spot on '{sup.surface.name}' in {prm.spawn_attempts} draws")
            return None
        return poses[0], poses[1:]

    def _clear_of_static(self, body: int) -> bool:
        box = _aabb(self.sim.world_points(body))
        for sb, sbox in zip(self.static_bodies, self.static_boxes):
            if _overlap(box, sbox, pad=0.002) and self.sim.min_distance(body, sb, 0.0) < 0.0:
                return False
        return True

    # -- checks ---------------------------------------------------------------------------
    def _assess(self, live: list[int], converged: bool, bad: dict[int, str]) -> None:
        prm, sim = self.prm, self.sim
        body_item = {self.states[i].body: i for i in live}
        static = set(self.static_bodies)
        labels: dict[int, str] = {}
        for i in live:
            st = self.states[i]
            tgt = self.sups[st.target]
            pts = sim.world_points(st.body)
            T = sim.pose(st.body)
            com = T[:3, :3] @ sim.hull(self.items[i].mesh).com + T[:3, 3]
            if np.any(com < self.room[0] - 0.01) or np.any(com[:2] > self.room[1, :2] + 0.01):
                bad[i] = "left the room"
                continue
            zmin, zmax = float(pts[:, 2].min()), float(pts[:, 2].max())
            if zmin < tgt.z - prm.fall_tolerance:
                bad[i] = f"fell off '{tgt.surface.name}' (lowest point {tgt.z - zmin:.3f} m below it)"
                continue
            low = pts[pts[:, 2] <= zmin + prm.rest_tolerance]
            label = None
            for k in [st.target] + [k for k in range(len(self.sups)) if k != st.target]:
                s = self.sups[k]
                if abs(zmin - s.z) <= prm.rest_tolerance and s.contains_xy(low, prm.rest_tolerance).any():
                    label = k
                    break
            contacts = sim.contacts(st.body)
            # Other objects pushing this one up: steeply (sitting on them) or at all (wedged).
            under = [c for c in contacts if c.other in body_item and c.normal_to_body[2] > 0.1]
            below = [c for c in under if c.normal_to_body[2] > 0.5]
            if label is not None and label not in self.allowed[i]:
                bad[i] = f"ended on '{self.sups[label].surface.name}', not one of its supports"
                continue
            if not prm.stacking and below:
                bad[i] = f"rests on object {body_item[below[0].other]} with stacking off"
                continue
            if label is None:
                if not under:
                    bad[i] = "not resting on a support or another object"
                    continue
                lift = [c.force * c.normal_to_body[2] for c in under]
                labels[i] = f"stack:{body_item[under[int(np.argmax(lift))].other]}"
                ref = tgt
            else:
                labels[i] = self.sups[label].surface.name
                ref = self.sups[label]
            if zmax > ref.z + ref.surface.clearance + prm.rest_tolerance:
                bad[i] = f"top {zmax - ref.z:.3f} m above '{ref.surface.name}', over its clearance"
                continue
            if not converged:
                lin, ang = sim.speeds(st.body)
                if lin > prm.linear_speed_tol or ang > prm.angular_speed_tol:
                    bad[i] = f"still moving after {prm.max_settle_time} s ({lin:.3f} m/s, {ang:.3f} rad/s)"
                    continue
            for c in contacts:
                if c.distance >= -prm.penetration_tolerance:
                    continue
                if c.other in static:
                    bad.setdefault(i, f"penetrates static geometry by {-c.distance:.4f} m")
                elif c.other in body_item:
                    j = body_item[c.other]
                    late = i if self.states[i].seq > self.states[j].seq else j
                    bad.setdefault(late, f"penetrates object {j if late == i else i} by {-c.distance:.4f} m")
        # An object standing on a rejected one goes with it (it would fall once that is removed).
        changed = True
        while changed:
            changed = False
            for i in live:
                lab = labels.get(i, "")
                if i not in bad and lab.startswith("stack:") and int(lab[6:]) in bad:
                    bad[i] = f"rested on rejected object {lab[6:]}"
                    changed = True
        for i in live:
            if i not in bad:
                self.states[i].placed = True
                self.states[i].label = labels[i]
