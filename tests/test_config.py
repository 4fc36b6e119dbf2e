"""Scene-config loading: presets, overrides, one-line errors with full key paths, dict export."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from synthgen.config import (
    CONFIG_PATH_ENV,
    ConfigError,
    SceneConfig,
    SensorConfig,
    config_to_dict,
    find_configs_dir,
    load_scene_config,
)

REPO_CONFIGS = Path(__file__).resolve().parents[1] / "configs"
PRESETS = ["azure_kinect_nfov", "ideal", "kinect_v1", "realsense_d435", "zed2"]

MINIMAL_SCENE = """\
name: tiny
seed: 7
frames: 4
sensor: realsense_d435
camera:
  width: 160
  height: 120
"""


@pytest.fixture
def repo_presets(monkeypatch):
    """Point preset lookup at the repository's configs/ (tmp_path is not under it)."""
    monkeypatch.setenv(CONFIG_PATH_ENV, str(REPO_CONFIGS))
    return REPO_CONFIGS


@pytest.fixture
def scene(tmp_path, repo_presets):
    path = tmp_path / "scene.yaml"
    path.write_text(MINIMAL_SCENE)
    return path


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def load_error(path, overrides=()) -> str:
    with pytest.raises(ConfigError) as info:
        load_scene_config(path, overrides)
    msg = str(info.value)
    assert "\n" not in msg, "ConfigError messages must be one line"
    return msg


# ---------------------------------------------------------------------------------- loading


def test_valid_scene_loads_with_preset(scene):
    cfg = load_scene_config(scene)
    assert type(cfg) is SceneConfig and type(cfg.sensor) is SensorConfig
    assert (cfg.name, cfg.seed, cfg.frames) == ("tiny", 7, 4)
    assert (cfg.camera.width, cfg.camera.height) == (160, 120)
    # The preset's numbers, not the schema's defaults (which are the 'ideal' sensor).
    s = cfg.sensor
    assert (s.name, s.width, s.height) == ("realsense_d435", 848, 480)
    assert (s.fx, s.cx, s.cy, s.depth_min, s.depth_unit) == (446.8, 423.5, 239.5, 0.19, 0.001)
    # Keys the scene leaves out keep the schema defaults, as plain lists of floats.
    assert cfg.room.size_x == [4.0, 6.0] and type(cfg.room.size_x) is list
    assert cfg.humans.model == "anny"


def test_overrides_change_values(scene):
    cfg = load_scene_config(scene, ["frames=8", "camera.width=320", "room.size_x=[4,5]", "seed=11"])
    assert cfg.frames == 8 and cfg.seed == 11
    assert cfg.camera.width == 320 and cfg.camera.height == 120  # sibling key from the file kept
    assert cfg.room.size_x == [4.0, 5.0]
    assert cfg.room.size_y == [3.5, 5.0]


def test_override_replaces_sensor_preset(scene):
    cfg = load_scene_config(scene, ["sensor=kinect_v1"])
    s = cfg.sensor
    assert (s.name, s.width, s.height, s.fx, s.fy) == ("kinect_v1", 640, 480, 525.0, 525.0)
    assert (s.depth_min, s.depth_max, s.depth_unit) == (0.8, 4.0, 0.001)


def test_override_below_a_preset_name_keeps_the_rest_of_the_preset(scene):
    cfg = load_scene_config(scene, ["sensor=kinect_v1", "sensor.depth_max=3.5"])
    assert (cfg.sensor.name, cfg.sensor.fx, cfg.sensor.depth_max) == ("kinect_v1", 525.0, 3.5)
    # Same when the preset name comes from the file rather than an override.
    cfg = load_scene_config(scene, ["sensor.depth_max=6"])
    assert (cfg.sensor.name, cfg.sensor.fx, cfg.sensor.depth_max) == ("realsense_d435", 446.8, 6.0)


