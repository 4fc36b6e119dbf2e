"""The scene vocabulary that configs name: room layouts, support-surface kinds, texture kinds,
light kinds.

Plain tuples and no imports, so that :mod:`synthgen.config` checks a config against them without
importing numpy or the scene builders; :mod:`synthgen.scene.layout` and
:mod:`synthgen.scene.textures` build exactly these (tests check both directions).
"""

#: Room layouts (``room.layout``), one builder each in :data:`synthgen.scene.layout.LAYOUT_FUNCS`.
LAYOUTS: tuple[str, ...] = ("kitchen", "tabletop", "workshop")
#: Kinds of support surfaces the layouts make (``objects.supports``); a support's name starts
#: with its kind (``counter:…``).
SUPPORT_KINDS: tuple[str, ...] = ("counter", "island", "table", "shelf", "workbench", "floor")
#: Procedural texture kinds (``materials.textures``), one generator each in
#: :data:`synthgen.scene.textures.GENERATORS`.
TEXTURE_KINDS: tuple[str, ...] = ("wood", "tiles", "noise", "stripes")
#: Light kinds (``lights.types``, :attr:`synthgen.scene.description.Light.kind`), each drawn by
#: :mod:`synthgen.scene.lights_cameras` and rendered by the render adapter.
LIGHT_KINDS: tuple[str, ...] = ("point", "spot", "directional")
#: Body-model backends (``humans.model``; ``body_model`` in scene_humans.json).
BODY_MODELS: tuple[str, ...] = ("anny", "mannequin", "smplx")
#: Colour image formats (``output.rgb_format``), also the file suffixes under ``rgb/``.
RGB_FORMATS: tuple[str, ...] = ("png", "jpg")
