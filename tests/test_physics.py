"""Physics placement with real pybullet: resting contact, no interpenetration, determinism,
stacking switch, shelf clearance, strict failures.

Every geometric claim is checked here with trimesh geometry and a separate pybullet DIRECT
client built by the test itself (exact convex hulls, zero collision margin), not with the
placement code's own simulator.
"""
from __future__ import annotations

import numpy as np
import pytest
import trimesh
from scipy.spatial.transform import Rotation

from conftest import REPO
from synthgen.physics.placement import PlacementError, PlacementItem, PlacementParams, place_objects
from synthgen.physics.settle import Simulator
from synthgen.physics.shapes import vhacd_decomposition
from synthgen.scene.description import MeshData, SupportSurface

REST_TOL = 0.005   # lowest point this close to a support surface = resting on it
PEN_TOL = 0.002    # allowed interpenetration depth


def _mesh(tm: trimesh.Trimesh) -> MeshData:
    tm = tm.copy()
    tm.apply_translation(-tm.bounds.mean(axis=0))  # model origin at the bbox centre, as assets
    return MeshData(vertices=np.asarray(tm.vertices, dtype=np.float64), faces=np.asarray(tm.faces, dtype=np.int64))


def _at(x: float, y: float, z: float) -> np.ndarray:
    T = np.eye(4)
    T[:3, 3] = (x, y, z)
    return T


def _box(ex, ey, ez, x, y, z) -> tuple[MeshData, np.ndarray]:
    return _mesh(trimesh.creation.box((ex, ey, ez))), _at(x, y, z)


# A 3 x 3 m room floor, a 1.2 x 0.5 x 0.9 m counter against a back wall.
STATIC = [_box(3.0, 3.0, 0.1, 1.5, 1.5, -0.05), _box(3.0, 0.1, 2.4, 1.5, 3.05, 1.2),
          _box(1.2, 0.5, 0.9, 1.5, 2.75, 0.45)]
COUNTER = SupportSurface("counter", _at(1.5, 2.75, 0.9), (1.2, 0.5))
FLOOR = SupportSurface("floor", _at(1.5, 1.0, 0.0), (2.0, 1.0))

MESHES = [
    _mesh(trimesh.creation.box((0.08, 0.06, 0.12))),
    _mesh(trimesh.creation.box((0.12, 0.10, 0.04))),
    _mesh(trimesh.creation.cylinder(radius=0.033, height=0.10, sections=32)),
    _mesh(trimesh.creation.cylinder(radius=0.045, height=0.05, sections=32)),
    _mesh(trimesh.creation.icosphere(subdivisions=2, radius=0.035)),
]


def _items(n: int = 15, floor_every: int = 4) -> list[PlacementItem]:
    """Mixed objects; every ``floor_every``-th goes on the floor, the rest on the counter."""
    return [PlacementItem(key=f"obj{k}", mesh=MESHES[k % len(MESHES)], mass_kg=0.2 + 0.05 * (k % 3),
                          supports=("floor",) if k % floor_every == floor_every - 1 else ("counter",))
            for k in range(n)]


def _place(seed: int, items=None, supports=(COUNTER, FLOOR), static=STATIC, **kw):
    return place_objects(static, list(supports), items if items is not None else _items(),
                         np.random.default_rng(seed), PlacementParams(**kw))


def _world(mesh: MeshData, T: np.ndarray) -> np.ndarray:
    return mesh.vertices @ T[:3, :3].T + T[:3, 3]


class Checker:
    """An independent pybullet client holding the placed objects and the static geometry as
    fixed exact hulls with zero margin, for closest-point queries."""

    def __init__(self, static, meshes_poses):
        import pybullet as p

        self.p = p
        self.cid = p.connect(p.DIRECT)
        self.static = [self._add(m, T) for m, T in static]
        self.objects = [self._add(m, T) for m, T in meshes_poses]

    def _add(self, mesh: MeshData, T: np.ndarray) -> int:
        p, cid = self.p, self.cid
        hull = trimesh.Trimesh(mesh.vertices, mesh.faces).convex_hull
        shape = p.createCollisionShape(p.GEOM_MESH, vertices=np.asarray(hull.vertices).tolist(), physicsClientId=cid)
        b = p.createMultiBody(0.0, shape, basePosition=T[:3, 3].tolist(),
                              baseOrientation=Rotation.from_matrix(T[:3, :3]).as_quat().tolist(), physicsClientId=cid)
        p.changeDynamics(b, -1, collisionMargin=0.0, physicsClientId=cid)
        return b

    def distance(self, a: int, b: int, within: float = 0.01) -> float:
        pts = self.p.getClosestPoints(a, b, within, physicsClientId=self.cid)
        return min((c[8] for c in pts), default=np.inf)

    def close(self) -> None:
        self.p.disconnect(physicsClientId=self.cid)


