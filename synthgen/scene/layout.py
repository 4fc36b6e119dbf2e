"""Procedural room layouts: furniture as boxes, plus the support surfaces objects are placed on.

Pure data and numpy: each layout returns a :class:`Layout` of :class:`StructureElement` boxes (with
materials drawn from the scene's generator), :class:`SupportSurface` rectangles tagged by kind
(``counter``, ``island``, ``table``, ``shelf``, ``workbench``, ``floor``) and the 2-D footprints
(axis-aligned, world x/y) that people and cameras must keep out of.

World frame: Z up, metres; the room spans x in [0, size_x], y in [0, size_y], floor top at z = 0.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .draws import uniform as _u
from .description import Material, MeshData, StructureElement, SupportSurface

WALL = 0.1  # wall and floor slab thickness, metres


@dataclass
class Layout:
    """A sampled room. ``footprints``: (x0, y0, x1, y1) world rectangles occupied by furniture;
    ``focus``: support kinds the cameras should look at first."""

    kind: str
    size_x: float
    size_y: float
    height: float
    structures: list[StructureElement] = field(default_factory=list)
    supports: list[SupportSurface] = field(default_factory=list)
    footprints: list[tuple[float, float, float, float]] = field(default_factory=list)
    boxes: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)  # (centre, size) of every box
    focus: tuple[str, ...] = ("counter",)

    def support_kinds(self) -> set[str]:
        return {s.name.split(":")[0] for s in self.supports}

    def inside_furniture(self, p: np.ndarray, margin: float = 0.0) -> bool:
        """True when point ``p`` lies inside (or within ``margin`` of) any structure box."""
        for c, s in self.boxes:
            if np.all(np.abs(p - c) <= s / 2 + margin):
                return True
        return False


MaterialFn = Callable[[str], Material]


def _box_mesh(size) -> MeshData:
    import trimesh

    tm = trimesh.creation.box(tuple(float(s) for s in size))
    return MeshData(np.asarray(tm.vertices, np.float64), np.asarray(tm.faces, np.int64))


class _Builder:
    def __init__(self, layout: Layout, material: MaterialFn):
        self.l = layout
        self.material = material

    def box(self, name: str, centre, size, role: str, footprint: bool = True) -> None:
        c, s = np.asarray(centre, float), np.asarray(size, float)
        T = np.eye(4)
        T[:3, 3] = c
        self.l.structures.append(StructureElement(name, _box_mesh(s), T, self.material(role)))
        self.l.boxes.append((c, s))
        if footprint:
            self.l.footprints.append((c[0] - s[0] / 2, c[1] - s[1] / 2, c[0] + s[0] / 2, c[1] + s[1] / 2))

    def support(self, kind: str, centre_top, size_xy, clearance: float = float("inf")) -> None:
        T = np.eye(4)
        T[:3, 3] = centre_top
        idx = sum(1 for s in self.l.supports if s.name.split(":")[0] == kind)
        self.l.supports.append(SupportSurface(f"{kind}:{idx}", T, (float(size_xy[0]), float(size_xy[1])), clearance))

    def shell(self) -> None:
        l = self.l
        sx, sy, h = l.size_x, l.size_y, l.height
        self.box("floor", (sx / 2, sy / 2, -WALL / 2), (sx, sy, WALL), "floor", footprint=False)
        self.box("wall_back", (sx / 2, sy + WALL / 2, h / 2), (sx + 2 * WALL, WALL, h), "wall", footprint=False)
        self.box("wall_front", (sx / 2, -WALL / 2, h / 2), (sx + 2 * WALL, WALL, h), "wall", footprint=False)
        self.box("wall_left", (-WALL / 2, sy / 2, h / 2), (WALL, sy, h), "wall", footprint=False)
        self.box("wall_right", (sx + WALL / 2, sy / 2, h / 2), (WALL, sy, h), "wall", footprint=False)
        self.box("ceiling", (sx / 2, sy / 2, h + WALL / 2), (sx, sy, WALL), "wall", footprint=False)
        self.support("floor", (sx / 2, sy / 2, 0.0), (sx - 0.3, sy - 0.3))

    def counter(self, name: str, kind: str, x0: float, y0: float, x1: float, y1: float, height: float,
                role: str = "counter") -> None:
        """A cabinet body with a slightly overhanging top slab; its top is a support."""
        top = 0.04
        self.box(f"{name}_body", ((x0 + x1) / 2, (y0 + y1) / 2, (height - top) / 2),
                 (x1 - x0 - 0.04, y1 - y0 - 0.04, height - top), "cabinet")
        self.box(f"{name}_top", ((x0 + x1) / 2, (y0 + y1) / 2, height - top / 2), (x1 - x0, y1 - y0, top), role,
                 footprint=False)
        self.support(kind, ((x0 + x1) / 2, (y0 + y1) / 2, height), (x1 - x0, y1 - y0))

    def table(self, name: str, cx: float, cy: float, lx: float, ly: float, height: float,
              kind: str = "table") -> None:
        top = 0.035
        self.box(f"{name}_top", (cx, cy, height - top / 2), (lx, ly, top), "table")
        leg = 0.05
        for sx_ in (-1, 1):
            for sy_ in (-1, 1):
                self.box(f"{name}_leg", (cx + sx_ * (lx / 2 - leg), cy + sy_ * (ly / 2 - leg), (height - top) / 2),
                         (leg, leg, height - top), "table", footprint=False)
        self.support(kind, (cx, cy, height), (lx, ly))

    def shelf_unit(self, name: str, x0: float, x1: float, y_wall: float, depth: float, z0: float,
                   boards: int, spacing: float, facing: float = -1.0) -> None:
        """Wall-mounted boards from height z0 with ``spacing`` between them; side panels."""
        t = 0.025
        cy = y_wall + facing * depth / 2
        for b in range(boards):
            z = z0 + b * spacing
            self.box(f"{name}_board{b}", ((x0 + x1) / 2, cy, z - t / 2), (x1 - x0, depth, t), "shelf",
                     footprint=False)
            clearance = spacing - t if b < boards - 1 else float("inf")
            self.support("shelf", ((x0 + x1) / 2, cy, z), (x1 - x0, depth), clearance)
        zc = z0 + (boards - 1) * spacing / 2
        hz = (boards - 1) * spacing + 0.05
        for x in (x0 - t / 2, x1 + t / 2):
            self.box(f"{name}_side", (x, cy, zc), (t, depth, hz), "shelf", footprint=False)


def kitchen(rc, rng: np.random.Generator, material: MaterialFn) -> Layout:
    """Counters along the back wall (plus an L or U run with some probability), a wall shelf above
    the back counter, and an island or a table in the middle of the room."""
    l = Layout("kitchen", _u(rng, rc.size_x), _u(rng, rc.size_y), _u(rng, rc.wall_height),
               focus=("counter", "island", "table", "shelf"))
    b = _Builder(l, material)
    b.shell()
    ch, cd = _u(rng, rc.counter_height), _u(rng, rc.counter_depth)
    length = min(_u(rng, rc.counter_length), l.size_x - 0.4)
    x0 = _u(rng, (0.0, l.size_x - length))
    b.counter("counter_back", "counter", x0, l.size_y - cd, x0 + length, l.size_y, ch)
    if rng.random() < rc.side_counter_prob:
        side_len = min(_u(rng, rc.counter_length) * 0.7, l.size_y - cd - 0.9)
        if side_len > 0.6:
            left = x0 < l.size_x - (x0 + length)   # run along the wall nearer the back counter's end
            sx0, sx1 = (0.0, cd) if left else (l.size_x - cd, l.size_x)
            b.counter("counter_side", "counter", sx0, l.size_y - cd - side_len, sx1, l.size_y - cd, ch)
    n_shelves = int(rng.integers(rc.shelves[0], rc.shelves[1] + 1))
    if n_shelves > 0:
        shelf_len = min(length, _u(rng, (0.8, 1.6)))
        s0 = x0 + _u(rng, (0.0, length - shelf_len))
        b.shelf_unit("wall_shelf", s0, s0 + shelf_len, l.size_y, _u(rng, (0.25, 0.32)),
                     ch + _u(rng, (0.45, 0.6)), n_shelves, _u(rng, (0.3, 0.4)))
    free_depth = l.size_y - cd - 1.0          # keep a 1 m aisle in front of the counter
    if rng.random() < rc.island_prob and free_depth > 1.6:
        lx, ly = _u(rng, (1.0, 1.8)), _u(rng, (0.6, 0.9))
        cx = _u(rng, (0.4 + lx / 2, l.size_x - 0.4 - lx / 2))
        cy = _u(rng, (1.0 + ly / 2, l.size_y - cd - 1.0 - ly / 2))
        if rng.random() < 0.5:
            b.counter("island", "island", cx - lx / 2, cy - ly / 2, cx + lx / 2, cy + ly / 2, ch)
        else:
            b.table("table", cx, cy, lx, ly, _u(rng, (0.72, 0.78)))
    return l


def tabletop(rc, rng: np.random.Generator, material: MaterialFn) -> Layout:
    """A BOP-style table-top: one table in the middle of the room, objects piled on it."""
    l = Layout("tabletop", _u(rng, rc.size_x), _u(rng, rc.size_y), _u(rng, rc.wall_height), focus=("table",))
    b = _Builder(l, material)
    b.shell()
    lx, ly = _u(rng, (0.9, 1.4)), _u(rng, (0.6, 0.9))
    b.table("table", l.size_x / 2 + _u(rng, (-0.3, 0.3)), l.size_y / 2 + _u(rng, (-0.3, 0.3)), lx, ly,
            _u(rng, (0.72, 0.78)))
    return l


def workshop(rc, rng: np.random.Generator, material: MaterialFn) -> Layout:
    """A workbench along the back wall, a standing shelf rack on a side wall, floor space for boxes."""
    l = Layout("workshop", _u(rng, rc.size_x), _u(rng, rc.size_y), _u(rng, rc.wall_height),
               focus=("workbench", "shelf"))
    b = _Builder(l, material)
    b.shell()
    length = min(_u(rng, rc.counter_length), l.size_x - 1.2)
    x0 = _u(rng, (0.1, l.size_x - length - 1.0))
    depth = _u(rng, (0.65, 0.8))
    b.counter("workbench", "workbench", x0, l.size_y - depth, x0 + length, l.size_y,
              _u(rng, (0.88, 0.96)), role="workbench")
    # a standing rack against the right wall: boards facing -x
    rack_depth, rack_len = 0.45, min(1.4, l.size_y - depth - 0.4)
    y0 = l.size_y - depth - 0.2 - rack_len
    boards = int(rng.integers(max(rc.shelves[0], 2), max(rc.shelves[1], 2) + 2))
    t = 0.025
    for k in range(boards):
        z = 0.15 + k * 0.42
        b.box(f"rack_board{k}", (l.size_x - rack_depth / 2, y0 + rack_len / 2, z - t / 2), (rack_depth, rack_len, t),
              "shelf")
        b.support("shelf", (l.size_x - rack_depth / 2, y0 + rack_len / 2, z), (rack_depth, rack_len),
                  0.42 - t if k < boards - 1 else float("inf"))
    for y in (y0, y0 + rack_len):
        b.box("rack_post", (l.size_x - rack_depth / 2, y, 0.15 + (boards - 1) * 0.21), (rack_depth, 0.04,
              (boards - 1) * 0.42 + 0.3), "shelf", footprint=False)
    return l


#: One builder per name of :data:`synthgen.scene.kinds.LAYOUTS`.
LAYOUT_FUNCS = {"kitchen": kitchen, "tabletop": tabletop, "workshop": workshop}


def sample_layout(rc, rng: np.random.Generator, material: MaterialFn) -> Layout:
    """The layout named by ``rc.layout``, drawn from ``rng``."""
    return LAYOUT_FUNCS[rc.layout](rc, rng, material)
