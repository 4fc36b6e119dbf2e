"""Sharded runs: the same bytes for any worker count or executor, crash-safe resume, failures."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO, run_cli
from faults import fault_env

SCENE = REPO / "scenes" / "kitchen.yaml"
# The runner's tests start many worker processes: the mannequin keeps each start fast (Anny
# imports torch and builds its texel maps per process); the default body's bytes across worker
# counts are checked once, by test_anny_bytes_do_not_depend_on_the_worker_count.
ARGS = ("frames=6", "views_per_scene=2", "camera.width=48", "camera.height=36", "camera.person_target_prob=0.5",
        "humans.model=mannequin")
ANNOTATIONS = ["annotations/coco_train_synth.json", "manifest.jsonl", "models/models_info.json"] + [
    f"train_synth/{s:06d}/{f}" for s in range(3)
    for f in ("scene_gt.json", "scene_camera.json", "scene_gt_info.json", "scene_humans.json")]


def _wait_for(condition, timeout: float, what: str) -> None:
    """Poll ``condition`` until it is true; fail after ``timeout`` seconds naming ``what``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout:g} s waiting for {what}")
        time.sleep(0.05)


def _render(out: Path, *extra: str, env: dict | None = None):
    return run_cli("render", SCENE, *ARGS, "-o", out, "--quiet", *extra) if env is None else \
        subprocess.run([sys.executable, "-m", "synthgen", "render", str(SCENE), *ARGS, "-o", str(out), "--quiet",
                        *extra], cwd=REPO, capture_output=True, text=True, timeout=300, env={**os.environ, **env})


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ref") / "one"
    r = _render(out, "--workers", "1")
    assert r.returncode == 0, r.stderr
    return out


def _same(a: Path, b: Path) -> None:
    for n in ANNOTATIONS:
        assert (a / n).read_bytes() == (b / n).read_bytes(), n
    assert (b / "DONE").is_file()
    # every other file too: images, depth and masks come from other processes, whose pyrender
    # node sets once iterated in address order (draw and light order) and changed a few pixels
    # (dataset.json records the run's wall time)
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file() and p.name != "dataset.json")
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file() and p.name != "dataset.json")
    assert any(f.parent.name == "rgb" for f in files)
    for f in files:
        assert (a / f).read_bytes() == (b / f).read_bytes(), f


def test_two_workers_write_the_same_bytes(reference, tmp_path):
    out = tmp_path / "two"
    r = _render(out, "--workers", "2")
    assert r.returncode == 0, r.stderr
    _same(reference, out)


def test_anny_bytes_do_not_depend_on_the_worker_count(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    for out, workers in ((one, "1"), (two, "2")):
        r = _render(out, "humans.model=anny", "--workers", workers)
        assert r.returncode == 0, r.stderr
    import json

    assert json.loads((one / "train_synth" / "000000" / "scene_humans.json").read_text())["0"][0]["body_model"] == "anny"
    _same(one, two)


def test_ray_executor_writes_the_same_bytes(reference, tmp_path):
    pytest.importorskip("ray")
    out = tmp_path / "ray"
    r = _render(out, "--executor", "ray", "--workers", "2")
    assert r.returncode == 0, r.stderr
    _same(reference, out)


def test_ray_retries_a_shard_whose_worker_died(reference, tmp_path):
    """The Ray worker rendering scene 1 dies (os._exit, as a segfault or the OOM killer would);
    Ray reruns the task on another worker and the dataset ends with the same bytes."""
    pytest.importorskip("ray")
    out = tmp_path / "crash"
    r = _render(out, "--executor", "ray", "--workers", "2", env=fault_env("crash-once:1", markers=tmp_path))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "crashed-1").is_file()    # it did die once
    _same(reference, out)


def test_ray_keeps_a_bounded_window_of_tasks(reference, tmp_path, monkeypatch):
    """A million-frame job must not submit 10^5 Ray tasks at once: with a window of one task the
    shards run one after another, in order, and write the same bytes; a failing shard (retried,
    then reported) carries its error line once, not wrapped by Ray."""
    pytest.importorskip("ray")
    from synthgen.config import load_scene_config
    from synthgen.runner.executors import run_ray
    from synthgen.runner.plan import plan_shards

    for name, value in fault_env("1").items():     # Ray's worker processes start with this environment
        monkeypatch.setenv(name, value)
    cfg = load_scene_config(SCENE, list(ARGS))
    out = tmp_path / "window"
    out.mkdir()
    outcomes = []
    run_ray(cfg, out, SCENE.parent, plan_shards(cfg.frames, cfg.views_per_scene), None, 2, outcomes.append,
            max_in_flight=1)
    assert [(o.scene_index, o.frames) for o in outcomes] == [(0, 2), (1, 0), (2, 2)]
    assert outcomes[0].error is None and outcomes[2].error is None
    assert outcomes[1].error.startswith("RuntimeError: injected failure (SYNTHGEN_TEST_FAULTS)")
    assert not (out / "train_synth" / "000001").exists()
    shard_files = sorted(p.relative_to(out) for p in (out / "train_synth").rglob("*") if p.is_file())
    assert len(shard_files) > 20 and not any(f.parts[1] == "000001" for f in shard_files)
    for f in shard_files:
        assert (out / f).read_bytes() == (reference / f).read_bytes(), f