def _on_support(V: np.ndarray, supports) -> str | None:
    """Name of the support the vertices ``V`` rest on (lowest point within REST_TOL of the
    surface, above the rectangle), else None."""
    zmin = V[:, 2].min()
    low = V[V[:, 2] < zmin + REST_TOL]
    for s in supports:
        T = np.asarray(s.pose_world)
        loc = (low - T[:3, 3]) @ T[:3, :3]
        inside = np.all(np.abs(loc[:, :2]) <= np.asarray(s.size) / 2 + REST_TOL, axis=1)
        if abs(zmin - T[2, 3]) < REST_TOL and inside.any():
            return s.name
    return None


def _check_scene(items, res, supports, static=STATIC, allow_stacks=True):
    """Every placed object rests on a support or on another object, none interpenetrates."""
    placed = [i for i, P in enumerate(res.poses) if P is not None]
    meshes_poses = [(items[i].mesh, res.poses[i]) for i in placed]
    chk = Checker(static, meshes_poses)
    try:
        stacked = []
        for a, i in enumerate(placed):
            V = _world(*meshes_poses[a])
            name = _on_support(V, supports)
            if name is None:
                assert allow_stacks, (i, "not on a support with stacking off", V[:, 2].min())
                below = [b for b, j in enumerate(placed) if b != a
                         and chk.distance(chk.objects[a], chk.objects[b]) < 0.003
                         and _world(*meshes_poses[b])[:, 2].min() < V[:, 2].min()]
                assert below, (i, "neither on a support nor on another object", V[:, 2].min())
                stacked.append(i)
                assert res.supports[i].startswith("stack:"), (i, res.supports[i])
            else:
                assert res.supports[i] == name, (i, res.supports[i], name)
            for b in range(a + 1, len(placed)):
                d = chk.distance(chk.objects[a], chk.objects[b])
                assert d >= -PEN_TOL, (i, placed[b], d)
            for s in chk.static:
                assert chk.distance(chk.objects[a], s) >= -PEN_TOL, (i, "in static geometry")
        return stacked
    finally:
        chk.close()


@pytest.fixture(scope="module")
def placed():
    items = _items()
    return items, _place(0, items)


def test_placed_objects_rest_on_supports_or_objects_without_interpenetration(placed):
    items, res = placed
    assert res.failed == [] and all(P is not None for P in res.poses)
    assert res.stats.converged and res.stats.steps > 0
    _check_scene(items, res, [COUNTER, FLOOR])
    # each object ended over the support it asked for (directly or on a stack standing on it)
    for it, P in zip(items, res.poses):
        z_support = {"counter": 0.9, "floor": 0.0}[it.supports[0]]
        assert _world(it.mesh, P)[:, 2].min() > z_support - REST_TOL


def test_same_seed_same_poses_and_different_seed_differs(placed):
    items, res = placed
    again = _place(0, items)
    assert again.supports == res.supports
    for a, b in zip(res.poses, again.poses):
        np.testing.assert_array_equal(a, b)
    other = _place(1, items)
    assert any(not np.allclose(a, b) for a, b in zip(res.poses, other.poses))


def test_stacking_on_makes_valid_stacks():
    # A small table and aggressive stacking: some objects must end on others.
    table = SupportSurface("table", _at(1.5, 2.75, 0.9), (0.3, 0.3))
    items = [PlacementItem(k, MESHES[k % 2], 0.2) for k in range(8)]   # boxes only: stackable
    res = _place(3, items, supports=[table], stack_probability=1.0, max_tries=6)
    stacked = _check_scene(items, res, [table])
    assert stacked, res.supports
    for i in stacked:
        j = int(res.supports[i].split(":")[1])
        assert res.poses[j] is not None and i != j


def test_stacking_off_leaves_every_object_on_a_support():
    table = SupportSurface("table", _at(1.5, 2.75, 0.9), (0.4, 0.4))
    items = [PlacementItem(k, MESHES[k % len(MESHES)], 0.2) for k in range(10)]
    res = _place(3, items, supports=[table], stacking=False)
    assert len(res.failed) < len(items)
    _check_scene(items, res, [table], allow_stacks=False)
    assert all(s == "table" for s in res.supports if s is not None)


