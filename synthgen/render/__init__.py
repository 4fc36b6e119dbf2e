"""Render adapter: synthgen scenes in, numpy arrays out (pyrender on headless EGL/OSMesa).

Importing this package imports neither pyrender nor OpenGL; :class:`Renderer` and :func:`gl_info`
select the GL platform (``$SYNTHGEN_GL``: ``egl`` default, or ``osmesa``) and import pyrender
when first used.
"""
from synthgen.groundtruth.labels import PART_NONE, PART_UNKNOWN, Silhouette
from synthgen.render.adapter import (
    BACKGROUND_LABEL,
    MAX_LABEL,
    PERSON_LABEL_BASE,
    RENDER_ZFAR,
    RENDER_ZNEAR,
    Renderer,
    RenderOutput,
    object_label,
    person_label,
    scene_labels,
)
from synthgen.render.camera import CV_TO_GL, gl_camera_pose, gl_projection_matrix
from synthgen.render.gl import GLUnavailableError, gl_info, setup_gl_platform

__all__ = [
    "BACKGROUND_LABEL",
    "CV_TO_GL",
    "MAX_LABEL",
    "PART_NONE",
    "PART_UNKNOWN",
    "PERSON_LABEL_BASE",
    "RENDER_ZFAR",
    "RENDER_ZNEAR",
    "GLUnavailableError",
    "RenderOutput",
    "Renderer",
    "Silhouette",
    "gl_camera_pose",
    "gl_info",
    "gl_projection_matrix",
    "object_label",
    "person_label",
    "scene_labels",
    "setup_gl_platform",
]
