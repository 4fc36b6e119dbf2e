"""pyrender adapter: a :class:`~synthgen.scene.description.Scene` and a Camera in, numpy arrays out.

Passes per :meth:`Renderer.render`:
- colour: lit PBR pass with pyrender's 4x MSAA (antialiased ``rgb``);
- labels: one single-sample pass of :mod:`synthgen.render.flat` that writes, per pixel, the
  instance label, its Z in the OpenCV camera frame and, for people, the body part. Every pixel is
  sampled once, at its centre, so ``seg`` and ``depth`` agree with the projection
  ``u = fx x/z + cx`` exactly (the colour pass's MSAA depth is not used).

Body parts: each person is uploaded once per scene with its faces grouped by the dominant
skinning joint of their vertices (``PersonInstance.skin_joint``, :func:`face_parts`). Every pixel
of :attr:`RenderOutput.parts` holds the SMPL-X joint index (0-54) of the part it shows,
:data:`PART_NONE` where it shows no person, :data:`PART_UNKNOWN` where it shows a person without
``skin_joint``. Parts and labels come from the same fragments (same float32 positions), so a pixel
shows a part exactly where ``seg`` shows that person.

Amodal masks (:meth:`Renderer.render_amodal`): every instance drawn alone into its own window of
one atlas framebuffer, read back once (see :mod:`synthgen.render.flat`).

Scene-graph caching: building the pyrender scene (meshes, normals, GPU upload) and the label
meshes happens once per ``Scene`` and is reused for all its cameras. The renderer rebuilds only
when handed a different ``Scene`` object than the last one (an identity check; the renderer keeps
a reference, so a recycled ``id()`` cannot alias). Poses (``pose_world`` of objects, structures
and lights) and ``ambient`` are re-read on every call, so moving things between frames is fine; if
mesh geometry or materials of the *same* Scene object change, call :meth:`Renderer.prepare` to
rebuild. Only one scene is held at a time; preparing another frees the previous one's GPU buffers.
"""
from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import trimesh

from synthgen.groundtruth.labels import PART_NONE, PART_UNKNOWN, Silhouette
from synthgen.groundtruth.projection import project, transform
from synthgen.render.camera import gl_camera_pose
from synthgen.render.flat import FlatDraw, FlatRasterizer, Tile
from synthgen.render.gl import create_offscreen_renderer, import_pyrender, keep_current_context
from synthgen.scene.description import Camera, Light, Material, MeshData, Scene, mesh_digest, person_mesh

#: Label of background pixels and of ``scene.structures`` in ``seg``.
BACKGROUND_LABEL = 0
#: ``seg`` label of ``scene.persons[j]`` is ``PERSON_LABEL_BASE + j``.
PERSON_LABEL_BASE = 1 << 16
#: Largest label: the label pass stores int32.
MAX_LABEL = (1 << 31) - 1
#: Number of SMPL-X skinned joints: valid part labels are 0 .. NUM_PARTS - 1.
NUM_PARTS = 55
#: Meshes whose shading geometry a renderer keeps between scenes (an asset library's size).
GEOMETRY_CACHE_SIZE = 512
#: Near clip plane of every dataset render (the runner's and ``validate``'s), metres: the
#: :class:`Renderer`'s default. At 5 cm the colour pass's 24-bit depth buffer separates surfaces
#: < 0.1 mm apart (BOP's depth step) to ~9 m (labels and depth have their own float depth buffer).
#: Dataset bytes depend on it: parts of objects nearer than this are clipped.
RENDER_ZNEAR = 0.05
#: Far clip plane of every dataset render, metres: the :class:`Renderer`'s default.
RENDER_ZFAR = 50.0


def object_label(k: int) -> int:
    """``seg`` label of ``scene.objects[k]``: ``1 + k``."""
    if not 0 <= k < PERSON_LABEL_BASE - 1:
        raise ValueError(f"object index {k} out of range [0, {PERSON_LABEL_BASE - 1})")
    return 1 + int(k)