def test_inline_sensor_mapping(tmp_path, repo_presets):
    path = write(tmp_path / "s.yaml", "sensor:\n  name: my_cam\n  fx: 600\n  depth_max: 5\n")
    s = load_scene_config(path).sensor
    assert (s.name, s.fx, s.fy, s.depth_max) == ("my_cam", 600.0, 525.0, 5.0)
    # without a name an inline sensor is recorded as 'custom', not as the 'ideal' preset
    unnamed = write(tmp_path / "u.yaml", "sensor:\n  fx: 600\n")
    assert load_scene_config(unnamed).sensor.name == "custom"
    assert load_scene_config(unnamed, ["sensor=ideal"]).sensor.name == "ideal"
    assert load_scene_config(write(tmp_path / "d.yaml", "frames: 2\n")).sensor.name == "ideal"


@pytest.mark.parametrize("name", PRESETS)
def test_repo_presets_load_and_are_plausible(tmp_path, repo_presets, name):
    path = write(tmp_path / "s.yaml", f"sensor: {name}\n")
    s = load_scene_config(path).sensor
    assert s.name == name
    assert 0 < s.cx < s.width - 1 and 0 < s.cy < s.height - 1
    assert abs(s.fx / s.fy - 1) < 0.01  # all presets are (close to) square-pixel pinholes
    assert 0 <= s.depth_min < s.depth_max <= 20.0
    if name == "ideal":
        assert s == SensorConfig()  # the preset is the schema's defaults written out


def test_presets_found_walking_up_from_the_scene(tmp_path, monkeypatch):
    monkeypatch.delenv(CONFIG_PATH_ENV, raising=False)
    write(tmp_path / "proj" / "configs" / "sensors" / "mycam.yaml",
          "width: 320\nheight: 240\nfx: 300\nfy: 300\ncx: 159.5\ncy: 119.5\n")
    path = write(tmp_path / "proj" / "scenes" / "deep" / "a.yaml", "sensor: mycam\n")
    assert find_configs_dir(path) == tmp_path / "proj" / "configs"
    s = load_scene_config(path).sensor
    assert (s.name, s.width, s.fx) == ("mycam", 320, 300.0)  # name filled from the file name


def test_env_var_overrides_configs_search(tmp_path, monkeypatch):
    write(tmp_path / "proj" / "configs" / "sensors" / "ideal.yaml", "fx: 111\n")
    path = write(tmp_path / "proj" / "a.yaml", "sensor: ideal\n")
    monkeypatch.setenv(CONFIG_PATH_ENV, str(REPO_CONFIGS))
    assert find_configs_dir(path) == REPO_CONFIGS
    assert load_scene_config(path).sensor.fx == 525.0


# ----------------------------------------------------------------------------------- errors


def test_unknown_key_names_full_path_and_suggests(tmp_path, repo_presets):
    path = write(tmp_path / "s.yaml", "frames: 2\ncamera:\n  widht: 320\n")
    msg = load_error(path)
    assert msg.startswith(f"unknown key 'camera.widht' in {path}; did you mean 'camera.width'?")
    assert "(valid: width, height, rig, distance, elevation_deg, azimuth_deg, roll_deg, focal_scale," in msg


def test_unknown_key_from_override_names_the_override(scene):
    msg = load_error(scene, ["frams=3"])
    assert msg.startswith("unknown key 'frams' in override 'frams=3'; did you mean 'frames'?")


def test_wrong_type(tmp_path, repo_presets):
    path = write(tmp_path / "s.yaml", "camera:\n  width: abc\n")
    assert load_error(path) == f"camera.width: expected int, found 'abc' (str) in {path}"


def test_wrong_type_in_list_element(scene):
    msg = load_error(scene, ["camera.distance=[1.5, far]"])
    assert msg.startswith("camera.distance[1]: expected float, found 'far' (str)")


def test_out_of_range_names_full_path(scene):
    msg = load_error(scene, ["camera.width=4"])
    assert msg == "camera.width: expected an integer in [8, 8192], found 4 in override 'camera.width=4'"