def _closed_port() -> int:
    """A local TCP port nobody listens on (bound, then closed)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_ray_address_fails_within_the_timeout(tmp_path):
    """--ray-address on a closed port: one line naming the address, exit 2, within the timeout
    (Ray alone would retry for minutes), and no output folder."""
    pytest.importorskip("ray", reason="the ray extra is not installed")
    address = f"127.0.0.1:{_closed_port()}"
    out = tmp_path / "never"
    t0 = time.monotonic()
    r = run_cli("render", SCENE, *ARGS, "-o", out, "--quiet", "--executor", "ray", "--ray-address", address,
                "--ray-timeout", "5", timeout=120)
    assert time.monotonic() - t0 < 30
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith(f"synthgen: error: --ray-address {address}: no Ray cluster answered within 5 s (")
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert not out.exists()


def test_a_silent_ray_address_fails_within_the_timeout(tmp_path):
    """A port that accepts connections but never answers as Ray would (ray.init would wait for
    minutes): the render gives up after --ray-timeout, exit 2, nothing written."""
    pytest.importorskip("ray", reason="the ray extra is not installed")
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        address = f"127.0.0.1:{listener.getsockname()[1]}"
        out = tmp_path / "never"
        t0 = time.monotonic()
        r = run_cli("render", SCENE, *ARGS, "-o", out, "--quiet", "--executor", "ray", "--ray-address", address,
                    "--ray-timeout", "3", timeout=120)
        took = time.monotonic() - t0
    assert took < 30
    assert r.returncode == 2, r.stderr
    # Ray's own C++ client may have logged its retries before; the last line is ours
    assert r.stderr.splitlines()[-1] == (f"synthgen: error: --ray-address {address}: no Ray cluster answered within "
                                         f"3 s (ray.init did not return); check the address, or raise --ray-timeout")
    assert "Traceback" not in r.stderr and not out.exists()


def test_ray_worker_runner_follows_the_config(tmp_path):
    """A Ray worker process keeps one runner (GL context, assets) per job; another config, even
    into the same folder in a long-lived Ray session, gets a new runner and the old one is closed."""
    from synthgen.config import load_scene_config
    from synthgen.runner import executors

    a = load_scene_config(SCENE, list(ARGS))
    b = load_scene_config(SCENE, [*ARGS, "camera.width=64"])
    try:
        r1 = executors._ray_runner(a, tmp_path, SCENE.parent)
        assert executors._ray_runner(a, tmp_path, SCENE.parent) is r1
        r2 = executors._ray_runner(b, tmp_path, SCENE.parent)
        assert r2 is not r1 and r2.renderer.width == 64 and r1.renderer.width == 48
        assert list(executors._RAY_RUNNER.values()) == [r2]
        with pytest.raises(RuntimeError):     # closed
            r1.renderer.prepare(None)
    finally:
        for r in executors._RAY_RUNNER.values():
            r.close()
        executors._RAY_RUNNER.clear()


def test_failed_shard_is_reported_and_resume_finishes(reference, tmp_path):
    out = tmp_path / "fail"
    r = _render(out, "--workers", "2", env=fault_env("1"))
    assert r.returncode == 1
    assert "scene 1 failed: RuntimeError: injected failure" in r.stderr
    assert "Traceback" not in r.stderr
    assert (out / "train_synth" / "000000" / "DONE").is_file()
    assert (out / "train_synth" / "000002" / "DONE").is_file()
    assert not (out / "train_synth" / "000001").exists() and not (out / "DONE").exists()
    r = _render(out, "--resume", "--workers", "1")
    assert r.returncode == 0, r.stderr
    assert "4 kept from before" in r.stdout and "MB written by this run" in r.stdout
    _same(reference, out)


def test_all_workers_dying_is_reported_and_the_run_exits(tmp_path):
    """Workers that all die (GL crash, OOM killer) leave shards in the task queue; the parent
    reports every scene as failed and exits instead of hanging on the queue at exit."""
    out = tmp_path / "dead"
    r = subprocess.run([sys.executable, "-m", "synthgen", "render", str(SCENE), "frames=1500", "views_per_scene=1",
                        "camera.width=48", "camera.height=36", "-o", str(out), "--quiet", "--workers", "2"],
                       cwd=REPO, capture_output=True, text=True, timeout=120,
                       env={**os.environ, **fault_env("worker-exit")})
    assert r.returncode == 1
    assert "1500 of 1500 scenes failed" in r.stderr
    assert "scene 1499 failed: worker process exited before finishing this scene" in r.stderr
    assert "Traceback" not in r.stderr


def test_summary_size_is_the_dataset_size(tmp_path):
    """The summary's output size is counted as files are written (never by walking a
    million-frame dataset), and equals the dataset's size on disk."""
    from synthgen.config import config_to_dict, load_scene_config
    from synthgen.runner.job import run_render

    cfg = load_scene_config(SCENE, list(ARGS))
    out = tmp_path / "size"
    res = run_render(cfg, out, config_dict=config_to_dict(cfg), quiet=True, base_dir=SCENE.parent, workers=2)
    on_disk = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    assert on_disk > 100_000 and res.bytes_written == on_disk