def person_label(j: int) -> int:
    """``seg`` label of ``scene.persons[j]``: ``PERSON_LABEL_BASE + j``."""
    if not 0 <= j <= MAX_LABEL - PERSON_LABEL_BASE:
        raise ValueError(f"person index {j} out of range")
    return PERSON_LABEL_BASE + int(j)


def scene_labels(scene: Scene) -> list[int]:
    """All instance labels of ``scene``: objects first, then persons."""
    return [object_label(k) for k in range(len(scene.objects))] + [
        person_label(j) for j in range(len(scene.persons))
    ]


@dataclass
class RenderOutput:
    """One rendered view. ``rgb`` (H, W, 3) uint8; ``depth`` (H, W) float32 metres, the Z
    coordinate in the OpenCV camera frame, 0 where nothing was hit; ``seg`` (H, W) int32 labels
    (0 background/structures, ``object_label(k)``, ``person_label(j)``); ``parts`` (H, W) int32
    body part per pixel (SMPL-X joint 0-54, :data:`PART_NONE`, :data:`PART_UNKNOWN`)."""

    rgb: np.ndarray
    depth: np.ndarray
    seg: np.ndarray
    parts: np.ndarray


def face_parts(faces: np.ndarray, skin_joint: np.ndarray) -> np.ndarray:
    """(M,) body part of each face: the dominant skinning joint shared by at least two of its three
    vertices, else that of its first vertex. ``faces`` (M, 3) vertex ids, ``skin_joint`` (N,)."""
    sj = np.asarray(skin_joint, np.int64)[np.asarray(faces, np.int64)]
    a, b, c = sj[:, 0], sj[:, 1], sj[:, 2]
    # a wins when it agrees with b or c, or when all three differ (first vertex); b when b == c.
    return np.where((b == c) & (a != b), b, a)


