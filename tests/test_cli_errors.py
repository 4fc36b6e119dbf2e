"""Bad input through the CLI: one line naming the key or file, exit code 2, no traceback,
nothing written. Also how ``render``'s command line is read (overrides anywhere on it) and that
a render prints its summary line and nothing else."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, TINY_ARGS, run_cli

SCENE = REPO / "scenes" / "kitchen.yaml"


def _render(tmp_path: Path, *args: str):
    out = tmp_path / "out"
    r = run_cli("render", *args, "-o", out, "--quiet")
    return r, out


def _assert_clean_failure(r, out: Path):
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, r.stderr
    assert not out.exists(), "nothing may be written on bad input"
    return lines[0]


def test_unknown_key_names_full_path_and_suggestion(tmp_path):
    r, out = _render(tmp_path, str(SCENE), "camera.widht=320")
    msg = _assert_clean_failure(r, out)
    assert "camera.widht" in msg and "camera.width" in msg


def test_unknown_key_in_yaml_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(SCENE.read_text() + "\nobjects_count: 3\n")
    r, out = _render(tmp_path, str(bad))
    msg = _assert_clean_failure(r, out)
    assert "objects_count" in msg and "bad.yaml" in msg


def test_bad_type(tmp_path):
    r, out = _render(tmp_path, str(SCENE), "camera.width=wide")
    msg = _assert_clean_failure(r, out)
    assert "camera.width" in msg and "wide" in msg and "int" in msg


def test_out_of_range(tmp_path):
    r, out = _render(tmp_path, str(SCENE), "frames=0")
    msg = _assert_clean_failure(r, out)
    assert "frames" in msg and "0" in msg


def test_missing_scene_file(tmp_path):
    r, out = _render(tmp_path, str(tmp_path / "nope.yaml"))
    msg = _assert_clean_failure(r, out)
    assert "nope.yaml" in msg


def test_missing_sensor_preset(tmp_path):
    r, out = _render(tmp_path, str(SCENE), "sensor=kinect_v9")
    msg = _assert_clean_failure(r, out)
    assert "kinect_v9" in msg


@pytest.mark.parametrize("asset,why", [("builtin:teapot", "mug"), ("nowhere:thing", "builtin"),
                                       ("mesh:missing.obj?unit=mm", "missing.obj")])
def test_bad_asset_reference(tmp_path, asset, why):
    r, out = _render(tmp_path, str(SCENE), f"objects.groups.kitchenware.assets=[{asset}]")
    msg = _assert_clean_failure(r, out)
    assert msg.startswith(f"synthgen: error: asset '{asset}'") and why in msg


def test_bad_cli_argument(tmp_path):
    r = run_cli("render")
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_impossible_placement_in_strict_mode_is_a_clear_error(tmp_path):
    out = tmp_path / "strict"
    r = run_cli("render", str(SCENE), "frames=1", "views_per_scene=1", "camera.width=32", "camera.height=24",
                "objects.strict=true", "objects.groups.kitchenware.assets=[builtin:crate?scale=4]",
                "objects.groups.kitchenware.supports=[shelf]", "objects.groups.kitchenware.count=[1,1]",
                "--workers", "1", "-o", out, "--quiet")
    # a 1.2 m crate cannot go on a 0.3 m deep shelf
    assert r.returncode == 1
    assert "scene 0 failed: PlacementError: object" in r.stderr and "could not be placed on support 'shelf" in r.stderr
    assert "Traceback" not in r.stderr


def test_ray_executor_without_ray_is_one_line_and_writes_nothing(tmp_path, monkeypatch, capsys):
    """--executor ray where the ray extra is missing: one line before the output folder exists."""
    import sys

    from synthgen.cli import main

    monkeypatch.setitem(sys.modules, "ray", None)     # `import ray` raises ImportError
    out = tmp_path / "out"
    code = main(["render", str(SCENE), "frames=2", "camera.width=32", "camera.height=24", "-o", str(out),
                 "--quiet", "--executor", "ray"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "--executor ray needs the ray extra" in err[0] and "pip install" in err[0]
    assert not out.exists()


def test_resume_into_a_file_is_one_line(tmp_path):
    target = tmp_path / "a_file"
    target.write_text("not a dataset")
    r = run_cli("render", SCENE, "frames=2", "-o", target, "--quiet", "--resume")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "expected a directory, found a file" in r.stderr and str(target) in r.stderr
    assert target.read_text() == "not a dataset"


# ---------------------------------------------------------------- numbers are finite

@pytest.mark.parametrize("override, key, found", [
    ("sensor.fx=.inf", "sensor.fx", "inf"),
    ("sensor.cx=.nan", "sensor.cx", "nan"),
    ("output.depth_scale=.inf", "output.depth_scale", "inf"),
    ("lights.point_intensity=[1,.inf]", "lights.point_intensity[1]", "inf"),
    ("camera.focal_scale=[.nan,1]", "camera.focal_scale[0]", "nan"),
    ("camera.target_jitter=-.inf", "camera.target_jitter", "-inf"),
    ("room.size_x=[4,.inf]", "room.size_x[1]", "inf"),
    ("objects.density=.nan", "objects.density", "nan"),
    ("materials.roughness=[.nan,0.5]", "materials.roughness[0]", "nan"),
    ("humans.pose_noise_deg=.inf", "humans.pose_noise_deg", "inf"),
    ("sensor.depth_noise.sigma_a=.nan", "sensor.depth_noise.sigma_a", "nan"),
    ("sensor.rgb_noise.vignetting_k1=[0,-.inf]", "sensor.rgb_noise.vignetting_k1[1]", "-inf"),
])
def test_non_finite_floats_are_refused_in_every_section(tmp_path, override, key, found):
    r, out = _render(tmp_path, str(SCENE), override)
    msg = _assert_clean_failure(r, out)
    assert msg == f"synthgen: error: {key}: expected a finite number, found {found} (float) in override '{override}'"


# ---------------------------------------------------------------- errors name the right thing

def test_range_error_inside_a_group_names_the_group_and_the_override(tmp_path):
    r, out = _render(tmp_path, str(SCENE), "objects.groups.kitchenware.count=[3,1]")
    msg = _assert_clean_failure(r, out)
    assert msg.startswith("synthgen: error: objects.groups.kitchenware.count: expected a [low, high] pair")
    assert msg.endswith("found [3, 1] in override 'objects.groups.kitchenware.count=[3,1]'")


def _yaml_bomb() -> str:
    # a billion-laughs document: 9 lines, 10^8 list items once the aliases are expanded
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    return "\n".join(lines) + "\nframes: 2\n"


@pytest.mark.parametrize("text", [
    pytest.param(_yaml_bomb(), id="alias-bomb"),
    pytest.param("frames: 2\nhumans:\n  poses: [" + ", ".join(f"p{i}" for i in range(20000)) + "]\n",
                 id="plain-big-file"),
])
def test_config_with_too_many_yaml_nodes_is_one_line_naming_the_file(tmp_path, text):
    scene = tmp_path / "huge.yaml"
    scene.write_text(text)
    r, out = _render(tmp_path, str(scene))
    msg = _assert_clean_failure(r, out)
    assert msg == (f"synthgen: error: {scene}: config too large: expected at most 10000 YAML nodes "
                   "(keys, values and list items, aliases expanded), found more")


def _read_only_cli(folder: Path, *args: str) -> subprocess.CompletedProcess:
    """``synthgen ARGS`` with ``folder`` read-only: by its mode bits for a normal user; for root,
    whom mode bits do not stop, on a read-only bind mount of it in a private mount namespace."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            return run_cli(*args)
        finally:
            folder.chmod(0o755)
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True) if shutil.which("unshare") else None
    if probe is None or probe.returncode != 0:
        pytest.skip("running as root without mount namespaces: cannot make a folder read-only")
    script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"'
    return subprocess.run(["unshare", "-m", "sh", "-c", script, "sh", str(folder), sys.executable, "-m",
                           "synthgen", *map(str, args)], cwd=REPO, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("extra", [(), ("--overwrite",)], ids=["empty", "overwrite"])
def test_read_only_output_folder_is_bad_input(tmp_path, extra):
    out = tmp_path / "ro"
    out.mkdir()
    if extra:
        (out / "old.txt").write_text("keep")
    r = _read_only_cli(out, "render", SCENE, "frames=1", "camera.width=32", "camera.height=24", "-o", out,
                       "--quiet", *extra)
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert lines[0].startswith(f"synthgen: error: output {out}: cannot write into the folder (")
    assert "--resume" not in lines[0]
    assert sorted(p.name for p in out.iterdir()) == (["old.txt"] if extra else [])


def _box_urdf(visual_origin: str = "0 0 0", joint_rpy: str = "0 0 0", radius: str = "0.03") -> str:
    return f"""<robot name="r">
  <link name="base"><visual><origin xyz="{visual_origin}"/><geometry><box size="0.1 0.1 0.1"/></geometry></visual></link>
  <link name="knob"><visual><geometry><sphere radius="{radius}"/></geometry></visual></link>
  <joint name="j1" type="fixed"><parent link="base"/><child link="knob"/><origin rpy="{joint_rpy}"/></joint>
</robot>
"""


@pytest.mark.parametrize("urdf, element", [
    (_box_urdf(visual_origin="0 nan 0"), "link 'base' <visual> <origin xyz>='0 nan 0' (not finite)"),
    (_box_urdf(joint_rpy="0 NaN 0"), "joint 'j1' <origin rpy>='0 NaN 0' (not finite)"),
    (_box_urdf(radius="inf"), "link 'knob' <sphere radius>='inf' (not finite)"),
])
def test_non_finite_number_in_a_urdf_names_the_file_and_element(tmp_path, urdf, element):
    path = tmp_path / "thing.urdf"
    path.write_text(urdf)
    r, out = _render(tmp_path, str(SCENE), f"objects.groups.kitchenware.assets=[urdf:{path}]")
    msg = _assert_clean_failure(r, out)     # one line: no numpy warnings either
    assert msg.startswith(f"synthgen: error: asset 'urdf:{path}': expected a URDF with finite numeric")
    assert msg.endswith(f"found {element} in {path}")


def test_non_finite_symmetry_in_bop_models_info_is_one_line(tmp_path):
    import trimesh

    models = tmp_path / "lm" / "models"
    models.mkdir(parents=True)
    trimesh.creation.box((40.0, 30.0, 20.0)).export(models / "obj_000001.ply")
    flip = [1, 0, 0, 0, 0, -1, 0, 0, 0, 0, -1, float("nan"), 0, 0, 0, 1]
    (models / "models_info.json").write_text(json.dumps({"1": {"diameter": 53.9, "symmetries_discrete": [flip]}}))
    r, out = _render(tmp_path, str(SCENE), f"objects.groups.kitchenware.assets=[bop:{models}#1]")
    msg = _assert_clean_failure(r, out)
    assert "finite numbers in the symmetries of models_info.json" in msg and str(models) in msg


# ---------------------------------------------------------------- the command line and stdout

@pytest.fixture(scope="module")
def both_orders(tmp_path_factory):
    """The tiny kitchen rendered twice: overrides before ``-o`` and after all options."""
    root = tmp_path_factory.mktemp("orders")
    before = run_cli("render", SCENE, *TINY_ARGS, "-o", root / "before", "--quiet")
    after = run_cli("render", SCENE, "-o", root / "after", "--quiet", *TINY_ARGS)
    return root, before, after


def test_overrides_after_the_options_give_the_same_dataset(both_orders):
    root, before, after = both_orders
    assert before.returncode == 0 and after.returncode == 0, (before.stderr, after.stderr)
    a, b = root / "before", root / "after"
    # dataset.json records the run's wall time (and otherwise the same resolved config)
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file() and p.name != "dataset.json")
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file() and p.name != "dataset.json")
    assert len(files) > 20
    for f in files:
        assert (a / f).read_bytes() == (b / f).read_bytes(), f
    assert json.loads((a / "dataset.json").read_text())["config"] == json.loads((b / "dataset.json").read_text())["config"]
    assert json.loads((b / "dataset.json").read_text())["config"]["camera"]["width"] == 64


def test_render_prints_only_its_summary_line(both_orders):
    """pybullet's C code prints a "pybullet build time" banner when it loads: not on our streams."""
    root, before, after = both_orders
    for r, name in ((before, "before"), (after, "after")):
        assert r.stdout.splitlines() == [r.stdout.strip()], r.stdout
        assert r.stdout.startswith(f"synthgen: wrote 2 frames in 1 scenes to {root / name}: ")
        assert r.stderr == ""


def test_an_unknown_option_after_the_overrides_is_still_an_error(tmp_path):
    r = run_cli("render", SCENE, "-o", tmp_path / "out", "frames=2", "--bogus")
    assert r.returncode == 2 and r.stderr.strip() == "synthgen: error: unrecognized arguments: --bogus"
    assert not (tmp_path / "out").exists()
