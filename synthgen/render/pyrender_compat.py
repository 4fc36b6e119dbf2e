"""pyrender 0.1.45, adjusted: every use of pyrender's private attributes, in one module.

synthgen's colour pass is pyrender's. A few of its internals are wrapped, replaced or read, always
on this process's own objects (an ``OffscreenRenderer``, a ``Scene``, a ``Mesh``), never on
pyrender's classes:

- :func:`order_node_sets`: a Scene's node sets iterate in insertion order (same bytes in every
  process);
- :func:`set_colour_samples`: the colour pass's multisample count;
- :func:`bind_lights_once_per_program`: light uniforms bound once per shader program and frame;
- :func:`fill_mesh_bounds`: a Mesh's bounds cache, which pyrender computes with ``np.infty``
  (gone in NumPy 2);
- :func:`opencv_camera_class`: a Camera whose projection follows OpenCV's pixel centres;
- :func:`release_offscreen_renderer`, :func:`make_current`, :func:`egl_context`,
  :func:`egl_device_extensions`: an offscreen renderer's EGL context and devices.

Each one is written against pyrender 0.1.45's source, and private attributes change without
notice, so importing this module asserts that version (:data:`PINNED_VERSION`, the pin in
pyproject.toml): any other raises :class:`PyrenderVersionError`, one line. Check every function
here when upgrading pyrender. Importing this module imports neither pyrender nor OpenGL (the
version comes from the package metadata); :func:`synthgen.render.gl.import_pyrender` imports it
before pyrender.
"""
from __future__ import annotations

from collections.abc import MutableSet
from importlib import metadata

import numpy as np

from synthgen.render.camera import gl_projection_matrix
from synthgen.render.gl import GLUnavailableError

#: The one pyrender release these patches are written for (pyproject.toml pins it too).
PINNED_VERSION = "0.1.45"


class PyrenderVersionError(GLUnavailableError):
    """The installed pyrender is not :data:`PINNED_VERSION` (or none is installed). A
    :class:`~synthgen.render.gl.GLUnavailableError`, so every command that reports a missing GL
    stack in one line (render, validate, info) reports this one too."""

    def __init__(self, found: str | None):
        self.found = found
        self.platform, self.reason = "", f"pyrender {found or 'missing'}"
        what = f"pyrender {found} is installed" if found else "pyrender is not installed"
        RuntimeError.__init__(self, f"{what}, but synthgen's renderer is written for pyrender=="
                                    f"{PINNED_VERSION} (pinned in pyproject.toml): "
                                    f"pip install pyrender=={PINNED_VERSION}")

    def __reduce__(self):
        return type(self), (self.found,)


def installed_version() -> str | None:
    """The installed pyrender's version string (package metadata), None when not installed."""
    try:
        return metadata.version("pyrender")
    except metadata.PackageNotFoundError:
        return None


def check_version(found: str | None) -> None:
    """Raise :class:`PyrenderVersionError` unless ``found`` is :data:`PINNED_VERSION`."""
    if found != PINNED_VERSION:
        raise PyrenderVersionError(found)


check_version(installed_version())


# -- scene ---------------------------------------------------------------------------------------

class InsertionOrderedSet(MutableSet):
    """A set that iterates in insertion order (a dict's keys)."""

    def __init__(self, items=()):
        self._d = dict.fromkeys(items)

    def __contains__(self, x) -> bool:
        return x in self._d

    def __iter__(self):
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)

    def add(self, x) -> None:
        self._d[x] = None

    def discard(self, x) -> None:
        self._d.pop(x, None)


def order_node_sets(pr_scene) -> None:
    """Make an empty pyrender 0.1.45 Scene iterate its nodes in insertion order.

    pyrender keeps nodes in plain sets, which iterate by object address: the order of draws
    (``_sorted_mesh_nodes`` sorts by distance, stably, so equal distances -- people posed at the
    origin, coplanar structures -- keep set order) and of lights in the shader's sums changed
    between runs, and with them a few pixels where depths tie or a sum rounds differently. With
    insertion order, the same scene gives the same bytes in every process."""
    for name in ("_nodes", "_mesh_nodes", "_point_light_nodes", "_spot_light_nodes",
                 "_directional_light_nodes", "_camera_nodes"):
        current = getattr(pr_scene, name)
        if len(current):
            raise RuntimeError(f"pyrender Scene.{name} must be empty here")
        setattr(pr_scene, name, InsertionOrderedSet())


def fill_mesh_bounds(mesh) -> None:
    """Fill a pyrender Mesh's bounds cache from its primitives' positions.

    pyrender 0.1.45's ``Mesh.bounds`` uses ``np.infty``, removed in NumPy 2; shadow mapping needs
    the bounds (``scene.scale``), so this stores the same value it would compute. A mesh without
    vertices is left alone."""
    positions = np.concatenate([p.positions for p in mesh.primitives])
    if len(positions):
        mesh._bounds = np.stack([positions.min(axis=0), positions.max(axis=0)]).astype(np.float64)


def opencv_camera_class(pyrender):
    """pyrender.Camera subclass whose projection follows the OpenCV pixel-centre convention."""

    class OpenCVCamera(pyrender.Camera):
        def __init__(self, znear: float, zfar: float):
            super().__init__(znear=znear, zfar=zfar)
            self.K = np.eye(3)

        def get_projection_matrix(self, width=None, height=None):
            return gl_projection_matrix(self.K, width, height, self.znear, self.zfar)

    return OpenCVCamera


