"""Procedural kitchenware and workshop parts at real sizes (``builtin:<name>`` references).

Each generator returns a trimesh mesh in metres in its own construction frame (Z up, the object
resting on its natural face: cups and jars standing, tools lying flat) plus the BOP symmetries of
that mesh in the same frame. The library re-centres the mesh at its bounding-box centre and
carries the symmetries over (:func:`synthgen.assets.geometry.transform_symmetries`).

Symmetry annotations follow BOP: proper rotations only (a mirror is not a pose), discrete ones as
4x4 transforms, continuous ones as an axis and a point on it. Lathe shapes are faceted: their
continuous symmetry holds up to the facet sagitta (radius * (1 - cos(pi / sections)), < 0.3 mm
here); the discrete ones hold exactly on the vertex set.

No booleans: hollow shapes are lathe profiles that run out along the bottom, up the outer wall,
over the rim and back down the inner wall; handles and heads are separate watertight bodies that
overlap the part they attach to, so every body is closed.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import trimesh

from . import geometry as g

Z = (0.0, 0.0, 1.0)
X = (1.0, 0.0, 0.0)
ORIGIN = (0.0, 0.0, 0.0)


def _about_z() -> list[dict]:
    return [{"axis": list(Z), "offset": list(ORIGIN)}]


def _rot_z(k: int, n: int) -> np.ndarray:
    return g.clean_rotation(g.rotation(Z, 2.0 * np.pi * k / n))


FLIP_X = np.diag([1.0, -1.0, -1.0, 1.0])  # 180 deg about X
FLIP_Y = np.diag([-1.0, 1.0, -1.0, 1.0])  # 180 deg about Y
ROT_Z180 = np.diag([-1.0, -1.0, 1.0, 1.0])


@dataclass(frozen=True)
class Builtin:
    """One procedural asset: generator and hints for the scene sampler.

    ``build()`` returns (mesh in metres, continuous symmetries, discrete symmetries) in the
    construction frame. ``mass_kg`` at scale 1; ``default_color`` linear RGBA in [0, 1];
    ``metallic`` in [0, 1]."""

    name: str
    category: str
    description: str
    build: Callable[[], tuple[trimesh.Trimesh, list[dict], list[np.ndarray]]]
    mass_kg: float
    default_color: tuple[float, float, float, float]
    metallic: float = 0.0


# ---------------------------------------------------------------- primitives (kept from v1)

def _box():
    """Cereal-box-like carton, 19 x 7 x 27 cm."""
    return trimesh.creation.box((0.19, 0.07, 0.27)), [], [FLIP_X, ROT_Z180, FLIP_Y]


def _cylinder():
    """Soup-can-like cylinder, 6.6 cm diameter, 10 cm tall."""
    return trimesh.creation.cylinder(radius=0.033, height=0.10, sections=48), _about_z(), [FLIP_X]


def _sphere():
    """Orange-sized sphere, 7.5 cm diameter (icosphere: symmetric up to its facets)."""
    return (trimesh.creation.icosphere(subdivisions=3, radius=0.0375),
            [{"axis": list(Z), "offset": list(ORIGIN)}, {"axis": list(X), "offset": list(ORIGIN)}], [])


def _cone():
    """Funnel-like cone, 10 cm base diameter, 12 cm tall."""
    return trimesh.creation.cone(radius=0.05, height=0.12, sections=48), _about_z(), []


def _capsule():
    """Pill-bottle-like capsule, 4 cm diameter, 11 cm long."""
    return trimesh.creation.capsule(height=0.07, radius=0.02, count=[24, 24]), _about_z(), [FLIP_X]


# ---------------------------------------------------------------- kitchenware

def _mug():
    """Coffee mug: 8.2 cm diameter, 9.5 cm tall, 4 mm wall; D-shaped handle along +X
    (11.5 cm across with the handle). Only a mirror symmetry (y -> -y): no BOP symmetry."""
    cup = g.lathe([(0.0, 0.0), (0.039, 0.0), (0.041, 0.002), (0.041, 0.095), (0.037, 0.095),
                   (0.037, 0.008), (0.035, 0.006), (0.0, 0.006)], sections=48)
    # Half ellipse in the XZ plane; both ends run horizontally into the 4 mm wall and stop
    # at r = 3.9 cm, inside the wall (r 3.7-4.1 cm), so nothing pokes into the cup.
    t = np.linspace(-np.pi / 2, np.pi / 2, 17)
    path = np.column_stack((0.039 + 0.030 * np.cos(t), np.zeros_like(t), 0.050 + 0.026 * np.sin(t)))
    handle = g.tube(path, radius=0.005, segments=12)
    return g.merge([cup, handle]), [], []


def _bowl():
    """Cereal bowl: 16 cm diameter, 6.5 cm tall, 4 mm wall, flat 8 cm base."""
    R, rb, H, th, tb = 0.08, 0.04, 0.065, 0.004, 0.005
    t = np.linspace(0.0, 1.0, 9) * np.pi / 2
    outer = np.column_stack((rb + (R - rb) * np.sin(t), H * (1 - np.cos(t))))
    inner = np.column_stack((rb - th + (R - rb) * np.sin(t), tb + (H - tb) * (1 - np.cos(t))))[::-1]
    prof = np.vstack(([0.0, 0.0], outer, inner, [0.0, tb]))
    return g.lathe(prof, sections=64), _about_z(), []


def _plate():
    """Dinner plate: 26 cm diameter, 2 cm tall, 4 mm thick, 14 cm flat centre."""
    prof = [(0.0, 0.0), (0.07, 0.0), (0.128, 0.017), (0.13, 0.02), (0.126, 0.02),
            (0.069, 0.004), (0.0, 0.004)]
    return g.lathe(prof, sections=64), _about_z(), []


def _bottle():
    """0.5 l water bottle with cap: 6.5 cm diameter, 20.5 cm tall (closed solid)."""
    prof = [(0.0, 0.0), (0.029, 0.0), (0.0325, 0.004), (0.0325, 0.125), (0.031, 0.140),
            (0.025, 0.155), (0.018, 0.165), (0.0135, 0.172), (0.0135, 0.185), (0.0155, 0.185),
            (0.0155, 0.205), (0.0, 0.205)]
    return g.lathe(prof, sections=48), _about_z(), []


def _can():
    """Food tin: 6.6 cm diameter, 12.2 cm tall, alike rims and recessed lids at both ends, so
    besides the axis it has the 180 deg flip about a horizontal axis."""
    prof = [(0.0, 0.003), (0.0305, 0.003), (0.0318, 0.0), (0.033, 0.004), (0.033, 0.118),
            (0.0318, 0.122), (0.0305, 0.119), (0.0, 0.119)]
    can = g.lathe(prof, sections=48)
    can.apply_translation((0.0, 0.0, -0.061))  # mid-height at the origin: the flip axis is X
    return can, _about_z(), [FLIP_X]


def _carton():
    """1 l gable-top milk carton: 7 x 7 cm, 19.5 cm body, gable and fin to 23.5 cm; the ridge
    runs along X, so only the 180 deg turn about Z is a symmetry."""
    body = g.hull([(sx * 0.035, sy * 0.035, z) for sx in (-1, 1) for sy in (-1, 1)
                   for z in (0.0, 0.195)] + [(sx * 0.035, 0.0, 0.22) for sx in (-1, 1)])
    fin = trimesh.creation.box((0.07, 0.004, 0.02), transform=g.translation((0.0, 0.0, 0.225)))
    return g.merge([body, fin]), [], [ROT_Z180]


def _pan():
    """Frying pan: 26 cm rim diameter, 21 cm base, 5 cm deep, 3.5 mm wall; 19 cm handle along
    +X rising 12 deg (45 cm long overall). No symmetry."""
    slope = 0.025 / 0.047  # outer wall: r = 10.5 cm at z = 3 mm, 13 cm at z = 5 cm

    def r_out(z):
        return 0.105 + (z - 0.003) * slope

    body = g.lathe([(0.0, 0.0), (0.102, 0.0), (0.105, 0.003), (r_out(0.05), 0.05),
                    (r_out(0.05) - 0.0035, 0.05), (r_out(0.007) - 0.0035, 0.007),
                    (0.1, 0.004), (0.0, 0.004)], sections=64)
    # Handle root: four corners placed inside the 3.5 mm slanted wall, 1.5 mm under its
    # outer surface (so the handle neither floats off the wall nor pokes into the pan).
    hw, root = 0.011, []
    for z in (0.030, 0.044):
        x = np.sqrt(r_out(z) ** 2 - hw ** 2) - 0.0015
        root += [(x, -hw, z), (x, hw, z)]
    tip = np.column_stack((np.full(8, 0.32), g.ellipse(0.015, 0.006, 8)))
    tip[:, 2] += 0.037 + 0.19 * np.tan(np.radians(12.0))
    handle = g.hull(np.vstack((root, tip)))
    return g.merge([body, handle]), [], []


def _cutting_board():
    """Wooden cutting board: 35 x 24 x 1.8 cm, 2 cm corner radius; symmetric under the three
    180 deg turns about the box axes."""
    return (g.prism(g.rounded_rect(0.175, 0.12, 0.02, 6), -0.009, 0.009), [],
            [FLIP_X, FLIP_Y, ROT_Z180])


def _knife():
    """Chef's knife lying flat: 20 cm blade (4.5 cm at the heel, 2 mm spine tapering to the
    edge), 12.5 cm handle; 32 cm long. No symmetry."""
    spine = [(0.0, 0.045), (0.15, 0.043), (0.20, 0.030)]
    edge = [(0.0, 0.0), (0.10, 0.0), (0.15, 0.006), (0.18, 0.016)]
    blade = g.hull([(x, y, s * 0.001) for x, y in spine for s in (-1, 1)]
                   + [(x, y, s * 0.0002) for x, y in edge for s in (-1, 1)])
    sec = g.ellipse(0.012, 0.008, 12)
    handle = g.hull([(x, 0.030 + a, b) for x in (-0.12, 0.005) for a, b in sec])
    return g.merge([blade, handle]), [], []


def _jar():
    """Jam jar with screw lid: 9 cm diameter, 12.4 cm tall (closed solid)."""
    prof = [(0.0, 0.0), (0.042, 0.0), (0.045, 0.004), (0.045, 0.092), (0.041, 0.100),
            (0.039, 0.102), (0.039, 0.104), (0.043, 0.104), (0.043, 0.122), (0.041, 0.124),
            (0.0, 0.124)]
    return g.lathe(prof, sections=48), _about_z(), []


# ---------------------------------------------------------------- workshop

def _wrench():
    """Combination wrench lying flat, 16 cm long: 12-point ring end (+X) and a 13 mm open end
    (-X), heads 6 mm and shaft 5 mm thick. Symmetric under 180 deg about its long axis (X)."""
    n = 24
    ang = np.arange(n) * 2.0 * np.pi / n
    outer = np.column_stack((0.0125 * np.cos(ang), 0.0125 * np.sin(ang)))
    # 12-gon hole (circumradius 7.5 mm): vertices at even samples, edge midpoints at odd ones.
    r_in = np.where(np.arange(n) % 2 == 0, 0.0075, 0.0075 * np.cos(np.pi / 12))
    inner = np.column_stack((r_in * np.cos(ang), r_in * np.sin(ang)))
    ring = g.ring_prism(outer, inner, -0.003, 0.003)
    ring.apply_translation((0.065, 0.0, 0.0))
    # The shaft ends 9 mm from the ring centre: inside the ring wall (7.5-12.5 mm), off the hole.
    shaft = g.prism([(-0.052, -0.006), (0.056, -0.006), (0.056, 0.006), (-0.052, 0.006)], -0.0025, 0.0025)
    half = np.linspace(-np.pi / 2, np.pi / 2, 9)
    base = g.prism(np.column_stack((-0.062 + 0.0145 * np.cos(half), 0.0145 * np.sin(half))), -0.003, 0.003)
    prongs = [g.prism([(-0.084, s * 0.0065), (-0.060, s * 0.0065), (-0.060, s * 0.0145),
                       (-0.082, s * 0.0145), (-0.085, s * 0.011)], -0.003, 0.003) for s in (-1, 1)]
    return g.merge([ring, shaft, base] + prongs), [], [FLIP_X]


def _screwdriver():
    """Flat-head screwdriver lying along X: 10 cm handle (3.2 cm diameter), 6 mm shaft, 20.7 cm
    long. The flat tip leaves only the 180 deg turn about its axis (X)."""
    body = g.lathe([(0.0, 0.0), (0.012, 0.0), (0.014, 0.004), (0.016, 0.03), (0.016, 0.08),
                    (0.012, 0.095), (0.006, 0.1), (0.003, 0.1), (0.003, 0.195), (0.0, 0.195)],
                   sections=24)
    tip = g.hull(np.vstack((np.column_stack((g.ellipse(0.003, 0.003, 16), np.full(16, 0.192))),
                            [(sx * 0.003, sy * 0.0004, 0.207) for sx in (-1, 1) for sy in (-1, 1)])))
    mesh = g.merge([body, tip])
    mesh.apply_transform(g.rotation((0.0, 1.0, 0.0), np.pi / 2))  # construction +Z -> +X
    return mesh, [], [FLIP_X]


def _hammer():
    """Claw-less cross-peen hammer lying flat: 31 cm handle along X, 11.5 cm head along Y
    (round striking face at +Y, wedge peen at -Y). No symmetry."""
    handle = g.hull([(x, a * k, b * k) for x, k in ((0.0, 1.0), (0.30, 0.8))
                     for a, b in g.ellipse(0.0135, 0.0105, 12)])
    block = trimesh.creation.box((0.04, 0.04, 0.025), transform=g.translation((0.29, 0.0, 0.0)))
    face = trimesh.creation.cylinder(radius=0.0145, height=0.045, sections=24,
                                     transform=g.translation((0.29, 0.0325, 0.0)) @ g.rotation(X, -np.pi / 2))
    peen = g.hull([(0.29 + dx, -0.01, dz) for dx in (-0.018, 0.018) for dz in (-0.012, 0.012)]
                  + [(0.29 + dx, -0.06, dz) for dx in (-0.002, 0.002) for dz in (-0.012, 0.012)])
    return g.merge([handle, block, face, peen]), [], []


def _bolt():
    """M10 x 50 hex bolt standing on its head's axis (Z): 16 mm across flats, 6.4 mm head,
    plain 10 mm shank. Symmetric under turns by 60 deg about Z."""
    head = trimesh.creation.cylinder(radius=0.008 / np.cos(np.pi / 6), height=0.0064, sections=6,
                                     transform=g.translation((0.0, 0.0, 0.0532)))
    shank = trimesh.creation.cylinder(radius=0.005, height=0.0505, sections=24,
                                      transform=g.translation((0.0, 0.0, 0.02525)))
    return g.merge([head, shank]), [], [_rot_z(k, 6) for k in range(1, 6)]


def _hex_nut():
    """M10 hex nut: 16 mm across flats, 8 mm thick, 10 mm hole. Symmetric under turns by
    60 deg about Z and the six 180 deg flips about horizontal axes (dihedral group D6)."""
    n = 24  # four samples per hexagon side so the round hole can face them one to one
    corners = np.array([(np.cos(a), np.sin(a)) for a in np.arange(7) * np.pi / 3]) * (0.008 / np.cos(np.pi / 6))
    f = np.arange(4) / 4.0
    outer = np.vstack([corners[k] + (corners[k + 1] - corners[k]) * f[:, None] for k in range(6)])
    ang = np.arctan2(outer[:, 1], outer[:, 0])
    inner = 0.005 * np.column_stack((np.cos(ang), np.sin(ang)))
    nut = g.ring_prism(outer, inner, -0.004, 0.004)
    assert len(outer) == n
    rots = [_rot_z(k, 6) for k in range(1, 6)]
    flips = [g.clean_rotation(_rot_z(k, 6) @ FLIP_X) for k in range(6)]
    return nut, [], rots + flips


def _crate():
    """Small open-top storage crate: 30 x 20 x 15 cm, 8 mm walls and floor. Symmetric under
    the 180 deg turn about Z."""
    outer = [(0.15, 0.10), (-0.15, 0.10), (-0.15, -0.10), (0.15, -0.10)]
    inner = [(0.142, 0.092), (-0.142, 0.092), (-0.142, -0.092), (0.142, -0.092)]
    walls = g.ring_prism(outer, inner, 0.004, 0.15)
    floor = trimesh.creation.box((0.30, 0.20, 0.008), transform=g.translation((0.0, 0.0, 0.004)))
    return g.merge([walls, floor]), [], [ROT_Z180]


_GREY = (0.55, 0.55, 0.56, 1.0)
_STEEL = (0.62, 0.62, 0.64, 1.0)

BUILTINS: dict[str, Builtin] = {b.name: b for b in [
    Builtin("box", "container", "cereal-box-like carton 19 x 7 x 27 cm", _box, 0.5, (0.6, 0.35, 0.1, 1.0)),
    Builtin("cylinder", "primitive", "cylinder 6.6 cm x 10 cm", _cylinder, 0.35, _GREY),
    Builtin("sphere", "primitive", "sphere 7.5 cm", _sphere, 0.15, (0.8, 0.35, 0.05, 1.0)),
    Builtin("cone", "primitive", "cone 10 cm base x 12 cm", _cone, 0.1, _GREY),
    Builtin("capsule", "primitive", "capsule 4 cm x 11 cm", _capsule, 0.05, _GREY),
    Builtin("mug", "kitchenware", "coffee mug with handle, 8.2 cm x 9.5 cm", _mug, 0.30, (0.85, 0.85, 0.82, 1.0)),
    Builtin("bowl", "kitchenware", "cereal bowl 16 cm x 6.5 cm", _bowl, 0.35, (0.8, 0.78, 0.72, 1.0)),
    Builtin("plate", "kitchenware", "dinner plate 26 cm x 2 cm", _plate, 0.55, (0.9, 0.9, 0.88, 1.0)),
    Builtin("bottle", "container", "0.5 l water bottle 6.5 cm x 20.5 cm", _bottle, 0.52, (0.5, 0.7, 0.85, 1.0)),
    Builtin("can", "container", "food tin 6.6 cm x 12.2 cm", _can, 0.40, _STEEL, 0.9),
    Builtin("carton", "container", "1 l gable-top milk carton 7 x 7 x 23.5 cm", _carton, 1.05, (0.9, 0.9, 0.9, 1.0)),
    Builtin("pan", "kitchenware", "frying pan 26 cm with handle", _pan, 1.2, (0.08, 0.08, 0.09, 1.0), 0.6),
    Builtin("cutting_board", "kitchenware", "cutting board 35 x 24 x 1.8 cm", _cutting_board, 0.8,
            (0.55, 0.38, 0.2, 1.0)),
    Builtin("knife", "kitchenware", "chef's knife 32 cm", _knife, 0.2, _STEEL, 0.9),
    Builtin("jar", "container", "jam jar 9 cm x 12.4 cm", _jar, 0.45, (0.6, 0.15, 0.15, 1.0)),
    Builtin("wrench", "tool", "combination wrench 16 cm", _wrench, 0.10, _STEEL, 1.0),
    Builtin("screwdriver", "tool", "flat-head screwdriver 20.7 cm", _screwdriver, 0.08, (0.8, 0.1, 0.1, 1.0)),
    Builtin("hammer", "tool", "cross-peen hammer 31 cm", _hammer, 0.6, (0.45, 0.3, 0.15, 1.0)),
    Builtin("bolt", "hardware", "M10 x 50 hex bolt", _bolt, 0.035, _STEEL, 1.0),
    Builtin("hex_nut", "hardware", "M10 hex nut", _hex_nut, 0.011, _STEEL, 1.0),
    Builtin("crate", "container", "open-top crate 30 x 20 x 15 cm", _crate, 0.9, (0.15, 0.35, 0.6, 1.0)),
]}