def test_shelf_clearance_is_respected():
    # Shelf board top at z=0.5 with the next board 0.12 m higher: a 0.2 m can must lie down.
    static = [_box(0.8, 0.3, 0.02, 1.0, 1.0, 0.49), _box(0.8, 0.3, 0.02, 1.0, 1.0, 0.63),
              _box(3.0, 3.0, 0.1, 1.5, 1.5, -0.05)]
    shelf = SupportSurface("shelf", _at(1.0, 1.0, 0.5), (0.8, 0.3), clearance=0.12)
    tall = _mesh(trimesh.creation.cylinder(radius=0.03, height=0.2, sections=32))
    items = [PlacementItem("tall", tall, 0.3)] + [PlacementItem(k, MESHES[k], 0.2) for k in range(4)]
    res = _place(2, items, supports=[shelf], static=static)
    assert res.poses[0] is not None, res.stats.rejected
    _check_scene(items, res, [shelf], static=static)
    for it, P in zip(items, res.poses):
        if P is not None:
            V = _world(it.mesh, P)
            assert V[:, 2].max() <= 0.5 + 0.12 + 1e-6, (it.key, V[:, 2].max())
    axis = res.poses[0][:3, 2]   # the can's axis lies (nearly) horizontal
    assert abs(axis[2]) < 0.2, axis


def test_impossible_placement_raises_one_line_error_in_strict_mode():
    shelf = SupportSurface("shelf", _at(1.0, 1.0, 0.5), (2.0, 2.0), clearance=0.1)
    static = [_box(2.0, 2.0, 0.02, 1.0, 1.0, 0.49)]
    items = [PlacementItem("big_box", _mesh(trimesh.creation.box((1.0, 1.0, 1.0))), 5.0)]
    with pytest.raises(PlacementError) as err:
        _place(0, items, supports=[shelf], static=static, strict=True, max_tries=3)
    msg = str(err.value)
    assert "\n" not in msg
    assert "object 0 (key 'big_box')" in msg and "'shelf'" in msg and "after 3 tries" in msg
    assert "clearance" in msg
    # not strict: the object is reported, nothing raised
    res = _place(0, items, supports=[shelf], static=static, max_tries=3)
    assert res.failed == [0] and res.poses == [None] and res.stats.tries == [3]


def test_simulator_pose_round_trips_through_the_centre_of_mass_offset():
    cone = _mesh(trimesh.creation.cone(radius=0.05, height=0.12, sections=24))  # com below origin
    T = _at(0.3, -0.2, 1.0)
    T[:3, :3] = Rotation.from_euler("xyz", [0.3, -0.5, 1.1]).as_matrix()
    with Simulator() as sim:
        b = sim.add_dynamic(cone, T, 0.2)
        assert sim.hull(cone).com[2] < -0.02
        np.testing.assert_allclose(sim.pose(b), T, atol=1e-9)


def test_simulator_and_placement_share_one_set_of_physics_defaults():
    """A Simulator made without arguments runs on the same engine settings as place_objects
    (their defaults disagreed: solver iterations, rolling/spinning friction, damping, hulls)."""
    import pybullet as p

    from synthgen.physics.settle import PhysicsParams

    placement = PlacementParams().physics
    assert placement == PhysicsParams()
    cone = _mesh(trimesh.creation.cone(radius=0.05, height=0.12, sections=24))
    with Simulator() as sim:
        assert sim.params == placement
        b = sim.add_dynamic(cone, _at(0.0, 0.0, 1.0), 0.2)
        info = p.getDynamicsInfo(b, -1, physicsClientId=sim._cid)
        # (mass, lateral friction, ..., restitution, rolling friction, spinning friction, ..., margin)
        assert info[1] == pytest.approx(placement.lateral_friction)
        assert info[6:8] == pytest.approx((placement.rolling_friction, placement.spinning_friction))
        assert info[11] == pytest.approx(placement.collision_margin)
        solver = p.getPhysicsEngineParameters(physicsClientId=sim._cid)
        assert solver["numSolverIterations"] == placement.solver_iterations
    # one field changed, the others kept
    with Simulator(PhysicsParams(rolling_friction=0.05), solver_iterations=7) as sim:
        assert (sim.params.rolling_friction, sim.params.solver_iterations) == (0.05, 7)
        assert sim.params.spinning_friction == placement.spinning_friction
    with pytest.raises(ValueError, match="concave: expected 'hull' or 'vhacd', found 'convex'"):
        Simulator(concave="convex")


