"""Output directory safety: never overwrite a dataset silently, never leave half-written files.

A finished shard is a folder ``OUT/{split}/{scene_id:06d}`` holding ``DONE``; it is written under a
temporary name in the same split folder and renamed into place, so it either exists whole or not
at all. Dataset-level files are written to a temporary name and replaced atomically.

A rename is atomic for a process that crashes, not for a machine that loses power: the file
system may commit the rename (and DONE) before the files' data, leaving a "finished" shard of
empty files that --resume would trust. So data is flushed (``fsync``) before anything that marks
it finished: every file and folder of a shard before its ``DONE``, ``DONE`` before the rename,
the rename before the shard is reported done; the dataset-level files before the dataset's
``DONE``.
"""
from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
from pathlib import Path

from ..errors import InputError


class OutputError(InputError, ValueError):
    """The output directory cannot be used as asked; ``str()`` is one line."""


DATASET_MARKER = "dataset.json"
# written when a render starts: marks the folder as ours and holds the config it renders
MARKER = ".synthgen"


def is_synthgen_dataset(out: Path) -> bool:
    """True when ``out`` holds a synthgen dataset (finished or interrupted)."""
    return (out / DATASET_MARKER).is_file() or (out / MARKER).is_file()


def _fingerprint(config_dict: dict) -> str:
    from ..writers.jsonio import dumps_line

    return dumps_line(config_dict)


def prepare_resume(out: Path, config_dict: dict, split: str) -> set[int]:
    """Get ``out`` ready to continue an interrupted render of the same config; returns the scene
    indices whose shards are complete (their folder holds ``DONE``).

    A missing or empty folder starts fresh. A folder that is not a synthgen dataset, or one that
    was started with a different config, is refused. Leftover temporary shard folders, the
    dataset-level files (rewritten at the end) and their leftover temporaries are removed.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputError(f"output {out}: expected a directory, found a file")
    if not out.exists() or not any(out.iterdir()):
        _make_dir(out)
        _write_marker(out, config_dict)
        return set()
    if not (out / MARKER).is_file():
        raise OutputError(f"output {out}: --resume expected a synthgen dataset started by 'synthgen render', "
                          f"found a folder without {MARKER}")
    if (out / MARKER).read_text() != _fingerprint(config_dict):
        raise OutputError(f"output {out}: --resume expected the same config as the interrupted run, found a "
                          f"different one (seed, frames, scene or overrides changed); use --overwrite to start over")
    # the same marker, rewritten: the check that the folder can be written, before anything else
    _write_marker(out, config_dict)
    for name in ("DONE", "dataset.json", "manifest.jsonl"):
        (out / name).unlink(missing_ok=True)
    # temporaries of dataset-level files (atomic_path) left by a run killed while merging
    for folder in (out, out / "annotations"):
        if folder.is_dir():
            for f in folder.glob(".*.tmp-*"):
                if f.is_file():
                    f.unlink()
    split_dir = out / split
    done = set()
    if split_dir.is_dir():
        for d in split_dir.iterdir():
            if d.name.startswith(".tmp-"):
                shutil.rmtree(d, ignore_errors=True)
            elif d.is_dir() and d.name.isdigit():
                if (d / "DONE").is_file():
                    done.add(int(d.name))
                else:
                    shutil.rmtree(d, ignore_errors=True)
    return done


def prepare_output(out: Path, overwrite: bool, config_dict: dict | None = None) -> None:
    """Create ``out`` for a fresh render.

    A missing or empty folder is used as is. A non-empty one is an error unless ``overwrite``,
    which removes it first; even then a folder that holds a git repository, or that contains the
    current directory, is refused (a typo in ``-o`` must not delete a project).
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputError(f"output {out}: expected a directory, found a file")
    if out.exists() and any(out.iterdir()):
        kind = "a synthgen dataset" if is_synthgen_dataset(out) else "not a synthgen dataset"
        if not overwrite:
            hint = "--resume to continue it, " if kind == "a synthgen dataset" else ""
            raise OutputError(f"output {out} is not empty ({kind}); pass {hint}--overwrite to replace it "
                              f"or choose another -o")
        resolved = out.resolve()
        if (resolved / ".git").exists() or Path.cwd().resolve().is_relative_to(resolved):
            raise OutputError(f"output {out}: refusing to --overwrite a folder that holds a git "
                              f"repository or the current directory")
        with _writable(out):
            shutil.rmtree(out)
    _make_dir(out)
    # Marks the folder as ours from the start, so an interrupted render is recognised and
    # --resume can check it continues the same config.
    _write_marker(out, config_dict or {})


