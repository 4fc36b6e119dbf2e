"""Domain-randomized materials (pure numpy; all draws from the scene's generator).

Room surfaces get a per-role material (floor, wall, cabinet, counter, table, shelf, workbench),
with a procedural texture with probability ``surface_texture_prob``; objects get a random PBR
material (metal with ``metallic_prob``), textured with ``object_texture_prob``.
"""
from __future__ import annotations

import numpy as np

from .description import Material
from .textures import make_texture

# Texture kinds that suit each room role (intersected with the configured kinds).
_ROLE_TEXTURES = {
    "floor": ("tiles", "wood", "noise"), "wall": ("noise", "stripes", "tiles"),
    "cabinet": ("wood", "noise", "stripes"), "counter": ("noise", "wood", "tiles"),
    "table": ("wood", "noise"), "shelf": ("wood", "noise"), "workbench": ("wood", "noise"),
}


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def random_color(rng: np.random.Generator, lo: float = 0.1, hi: float = 0.9) -> tuple[float, float, float, float]:
    c = rng.uniform(lo, hi, size=3)
    return (float(c[0]), float(c[1]), float(c[2]), 1.0)


class SurfaceMaterials:
    """One material per room role for one scene (drawn lazily, in the order roles are asked for,
    which the layout code fixes, so the draws are reproducible)."""

    def __init__(self, mc, rng: np.random.Generator):
        self.mc = mc
        self.rng = rng
        self._cache: dict[str, Material] = {}

    def __call__(self, role: str) -> Material:
        if role not in self._cache:
            rng, mc = self.rng, self.mc
            bright = (0.55, 0.95) if role == "wall" else (0.2, 0.85)
            texture = None
            kinds = [k for k in _ROLE_TEXTURES.get(role, ("noise",)) if k in mc.textures]
            if kinds and rng.random() < mc.surface_texture_prob:
                texture = make_texture(kinds[int(rng.integers(len(kinds)))], rng)
                color = (1.0, 1.0, 1.0, 1.0)   # the texture carries the colour
            else:
                color = random_color(rng, *bright)
            self._cache[role] = Material(base_color=color, metallic=0.0,
                                         roughness=_u(rng, 0.4, 0.95), texture=texture)
        return self._cache[role]


def object_material(mc, rng: np.random.Generator) -> Material:
    """A random PBR material for one object instance."""
    if rng.random() < mc.metallic_prob:
        grey = _u(rng, 0.5, 0.95)
        tint = rng.uniform(0.9, 1.0, size=3) * grey
        return Material(base_color=(float(tint[0]), float(tint[1]), float(tint[2]), 1.0),
                        metallic=_u(rng, 0.8, 1.0), roughness=_u(rng, 0.1, 0.4))
    texture = None
    if mc.textures and rng.random() < mc.object_texture_prob:
        texture = make_texture(mc.textures[int(rng.integers(len(mc.textures)))], rng, size=64)
    return Material(base_color=random_color(rng) if texture is None else (1.0, 1.0, 1.0, 1.0),
                    metallic=_u(rng, 0.0, 0.2), roughness=_u(rng, *mc.roughness), texture=texture)


def kelvin_to_rgb(kelvin: float) -> tuple[float, float, float]:
    """Approximate linear RGB (max channel 1) of a black body at ``kelvin`` (1000-40000 K), from
    Tanner Helland's fit to Mitchell Charity's black-body table."""
    t = kelvin / 100.0
    if t <= 66:
        r = 255.0
        g = 99.4708025861 * np.log(t) - 161.1195681661
        b = 0.0 if t <= 19 else 138.5177312231 * np.log(t - 10) - 305.0447927307
    else:
        r = 329.698727446 * (t - 60) ** -0.1332047592
        g = 288.1221695283 * (t - 60) ** -0.0755148492
        b = 255.0
    rgb = np.clip(np.array([r, g, b]) / 255.0, 0.0, 1.0)
    rgb = rgb / rgb.max()
    return (float(rgb[0]), float(rgb[1]), float(rgb[2]))
