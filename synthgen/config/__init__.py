"""Scene configs: the schema (dataclasses), loading with presets and overrides, and errors."""
from synthgen.config.errors import ConfigError, FieldValueError
from synthgen.config.loader import (
    CONFIG_PATH_ENV,
    config_to_dict,
    find_configs_dir,
    list_presets,
    load_scene_config,
    preset_dir,
)
from synthgen.config.schema import SceneConfig, SensorConfig

__all__ = [
    "CONFIG_PATH_ENV",
    "ConfigError",
    "FieldValueError",
    "SceneConfig",
    "SensorConfig",
    "config_to_dict",
    "find_configs_dir",
    "list_presets",
    "load_scene_config",
    "preset_dir",
]