def test_resume_refuses_a_different_config(reference, tmp_path):
    out = tmp_path / "other"
    r = _render(out, "--workers", "1", env=fault_env("2"))
    assert r.returncode == 1
    r = run_cli("render", SCENE, *ARGS, "seed=5", "-o", out, "--quiet", "--resume")
    assert r.returncode == 2 and "different" in r.stderr


def test_resume_renders_again_a_shard_whose_file_was_deleted_or_truncated(reference, tmp_path):
    """A finished dataset whose files were damaged since (one image deleted, one depth map
    truncated): --resume finds both by their sizes against DONE, says so in one line each,
    renders those two scenes again and ends with the bytes of an uninterrupted run."""
    out = tmp_path / "damaged"
    shutil.copytree(reference, out)
    (out / "train_synth" / "000001" / "rgb" / "000001.png").unlink()
    cut = out / "train_synth" / "000002" / "depth" / "000000.png"
    size = cut.stat().st_size
    cut.write_bytes(cut.read_bytes()[: size // 2])
    r = _render(out, "--resume", "--workers", "1")
    assert r.returncode == 0, r.stderr
    lines = r.stderr.splitlines()
    assert "synthgen: scene 1: train_synth/000001/rgb/000001.png is missing; rendering the scene again" in lines
    assert (f"synthgen: scene 2: train_synth/000002/depth/000000.png has {size // 2} bytes, DONE recorded {size}; "
            f"rendering the scene again") in lines
    assert len(lines) == 2 and "2 kept from before" in r.stdout
    _same(reference, out)


def test_resume_verify_renders_again_a_shard_changed_in_place(reference, tmp_path):
    """A byte changed in place keeps the file's size: a plain --resume keeps the scene (sizes
    only, fast), --resume --verify finds it by its checksum and renders the scene again."""
    out = tmp_path / "flipped"
    shutil.copytree(reference, out)
    f = out / "train_synth" / "000000" / "depth_gt" / "000001.png"
    good = f.read_bytes()
    f.write_bytes(good[:-20] + bytes([good[-20] ^ 0xFF]) + good[-19:])
    r = _render(out, "--resume", "--workers", "1")
    assert r.returncode == 0, r.stderr
    assert "6 kept from before" in r.stdout and r.stderr == ""
    assert f.read_bytes() != good
    r = _render(out, "--resume", "--verify", "--workers", "1")
    assert r.returncode == 0, r.stderr
    assert r.stderr.splitlines() == ["synthgen: scene 0: train_synth/000000/depth_gt/000001.png differs from the "
                                     "SHA-256 DONE recorded; rendering the scene again"]
    assert "4 kept from before" in r.stdout
    _same(reference, out)


def test_sigkill_mid_run_then_resume_gives_the_same_bytes(reference, tmp_path):
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "synthgen", "render", str(SCENE), *ARGS, "-o", str(out), "--quiet", "--workers", "1"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = out / "train_synth" / "000000" / "DONE"
    _wait_for(lambda: first.exists() or proc.poll() is not None, 120, "the first shard")
    assert first.exists(), "the render ended before its first shard"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "DONE").exists()
    # the killed run's lock file stays behind; the kernel released its flock, so it blocks nothing
    assert (out / ".synthgen.lock").read_text() == f"{proc.pid}\n"
    r = _render(out, "--resume", "--workers", "1")
    assert r.returncode == 0, r.stderr
    assert not (out / ".synthgen.lock").exists()
    _same(reference, out)


def test_a_second_render_into_a_folder_being_written_is_refused(tmp_path):
    """Two real processes: while one renders into OUT (holding its lock), a --resume and a fresh
    --overwrite render into OUT each exit 2 with one line naming the first's pid, and touch
    nothing; the first then finishes a complete dataset and removes its lock."""
    out = tmp_path / "busy"
    many = ("frames=40", "views_per_scene=2", "camera.width=48", "camera.height=36")
    cmd = [sys.executable, "-m", "synthgen", "render", str(SCENE), *many, "-o", str(out), "--quiet", "--workers", "1"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: (out / "train_synth" / "000000" / "DONE").exists() or proc.poll() is not None, 120,
                  "the first render's first scene")
        assert proc.poll() is None and (out / ".synthgen.lock").read_text() == f"{proc.pid}\n"
        for second in ("--resume", "--overwrite"):
            r = run_cli("render", SCENE, *many, "-o", out, "--quiet", "--workers", "1", second)
            assert r.returncode == 2, (second, r.stderr)
            assert r.stderr == (f"synthgen: error: output {out} is being written by another synthgen process "
                                f"(pid {proc.pid}); wait for it to end (or stop it) before rendering into it\n")
            assert (out / "train_synth" / "000000" / "DONE").is_file()
        _, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert (out / "DONE").is_file() and len(list((out / "train_synth").glob("0*/DONE"))) == 20
    assert not (out / ".synthgen.lock").exists()


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state first), None when gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _children(pid: int, cmdline: str = "") -> list[tuple[int, str]]:
    """(pid, start time) of ``pid``'s child processes whose command line holds ``cmdline``."""
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        fields = _stat(int(stat.parent.name))
        if fields is None or int(fields[1]) != pid:
            continue
        try:
            if cmdline in Path(stat.parent, "cmdline").read_text().replace("\0", " "):
                kids.append((int(stat.parent.name), fields[19]))
        except OSError:
            continue
    return kids


