"""The sensor stage as far as it goes before the noise models (pure numpy).

``apply_depth_sensor`` turns the clean rendered Z-depth (metres) into what the configured sensor
reports: zero outside its valid range, quantized to its depth unit. The RGB image passes through
unchanged. The noise models of the sensor presets arrive with the sensor-realism work.
"""
from __future__ import annotations

import numpy as np

from ..config.schema import SensorConfig


def apply_depth_sensor(depth_gt: np.ndarray, sensor: SensorConfig) -> np.ndarray:
    """Sensor depth in metres (float32); 0 = no measurement."""
    d = depth_gt.astype(np.float32, copy=True)
    d[(d < sensor.depth_min) | (d > sensor.depth_max)] = 0.0
    if sensor.depth_unit > 0:
        d = (np.round(d / sensor.depth_unit) * sensor.depth_unit).astype(np.float32)
    return d