def _make_dir(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:      # a file on the way, no permission, read-only file system
        raise OutputError(f"output {out}: cannot create the folder ({exc.strerror or exc})") from None


@contextlib.contextmanager
def _writable(out: Path):
    """Turn a file-system error while preparing ``out`` (a read-only folder or file system, no
    permission) into a one-line :class:`OutputError`: bad input, found before anything renders."""
    try:
        yield
    except OSError as exc:
        raise OutputError(f"output {out}: cannot write into the folder ({exc.strerror or exc}"
                          f"{f': {exc.filename}' if exc.filename else ''})") from None


def _write_marker(out: Path, config_dict: dict) -> None:
    # The first file a render writes, so it is also the check that the folder is writable.
    with _writable(out):
        atomic_write_bytes(out / MARKER, _fingerprint(config_dict).encode())


def fsync_path(path: Path) -> int:
    """Flush a file's data, or a folder's entries, to the disk (``fsync``); returns the file's
    size in bytes (0 for a folder). POSIX semantics (synthgen runs on Linux); folders on file
    systems that cannot fsync them (some network file systems) are skipped."""
    path = Path(path)
    is_dir = path.is_dir()
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if is_dir else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        if is_dir:
            return 0
        raise
    try:
        os.fsync(fd)
        return 0 if is_dir else os.fstat(fd).st_size
    except OSError as exc:
        if not (is_dir and exc.errno in (errno.EINVAL, errno.EBADF, errno.ENOTSUP)):
            raise
        return 0
    finally:
        os.close(fd)


def fsync_tree(root: Path) -> int:
    """:func:`fsync_path` every file and folder under ``root``, ``root`` last; returns the bytes
    of its files."""
    size = 0
    for dirpath, _dirnames, filenames in os.walk(root, topdown=False):
        for name in filenames:
            size += fsync_path(Path(dirpath) / name)
        fsync_path(Path(dirpath))
    return size


@contextlib.contextmanager
def atomic_path(path: Path):
    """Yield a temporary path beside ``path`` to write; on success it is flushed to the disk and
    renamed to ``path`` (and the rename flushed), on an error removed."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        yield tmp
        fsync_path(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_path(path.parent)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through :func:`atomic_path`: the data reach the disk before the
    rename and the rename before this returns."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def shard_tmp_dir(final: Path) -> Path:
    """The temporary folder a shard is written to before :func:`commit_shard`: unique to this
    attempt (pid and a random token: pids repeat across the containers of a cluster that share
    one output folder), so two attempts at one shard never write into the same folder."""
    return final.with_name(f".tmp-{final.name}-{os.getpid()}-{secrets.token_hex(4)}")


def commit_shard(tmp: Path, final: Path) -> int:
    """Flush the shard written in ``tmp`` to the disk, write ``DONE`` last inside it and rename it
    to ``final`` (atomic on one filesystem; durable on return, see the module docstring).
    Returns the shard's size in bytes."""
    size = fsync_tree(tmp)
    (tmp / "DONE").write_text("")
    fsync_path(tmp)
    # A folder under the final name only ever appears whole (renamed in with DONE), and a shard's
    # bytes depend only on (config, scene): when another attempt got there first (a Ray retry
    # whose first attempt was not dead after all), its shard is the same one; keep it.
    if not final.exists():
        try:
            os.replace(tmp, final)
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST) or not (final / "DONE").is_file():
                raise
    shutil.rmtree(tmp, ignore_errors=True)
    fsync_path(final.parent)
    return size
