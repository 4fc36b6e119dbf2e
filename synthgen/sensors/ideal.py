"""The noiseless sensor: valid range and depth unit only (pure numpy).

``apply_depth_sensor`` turns the clean rendered Z-depth (metres) into what a noiseless sensor
with this range and unit reports: zero outside its valid range, quantized to its depth unit.
Superseded by ``synthgen.sensors.apply.apply_sensor``, which does the same when the preset has no
noise (and applies the preset's depth and RGB models when it has); kept for existing callers.
"""
from __future__ import annotations

import numpy as np

from ..config.schema import SensorConfig
from .depth import range_and_unit


def apply_depth_sensor(depth_gt: np.ndarray, sensor: SensorConfig) -> np.ndarray:
    """Sensor depth in metres (float32); 0 = no measurement."""
    return range_and_unit(depth_gt, sensor.depth_min, sensor.depth_max, sensor.depth_unit)