def part_mesh(vertices: np.ndarray, faces: np.ndarray, skin_joint: np.ndarray):
    """A person's mesh regrouped so that every vertex belongs to one body part: returns
    ``(vertices (N', 3) float32, faces (M, 3), part (N',) int32)``. Faces keep their triangles
    (the same float32 positions as the person's own vertices); a vertex shared by faces of
    different parts is duplicated, once per part (a per-vertex label must be constant over a face)."""
    faces = np.asarray(faces, np.int64)
    labels = face_parts(faces, skin_joint)
    keys = labels[:, None] * (len(vertices) + 1) + faces      # (part, vertex) pairs
    uniq, inverse = np.unique(keys.ravel(), return_inverse=True)
    vid = uniq % (len(vertices) + 1)
    part = (uniq // (len(vertices) + 1)).astype(np.int32)
    verts = np.asarray(vertices, np.float32)[vid]
    return verts, inverse.reshape(-1, 3), part


@dataclass
class _Prepared:
    """The GL state of one synthgen Scene (private: pyrender objects and GL names live here only)."""

    source: Scene
    pr_scene: object  # pyrender.Scene of the colour pass
    camera: object  # the OpenCV camera subclass of pyrender.Camera
    camera_node: object
    posed: list  # (pyrender.Node, record with .pose_world)
    # label pass: (record with .pose_world or None for identity, mesh handle, label, part or None)
    flat: list
    flat_of_label: dict  # label -> index into ``flat``


class Renderer:
    """Offscreen renderer of synthgen scenes (pyrender on EGL/OSMesa); returns numpy arrays only.

    ``width``, ``height``: initial framebuffer size in pixels (each call renders at its camera's
    ``width`` x ``height``). ``znear``/``zfar``: clip planes in metres (default
    :data:`RENDER_ZNEAR`, :data:`RENDER_ZFAR`, as in datasets). ``bg_color``: linear RGB of
    empty pixels in ``rgb``. ``shadows``: shadow maps for directional lights (slow on llvmpipe).
    ``spot_cone``: (inner, outer) cone half-angles in radians for spot lights. ``msaa``: samples
    per pixel of the colour pass (1 = no anti-aliasing, 2, 4 or 8; labels and depth are always
    sampled once, at the pixel centre). Use as a context manager, or call :meth:`close` to
    release the GL context.

    The colour pass is pyrender 0.1.45's, adjusted on this renderer's instances only by
    :mod:`synthgen.render.pyrender_compat` (node sets iterated in insertion order, the
    multisample count, light uniforms bound once per program, an OpenCV camera).
    Raises :class:`~synthgen.render.gl.GLUnavailableError` when no context can be made.
    """

    def __init__(
        self,
        width: int,
        height: int,
        *,
        znear: float = RENDER_ZNEAR,
        zfar: float = RENDER_ZFAR,
        bg_color: tuple[float, float, float] = (0.0, 0.0, 0.0),
        shadows: bool = False,
        spot_cone: tuple[float, float] = (0.0, math.pi / 4.0),
        msaa: int = 4,
    ):
        if width <= 0 or height <= 0:
            raise ValueError(f"image size must be positive, got {width}x{height}")
        if not 0 < znear < zfar:
            raise ValueError(f"need 0 < znear < zfar, got znear={znear}, zfar={zfar}")
        self.width, self.height = int(width), int(height)
        self.znear, self.zfar = float(znear), float(zfar)
        self.bg_color = tuple(float(c) for c in bg_color)
        self.shadows = bool(shadows)
        self.spot_cone = (float(spot_cone[0]), float(spot_cone[1]))
        if msaa not in (1, 2, 4, 8):
            raise ValueError(f"msaa must be 1, 2, 4 or 8 samples per pixel, got {msaa!r}")
        self.msaa = int(msaa)
        self._pr = import_pyrender()
        # Imported here, not at the top: its import asserts pyrender's pinned version, which must
        # surface as a one-line GLUnavailableError when a Renderer is made, not when synthgen.render
        # is imported (import_pyrender has already imported it).
        from synthgen.render import pyrender_compat

        self._compat = pyrender_compat
        self._offscreen = create_offscreen_renderer(self.width, self.height)
        pyrender_compat.set_colour_samples(self._offscreen, self.msaa)
        pyrender_compat.bind_lights_once_per_program(self._offscreen)
        self._camera_cls = pyrender_compat.opencv_camera_class(self._pr)
        self._prepared: _Prepared | None = None
        self._flat: FlatRasterizer | None = None
        self._geometry_cache: OrderedDict[tuple[str, bool], _Geometry] = OrderedDict()
        try:
            self._make_current()
            self._flat = FlatRasterizer(self.znear, self.zfar)
        except Exception:
            self.close()
            raise

    # -- lifecycle -------------------------------------------------------------------------------

    def close(self) -> None:
        """Release the GL context and all GPU buffers. Safe to call twice."""
        if self._offscreen is not None:
            mine = self._compat.egl_context(self._offscreen)
            # whatever context was current stays current (this may run from __del__, mid-render)
            with keep_current_context(exclude=mine):
                self._prepared = None
                flat, self._flat = self._flat, None
                if flat is not None:
                    try:
                        self._make_current()
                        flat.delete()
                    except Exception:  # noqa: BLE001 - the context goes next; its objects go with it
                        pass
                offscreen, self._offscreen = self._offscreen, None
                self._compat.release_offscreen_renderer(offscreen)

    def __del__(self):
        # pyrender's own finalizer would eglTerminate the display shared by every live Renderer.
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown: GL modules may be gone
            pass

    def __enter__(self) -> Renderer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _require_open(self):
        if self._offscreen is None:
            raise RuntimeError("Renderer is closed")
        return self._offscreen

    def _make_current(self) -> None:
        # Several renderers (contexts) may live in one thread: the label passes must draw into ours.
        self._compat.make_current(self._require_open())

    # -- scene graph -----------------------------------------------------------------------------

    def prepare(self, scene: Scene) -> None:
        """Build (or rebuild) the scene graph of ``scene``; later calls with it reuse the graph."""
        self._require_open()
        pr = self._pr
        if len(scene.objects) >= PERSON_LABEL_BASE - 1:
            raise ValueError(f"too many objects for the label encoding: {len(scene.objects)}")
        for person in scene.persons:
            _check_skin_joint(person)   # fail before any GL work
        self._prepared = None
        self._make_current()
        self._flat.clear_meshes()
        pr_scene = pr.Scene(bg_color=(*self.bg_color, 1.0), ambient_light=np.asarray(scene.ambient, float))
        self._compat.order_node_sets(pr_scene)
        posed: list = []
        flat: list = []
        flat_of_label: dict[int, int] = {}
        # Instances of one asset share a MeshData; upload it once per (mesh, material) for colour
        # and once per mesh for labels. The scene holds the MeshData alive while these dicts
        # exist, so id() is unambiguous here.
        mesh_cache: dict[tuple, object] = {}
        flat_cache: dict[int, int] = {}

        def shared_mesh(mesh: MeshData, material: Material):
            key = (id(mesh), _material_key(material))
            if key not in mesh_cache:
                textured = mesh.uv is not None and material.texture is not None
                mesh_cache[key] = self._mesh(self._geometry(mesh, textured), material, mesh.uv)
            return mesh_cache[key]

        def flat_mesh(mesh: MeshData) -> int:
            if id(mesh) not in flat_cache:
                flat_cache[id(mesh)] = self._flat.upload(mesh.vertices, mesh.faces)
            return flat_cache[id(mesh)]

        for s in scene.structures:
            node = pr_scene.add(shared_mesh(s.mesh, s.material), pose=np.asarray(s.pose_world, float))
            posed.append((node, s))
            # Structures occlude and have depth in the label pass, with label 0.
            flat.append((s, flat_mesh(s.mesh), BACKGROUND_LABEL, PART_NONE))
        for k, obj in enumerate(scene.objects):
            node = pr_scene.add(shared_mesh(obj.mesh, obj.material), pose=np.asarray(obj.pose_world, float))
            posed.append((node, obj))
            flat_of_label[object_label(k)] = len(flat)
            flat.append((obj, flat_mesh(obj.mesh), object_label(k), PART_NONE))
        for j, person in enumerate(scene.persons):
            # Body meshes are smooth: plain vertex normals, no crease splitting (24k vertices).
            if getattr(person, "face_uv", None) is not None and person.material.texture is not None:
                geometry, uv = _textured_body_geometry(person.vertices, person.faces, person.uv, person.face_uv)
                mesh = self._mesh(geometry, person.material, uv=uv)
            else:
                mesh = self._mesh(_shading_geometry(person.vertices, person.faces, None, False), person.material)
            pr_scene.add(mesh, pose=np.eye(4))
            for shell in person.shells:   # hair, skirts, aprons: their own material
                pr_scene.add(self._mesh(_shading_geometry(shell.vertices, shell.faces, None, False), shell.material,
                                        uv=shell.uv), pose=np.eye(4))
            flat_of_label[person_label(j)] = len(flat)
            verts, faces, skin = person_mesh(person)
            if skin is None:
                flat.append((None, self._flat.upload(verts, faces), person_label(j), PART_UNKNOWN))
            else:
                handle = self._flat.upload(*part_mesh(verts, faces, skin))
                flat.append((None, handle, person_label(j), None))
        for light in scene.lights:
            node = pr_scene.add(self._pyrender_light(light), pose=np.asarray(light.pose_world, float))
            posed.append((node, light))
        camera = self._camera_cls(self.znear, self.zfar)
        camera_node = pr_scene.add(camera, pose=np.eye(4))
        self._prepared = _Prepared(scene, pr_scene, camera, camera_node, posed, flat, flat_of_label)

    def _geometry(self, mesh: MeshData, textured: bool) -> _Geometry:
        """Shading geometry of ``mesh``, cached across scenes by content: assets recur in every
        scene and crease splitting is the slowest part of preparing one. The key is a hash of the
        vertex, face and colour arrays, so a changed (or copied) mesh is never served stale
        geometry; oldest entries go first. No crease splitting for textured meshes: a UV-mapped
        mesh is already split where its charts meet, and splitting would lose the UVs."""
        key = (mesh_digest(mesh, with_colors=True), textured)
        hit = self._geometry_cache.get(key)
        if hit is not None:
            self._geometry_cache.move_to_end(key)
            return hit
        geometry = _shading_geometry(mesh.vertices, mesh.faces, mesh.vertex_colors, not textured)
        self._geometry_cache[key] = geometry
        while len(self._geometry_cache) > GEOMETRY_CACHE_SIZE:
            self._geometry_cache.popitem(last=False)
        return geometry

    def _pyrender_light(self, light: Light):
        pr = self._pr
        color = np.asarray(light.color, float)
        if light.kind == "directional":
            return pr.DirectionalLight(color=color, intensity=light.intensity)
        if light.kind == "point":
            return pr.PointLight(color=color, intensity=light.intensity)
        if light.kind == "spot":
            inner, outer = self.spot_cone
            return pr.SpotLight(color=color, intensity=light.intensity, innerConeAngle=inner, outerConeAngle=outer)
        raise ValueError(f"unknown light kind {light.kind!r} (expected directional, point or spot)")

    def _mesh(self, geometry: _Geometry, material: Material, uv=None):
        """pyrender.Mesh of one triangle mesh; with ``uv`` (matching ``geometry``'s vertices) and a
        ``material.texture`` the texture is applied."""
        pr = self._pr
        textured = uv is not None and material.texture is not None
        alpha = float(material.base_color[3])
        pr_material = pr.MetallicRoughnessMaterial(
            baseColorFactor=np.asarray(material.base_color, float),
            metallicFactor=float(material.metallic),
            roughnessFactor=float(material.roughness),
            alphaMode="BLEND" if alpha < 1.0 else "OPAQUE",
            # Double-sided: open meshes (bowls, cups, single-quad floors) must show their inside.
            doubleSided=True,
            baseColorTexture=(pr.Texture(source=np.ascontiguousarray(material.texture[..., :3], np.uint8),
                                         source_channels="RGB") if textured else None),
        )
        primitive = pr.Primitive(
            positions=geometry.positions,
            normals=geometry.normals,
            indices=geometry.indices,
            texcoord_0=np.asarray(uv, np.float32) if textured else None,
            color_0=geometry.colors,
            material=pr_material,
            mode=pr.GLTF.TRIANGLES,
        )
        mesh = pr.Mesh(primitives=[primitive])
        self._compat.fill_mesh_bounds(mesh)   # shadow mapping needs them; pyrender's fail on NumPy 2
        return mesh

    def _sync(self, scene: Scene) -> _Prepared:
        """The prepared graph of ``scene`` with poses and ambient light re-read from it."""
        if self._prepared is None or self._prepared.source is not scene:
            self.prepare(scene)
        prep = self._prepared
        for node, record in prep.posed:
            pose = np.asarray(record.pose_world, float)
            if not np.array_equal(pose, node.matrix):
                prep.pr_scene.set_pose(node, pose)
        prep.pr_scene.ambient_light = np.asarray(scene.ambient, float)
        return prep

    @staticmethod
    def _flat_draw(entry) -> FlatDraw:
        record, handle, label, part = entry
        pose = np.eye(4) if record is None else np.asarray(record.pose_world, float)
        return FlatDraw(handle, pose, label, part)

    # -- rendering -------------------------------------------------------------------------------

    def render(self, scene: Scene, camera: Camera) -> RenderOutput:
        """Render ``scene`` seen by ``camera`` (OpenCV ``K``, ``T_w2c``) at camera.width x camera.height."""
        pr = self._pr
        prep = self._sync(scene)
        prep.camera.K = np.asarray(camera.K, float)
        prep.pr_scene.set_pose(prep.camera_node, gl_camera_pose(camera.T_w2c))
        offscreen = self._require_open()
        offscreen.viewport_width, offscreen.viewport_height = int(camera.width), int(camera.height)
        flags = pr.RenderFlags.SHADOWS_DIRECTIONAL if self.shadows else pr.RenderFlags.NONE
        rgb, _msaa_depth = offscreen.render(prep.pr_scene, flags)
        labels = self._label_pass(prep, camera)
        return RenderOutput(rgb=np.ascontiguousarray(rgb[..., :3], dtype=np.uint8), depth=labels.z,
                            seg=labels.label, parts=labels.part)

    def _label_pass(self, prep: _Prepared, camera: Camera):
        self._make_current()
        draws = [self._flat_draw(e) for e in prep.flat]
        return self._flat.render(draws, camera.K, camera.T_w2c, camera.width, camera.height)

    def render_parts(self, scene: Scene, camera: Camera) -> np.ndarray:
        """Body-part pass of ``scene`` seen by ``camera``: (H, W) int32, at every pixel the SMPL-X
        joint index (0-54) of the body part the pixel shows (the dominant skinning joint of the
        visible face, see :func:`face_parts`), :data:`PART_NONE` (-1) where the pixel shows no
        person (objects and structures occlude as in ``seg``), :data:`PART_UNKNOWN` (-2) where it
        shows a person without ``skin_joint``. The same as :attr:`RenderOutput.parts` of
        :meth:`render` (which computes it anyway); this runs the label pass alone."""
        return self._label_pass(self._sync(scene), camera).part

    def render_amodal(
        self, scene: Scene, camera: Camera, labels, canvas_scale: int = 1
    ) -> dict[int, Silhouette]:
        """Render each instance in ``labels`` alone: its full silhouette and its own depth.

        The canvas is ``canvas_scale`` times the image in each direction, centred: offset
        ``(ox, oy) = ((s - 1) * W // 2, (s - 1) * H // 2)`` and principal point shifted by it, so
        with ``canvas_scale=3`` the parts outside the image are counted (BOP px_count_all rule).
        Each instance is rasterized only over the canvas window its projected vertices span
        (exact: the window is an integer shift of the principal point), all windows in one atlas
        pass; for instances crossing the near plane the window bounds their clipped polygons.
        Returns label -> :class:`~synthgen.groundtruth.labels.Silhouette` (the type the label code
        reads), with ``image_size`` (W, H) and ``canvas_size`` set.
        """
        canvas_scale = int(canvas_scale)
        if canvas_scale < 1:
            raise ValueError(f"canvas_scale must be a positive integer, got {canvas_scale}")
        prep = self._sync(scene)
        W, H = int(camera.width), int(camera.height)
        ox, oy = (canvas_scale - 1) * W // 2, (canvas_scale - 1) * H // 2
        wc, hc = canvas_scale * W, canvas_scale * H
        K_canvas = np.array(camera.K, dtype=float)
        K_canvas[0, 2] += ox
        K_canvas[1, 2] += oy
        tiles, origins = [], []
        for label in labels:
            label = int(label)
            if label not in prep.flat_of_label:
                raise KeyError(f"label {label} is not an instance of scene {scene.scene_id}")
            x0, y0, x1, y1 = self._window(scene, label, K_canvas, camera.T_w2c, wc, hc)
            w, h = max(0, x1 - x0), max(0, y1 - y0)
            K_win = K_canvas.copy()
            K_win[0, 2] -= x0
            K_win[1, 2] -= y0
            tiles.append(Tile(self._flat_draw(prep.flat[prep.flat_of_label[label]]), K_win, w, h))
            origins.append((label, (x0, y0) if w and h else (0, 0)))
        self._make_current()
        windows = self._flat.render_tiles(tiles, camera.T_w2c)
        return {label: Silhouette(win, origin, ox, oy, image_size=(W, H), canvas_size=(wc, hc))
                for (label, origin), win in zip(origins, windows)}

    def _window(self, scene: Scene, label: int, K: np.ndarray, T_w2c: np.ndarray, wc: int, hc: int):
        """Canvas pixel window [x0, x1) x [y0, y1) that instance ``label`` can cover."""
        if label >= PERSON_LABEL_BASE:
            person = scene.persons[label - PERSON_LABEL_BASE]
            verts, faces, _ = person_mesh(person)
            verts = np.asarray(verts, float)
        else:
            obj = scene.objects[label - 1]
            verts = transform(obj.pose_world, obj.mesh.vertices)
            faces = obj.mesh.faces
        pc = transform(T_w2c, verts)           # OpenCV camera frame, metres
        z = pc[:, 2]
        if len(z) == 0 or np.all(z > self.zfar) or np.all(z <= self.znear):
            return 0, 0, 0, 0  # nothing in front of the near plane: nothing to rasterize
        front = pc[z > self.znear]
        if len(front) < len(pc):
            # Crossing the near plane: GL clips the triangles there, so the drawn polygons' corners
            # are the vertices in front plus the points where edges cross z = znear.
            edges = np.asarray(faces, np.int64)[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2)
            za, zb = z[edges[:, 0]], z[edges[:, 1]]
            cross = (za > self.znear) != (zb > self.znear)
            a, b = pc[edges[cross, 0]], pc[edges[cross, 1]]
            t = (self.znear - a[:, 2]) / (b[:, 2] - a[:, 2])
            front = np.concatenate([front, a + t[:, None] * (b - a)])
        uv = project(K, front)     # every point lies in front of the near plane: no NaN
        # Pixel centres within one pixel of the projected bounding box: rasterization never covers
        # a centre outside the convex hull of the projected corners.
        lo = np.clip(np.floor(uv.min(axis=0)) - 1, 0, [wc, hc])
        hi = np.clip(np.ceil(uv.max(axis=0)) + 2, 0, [wc, hc])
        return int(lo[0]), int(lo[1]), int(hi[0]), int(hi[1])


def _check_skin_joint(person) -> None:
    """A person's ``skin_joint``, when present, labels each vertex with a joint 0-54."""
    sj = person.skin_joint
    if sj is None:
        return
    sj = np.asarray(sj)
    n = len(person.vertices)
    if sj.shape != (n,) or not np.issubdtype(sj.dtype, np.integer):
        raise ValueError(f"person {person.person_id}: skin_joint must be ({n},) integers, got "
                         f"{sj.shape} {sj.dtype}")
    if n and (sj.min() < 0 or sj.max() >= NUM_PARTS):
        raise ValueError(f"person {person.person_id}: skin_joint values must lie in 0..{NUM_PARTS - 1}")


def _material_key(m: Material) -> tuple:
    tex = id(m.texture) if m.texture is not None else None
    return (tuple(float(c) for c in m.base_color), float(m.metallic), float(m.roughness), tex)


@dataclass(frozen=True)
class _Geometry:
    """Shading geometry of one mesh (float32 positions/normals, uint32 faces, optional colours)."""

    positions: np.ndarray
    normals: np.ndarray
    indices: np.ndarray
    colors: np.ndarray | None


def _textured_body_geometry(vertices, faces, uv, face_uv) -> tuple[_Geometry, np.ndarray]:
    """Shading geometry of a body whose texture coordinates are per face corner (``face_uv``
    (F, 3) indices into ``uv`` (T, 2), v up as in OpenGL and OBJ: image row 0 is v = 1, as
    pyrender samples it): normals from the welded mesh, so the shading stays smooth across UV
    seams, then one vertex per distinct (vertex, uv) pair. Returns the geometry and its texture
    coordinates."""
    faces = np.asarray(faces, np.int64)
    corners = np.stack([faces.ravel(), np.asarray(face_uv, np.int64).ravel()], axis=1)
    pairs, inverse = np.unique(corners, axis=0, return_inverse=True)
    normals = trimesh.Trimesh(vertices=np.asarray(vertices, float), faces=faces, process=False).vertex_normals
    uv = np.asarray(uv, np.float64)[pairs[:, 1]]
    geometry = _Geometry(np.asarray(vertices, np.float32)[pairs[:, 0]], np.asarray(normals, np.float32)[pairs[:, 0]],
                         inverse.reshape(-1, 3).astype(np.uint32), None)
    return geometry, uv


def _shading_geometry(vertices, faces, vertex_colors, split_creases: bool) -> _Geometry:
    """Vertex normals for the colour pass. ``split_creases``: duplicate vertices along sharp
    edges (trimesh's ``smooth_shaded``) so boxes stay flat-shaded while curved parts stay smooth."""
    tm = trimesh.Trimesh(
        vertices=np.asarray(vertices, float),
        faces=np.asarray(faces, np.int64),
        vertex_colors=vertex_colors,
        process=False,
    )
    if split_creases:
        tm = tm.smooth_shaded
    colors = np.asarray(tm.visual.vertex_colors) if vertex_colors is not None else None
    return _Geometry(np.asarray(tm.vertices, np.float32), np.asarray(tm.vertex_normals, np.float32),
                     np.asarray(tm.faces, np.uint32), colors)
