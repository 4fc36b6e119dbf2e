"""pybullet adapter: drop objects onto static room geometry and let them come to rest.

Takes plain scene data (meshes in metres, 4x4 world poses, Z up) and returns plain 4x4 poses;
no pybullet handle leaves this module. Each :class:`Simulator` owns its own DIRECT-mode client,
so simulators in different threads or processes never share state.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from ..scene.description import MeshData


@dataclass
class SettleResult:
    """Final model->world poses (4x4, metres) and whether the run came to rest in time."""

    poses: list[np.ndarray]
    converged: bool
    steps: int


class Simulator:
    """One pybullet DIRECT client. Use as a context manager or call :meth:`close`."""

    def __init__(self, timestep: float = 1.0 / 240.0, gravity: float = -9.81):
        import pybullet as p

        self._p = p
        self._cid = p.connect(p.DIRECT)
        p.setGravity(0, 0, gravity, physicsClientId=self._cid)
        p.setTimeStep(timestep, physicsClientId=self._cid)
        self._dt = timestep
        self._shape_cache: dict[int, int] = {}

    def __enter__(self) -> "Simulator":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._cid is not None:
            self._p.disconnect(physicsClientId=self._cid)
            self._cid = None

    def _collision_shape(self, mesh: MeshData) -> int:
        # pybullet builds the convex hull of the given vertices; cached per mesh object so the
        # views and objects sharing an asset share one shape.
        key = id(mesh)
        if key not in self._shape_cache:
            self._shape_cache[key] = self._p.createCollisionShape(
                self._p.GEOM_MESH, vertices=np.asarray(mesh.vertices, dtype=np.float64).tolist(),
                physicsClientId=self._cid)
        return self._shape_cache[key]

    def add_static(self, mesh: MeshData, pose: np.ndarray) -> int:
        """A fixed body (mass 0) with the convex hull of ``mesh`` at ``pose``."""
        return self._add(mesh, pose, mass=0.0)

    def add_dynamic(self, mesh: MeshData, pose: np.ndarray, mass: float) -> int:
        return self._add(mesh, pose, mass=mass)

    def _add(self, mesh: MeshData, pose: np.ndarray, mass: float) -> int:
        quat = Rotation.from_matrix(pose[:3, :3]).as_quat()  # x, y, z, w as pybullet
        bid = self._p.createMultiBody(baseMass=mass, baseCollisionShapeIndex=self._collision_shape(mesh),
                                      basePosition=pose[:3, 3].tolist(), baseOrientation=quat.tolist(),
                                      physicsClientId=self._cid)
        self._p.changeDynamics(bid, -1, lateralFriction=0.8, rollingFriction=0.001,
                               spinningFriction=0.001, restitution=0.05, physicsClientId=self._cid)
        return bid

    def pose(self, body: int) -> np.ndarray:
        pos, quat = self._p.getBasePositionAndOrientation(body, physicsClientId=self._cid)
        T = np.eye(4)
        T[:3, :3] = Rotation.from_quat(quat).as_matrix()
        T[:3, 3] = pos
        return T

    def settle(self, bodies: list[int], max_time: float = 4.0, lin_tol: float = 0.005,
               ang_tol: float = 0.05, check_every: int = 24) -> SettleResult:
        """Step until every body's linear speed < ``lin_tol`` m/s and angular speed < ``ang_tol``
        rad/s, or ``max_time`` simulated seconds have passed."""
        p, cid = self._p, self._cid
        max_steps = int(max_time / self._dt)
        steps = 0
        converged = False
        while steps < max_steps:
            for _ in range(check_every):
                p.stepSimulation(physicsClientId=cid)
            steps += check_every
            # skip the first 0.2 s: objects are released at rest and would pass the check.
            if steps * self._dt < 0.2:
                continue
            slow = True
            for b in bodies:
                lin, ang = p.getBaseVelocity(b, physicsClientId=cid)
                if np.linalg.norm(lin) > lin_tol or np.linalg.norm(ang) > ang_tol:
                    slow = False
                    break
            if slow:
                converged = True
                break
        return SettleResult(poses=[self.pose(b) for b in bodies], converged=converged, steps=steps)


def settle_objects(static: list[tuple[MeshData, np.ndarray]], dynamic: list[tuple[MeshData, np.ndarray, float]],
                   max_time: float = 4.0) -> SettleResult:
    """Drop ``dynamic`` (mesh, start pose, mass kg) onto ``static`` (mesh, pose) and settle."""
    with Simulator() as sim:
        for mesh, pose in static:
            sim.add_static(mesh, pose)
        bodies = [sim.add_dynamic(m, pose, mass) for m, pose, mass in dynamic]
        return sim.settle(bodies, max_time=max_time)
