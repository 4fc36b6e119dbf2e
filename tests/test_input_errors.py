"""One base class for bad input: every error the user can fix is a
:class:`synthgen.errors.InputError`, and every sub-command reports one the same way: its
``line()`` as the only line on stderr, exit 2, nothing written.

The class census imports every synthgen module, so a new exception class that forgets the base
(and is not a listed program error) fails here rather than as a traceback in a user's shell."""
from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

import synthgen
from synthgen.cli import build_parser, parse_args
from synthgen.errors import EXIT_BAD_INPUT, InputError, error_line, one_line

from conftest import REPO

SCENE = REPO / "scenes" / "kitchen.yaml"

#: Exceptions that are the program's own, not the user's input: exit 1 or a traceback.
PROGRAM_ERRORS = {
    "synthgen.runner.pipeline.RenderFailed",      # some shards failed; the CLI's exit 1 summary
    "synthgen.runner.executors.ShardFailed",      # a shard's error line, carried through Ray
    "synthgen.writers.jsonio.NonFiniteError",     # a NaN about to be written: a bug in the caller
}


def _synthgen_modules() -> list[str]:
    # __main__ modules run the CLI when imported
    return [m.name for m in pkgutil.walk_packages(synthgen.__path__, "synthgen.")
            if not m.name.endswith("__main__")]


def _exception_classes() -> dict[str, type]:
    """Every exception class defined in the package, by qualified name."""
    found = {}
    for name in _synthgen_modules():
        module = importlib.import_module(name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, BaseException) and obj.__module__ == name:
                found[f"{name}.{obj.__qualname__}"] = obj
    return found


def test_every_exception_class_is_an_input_error_or_a_listed_program_error():
    classes = _exception_classes()
    # the import census sees every class the source declares with an error-like name
    declared = set()
    for path in Path(synthgen.__file__).parent.rglob("*.py"):
        parts = path.relative_to(REPO).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        for cls in re.findall(r"^class (\w+(?:Error|Exception|Failed|Unreadable))\b", path.read_text(), re.M):
            declared.add(f"{module}.{cls}")
    assert declared <= set(classes), declared - set(classes)

    not_input = sorted(q for q, c in classes.items() if not issubclass(c, InputError))
    assert not_input == sorted(PROGRAM_ERRORS), (
        "an exception class is neither a synthgen.errors.InputError nor listed in PROGRAM_ERRORS: "
        f"{sorted(set(not_input) - PROGRAM_ERRORS)}; stale entries: {sorted(PROGRAM_ERRORS - set(not_input))}")

    def subclasses(c: type) -> set[type]:
        return {s for d in c.__subclasses__() for s in {d} | subclasses(d)}

    inputs = {f"{c.__module__}.{c.__qualname__}" for c in subclasses(InputError)}
    assert inputs >= {"synthgen.config.errors.ConfigError", "synthgen.assets.library.AssetError",
                      "synthgen.runner.output.OutputError", "synthgen.render.gl.GLUnavailableError",
                      "synthgen.render.pyrender_compat.PyrenderVersionError",
                      "synthgen.scene.lights_cameras.SamplingError",
                      "synthgen.bodies.smplx_backend.BodyModelError",
                      "synthgen.bodies.smplx_backend.SMPLXExtraMissingError",
                      "synthgen.runner.executors.ExtraMissingError",
                      "synthgen.runner.executors.ExecutorError", "synthgen.viz.dataset.VizError",
                      "synthgen.viz.dataset.NotADatasetError", "synthgen.mix.config.MixError",
                      "synthgen.validate.DatasetUnreadable", "synthgen.bodies.motion.MotionError",
                      "synthgen.physics.placement.PlacementError", "synthgen.assets.loaders.Problem"}


def test_input_errors_keep_the_standard_base_their_callers_catch():
    from synthgen.assets.library import AssetError
    from synthgen.bodies.smplx_backend import SMPLXExtraMissingError
    from synthgen.render.gl import GLUnavailableError
    from synthgen.runner.executors import ExtraMissingError

    assert issubclass(AssetError, ValueError) and issubclass(GLUnavailableError, RuntimeError)
    assert issubclass(ExtraMissingError, ImportError) and issubclass(SMPLXExtraMissingError, ImportError)
    assert ExtraMissingError("x").exit_code == EXIT_BAD_INPUT == 2


def test_the_line_is_defined_once_and_folds_line_breaks():
    assert error_line("frames: expected >= 1, found 0") == "synthgen: error: frames: expected >= 1, found 0"
    assert InputError("a  b").line() == "synthgen: error: a  b"       # a one-line message is kept as is
    assert InputError("bad file\n  at line 3\n\n").line() == "synthgen: error: bad file at line 3"
    assert one_line("x\r\ny") == "x y" and one_line("") == ""
    assert InputError("m").line(prog="synthgen mix") == "synthgen mix: error: m"


def _bad_inputs(tmp: Path) -> dict[str, tuple[list[str], str | None]]:
    """Real bad inputs per sub-command: argv and the InputError class the command lets out
    (None for mix, whose run_mix reports its own errors, through the same line())."""
    a_file = tmp / "a_file"
    a_file.write_text("not a dataset")
    (tmp / "empty").mkdir()
    out = str(tmp / "out")
    return {
        "render-config-key": (["render", str(SCENE), "camera.widht=320", "-o", out, "-q"], "ConfigError"),
        "render-asset": (["render", str(SCENE), "objects.groups.kitchenware.assets=[builtin:teapot]",
                          "-o", out, "-q"], "AssetError"),
        "render-body-model": (["render", str(SCENE), "humans.model=smplx", "-o", out, "-q"], "BodyModelError"),
        "render-output": (["render", str(SCENE), "frames=2", "-o", str(a_file), "--resume", "-q"], "OutputError"),
        "validate": (["validate", str(tmp / "nowhere"), "-q"], "DatasetUnreadable"),
        "preview": (["preview", str(tmp / "empty"), "-o", str(tmp / "p.png")], "NotADatasetError"),
        "report": (["report", str(tmp / "empty"), "-o", str(tmp / "report")], "NotADatasetError"),
        "mix": (["mix", "--synthetic", str(tmp / "nowhere"), "-o", out], None),
    }


@pytest.mark.parametrize("case", ["render-config-key", "render-asset", "render-body-model", "render-output",
                                   "validate", "preview", "report", "mix"])
def test_bad_input_is_one_line_on_stderr_and_exit_2(tmp_path, capsys, case):
    argv, expected = _bad_inputs(tmp_path)[case]
    before = sorted(p.name for p in tmp_path.iterdir())
    args = parse_args(build_parser(), argv)
    if expected is not None:
        # the command itself lets the error out; the sub-command's wrapper reports it
        with pytest.raises(InputError) as raised:
            args.func.__wrapped__(args)
        assert type(raised.value).__name__ == expected
        capsys.readouterr()
    code = args.func(args)
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert code == 2 and len(lines) == 1, err
    assert lines[0].startswith("synthgen: error: ") and "Traceback" not in err
    if expected is not None:
        assert lines[0] == raised.value.line()
    assert sorted(p.name for p in tmp_path.iterdir()) == before, "nothing may be written on bad input"
    assert (tmp_path / "a_file").read_text() == "not a dataset"


def test_info_without_gl_reports_it_and_exits_2():
    env = {**os.environ, "SYNTHGEN_GL": "vulkan"}
    r = subprocess.run([sys.executable, "-m", "synthgen", "info"], cwd=REPO, env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 2 and r.stderr == ""
    assert "GL: unavailable: " in r.stdout and "SYNTHGEN_GL='vulkan'" in r.stdout
