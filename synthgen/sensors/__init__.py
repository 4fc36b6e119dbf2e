"""Sensor models (pure numpy): what a real depth camera and RGB camera deliver for a clean render.

- ``synthgen.sensors.config``: ``DepthNoiseConfig`` and ``RgbNoiseConfig`` (the ``depth_noise``
  and ``rgb_noise`` mappings of the presets in ``configs/sensors/``).
- ``synthgen.sensors.depth``: ``apply_depth_noise`` and its steps.
- ``synthgen.sensors.rgb``: ``apply_rgb_noise`` and its steps.
- ``synthgen.sensors.apply``: ``apply_sensor`` (both, per frame) and ``sensor_rng``.

Nothing is imported here: ``synthgen.config.schema`` imports ``synthgen.sensors.config``, and
this package's init runs first, so it stays free of imports that could close a cycle.
"""
