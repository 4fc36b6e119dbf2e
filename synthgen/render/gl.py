"""Headless OpenGL context selection for pyrender (EGL or OSMesa).

pyrender imports PyOpenGL, and PyOpenGL binds its platform (GLX, EGL, OSMesa) once, on first
import, from ``$PYOPENGL_PLATFORM``; pyrender also imports pyglet's window module, which wants a
display unless ``$PYGLET_HEADLESS`` is set. So :func:`setup_gl_platform` must run before the first
``import pyrender`` / ``import OpenGL.GL`` in the process. The render adapter calls it right before
its lazy ``import pyrender``; nothing here runs at import time.

``$SYNTHGEN_GL`` chooses the platform: ``egl`` (default; Mesa llvmpipe on CPUs, the NVIDIA driver's
EGL on GPUs; ``$EGL_DEVICE_ID`` picks the device, as pyrender reads it) or ``osmesa`` (which also
needs PyOpenGL >= 3.1.5, newer than pyrender 0.1.45's pin).

EGL renders on device 0 unless told otherwise, and ignores ``$CUDA_VISIBLE_DEVICES``. On a machine
with several GPUs the runner spreads its worker processes over them (:func:`gpu_egl_devices`,
:func:`egl_device_for_worker`) unless ``$EGL_DEVICE_ID`` pins one.
"""
from __future__ import annotations

import contextlib
import os
import sys

from ..errors import InputError

#: Platforms synthgen knows how to drive; values of ``$SYNTHGEN_GL`` / ``$PYOPENGL_PLATFORM``.
SUPPORTED_PLATFORMS = ("egl", "osmesa")

_INSTALL_HINT = {
    "egl": (
        "install EGL + Mesa (Debian/Ubuntu: apt-get install libegl1 libgl1-mesa-dri) for CPU "
        "rendering with llvmpipe, or the NVIDIA driver's EGL library (libnvidia-gl) for a GPU"
    ),
    # pyrender creates OSMesa contexts with OSMesaCreateContextAttribs, which PyOpenGL has from
    # 3.1.5 on; pyrender 0.1.45 itself pins PyOpenGL 3.1.0 (see pyproject.toml).
    "osmesa": (
        "OSMesa needs the library (Debian/Ubuntu: apt-get install libosmesa6) and PyOpenGL >= 3.1.5 "
        "(pyrender 0.1.45 pins 3.1.0, which lacks OSMesaCreateContextAttribs); "
        "or set SYNTHGEN_GL=egl (Debian/Ubuntu: apt-get install libegl1 libgl1-mesa-dri)"
    ),
}


class GLUnavailableError(InputError, RuntimeError):
    """No offscreen OpenGL context could be created. ``str()`` is one line: why, and what to install."""

    def __init__(self, platform: str, reason: str):
        self.platform = platform
        self.reason = " ".join(str(reason).split())  # one line, whatever the cause printed
        hint = _INSTALL_HINT.get(platform, "set SYNTHGEN_GL to one of " + ", ".join(SUPPORTED_PLATFORMS))
        super().__init__(
            f"cannot create a headless OpenGL context with PYOPENGL_PLATFORM={platform!r} "
            f"({self.reason}); {hint}"
        )

    def __reduce__(self):
        # Rebuild from both fields, so the error survives pickling across worker processes.
        return type(self), (self.platform, self.reason)


def setup_gl_platform() -> str:
    """Set ``PYOPENGL_PLATFORM`` and ``PYGLET_HEADLESS=1`` for headless rendering; return the platform.

    ``$SYNTHGEN_GL`` (``egl`` or ``osmesa``) wins when set; otherwise a ``PYOPENGL_PLATFORM`` the
    user already set is kept, else ``egl``. Must be called before pyrender is imported (PyOpenGL
    binds its platform once per process); calling it again is harmless. Raises
    :class:`GLUnavailableError` if ``$SYNTHGEN_GL`` names an unknown platform.
    """
    requested = os.environ.get("SYNTHGEN_GL", "").strip().lower()
    if requested:
        if requested not in SUPPORTED_PLATFORMS:
            raise GLUnavailableError(requested, f"SYNTHGEN_GL={requested!r} is not one of {SUPPORTED_PLATFORMS}")
        platform = requested
    else:
        platform = os.environ.get("PYOPENGL_PLATFORM", "").strip().lower() or "egl"
    os.environ["PYOPENGL_PLATFORM"] = platform
    os.environ["PYGLET_HEADLESS"] = "1"
    return platform


def gpu_egl_devices() -> list[int]:
    """Indices, as ``$EGL_DEVICE_ID`` and pyrender count them, of the EGL devices that are
    hardware (GPUs): EGL's device list without Mesa's software device (llvmpipe). Empty when the
    platform is not EGL, EGL cannot be loaded or it cannot list devices. Selects the GL platform
    (see :func:`setup_gl_platform`) and imports pyrender."""
    try:
        if setup_gl_platform() != "egl":
            return []
        import_pyrender()
        from pyrender.platforms import egl

        from synthgen.render.pyrender_compat import egl_device_extensions

        return [i for i, device in enumerate(egl.query_devices())
                if b"EGL_MESA_device_software" not in egl_device_extensions(device)]
    except Exception:  # noqa: BLE001 - no device list means no spreading, never a failure
        return []