def test_out_of_range_in_preset_names_the_preset_file(tmp_path, monkeypatch):
    configs = tmp_path / "configs"
    bad = write(configs / "sensors" / "bad.yaml", "fx: -5\n")
    monkeypatch.setenv(CONFIG_PATH_ENV, str(configs))
    monkeypatch.chdir(tmp_path)  # paths under the working directory are shown relative to it
    path = write(tmp_path / "s.yaml", "sensor: bad\n")
    msg = load_error(path)
    assert msg == ("sensor.fx: expected a positive focal length in pixels, found -5.0 in "
                   f"{bad.relative_to(tmp_path)}")


def test_missing_scene_file(tmp_path):
    missing = tmp_path / "nope.yaml"
    assert load_error(missing) == f"scene file {missing} does not exist"


def test_missing_preset_lists_available(scene, monkeypatch):
    monkeypatch.chdir(scene.parent)  # paths outside the working directory are shown absolute
    msg = load_error(scene, ["sensor=kinect_v9"])
    assert msg.startswith(f"sensor: preset 'kinect_v9' not found: {REPO_CONFIGS / 'sensors' / 'kinect_v9.yaml'}"
                          " does not exist")
    assert "(available: " + ", ".join(PRESETS) + ")" in msg
    assert msg.endswith("set in override 'sensor=kinect_v9'")


def test_malformed_override(scene):
    msg = load_error(scene, ["frames=8", "camera.width320"])
    assert msg == "malformed override 'camera.width320': expected key=value, e.g. camera.width=320"


def test_yaml_syntax_error_names_file_and_line(tmp_path, repo_presets):
    path = write(tmp_path / "s.yaml", "frames: 2\nroom:\n  size_x: [4, 5\n  size_y: [3, 4]\n")
    msg = load_error(path)
    assert msg.startswith(f"invalid YAML in {path} at line 4, column 9:")


def test_preset_name_where_a_mapping_is_needed_is_a_type_error(scene):
    msg = load_error(scene, ["sensor=5"])
    assert msg.startswith("sensor: expected a mapping of SensorConfig fields or a preset name in ")
    assert msg.endswith("found 5 (int) in override 'sensor=5'")


def test_non_finite_float_in_a_preset_file_names_the_file_and_key(tmp_path, monkeypatch):
    configs = tmp_path / "configs"
    bad = write(configs / "sensors" / "bad.yaml", "cx: .nan\ndepth_noise:\n  sigma_b: -.inf\n")
    monkeypatch.setenv(CONFIG_PATH_ENV, str(configs))
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path / "s.yaml", "sensor: bad\n")
    assert load_error(path) == f"sensor.cx: expected a finite number, found nan (float) in {bad.relative_to(tmp_path)}"
    msg = load_error(path, ["sensor.cx=320.0"])
    assert msg.startswith("sensor.depth_noise.sigma_b: expected a finite number, found -inf (float)")


def test_non_finite_float_through_an_interpolation_is_refused(scene):
    # the interpolation is resolved before the check, so the copy is caught where it lands
    msg = load_error(scene, ["camera.target_jitter=.nan", "camera.person_target_prob=${camera.target_jitter}"])
    assert msg.startswith("camera.target_jitter: expected a finite number, found nan (float) in override")
    cfg = load_scene_config(scene, ["sensor.fx=1e3", "lights.ambient=[0, 1.0]"])   # finite ones pass
    assert cfg.sensor.fx == 1000.0 and cfg.lights.ambient == [0.0, 1.0]


def test_range_error_inside_a_group_names_the_group_and_its_file(tmp_path, repo_presets):
    path = write(tmp_path / "s.yaml", "objects:\n  groups:\n    mugs:\n      assets: [builtin:mug]\n"
                                      "      count: [3, 1]\n")
    assert load_error(path) == ("objects.groups.mugs.count: expected a [low, high] pair with 0 <= low <= high "
                                f"<= 500, found [3, 1] in {path}")
    msg = load_error(path, ["objects.groups.mugs.count=[4,2]"])
    assert msg.endswith("found [4, 2] in override 'objects.groups.mugs.count=[4,2]'")


