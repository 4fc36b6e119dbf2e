"""Single-sample label rasterizer: instance labels, camera Z and body parts in one GL pass.

The colour pass stays pyrender's (PBR, lights, MSAA). Everything that is a *label* is drawn here,
with one small shader program on the same GL context, into an integer/float framebuffer:

- attachment 0, ``GL_R32I``: the instance label of the front-most surface (0 where none);
- attachment 1, ``GL_R32F``: its Z in the OpenCV camera frame, metres, interpolated per pixel
  (perspective-correct: the exact Z of the triangle's plane on the ray through the pixel centre),
  0 where nothing was hit;
- attachment 2, ``GL_R32I``: the body part (SMPL-X joint 0-54) of a person's face, or a constant
  per draw (``PART_NONE`` for objects and structures, ``PART_UNKNOWN`` for people without parts).

All three come from the same fragments, so a pixel shows a part exactly where it shows a person.
Framebuffers are single-sample: every pixel is sampled once, at its centre, which with
:func:`~synthgen.render.camera.gl_projection_matrix` is the OpenCV pixel centre.

Amodal passes draw each instance alone into its own tile of a large "atlas" framebuffer (viewport
and scissor per tile) and read the atlas back once: one GL submission for all instances instead
of one render call each (pyrender's per-call overhead and its framebuffer reallocation on every
viewport-size change cost more than the rasterization itself on llvmpipe).

Engine objects (GL names) stay inside this module; callers get numpy arrays.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synthgen.render.camera import CV_TO_GL, gl_projection_matrix

#: ``u_part`` value that selects the per-vertex part attribute.
_PER_VERTEX = -100

_VERTEX_SHADER = """#version 330 core
layout(location = 0) in vec3 a_pos;
layout(location = 1) in int a_part;
uniform mat4 u_mv;     // model -> OpenCV camera (x right, y down, z forward), metres
uniform mat4 u_proj;   // OpenCV camera -> GL clip space (the CV->GL flip included)
flat out int v_part;
out float v_z;
void main() {
    vec4 pc = u_mv * vec4(a_pos, 1.0);
    v_z = pc.z;
    v_part = a_part;
    gl_Position = u_proj * pc;
}
"""

_FRAGMENT_SHADER = """#version 330 core
flat in int v_part;
in float v_z;
uniform int u_label;
uniform int u_part;
layout(location = 0) out int o_label;
layout(location = 1) out float o_z;
layout(location = 2) out int o_part;
void main() {
    o_label = u_label;
    o_z = v_z;
    o_part = (u_part == %d) ? v_part : u_part;
}
""" % _PER_VERTEX


@dataclass
class FlatDraw:
    """One thing to draw: ``mesh`` (a handle from :meth:`FlatRasterizer.upload`), its 4x4 model->world
    pose (metres), its ``label`` and its ``part`` (a constant part code, or None for the mesh's
    per-vertex parts)."""

    mesh: int
    pose_world: np.ndarray
    label: int
    part: int | None


@dataclass
class FlatFrame:
    """(H, W) arrays of one label pass: ``label`` int32, ``z`` float32 metres, ``part`` int32."""

    label: np.ndarray
    z: np.ndarray
    part: np.ndarray


@dataclass
class Tile:
    """One atlas tile: draw ``draw`` with intrinsics ``K`` (its window's), size ``width`` x
    ``height`` pixels."""

    draw: FlatDraw
    K: np.ndarray
    width: int
    height: int


class FlatRasterizer:
    """Label/Z/part rasterizer on the current GL context (the caller makes it current).

    ``znear``/``zfar``: clip planes, metres. Meshes are uploaded with :meth:`upload` and freed
    with :meth:`clear_meshes`; :meth:`delete` frees everything (call while the context lives).
    """

    def __init__(self, znear: float, zfar: float):
        from OpenGL import GL as gl

        self._gl = gl
        self.znear, self.zfar = float(znear), float(zfar)
        self._program = _link_program(gl, _VERTEX_SHADER, _FRAGMENT_SHADER)
        self._loc = {name: gl.glGetUniformLocation(self._program, name)
                     for name in ("u_mv", "u_proj", "u_label", "u_part")}
        self._meshes: list[tuple[int, list[int], int]] = []  # (vao, buffers, index count)
        self._fbo = None
        self._fb_size = (0, 0)
        self._renderbuffers: list[int] = []
        self.max_size = int(min(gl.glGetIntegerv(gl.GL_MAX_RENDERBUFFER_SIZE),
                                *np.ravel(gl.glGetIntegerv(gl.GL_MAX_VIEWPORT_DIMS))))

    # -- meshes ----------------------------------------------------------------------------------

    def upload(self, vertices: np.ndarray, faces: np.ndarray, parts: np.ndarray | None = None) -> int:
        """Upload a triangle mesh ((N, 3) metres, (M, 3) vertex ids, optional (N,) int part per
        vertex); returns its handle. Positions are stored as float32."""
        gl = self._gl
        pos = np.ascontiguousarray(vertices, np.float32).reshape(-1, 3)
        idx = np.ascontiguousarray(faces, np.uint32).reshape(-1)
        vao = int(gl.glGenVertexArrays(1))
        gl.glBindVertexArray(vao)
        buffers = [int(b) for b in np.atleast_1d(gl.glGenBuffers(3 if parts is not None else 2))]
        gl.glBindBuffer(gl.GL_ARRAY_BUFFER, buffers[0])
        gl.glBufferData(gl.GL_ARRAY_BUFFER, pos.nbytes, pos, gl.GL_STATIC_DRAW)
        gl.glEnableVertexAttribArray(0)
        gl.glVertexAttribPointer(0, 3, gl.GL_FLOAT, gl.GL_FALSE, 0, None)
        if parts is not None:
            part = np.ascontiguousarray(parts, np.int32).reshape(-1)
            gl.glBindBuffer(gl.GL_ARRAY_BUFFER, buffers[2])
            gl.glBufferData(gl.GL_ARRAY_BUFFER, part.nbytes, part, gl.GL_STATIC_DRAW)
            gl.glEnableVertexAttribArray(1)
            gl.glVertexAttribIPointer(1, 1, gl.GL_INT, 0, None)
        gl.glBindBuffer(gl.GL_ELEMENT_ARRAY_BUFFER, buffers[1])
        gl.glBufferData(gl.GL_ELEMENT_ARRAY_BUFFER, idx.nbytes, idx, gl.GL_STATIC_DRAW)
        gl.glBindVertexArray(0)
        gl.glBindBuffer(gl.GL_ARRAY_BUFFER, 0)
        self._meshes.append((vao, buffers, int(idx.size)))
        return len(self._meshes) - 1

    def clear_meshes(self) -> None:
        """Free every uploaded mesh (handles become invalid)."""
        gl = self._gl
        for vao, buffers, _ in self._meshes:
            gl.glDeleteBuffers(len(buffers), np.asarray(buffers, np.uint32))
            gl.glDeleteVertexArrays(1, np.asarray([vao], np.uint32))
        self._meshes = []

    def delete(self) -> None:
        """Free meshes, framebuffer and program."""
        gl = self._gl
        self.clear_meshes()
        self._free_framebuffer()
        if self._program is not None:
            gl.glDeleteProgram(self._program)
            self._program = None

    # -- passes ----------------------------------------------------------------------------------

    def render(self, draws: list[FlatDraw], K: np.ndarray, T_w2c: np.ndarray, width: int, height: int) -> FlatFrame:
        """All ``draws`` seen by the OpenCV camera (``K``, world->camera ``T_w2c``), ``width`` x
        ``height`` pixels: labels, Z and parts of the front-most surfaces."""
        width, height = int(width), int(height)
        self._begin(width, height)
        try:   # whatever happens, leave no scissor or framebuffer behind for the colour pass
            self._viewport(0, 0, width, height)
            self._clear()
            proj = self._proj(K, width, height)
            for d in draws:
                self._draw(d, T_w2c, proj)
            label, z, part = self._read(0, 0, width, height, parts=True)
        finally:
            self._end()
        return FlatFrame(label[::-1].copy(), z[::-1].copy(), part[::-1].copy())

    def render_tiles(self, tiles: list[Tile], T_w2c: np.ndarray, atlas_size: int = 2048) -> list[np.ndarray]:
        """Each tile's draw alone in its own window: a list of (height, width) float32 Z images
        (metres, 0 outside the silhouette), in the order of ``tiles``.

        Tiles are packed in rows (shelves) of atlas pages about ``atlas_size`` pixels square
        (larger when a tile is); tiles that do not fit go to further pages, one pass each. The page
        size bounds the framebuffer's memory (16 bytes a pixel: 64 MiB at 2048).
        """
        out: list[np.ndarray | None] = [None] * len(tiles)
        todo = [i for i, t in enumerate(tiles) if t.width > 0 and t.height > 0]
        for i, t in enumerate(tiles):
            if i not in todo:
                out[i] = np.zeros((max(t.height, 0), max(t.width, 0)), np.float32)
            elif t.width > self.max_size or t.height > self.max_size:
                raise ValueError(f"amodal window {t.width}x{t.height} exceeds the GL limit {self.max_size}")
        aw = min(self.max_size, max([atlas_size] + [tiles[i].width for i in todo]))
        max_h = min(self.max_size, max([atlas_size] + [tiles[i].height for i in todo]))
        while todo:
            # shelf packing, in tile order, until the page is full (the first tile always fits)
            placed, x, y, shelf_h = [], 0, 0, 0
            for i in todo:
                t = tiles[i]
                if x + t.width > aw:
                    x, y, shelf_h = 0, y + shelf_h, 0
                if y + t.height > max_h:
                    break
                placed.append((i, x, y))
                x += t.width
                shelf_h = max(shelf_h, t.height)
            ah = y + shelf_h
            self._begin(aw, ah)
            try:
                self._viewport(0, 0, aw, ah)
                self._clear()
                for i, tx, ty in placed:
                    t = tiles[i]
                    # atlas rows are read back bottom-up and flipped: tile row ty (top-down) is GL y
                    self._viewport(tx, ah - ty - t.height, t.width, t.height)
                    self._draw(t.draw, T_w2c, self._proj(t.K, t.width, t.height))
                _, z, _ = self._read(0, 0, aw, ah, parts=False)
            finally:
                self._end()
            z = z[::-1]
            for i, tx, ty in placed:
                t = tiles[i]
                out[i] = z[ty:ty + t.height, tx:tx + t.width].copy()
            done = {i for i, _, _ in placed}
            todo = [i for i in todo if i not in done]
        return out  # type: ignore[return-value]

    # -- GL plumbing -----------------------------------------------------------------------------

    def _proj(self, K: np.ndarray, width: int, height: int) -> np.ndarray:
        return gl_projection_matrix(K, width, height, self.znear, self.zfar) @ CV_TO_GL

    def _draw(self, d: FlatDraw, T_w2c: np.ndarray, proj: np.ndarray) -> None:
        gl = self._gl
        vao, _, count = self._meshes[d.mesh]
        mv = np.asarray(T_w2c, np.float64) @ np.asarray(d.pose_world, np.float64)
        gl.glUniformMatrix4fv(self._loc["u_mv"], 1, gl.GL_TRUE, mv.astype(np.float32))
        gl.glUniformMatrix4fv(self._loc["u_proj"], 1, gl.GL_TRUE, proj.astype(np.float32))
        gl.glUniform1i(self._loc["u_label"], int(d.label))
        gl.glUniform1i(self._loc["u_part"], _PER_VERTEX if d.part is None else int(d.part))
        gl.glBindVertexArray(vao)
        gl.glDrawElements(gl.GL_TRIANGLES, count, gl.GL_UNSIGNED_INT, None)

    def _begin(self, width: int, height: int) -> None:
        gl = self._gl
        fw, fh = self._fb_size
        if width > fw or height > fh:
            # grow only (and to a multiple of 256): reallocations stay rare across views
            self._allocate(max(fw, _round_up(width, 256)), max(fh, _round_up(height, 256)))
        gl.glBindFramebuffer(gl.GL_FRAMEBUFFER, self._fbo)
        gl.glDrawBuffers(3, np.array([gl.GL_COLOR_ATTACHMENT0, gl.GL_COLOR_ATTACHMENT1,
                                      gl.GL_COLOR_ATTACHMENT2], np.uint32))
        gl.glUseProgram(self._program)
        gl.glDisable(gl.GL_BLEND)
        gl.glDisable(gl.GL_CULL_FACE)   # double-sided, as the colour pass's materials
        gl.glDisable(gl.GL_MULTISAMPLE)
        gl.glPolygonMode(gl.GL_FRONT_AND_BACK, gl.GL_FILL)
        gl.glEnable(gl.GL_DEPTH_TEST)
        gl.glDepthMask(gl.GL_TRUE)
        gl.glDepthFunc(gl.GL_LESS)
        gl.glEnable(gl.GL_SCISSOR_TEST)

    def _end(self) -> None:
        gl = self._gl
        # leave the state pyrender does not set itself as it expects it
        gl.glDisable(gl.GL_SCISSOR_TEST)
        gl.glBindVertexArray(0)
        gl.glUseProgram(0)
        gl.glBindFramebuffer(gl.GL_FRAMEBUFFER, 0)

    def _viewport(self, x: int, y: int, w: int, h: int) -> None:
        gl = self._gl
        gl.glViewport(x, y, w, h)
        gl.glScissor(x, y, w, h)

    def _clear(self) -> None:
        gl = self._gl
        gl.glClearBufferiv(gl.GL_COLOR, 0, np.zeros(4, np.int32))
        gl.glClearBufferfv(gl.GL_COLOR, 1, np.zeros(4, np.float32))
        gl.glClearBufferiv(gl.GL_COLOR, 2, np.full(4, -1, np.int32))
        gl.glClearBufferfv(gl.GL_DEPTH, 0, np.ones(1, np.float32))

    def _read(self, x: int, y: int, w: int, h: int, parts: bool):
        gl = self._gl
        gl.glPixelStorei(gl.GL_PACK_ALIGNMENT, 4)
        out = []
        for att, fmt, typ, dt in ((0, gl.GL_RED_INTEGER, gl.GL_INT, np.int32),
                                  (1, gl.GL_RED, gl.GL_FLOAT, np.float32),
                                  (2, gl.GL_RED_INTEGER, gl.GL_INT, np.int32)):
            if att != 1 and not parts:
                out.append(None)
                continue
            gl.glReadBuffer(gl.GL_COLOR_ATTACHMENT0 + att)
            buf = gl.glReadPixels(x, y, w, h, fmt, typ, outputType=bytes)
            out.append(np.frombuffer(buf, dt).reshape(h, w))
        return out

    def _allocate(self, width: int, height: int) -> None:
        gl = self._gl
        width, height = min(width, self.max_size), min(height, self.max_size)
        self._free_framebuffer()
        self._fbo = int(gl.glGenFramebuffers(1))
        gl.glBindFramebuffer(gl.GL_FRAMEBUFFER, self._fbo)
        rbs = [int(r) for r in np.atleast_1d(gl.glGenRenderbuffers(4))]
        for k, (rb, fmt) in enumerate(zip(rbs[:3], (gl.GL_R32I, gl.GL_R32F, gl.GL_R32I))):
            gl.glBindRenderbuffer(gl.GL_RENDERBUFFER, rb)
            gl.glRenderbufferStorage(gl.GL_RENDERBUFFER, fmt, width, height)
            gl.glFramebufferRenderbuffer(gl.GL_FRAMEBUFFER, gl.GL_COLOR_ATTACHMENT0 + k, gl.GL_RENDERBUFFER, rb)
        gl.glBindRenderbuffer(gl.GL_RENDERBUFFER, rbs[3])
        gl.glRenderbufferStorage(gl.GL_RENDERBUFFER, gl.GL_DEPTH_COMPONENT32F, width, height)
        gl.glFramebufferRenderbuffer(gl.GL_FRAMEBUFFER, gl.GL_DEPTH_ATTACHMENT, gl.GL_RENDERBUFFER, rbs[3])
        status = gl.glCheckFramebufferStatus(gl.GL_FRAMEBUFFER)
        gl.glBindRenderbuffer(gl.GL_RENDERBUFFER, 0)
        gl.glBindFramebuffer(gl.GL_FRAMEBUFFER, 0)
        self._renderbuffers = rbs
        self._fb_size = (width, height)
        if status != gl.GL_FRAMEBUFFER_COMPLETE:
            raise RuntimeError(f"label framebuffer {width}x{height} is incomplete (status {status:#x})")

    def _free_framebuffer(self) -> None:
        gl = self._gl
        if self._fbo is not None:
            gl.glDeleteFramebuffers(1, np.asarray([self._fbo], np.uint32))
            gl.glDeleteRenderbuffers(len(self._renderbuffers), np.asarray(self._renderbuffers, np.uint32))
        self._fbo, self._renderbuffers, self._fb_size = None, [], (0, 0)


def _round_up(n: int, step: int) -> int:
    return -(-int(n) // step) * step


def _link_program(gl, vertex_src: str, fragment_src: str) -> int:
    shaders = []
    for kind, src in ((gl.GL_VERTEX_SHADER, vertex_src), (gl.GL_FRAGMENT_SHADER, fragment_src)):
        sh = gl.glCreateShader(kind)
        gl.glShaderSource(sh, src)
        gl.glCompileShader(sh)
        if not gl.glGetShaderiv(sh, gl.GL_COMPILE_STATUS):
            raise RuntimeError(f"label shader does not compile: {gl.glGetShaderInfoLog(sh)!r}")
        shaders.append(sh)
    prog = gl.glCreateProgram()
    for sh in shaders:
        gl.glAttachShader(prog, sh)
    gl.glLinkProgram(prog)
    for sh in shaders:
        gl.glDetachShader(prog, sh)
        gl.glDeleteShader(sh)
    if not gl.glGetProgramiv(prog, gl.GL_LINK_STATUS):
        raise RuntimeError(f"label shader does not link: {gl.glGetProgramInfoLog(prog)!r}")
    return int(prog)