def egl_device_for_worker(worker: int, devices: list[int], environ=None) -> int | None:
    """The EGL device index worker number ``worker`` should render on: ``devices`` taken round
    robin when there are several and ``$EGL_DEVICE_ID`` (in ``environ``, default ``os.environ``)
    does not pin one; otherwise None (EGL's default device, or the pinned one)."""
    environ = os.environ if environ is None else environ
    if environ.get("EGL_DEVICE_ID", "").strip() or len(devices) < 2:
        return None
    return devices[worker % len(devices)]


def _describe(exc: BaseException) -> str:
    """``Type: message`` of an exception, with PyOpenGL's tuple-style args joined readably."""
    parts = [str(a) for a in exc.args if a is not None and str(a)]
    return f"{type(exc).__name__}: {': '.join(dict.fromkeys(parts)) or repr(exc)}"


def import_pyrender():
    """Select the GL platform, check pyrender's version, then import and return ``pyrender``.

    A missing GL library surfaces as :class:`GLUnavailableError` (PyOpenGL loads it at import),
    a pyrender other than the pinned one as its subclass
    :class:`~synthgen.render.pyrender_compat.PyrenderVersionError`.
    """
    platform = setup_gl_platform()
    # synthgen's patches of pyrender's internals; importing them asserts the pinned version
    from synthgen.render import pyrender_compat  # noqa: F401

    try:
        import pyrender
    except (ImportError, OSError, RuntimeError, AttributeError) as exc:
        # PyOpenGL raises ImportError/OSError for a missing libEGL/libOSMesa, pyrender's EGL module
        # RuntimeError when the plugin is absent, and AttributeError on a half-loaded library.
        raise GLUnavailableError(platform, _describe(exc)) from exc
    return pyrender


def create_offscreen_renderer(width: int, height: int):
    """A ``pyrender.OffscreenRenderer`` of ``width`` x ``height`` pixels, or :class:`GLUnavailableError`."""
    pyrender = import_pyrender()
    platform = os.environ["PYOPENGL_PLATFORM"]
    try:
        return pyrender.OffscreenRenderer(int(width), int(height))
    except GLUnavailableError:
        raise
    except Exception as exc:  # noqa: BLE001 - EGL/OSMesa failures come as many exception types
        raise GLUnavailableError(platform, _describe(exc)) from exc


def _address(handle) -> int | None:
    import ctypes

    return None if handle is None else ctypes.cast(handle, ctypes.c_void_p).value


@contextlib.contextmanager
def keep_current_context(exclude=None):
    """Restore, on leaving, the EGL context that was current on this thread on entering (unless it
    is ``exclude``, a context the block destroys). Releasing a renderer makes its own context
    current and then none; when that runs inside another renderer's work -- a leaked Renderer's
    ``__del__`` fired by the garbage collector in the middle of a render -- the other renderer
    must find its context still current. A no-op on other platforms."""
    saved = None
    # No EGL context can be current before PyOpenGL's EGL module is loaded, and loading it here,
    # ahead of pyrender's first import of OpenGL.GL, breaks PyOpenGL 3.1.0's extension lookup.
    EGL = sys.modules.get("OpenGL.EGL") if os.environ.get("PYOPENGL_PLATFORM") == "egl" else None
    if EGL is not None:
        ctx = EGL.eglGetCurrentContext()
        if _address(ctx) and _address(ctx) != _address(exclude):
            saved = (EGL.eglGetCurrentDisplay(), EGL.eglGetCurrentSurface(EGL.EGL_DRAW),
                     EGL.eglGetCurrentSurface(EGL.EGL_READ), ctx)
    try:
        yield
    finally:
        if saved is not None:
            EGL.eglMakeCurrent(*saved)


def gl_info() -> dict[str, str]:
    """Describe the GL implementation: ``vendor``, ``renderer``, ``version`` (glGetString) and
    ``platform`` (``egl``/``osmesa``). Creates a 1x1 offscreen context and releases it; the
    context current before (a live Renderer's) is current again after."""
    with keep_current_context():
        offscreen = create_offscreen_renderer(1, 1)
        from synthgen.render.pyrender_compat import make_current, release_offscreen_renderer

        try:
            from OpenGL import GL

            # The context is current after construction; read the strings before anything else binds.
            make_current(offscreen)
            strings = {
                key: GL.glGetString(enum)
                for key, enum in (("vendor", GL.GL_VENDOR), ("renderer", GL.GL_RENDERER), ("version", GL.GL_VERSION))
            }
        finally:
            release_offscreen_renderer(offscreen)
    info = {k: (v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v or "")) for k, v in strings.items()}
    info["platform"] = os.environ["PYOPENGL_PLATFORM"]
    return info