def _alive(kid: tuple[int, str]) -> bool:
    """The very process (pid and start time: pids are reused) runs and is no zombie."""
    fields = _stat(kid[0])
    return fields is not None and fields[19] == kid[1] and fields[0] != "Z"


def test_workers_end_when_the_main_process_is_killed(tmp_path):
    """kill -9 of the main process: its worker processes end too, instead of rendering every
    queued shard into the folder a --resume will write to."""
    out = tmp_path / "orphans"
    cmd = [sys.executable, "-m", "synthgen", "render", str(SCENE), "frames=60", "views_per_scene=2", "camera.width=48",
           "camera.height=36", "-o", str(out), "--quiet", "--workers", "2"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for(lambda: (out / "train_synth" / "000000" / "DONE").exists() or proc.poll() is not None, 120,
              "the first shard")
    kids = _children(proc.pid, "spawn_main")
    assert len(kids) == 2
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    try:
        _wait_for(lambda: not any(_alive(k) for k in kids), 10, "the workers to end")
    finally:
        for k in kids:
            if _alive(k):
                os.kill(k[0], signal.SIGKILL)
    # with every worker gone nothing writes shards any more: far fewer than the 30 are there
    assert len(list((out / "train_synth").glob("0*"))) < 30


@pytest.mark.parametrize("when", ["starting", "rendering"])
def test_ctrl_c_is_one_line_and_ends_the_workers(tmp_path, when):
    """Ctrl-C (SIGINT to the terminal's whole process group) while the workers start up or while
    they render: one line, exit 130, no worker traceback, no worker left."""
    out = tmp_path / "ctrl_c"
    cmd = [sys.executable, "-m", "synthgen", "render", str(SCENE), "frames=40", "views_per_scene=2", "camera.width=48",
           "camera.height=36", "-o", str(out), "--quiet", "--workers", "2"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    if when == "starting":   # both workers exec'd into Python, still importing: none has a shard done
        _wait_for(lambda: len(_children(proc.pid, "spawn_main")) == 2 or proc.poll() is not None, 120,
                  "two worker processes")
    else:
        _wait_for(lambda: (out / "train_synth" / "000000" / "DONE").exists() or proc.poll() is not None, 120,
                  "the first shard")
    kids = _children(proc.pid, "spawn_main")
    assert len(kids) == 2 and proc.poll() is None
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert "interrupted" in err and "--resume" in err
    _wait_for(lambda: not any(_alive(k) for k in kids), 10, "the workers to end")


def test_resume_removes_the_temporaries_of_a_run_killed_while_merging(tmp_path):
    """A run killed during the end-of-run merge leaves .NAME.tmp-PID files; resume removes them
    (the merge is redone under the new run's pid) and keeps finished shards."""
    from synthgen.runner.output import prepare_output, prepare_resume

    out, cfg = tmp_path / "ds", {"seed": 1}
    prepare_output(out, overwrite=False, config_dict=cfg)
    (out / "annotations").mkdir()
    stale = [out / "annotations" / ".coco_train_synth.json.tmp-4242", out / ".manifest.jsonl.tmp-4242"]
    for f in stale:
        f.write_text("{")
    (out / "train_synth" / "000000").mkdir(parents=True)
    (out / "train_synth" / "000000" / "DONE").write_text("")
    (out / "train_synth" / ".tmp-000001-4242").mkdir()
    assert prepare_resume(out, cfg, "train_synth") == {0}
    assert not any(f.exists() for f in stale)
    assert not (out / "train_synth" / ".tmp-000001-4242").exists()


def test_commit_shard_flushes_every_file_before_done(tmp_path, monkeypatch):
    """Power loss, not only a crash: the shard's files and folders reach the disk (fsync) before
    DONE exists, DONE's folder entry before the rename, and the split folder after it."""
    from synthgen.runner import output

    split = tmp_path / "train_synth"
    final = split / "000003"
    tmp = output.shard_tmp_dir(final)
    (tmp / "rgb").mkdir(parents=True)
    (tmp / "rgb" / "000000.png").write_bytes(b"\x89PNG" * 10)
    (tmp / "scene_gt.json").write_text("{}")
    log = []
    real = os.fsync

    def spy(fd):
        log.append((Path(os.readlink(f"/proc/self/fd/{fd}")),
                    (tmp / "DONE").exists() or (final / "DONE").exists(), final.exists()))
        real(fd)

    monkeypatch.setattr(output.os, "fsync", spy)
    output.commit_shard(tmp, final)
    before_done = {p for p, done, _ in log if not done}
    assert {tmp / "rgb" / "000000.png", tmp / "scene_gt.json", tmp / "rgb", tmp} <= before_done
    assert (tmp, True, False) in log          # DONE's entry, before the rename
    assert log[-1] == (split, True, True)     # the rename itself
    assert (final / "DONE").is_file() and not tmp.exists()
    assert (final / "rgb" / "000000.png").read_bytes() == b"\x89PNG" * 10


_FSYNC_SPY = (
    "import os, sys\n"
    "real, log = os.fsync, open(sys.argv[1], 'w')\n"
    "def spy(fd):\n"
    "    log.write(os.readlink(f'/proc/self/fd/{fd}') + '\\n'); log.flush(); real(fd)\n"
    "os.fsync = spy\n"
    "from synthgen.cli import main\n"
    "sys.exit(main(sys.argv[2:]))\n")


def test_every_file_of_a_render_is_flushed_and_done_last(tmp_path):
    """Through the CLI (1 worker: shards render in the main process): every file of the dataset
    was fsynced (under its shard's temporary name or its own), and the dataset folder is flushed
    last, after its DONE was written."""
    import re

    out, log_file = tmp_path / "ds", tmp_path / "fsync.log"
    r = subprocess.run([sys.executable, "-c", _FSYNC_SPY, str(log_file), "render", str(SCENE), *ARGS,
                        "-o", str(out), "--quiet", "--workers", "1"],
                       cwd=REPO, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    lines = log_file.read_text().splitlines()
    # shard folders are written as .tmp-{scene}-{pid}, dataset files as .{name}.tmp-{pid}, and
    # renamed: map back to the final names
    flushed = {re.sub(r"/\.([^/]+)\.tmp-\d+$", r"/\1", re.sub(r"/\.tmp-(\d+)-\d+-[0-9a-f]+(?=/|$)", r"/\1", line))
               for line in lines}
    files = [p for p in out.rglob("*") if p.is_file() and p.name != "DONE"]
    assert len(files) > 50
    missing = [str(p.relative_to(out)) for p in files if str(p.resolve()) not in flushed]
    assert missing == []
    assert lines[-1] == str(out.resolve()) and (out / "DONE").is_file()
