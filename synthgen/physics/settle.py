"""pybullet adapter: rigid bodies from plain meshes, stepping until they rest, contact queries.

Takes plain scene data (meshes in metres, 4x4 model->world poses, world Z up) and returns plain
4x4 poses; no pybullet handle leaves this module except the integer body ids of a live
:class:`Simulator`. Each :class:`Simulator` owns its own DIRECT-mode client (no GUI, no shared or
global client), so simulators in different threads or processes never share state, and the same
calls in the same order give bit-identical results.

Collision shapes:
- dynamic objects: the convex hull of the mesh (hull vertices only, so contact queries stay
  cheap), or with ``concave="vhacd"`` a cached V-HACD decomposition for clearly concave
  watertight meshes (cups, bowls). The body frame sits at the hull's centre of mass, so a cone
  is bottom-heavy as it should be; :meth:`Simulator.pose` converts back to the model frame.
- static geometry: the hull when the mesh is convex (room boxes: exact), else the exact triangle
  mesh (allowed for static bodies only in Bullet).
Shapes are cached per mesh object for the simulator's lifetime.

The collision margin (pybullet's default is 1 mm per shape, which leaves a visible 2 mm gap
under every resting object) is set to ``collision_margin`` on every shape.
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
import tempfile
import threading
from dataclasses import dataclass, field

import numpy as np
from scipy.spatial.transform import Rotation

from ..scene.description import MeshData
from .shapes import HullInfo, convex_hull, is_convex_mesh, simplified_hull_points, vhacd_decomposition


def require(cond: bool, key: str, what: str, found) -> None:
    """The parameter checks of :class:`PhysicsParams` and ``PlacementParams``: a one-line
    ``ValueError`` naming the field, what was expected and what was found, unless ``cond``."""
    if not cond:
        raise ValueError(f"{key}: expected {what}, found {found!r}")


@dataclass(frozen=True)
class PhysicsParams:
    """The engine settings of a :class:`Simulator`: the one place their defaults are defined
    (:class:`~synthgen.physics.placement.PlacementParams` carries one of these). Seconds, metres,
    m/s^2, kg; friction and restitution are Bullet's dimensionless coefficients, damping
    Bullet's per-second velocity damping.

    ``concave``: ``"hull"`` or ``"vhacd"`` (see the module doc); ``cache_dir`` is where V-HACD
    results are kept (a temporary folder removed on :meth:`Simulator.close` when None). A
    watertight mesh is decomposed when 1 - volume/hull volume exceeds ``concavity_threshold``; a
    decomposition taking over ``vhacd_timeout`` seconds falls back to the hull (see
    :func:`~synthgen.physics.shapes.vhacd_decomposition`). Friction and damping apply to every
    dynamic body (lateral friction and restitution to static ones too).
    """

    timestep: float = 1.0 / 240.0     # physics step, s
    gravity: float = -9.81            # along world z, m/s^2
    solver_iterations: int = 20       # constraint solver iterations per step (pybullet's default: 50)
    collision_margin: float = 0.0005  # Bullet shape margin, m; the resting gap is about twice this
    lateral_friction: float = 0.6
    # Rolling/spinning resistance: higher than pybullet's defaults so spheres and cans stop in
    # a fraction of a second instead of rolling off the counter (measured in benchmarks/settle.py).
    rolling_friction: float = 0.01
    spinning_friction: float = 0.01
    restitution: float = 0.05
    linear_damping: float = 0.04
    angular_damping: float = 0.1
    concave: str = "hull"             # "hull" or "vhacd" (decompose concave watertight meshes)
    concavity_threshold: float = 0.25
    vhacd_resolution: int = 100_000
    vhacd_timeout: float = 30.0       # slower decompositions fall back to the hull (cached as such)
    # Collision hulls keep only the vertices needed to stay within this distance of the exact
    # hull: a third less CPU per physics step (benchmarks/RESULTS.md), 0.5 mm inside at most,
    # which the collision margin's ~1 mm resting gap covers. 0 = exact hulls.
    hull_tolerance: float = 0.0005
    cache_dir: str | None = None      # V-HACD cache folder (a temporary one per simulator when None)

    def __post_init__(self) -> None:
        need = require
        need(0.0 < self.timestep <= 0.02, "timestep", "a value in (0, 0.02]", self.timestep)
        need(self.solver_iterations >= 1, "solver_iterations", "an integer >= 1", self.solver_iterations)
        need(0.0 <= self.collision_margin <= 0.005, "collision_margin", "a value in [0, 0.005]",
             self.collision_margin)
        need(self.concave in ("hull", "vhacd"), "concave", "'hull' or 'vhacd'", self.concave)
        need(self.vhacd_timeout > 0.0, "vhacd_timeout", "seconds > 0", self.vhacd_timeout)
        need(0.0 <= self.hull_tolerance <= 0.01, "hull_tolerance", "metres in [0, 0.01]", self.hull_tolerance)


_IMPORT_LOCK = threading.Lock()


@contextlib.contextmanager
def _c_output_silenced():
    """Point file descriptors 1 and 2 at /dev/null for the block, so text a C library prints
    there does not reach synthgen's stdout (one summary line) or stderr (one error line). Python's
    and C's buffers are flushed on both sides of the swap, so nothing printed before the block is
    lost and nothing printed inside it surfaces later."""
    import ctypes

    try:
        libc_flush = ctypes.CDLL(None).fflush
    except (OSError, AttributeError):   # no C runtime symbols to flush (not glibc/musl)
        libc_flush = None

    def flush() -> None:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        if libc_flush is not None:
            libc_flush(None)

    flush()
    saved = [os.dup(1), os.dup(2)]
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        yield
    finally:
        flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, null):
            os.close(fd)


def import_pybullet():
    """The ``pybullet`` module. Loading it prints a "pybullet build time: ..." banner from its C
    code (stdout or stderr, by build), so the first import runs with both silenced."""
    with _IMPORT_LOCK:
        if "pybullet" not in sys.modules:
            with _c_output_silenced():
                import pybullet  # noqa: F401
        return sys.modules["pybullet"]


@dataclass
class SettleResult:
    """Final model->world poses (4x4, metres) of the bodies passed to :meth:`Simulator.settle`,
    whether they all came to rest before the time cap, how many physics steps ran, and the
    positions (in the list passed) of bodies removed because they fell below ``lost_below``
    (their pose is the last one seen)."""

    poses: list[np.ndarray]
    converged: bool
    steps: int
    lost: list[int] = field(default_factory=list)


@dataclass
class Contact:
    """One contact point of a body with ``other`` (a body id). ``distance`` metres, negative when
    penetrating; ``normal_to_body`` unit vector (world) pointing from ``other`` towards the
    body; ``force`` normal force, N."""

    other: int
    distance: float
    normal_to_body: np.ndarray
    force: float


@dataclass
class _DynamicShape:
    mesh: MeshData          # kept alive so its id() is not reused while cached
    shape: int
    hull: HullInfo


class Simulator:
    """One pybullet DIRECT client. Use as a context manager or call :meth:`close`.

    ``params``: the engine settings (:class:`PhysicsParams`, its defaults when None); keyword
    ``changes`` replace single fields of it (``Simulator(concave="vhacd", cache_dir=...)``).
    """

    def __init__(self, params: PhysicsParams | None = None, **changes):
        prm = dataclasses.replace(params or PhysicsParams(), **changes)
        p = import_pybullet()
        self.params = prm
        self._p = p
        self._cid = p.connect(p.DIRECT)
        p.setGravity(0, 0, prm.gravity, physicsClientId=self._cid)
        p.setPhysicsEngineParameter(fixedTimeStep=prm.timestep, numSolverIterations=int(prm.solver_iterations),
                                    physicsClientId=self._cid)
        self._dt = float(prm.timestep)
        self._margin = float(prm.collision_margin)
        self._concave = prm.concave
        self._tmp = None
        self._cache_dir = prm.cache_dir
        self._concavity_threshold = float(prm.concavity_threshold)
        self._vhacd_resolution = int(prm.vhacd_resolution)
        self._vhacd_timeout = float(prm.vhacd_timeout)
        self._hull_tolerance = float(prm.hull_tolerance)
        self._dyn_params = dict(lateralFriction=prm.lateral_friction, rollingFriction=prm.rolling_friction,
                                spinningFriction=prm.spinning_friction, restitution=prm.restitution,
                                linearDamping=prm.linear_damping, angularDamping=prm.angular_damping)
        self._dyn_shapes: dict[int, _DynamicShape] = {}
        self._static_shapes: dict[int, tuple[MeshData, int]] = {}
        self._com: dict[int, np.ndarray] = {}   # body id -> model-frame centre of mass
        self._hulls: dict[int, HullInfo] = {}

    @property
    def timestep(self) -> float:
        return self._dt

    def __enter__(self) -> "Simulator":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._cid is not None:
            self._p.disconnect(physicsClientId=self._cid)
            self._cid = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    # -- shapes -------------------------------------------------------------------------------
    def hull(self, mesh: MeshData) -> HullInfo:
        """The (cached) convex hull of a dynamic mesh; creates its collision shape."""
        return self._dynamic_shape(mesh).hull

    def _dynamic_shape(self, mesh: MeshData) -> _DynamicShape:
        entry = self._dyn_shapes.get(id(mesh))
        if entry is not None:
            return entry
        p, cid = self._p, self._cid
        hull = convex_hull(mesh)
        if self._concave == "vhacd" and hull.concavity > self._concavity_threshold:
            if self._cache_dir is None and self._tmp is None:
                self._tmp = tempfile.TemporaryDirectory(prefix="synthgen-vhacd-")
            obj = vhacd_decomposition(mesh, self._cache_dir or self._tmp.name, self._vhacd_resolution,
                                      self._vhacd_timeout)
        else:
            obj = None
        if obj is not None:
            # One convex hull per 'o' group of the OBJ, shifted so the body frame is the com.
            shape = p.createCollisionShape(p.GEOM_MESH, fileName=str(obj), collisionFramePosition=(-hull.com).tolist(),
                                           physicsClientId=cid)
        else:
            points = simplified_hull_points(hull.points, self._hull_tolerance)
            shape = p.createCollisionShape(p.GEOM_MESH, vertices=(points - hull.com).tolist(),
                                           physicsClientId=cid)
        if shape < 0:
            raise RuntimeError("pybullet could not create a collision shape for a dynamic mesh")
        entry = _DynamicShape(mesh=mesh, shape=shape, hull=hull)
        self._dyn_shapes[id(mesh)] = entry
        return entry

    def _static_shape(self, mesh: MeshData) -> int:
        entry = self._static_shapes.get(id(mesh))
        if entry is not None:
            return entry[1]
        p, cid = self._p, self._cid
        v = np.asarray(mesh.vertices, dtype=np.float64)
        if is_convex_mesh(mesh):
            shape = p.createCollisionShape(p.GEOM_MESH, vertices=v.tolist(), physicsClientId=cid)
        else:
            shape = p.createCollisionShape(p.GEOM_MESH, vertices=v.tolist(),
                                           indices=np.asarray(mesh.faces, dtype=np.int64).ravel().tolist(),
                                           physicsClientId=cid)
        if shape < 0:
            raise RuntimeError("pybullet could not create a collision shape for a static mesh")
        self._static_shapes[id(mesh)] = (mesh, shape)
        return shape

    # -- bodies -------------------------------------------------------------------------------
    def add_static(self, mesh: MeshData, pose: np.ndarray) -> int:
        """A fixed body (mass 0) at ``pose`` (model->world)."""
        p, cid = self._p, self._cid
        quat = Rotation.from_matrix(np.asarray(pose)[:3, :3]).as_quat()  # x, y, z, w as pybullet
        bid = p.createMultiBody(baseMass=0.0, baseCollisionShapeIndex=self._static_shape(mesh),
                                basePosition=np.asarray(pose)[:3, 3].tolist(), baseOrientation=quat.tolist(),
                                useMaximalCoordinates=True, physicsClientId=cid)
        p.changeDynamics(bid, -1, lateralFriction=self._dyn_params["lateralFriction"],
                         restitution=self._dyn_params["restitution"], collisionMargin=self._margin,
                         physicsClientId=cid)
        self._com[bid] = np.zeros(3)
        return bid

    def add_dynamic(self, mesh: MeshData, pose: np.ndarray, mass: float) -> int:
        """A free rigid body of ``mass`` kg whose model frame is at ``pose`` (model->world)."""
        p, cid = self._p, self._cid
        entry = self._dynamic_shape(mesh)
        bid = p.createMultiBody(baseMass=float(mass), baseCollisionShapeIndex=entry.shape,
                                useMaximalCoordinates=True, physicsClientId=cid)
        p.changeDynamics(bid, -1, collisionMargin=self._margin, physicsClientId=cid, **self._dyn_params)
        self._com[bid] = entry.hull.com
        self._hulls[bid] = entry.hull
        self.set_pose(bid, pose)
        return bid

    def remove(self, body: int) -> None:
        self._p.removeBody(body, physicsClientId=self._cid)
        self._com.pop(body, None)
        self._hulls.pop(body, None)

    def set_pose(self, body: int, pose: np.ndarray) -> None:
        """Teleport a body so its model frame is at ``pose``; velocities are zeroed."""
        pose = np.asarray(pose, dtype=np.float64)
        R = pose[:3, :3]
        pos = pose[:3, 3] + R @ self._com[body]
        self._p.resetBasePositionAndOrientation(body, pos.tolist(), Rotation.from_matrix(R).as_quat().tolist(),
                                                physicsClientId=self._cid)
        self._p.resetBaseVelocity(body, [0.0, 0.0, 0.0], [0.0, 0.0, 0.0], physicsClientId=self._cid)

    def pose(self, body: int) -> np.ndarray:
        """Model->world 4x4 pose of a body."""
        pos, quat = self._p.getBasePositionAndOrientation(body, physicsClientId=self._cid)
        T = np.eye(4)
        T[:3, :3] = Rotation.from_quat(quat).as_matrix()
        T[:3, 3] = np.asarray(pos) - T[:3, :3] @ self._com[body]
        return T

    def world_points(self, body: int) -> np.ndarray:
        """The body's hull vertices in world coordinates (N, 3), metres."""
        T = self.pose(body)
        return self._hulls[body].points @ T[:3, :3].T + T[:3, 3]

    def speeds(self, body: int) -> tuple[float, float]:
        """(linear m/s, angular rad/s) speed of a body."""
        lin, ang = self._p.getBaseVelocity(body, physicsClientId=self._cid)
        return float(np.linalg.norm(lin)), float(np.linalg.norm(ang))

    def wake(self, body: int) -> None:
        self._p.changeDynamics(body, -1, activationState=self._p.ACTIVATION_STATE_WAKE_UP,
                               physicsClientId=self._cid)

    # -- queries ------------------------------------------------------------------------------
    def contacts(self, body: int) -> list[Contact]:
        """Contact points of ``body`` found by the last step (or :meth:`detect_collisions`)."""
        out = []
        for c in self._p.getContactPoints(bodyA=body, physicsClientId=self._cid):
            # c[1] is bodyA (== body), c[2] bodyB; contactNormalOnB points from B towards A.
            out.append(Contact(other=int(c[2]), distance=float(c[8]), normal_to_body=np.asarray(c[7]),
                               force=float(c[9])))
        return out

    def detect_collisions(self) -> None:
        """Refresh contact points for the current poses without stepping."""
        self._p.performCollisionDetection(physicsClientId=self._cid)

    def min_distance(self, a: int, b: int, max_distance: float = 0.0) -> float:
        """Signed distance (negative = penetration depth) between two bodies, or ``inf`` when
        farther apart than ``max_distance``. Exact for the current poses."""
        pts = self._p.getClosestPoints(a, b, max_distance, physicsClientId=self._cid)
        return min((float(c[8]) for c in pts), default=float("inf"))

    # -- stepping -----------------------------------------------------------------------------
    def step(self, n: int = 1) -> None:
        for _ in range(n):
            self._p.stepSimulation(physicsClientId=self._cid)

    def settle(self, bodies: list[int], max_time: float = 4.0, lin_tol: float = 0.005,
               ang_tol: float = 0.05, check_every: int = 12, lost_below: float | None = None) -> SettleResult:
        """Step until every body's linear speed < ``lin_tol`` m/s and angular speed < ``ang_tol``
        rad/s at two consecutive checks (one check every ``check_every`` steps; two, so the top
        of a bounce is not taken for rest), or until ``max_time`` simulated seconds.

        Bodies whose centre falls below ``lost_below`` (world z, metres) are removed from the
        world at once -- they left the scene and would keep the run from converging."""
        p, cid = self._p, self._cid
        max_steps = max(1, int(round(max_time / self._dt)))
        live = list(range(len(bodies)))
        last_pose: dict[int, np.ndarray] = {}
        lost: list[int] = []
        steps, calm, converged = 0, 0, False
        while steps < max_steps:
            n = min(check_every, max_steps - steps)
            for _ in range(n):
                p.stepSimulation(physicsClientId=cid)
            steps += n
            slow = True
            keep = []
            for k in live:
                b = bodies[k]
                if lost_below is not None:
                    z = p.getBasePositionAndOrientation(b, physicsClientId=cid)[0][2]
                    if z < lost_below:
                        last_pose[k] = self.pose(b)
                        self.remove(b)
                        lost.append(k)
                        continue
                keep.append(k)
                if slow:
                    lin, ang = p.getBaseVelocity(b, physicsClientId=cid)
                    if lin[0] ** 2 + lin[1] ** 2 + lin[2] ** 2 > lin_tol ** 2 or \
                            ang[0] ** 2 + ang[1] ** 2 + ang[2] ** 2 > ang_tol ** 2:
                        slow = False
            live = keep
            calm = calm + 1 if slow else 0
            if calm >= 2:
                converged = True
                break
        poses = [last_pose[k] if k in last_pose else self.pose(bodies[k]) for k in range(len(bodies))]
        return SettleResult(poses=poses, converged=converged, steps=steps, lost=lost)