# -- colour pass ---------------------------------------------------------------------------------

def bind_lights_once_per_program(offscreen) -> None:
    """Bind the lights' uniforms once per shader program and frame instead of once per primitive.

    pyrender 0.1.45 re-sends every light uniform (~20 calls for 4 lights) before each primitive,
    although a program's uniforms keep their values until changed: with ~55 primitives that is
    the largest part of its per-frame Python cost, which on a GPU is most of the colour pass. The
    values it sends depend on the primitive only when there are more lights than the shader takes
    (then the nearest are chosen) and shadow maps are re-bound per primitive, so those frames go
    through pyrender's own binding unchanged. Wraps this renderer instance's methods only."""
    r = offscreen._renderer
    base_bind, base_pass = r._bind_lighting, r._forward_pass
    from pyrender.constants import RenderFlags

    shadow_flags = RenderFlags.SHADOWS_DIRECTIONAL | RenderFlags.SHADOWS_SPOT | RenderFlags.SHADOWS_POINT
    bound: set[int] = set()     # id() of the programs whose lights this frame has bound
    frame = {"cacheable": False}

    def forward_pass(scene, flags, seg_node_map=None):
        bound.clear()      # lights may have moved since the last frame
        max_d, max_s, max_p = r._compute_max_n_lights(flags)
        frame["cacheable"] = not (flags & shadow_flags) and len(scene.directional_light_nodes) <= max_d \
            and len(scene.spot_light_nodes) <= max_s and len(scene.point_light_nodes) <= max_p
        try:
            return base_pass(scene, flags, seg_node_map=seg_node_map)
        finally:
            bound.clear()
            frame["cacheable"] = False

    def bind_lighting(scene, program, node, flags):
        if frame["cacheable"]:
            if id(program) in bound:
                return
            bound.add(id(program))
        base_bind(scene, program, node, flags)

    r._bind_lighting = bind_lighting
    r._forward_pass = forward_pass


def set_colour_samples(offscreen, samples: int) -> None:
    """Make this offscreen renderer's colour pass use ``samples`` per pixel.

    pyrender 0.1.45 always allocates 4-sample colour and depth renderbuffers when it (re)creates
    its framebuffer. This wraps that method *on this renderer instance only*: after pyrender
    creates the buffers, their storage is re-specified with the requested count (0 = single
    sample), which GL allows for attached renderbuffers. Nothing changes for samples == 4.
    """
    if samples == 4:
        return
    r = offscreen._renderer
    base = r._configure_main_framebuffer

    def configure():
        fresh = r._main_fb is None or tuple(r._main_fb_dims) != (r.viewport_width, r.viewport_height)
        base()
        if fresh:
            from OpenGL import GL

            n = 0 if samples == 1 else samples
            for rb, fmt in ((r._main_cb_ms, GL.GL_RGBA), (r._main_db_ms, GL.GL_DEPTH_COMPONENT24)):
                GL.glBindRenderbuffer(GL.GL_RENDERBUFFER, rb)
                GL.glRenderbufferStorageMultisample(GL.GL_RENDERBUFFER, n, fmt, r.viewport_width, r.viewport_height)
            GL.glBindRenderbuffer(GL.GL_RENDERBUFFER, 0)

    r._configure_main_framebuffer = configure


# -- context -------------------------------------------------------------------------------------

def make_current(offscreen) -> None:
    """Make ``offscreen``'s GL context current on this thread."""
    offscreen._platform.make_current()


def egl_context(offscreen):
    """``offscreen``'s EGL context handle, or None (another platform, or released)."""
    return getattr(getattr(offscreen, "_platform", None), "_egl_context", None)


_EGL_EXTENSIONS = 0x3055


def egl_device_extensions(device) -> list[bytes]:
    """The EGL extensions of one device of ``pyrender.platforms.egl.query_devices()``."""
    from pyrender.platforms import egl

    return (egl._eglQueryDeviceStringEXT(device._display, _EGL_EXTENSIONS) or b"").split()


def release_offscreen_renderer(offscreen) -> None:
    """Free an offscreen renderer's GL objects and its context, without harming other contexts.

    pyrender's ``OffscreenRenderer.delete()`` ends with ``eglTerminate`` on the EGL display, which
    every context of this process shares: it would invalidate every other live ``Renderer`` (and
    ``gl_info()`` would break a running renderer). For EGL we therefore destroy only our context and
    leave the display initialized (EGL has no per-context reference count); other platforms'
    teardown is per context and is used as is. Idempotent.
    """
    platform = getattr(offscreen, "_platform", None)
    if platform is None:
        return
    display = getattr(platform, "_egl_display", None)
    if display is None:
        offscreen.delete()
        return
    from OpenGL import EGL

    try:
        platform.make_current()
        offscreen._renderer.delete()
    finally:
        EGL.eglMakeCurrent(display, EGL.EGL_NO_SURFACE, EGL.EGL_NO_SURFACE, EGL.EGL_NO_CONTEXT)
        if platform._egl_context is not None:
            EGL.eglDestroyContext(display, platform._egl_context)
        platform._egl_context = None
        platform._egl_display = None
        # With these gone, pyrender's own __del__ -> delete() fails early and is a no-op.
        offscreen._renderer = None
        offscreen._platform = None