def test_recursive_yaml_alias_is_one_line(tmp_path, repo_presets):
    path = write(tmp_path / "s.yaml", "frames: 2\nhumans:\n  poses: &p [a, *p]\n")
    msg = load_error(path)
    assert msg.startswith(f"{path}: expected YAML without recursive aliases") and "line 3" in msg


def test_yaml_node_limit_counts_aliases_and_lets_big_files_below_it_load(tmp_path, repo_presets):
    from synthgen.config.loader import MAX_YAML_NODES

    poses = ", ".join(f"p{i}" for i in range(MAX_YAML_NODES - 100))
    cfg = load_scene_config(write(tmp_path / "ok.yaml", f"humans:\n  poses: [{poses}]\n"))
    assert len(cfg.humans.poses) == MAX_YAML_NODES - 100
    # 60 unique nodes, but the aliases expand to 10 * 10 * 10 * 10 = 10,000 list items and more
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{k}: &{k} [{', '.join([f'*{j}'] * 10)}]\n" for j, k in zip("abc", "bcd"))
    msg = load_error(write(tmp_path / "bomb.yaml", bomb))
    assert msg.startswith(f"{tmp_path / 'bomb.yaml'}: config too large: expected at most {MAX_YAML_NODES} YAML nodes")


# ------------------------------------------------------------------------------------ export


def test_config_to_dict_round_trips_through_json(scene):
    cfg = load_scene_config(scene, ["sensor=azure_kinect_nfov"])
    d = config_to_dict(cfg)
    back = json.loads(json.dumps(d))
    assert back == d
    assert back["sensor"]["name"] == "azure_kinect_nfov" and back["sensor"]["height"] == 576
    assert back["camera"]["distance"] == [1.2, 2.2]
    # The exported dict is a complete config: it rebuilds the same dataclass.
    rebuilt = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(SceneConfig), back))
    assert rebuilt == cfg


def test_a_scene_that_lists_its_groups_gets_only_those(tmp_path: Path):
    """The schema's default ``main`` group (five labelled primitives) is for scenes that list no
    groups; OmegaConf's merge used to add it to every scene's own groups."""
    own = tmp_path / "own.yaml"
    own.write_text("objects:\n  groups:\n    mugs: {assets: ['builtin:mug'], count: [1, 2]}\n")
    cfg = load_scene_config(own, configs_dir=REPO_CONFIGS)
    assert list(cfg.objects.groups) == ["mugs"]
    # overrides still add groups to the file's own
    cfg = load_scene_config(own, ["objects.groups.cans.assets=[builtin:can]"], configs_dir=REPO_CONFIGS)
    assert list(cfg.objects.groups) == ["mugs", "cans"]
    bare = tmp_path / "bare.yaml"
    bare.write_text("frames: 2\n")
    cfg = load_scene_config(bare, ["objects.groups.main.count=[2,3]"], configs_dir=REPO_CONFIGS)
    assert list(cfg.objects.groups) == ["main"] and cfg.objects.groups["main"].count == [2, 3]
    assert "builtin:box" in cfg.objects.groups["main"].assets
    kitchen = load_scene_config(Path(__file__).resolve().parents[1] / "scenes" / "kitchen.yaml")
    assert "main" not in kitchen.objects.groups


# ------------------------------------------------------------------------------------ import cost


def test_importing_the_config_package_stays_light():
    """synthgen.config names the scene's layouts and texture kinds without importing the scene
    builders or numpy (``synthgen --help`` and config errors stay fast)."""
    import subprocess
    import sys

    code = ("import sys, synthgen.config; "
            "print(sorted(m for m in ('numpy', 'synthgen.scene.layout', 'synthgen.scene.textures') "
            "if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "[]"
