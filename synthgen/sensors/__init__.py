"""Sensor models (pure numpy): what a real depth camera and RGB camera deliver for a clean render.

- ``synthgen.config.sensor_noise``: ``DepthNoiseConfig`` and ``RgbNoiseConfig`` (the
  ``depth_noise`` and ``rgb_noise`` mappings of the presets in ``configs/sensors/``); they are
  part of the config schema, so they live with it.
- ``synthgen.sensors.depth``: ``apply_depth_noise`` and its steps.
- ``synthgen.sensors.rgb``: ``apply_rgb_noise`` and its steps.
- ``synthgen.sensors.apply``: ``apply_sensor`` (both, per frame) and ``sensor_rng``.

Nothing is imported here, so importing one model does not load the others.
"""
