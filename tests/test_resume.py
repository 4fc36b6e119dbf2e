"""What --resume trusts: each shard's DONE lists its files with sizes and SHA-256, checked
before a shard is kept (fast: no rendering here; the CLI runs are in test_scale.py)."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from synthgen.runner import output

CFG = {"seed": 1}


def _shard(split: Path, scene: int, files: dict[str, bytes]) -> Path:
    """A shard committed as the runner commits one: files in a temporary folder, then DONE."""
    final = split / f"{scene:06d}"
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.shard_tmp_dir(final)
    for rel, data in files.items():
        (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp / rel).write_bytes(data)
    output.commit_shard(tmp, final)
    return final


def test_done_lists_every_file_with_size_and_sha256(tmp_path):
    files = {"rgb/000000.png": b"\x89PNG" * 10, "scene_gt.json": b"{}", "mask_visib/000000_000000.png": b"m"}
    shard = _shard(tmp_path / "train_synth", 3, files)
    record = json.loads((shard / "DONE").read_text())
    assert record == {"format": output.DONE_FORMAT,
                      "files": {rel: {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
                                for rel, data in files.items()}}
    # the same files give the same DONE bytes (a shard's bytes depend on its content alone)
    again = _shard(tmp_path / "other", 3, files)
    assert (again / "DONE").read_bytes() == (shard / "DONE").read_bytes()
    assert output.check_shard(shard) is None and output.check_shard(shard, verify=True) is None


def test_commit_shard_counts_done_in_the_size(tmp_path):
    final = tmp_path / "train_synth" / "000000"
    tmp = output.shard_tmp_dir(final)
    tmp.mkdir(parents=True)
    (tmp / "scene_gt.json").write_bytes(b"0123456789")
    size = output.commit_shard(tmp, final)
    assert size == 10 + (final / "DONE").stat().st_size > 10


def test_check_shard_names_the_first_bad_file(tmp_path):
    shard = _shard(tmp_path / "s", 0, {"a.json": b"abcdef", "rgb/000000.png": b"x" * 100})
    (shard / "rgb" / "000000.png").write_bytes(b"x" * 99)
    assert output.check_shard(shard) == "rgb/000000.png has 99 bytes, DONE recorded 100"
    (shard / "rgb" / "000000.png").unlink()
    assert output.check_shard(shard) == "rgb/000000.png is missing"
    (shard / "rgb" / "000000.png").write_bytes(b"x" * 100)
    (shard / "a.json").write_bytes(b"abcdeF")     # same size: only the checksum sees it
    assert output.check_shard(shard) is None
    assert output.check_shard(shard, verify=True) == "a.json differs from the SHA-256 DONE recorded"
    (shard / "DONE").write_text('{"files": ')
    assert output.check_shard(shard).startswith("DONE unreadable")
    (shard / "DONE").write_text(json.dumps({"format": output.DONE_FORMAT,
                                            "files": {"../../x": {"size": 1, "sha256": ""}}}))
    assert output.check_shard(shard).startswith("DONE unreadable (a path outside the shard")
    (shard / "DONE").write_text("")
    assert output.check_shard(shard) == output.UNLISTED


def test_resume_keeps_good_shards_and_removes_bad_ones_with_one_line_each(tmp_path):
    out = tmp_path / "ds"
    output.prepare_output(out, overwrite=False, config_dict=CFG)
    split = out / "train_synth"
    _shard(split, 0, {"rgb/000000.png": b"good"})
    bad = _shard(split, 1, {"rgb/000000.png": b"good", "depth/000000.png": b"deep"})
    (bad / "depth" / "000000.png").write_bytes(b"")
    (split / "000002").mkdir()                     # interrupted before DONE: no line, removed
    (split / "000002" / "x").write_text("")
    old = split / "000003"                          # an older synthgen's empty DONE
    old.mkdir()
    (old / "DONE").write_text("")
    lines: list[str] = []
    assert output.prepare_resume(out, CFG, "train_synth", warn=lines.append) == {0, 3}
    assert lines == ["scene 1: train_synth/000001/depth/000000.png has 0 bytes, DONE recorded 4; "
                     "rendering the scene again",
                     "1 scene(s) kept unchecked: their DONE (written by an older synthgen) lists no files; "
                     "--resume --verify renders them again"]
    assert not bad.exists() and not (split / "000002").exists() and old.is_dir()
    lines.clear()
    assert output.prepare_resume(out, CFG, "train_synth", verify=True, warn=lines.append) == {0}
    assert lines == ["scene 3: train_synth/000003/DONE lists no files (written by an older synthgen), --verify "
                     "cannot check it; rendering the scene again"]
    assert not old.exists()


def test_output_lock_refuses_a_second_holder_and_is_removed_on_release(tmp_path):
    import os

    import pytest

    out = tmp_path / "ds"
    out.mkdir()
    first, second = output.OutputLock(out), output.OutputLock(out)
    assert second.acquire(create=False) is False and not (out / output.LOCK_NAME).exists()
    assert first.acquire()
    assert (out / output.LOCK_NAME).read_text() == f"{os.getpid()}\n"
    # a flock belongs to an open file: a second open of the file conflicts even in this process
    with pytest.raises(output.OutputError, match=rf"is being written by another synthgen process \(pid {os.getpid()}\)"):
        second.acquire()
    first.release()
    assert not (out / output.LOCK_NAME).exists()
    assert second.acquire(create=False) is False
    assert second.acquire() and second.held
    second.release()


def test_a_lock_file_left_by_a_dead_process_does_not_block(tmp_path):
    import os

    out = tmp_path / "ds"
    output.prepare_output(out, overwrite=False, config_dict=CFG)
    (out / output.LOCK_NAME).write_text("999999\n")      # its holder was killed: nobody holds the flock
    with output.OutputLock(out) as lock:
        assert lock.acquire(create=False)
        assert (out / output.LOCK_NAME).read_text() == f"{os.getpid()}\n"
        assert output.prepare_resume(out, CFG, "train_synth", lock=lock) == set()
    assert not (out / output.LOCK_NAME).exists()


def test_overwrite_empties_the_folder_but_keeps_the_held_lock(tmp_path):
    import pytest

    out = tmp_path / "ds"
    output.prepare_output(out, overwrite=False, config_dict=CFG)
    (out / "train_synth" / "000000").mkdir(parents=True)
    (out / "dataset.json").write_text("{}")
    with output.OutputLock(out) as lock:
        output.prepare_output(out, overwrite=True, config_dict={"seed": 2}, lock=lock)
        assert lock.held and sorted(p.name for p in out.iterdir()) == [output.MARKER, output.LOCK_NAME]
        with pytest.raises(output.OutputError, match="being written by another synthgen process"):
            output.OutputLock(out).acquire(create=False)


def test_the_fault_seam_lives_in_the_tests_only(tmp_path):
    """Fault injection is a test-only seam: no synthgen module reads its variable, and a process
    started with faults.fault_env renders every shard through the wrapper."""
    import os
    import subprocess
    import sys

    from conftest import REPO
    from faults import FAULTS_ENV, fault_env

    assert not [p for p in (REPO / "synthgen").rglob("*.py")
                if FAULTS_ENV in p.read_text() or "INJECT_FAILURE" in p.read_text()]
    probe = "import synthgen.runner.pipeline as p; print(p.render_shard.__module__, p.run_shard.__module__)"
    env = {**os.environ, **fault_env("7")}
    r = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["sitecustomize", "synthgen.runner.pipeline"]