def test_loading_pybullet_prints_nothing():
    """pybullet's C code prints a "pybullet build time" banner when it loads (on stdout or
    stderr, by build); the Simulator loads it with both silenced, and what Python printed before
    and after still arrives, in order."""
    import subprocess
    import sys

    code = ("import sys; print('before', flush=True); print('err-before', file=sys.stderr, flush=True)\n"
            "from synthgen.physics.settle import Simulator\n"
            "Simulator().close(); print('after'); print('err-after', file=sys.stderr)")
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert (r.stdout, r.stderr) == ("before\nafter\n", "err-before\nerr-after\n")


def test_vhacd_decomposition_lets_a_ball_fall_into_a_cup(tmp_path):
    # A cup revolved from its profile: concave, watertight. With the convex hull the ball would
    # rest on the rim (z ~ 0.13); with V-HACD parts it drops inside, onto the 6 mm bottom.
    cup = _mesh(trimesh.creation.revolve(np.array([[0, 0], [0.045, 0], [0.045, 0.1], [0.04, 0.1],
                                                   [0.04, 0.006], [0, 0.006]]), sections=32))
    ball = _mesh(trimesh.creation.icosphere(subdivisions=2, radius=0.012))
    floor = [_box(1.0, 1.0, 0.1, 0.0, 0.0, -0.05)]
    z_rest = {}
    for concave in ("hull", "vhacd"):
        with Simulator(concave=concave, cache_dir=str(tmp_path)) as sim:
            for m, T in floor:
                sim.add_static(m, T)
            cup_body = sim.add_dynamic(cup, _at(0.0, 0.0, 0.0501), 0.3)
            b = sim.add_dynamic(ball, _at(0.0, 0.0, 0.2), 0.02)
            sim.settle([cup_body, b], max_time=2.0)
            z_rest[concave] = sim.pose(b)[2, 3]
    assert z_rest["hull"] > 0.11 and z_rest["vhacd"] < 0.03, z_rest
    cached = sorted(tmp_path.glob("vhacd-*.obj"))
    assert len(cached) == 1 and cached[0].stat().st_size > 0
    mtime = cached[0].stat().st_mtime_ns
    with Simulator(concave="vhacd", cache_dir=str(tmp_path)) as sim:   # reuses the cached parts
        sim.add_dynamic(cup, _at(0.0, 0.0, 0.0501), 0.3)
    assert cached[0].stat().st_mtime_ns == mtime and len(list(tmp_path.glob("vhacd-*"))) == 1


def test_vhacd_over_its_time_limit_falls_back_to_the_hull_and_remembers(tmp_path):
    cup = _mesh(trimesh.creation.revolve(np.array([[0, 0], [0.04, 0], [0.04, 0.09], [0.035, 0.09],
                                                   [0.035, 0.005], [0, 0.005]]), sections=24))
    assert vhacd_decomposition(cup, tmp_path, timeout_s=0.01) is None
    assert [f.suffix for f in tmp_path.glob("vhacd-*")] == [".hull"]
    assert vhacd_decomposition(cup, tmp_path) is None   # remembered: no second attempt


def test_simplified_collision_hull_stays_within_its_tolerance():
    """Every vertex of the exact hull lies at most ``tolerance`` outside the simplified hull, and
    the simplified hull is a real reduction for round meshes (the sphere has 642 hull vertices)."""
    from scipy.spatial import ConvexHull

    from synthgen.assets.library import resolve_asset
    from synthgen.physics.shapes import convex_hull, simplified_hull_points

    flat = trimesh.creation.icosphere(subdivisions=3)
    flat.vertices *= [0.091, 0.169, 0.013]   # a flattened ellipsoid: Qhull's W option alone missed by 1.6 mm
    meshes = {name: resolve_asset(f"builtin:{name}", 1).mesh for name in ("sphere", "bowl", "mug", "box")}
    meshes["flat"] = MeshData(np.asarray(flat.vertices), np.asarray(flat.faces))
    for name, mesh in meshes.items():
        hull = convex_hull(mesh)
        for tol in (0.0005, 0.002):
            pts = simplified_hull_points(hull.points, tol)
            assert len(pts) <= len(hull.points)
            # a subset of the exact hull's vertices, so never outside the exact hull
            assert (np.abs(pts[:, None, :] - hull.points[None]).sum(axis=2).min(axis=1) == 0).all()
            eq = ConvexHull(pts).equations              # unit normals: n . x + d = signed distance
            outside = (hull.points @ eq[:, :3].T + eq[:, 3]).max(axis=1)
            assert outside.max() <= tol + 1e-9, (name, tol, outside.max())
        if name == "sphere":
            assert len(simplified_hull_points(hull.points, 0.0005)) < 0.6 * len(hull.points)
    np.testing.assert_array_equal(simplified_hull_points(hull.points, 0.0), hull.points)
