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

A shard's ``DONE`` lists every other file of the shard with its size and SHA-256
(:data:`DONE_FORMAT`), so ``--resume`` can tell a shard that is still whole from one whose files
were deleted or truncated since (sizes, always) or changed in place (checksums, ``--verify``).
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import secrets
import shutil
from pathlib import Path
from typing import Callable

from ..errors import InputError


class OutputError(InputError, ValueError):
    """The output directory cannot be used as asked; ``str()`` is one line."""


DATASET_MARKER = "dataset.json"
# held (flock) by the process that writes the folder, for as long as it does; holds its pid
LOCK_NAME = ".synthgen.lock"
# written when a render starts: marks the folder as ours and holds the config it renders
MARKER = ".synthgen"


def is_synthgen_dataset(out: Path) -> bool:
    """True when ``out`` holds a synthgen dataset (finished or interrupted)."""
    return (out / DATASET_MARKER).is_file() or (out / MARKER).is_file()


class OutputLock:
    """An exclusive ``flock`` on ``OUT/.synthgen.lock``, held for the whole of a render so a second
    synthgen process (a ``--resume``, a fresh render, ``--overwrite``) into the same folder is
    refused instead of racing the first.

    The kernel releases a ``flock`` when its holder dies, however it dies (``kill -9``
    included): a lock file left behind by a killed run never blocks the next. The holder writes
    its pid into the file (for the refusal's message) and removes the file as it releases it,
    so a finished dataset holds no lock file. Removing a lock file while others may open it is
    safe only with the check in :meth:`acquire`: a process that locked a file since removed
    locks the one now under the name instead. (Local file systems; NFS emulates ``flock`` with
    POSIX locks, which work across its clients too.)"""

    def __init__(self, out: Path):
        self.out = Path(out)
        self.path = self.out / LOCK_NAME
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, create: bool = True) -> bool:
        """Take the lock (a no-op when held). With ``create`` False, only a lock file that
        already exists is locked: returns False when there is none (nothing written then).
        :class:`OutputError` when another process holds it."""
        if self._fd is not None:
            return True
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | (os.O_CREAT if create else 0), 0o644)
            except (FileNotFoundError, NotADirectoryError):
                if not create:
                    return False
                raise
            except OSError as exc:
                raise OutputError(f"output {self.out}: cannot write into the folder ({exc.strerror or exc})") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                try:
                    pid = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
                finally:
                    os.close(fd)
                raise OutputError(f"output {self.out} is being written by another synthgen process (pid {pid}); "
                                  f"wait for it to end (or stop it) before rendering into it") from None
            try:    # still the file under the name? (its holder may have removed it as it released it)
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
            if not create:
                return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def release(self) -> None:
        """Remove the lock file, then let go of the lock (in this order: see the class)."""
        if self._fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)
        finally:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "OutputLock":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _fingerprint(config_dict: dict) -> str:
    from ..writers.jsonio import dumps_line

    return dumps_line(config_dict)


def prepare_resume(out: Path, config_dict: dict, split: str, *, verify: bool = False,
                   warn: Callable[[str], None] = lambda line: None, lock: OutputLock | None = None) -> set[int]:
    """Get ``out`` ready to continue an interrupted render of the same config; returns the scene
    indices whose shards are complete: their folder holds ``DONE`` and every file ``DONE`` lists
    has the size it records (and, with ``verify``, the SHA-256 too).

    A missing or empty folder starts fresh. A folder that is not a synthgen dataset, or one that
    was started with a different config, is refused. Leftover temporary shard folders, the
    dataset-level files (rewritten at the end) and their leftover temporaries are removed, and so
    are shards that fail the check: ``warn`` gets one line for each (which file, found vs
    recorded) and the caller renders them again.

    A ``DONE`` without a file list (written by synthgen before it recorded one) cannot be
    checked: such shards are kept as they are, with one ``warn`` line counting them, unless
    ``verify`` asks that only verified shards be kept; then they are rendered again too.

    ``lock`` (when given) is acquired once the folder is known to be ours, before anything in it
    is changed.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputError(f"output {out}: expected a directory, found a file")
    if not out.exists() or not _entries(out):
        _make_dir(out)
        _lock(out, lock)
        _write_marker(out, config_dict)
        return set()
    if not (out / MARKER).is_file():
        raise OutputError(f"output {out}: --resume expected a synthgen dataset started by 'synthgen render', "
                          f"found a folder without {MARKER}")
    if (out / MARKER).read_text() != _fingerprint(config_dict):
        raise OutputError(f"output {out}: --resume expected the same config as the interrupted run, found a "
                          f"different one (seed, frames, scene or overrides changed); use --overwrite to start over")
    _lock(out, lock)
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
    unlisted = []
    if split_dir.is_dir():
        for d in sorted(split_dir.iterdir()):
            if d.name.startswith(".tmp-"):
                shutil.rmtree(d, ignore_errors=True)
            elif d.is_dir() and d.name.isdigit():
                problem = check_shard(d, verify) if (d / "DONE").is_file() else "no DONE"
                if problem is None:
                    done.add(int(d.name))
                    continue
                if problem is UNLISTED:
                    if not verify:
                        unlisted.append(int(d.name))
                        done.add(int(d.name))
                        continue
                    problem = "DONE lists no files (written by an older synthgen), --verify cannot check it"
                if problem != "no DONE":     # an interrupted shard is expected: no line for it
                    warn(f"scene {int(d.name)}: {split}/{d.name}/{problem}; rendering the scene again")
                # commit_shard keeps a shard already in place: the bad one must go first
                shutil.rmtree(d, ignore_errors=True)
    if unlisted:
        warn(f"{len(unlisted)} scene(s) kept unchecked: their DONE (written by an older synthgen) lists no "
             f"files; --resume --verify renders them again")
    return done


def prepare_output(out: Path, overwrite: bool, config_dict: dict | None = None,
                   lock: OutputLock | None = None) -> None:
    """Create ``out`` for a fresh render.

    A missing or empty folder is used as is. A non-empty one is an error unless ``overwrite``,
    which empties it first; even then a folder that holds a git repository, or that contains the
    current directory, is refused (a typo in ``-o`` must not delete a project). ``lock`` (when
    given) is acquired once the folder may be used, before anything in it is changed; the
    folder itself is kept (only its contents go), so the lock on the file in it stays good.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputError(f"output {out}: expected a directory, found a file")
    if out.exists() and _entries(out):
        kind = "a synthgen dataset" if is_synthgen_dataset(out) else "not a synthgen dataset"
        if not overwrite:
            hint = "--resume to continue it, " if kind == "a synthgen dataset" else ""
            raise OutputError(f"output {out} is not empty ({kind}); pass {hint}--overwrite to replace it "
                              f"or choose another -o")
        resolved = out.resolve()
        if (resolved / ".git").exists() or Path.cwd().resolve().is_relative_to(resolved):
            raise OutputError(f"output {out}: refusing to --overwrite a folder that holds a git "
                              f"repository or the current directory")
        _lock(out, lock)
        with _writable(out):
            for entry in _entries(out):
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
    _make_dir(out)
    _lock(out, lock)
    # Marks the folder as ours from the start, so an interrupted render is recognised and
    # --resume can check it continues the same config.
    _write_marker(out, config_dict or {})


def _entries(out: Path) -> list[Path]:
    """What ``out`` holds, but the lock file (a running render's, or one a killed run left)."""
    return [p for p in out.iterdir() if p.name != LOCK_NAME]


def _lock(out: Path, lock: OutputLock | None) -> None:
    if lock is not None:
        with _writable(out):
            lock.acquire()


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


#: What a shard's ``DONE`` holds: ``{"format": DONE_FORMAT, "files": {"<path relative to the
#: shard, / separated>": {"size": <bytes>, "sha256": "<hex>"}, ...}}`` for every file of the shard
#: but DONE, as sorted-key JSON (so its bytes, like the shard's, depend on the config alone).
DONE_FORMAT = "synthgen-shard/1"
#: :func:`check_shard`'s answer for a ``DONE`` without a file list (an older synthgen's empty one).
UNLISTED = "unlisted"


def _sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def shard_inventory(shard: Path) -> dict[str, dict]:
    """Every file under ``shard`` but ``DONE``, by path relative to it: size (bytes) and SHA-256."""
    shard = Path(shard)
    files = {}
    for p in sorted(shard.rglob("*")):
        rel = p.relative_to(shard).as_posix()
        if p.is_file() and rel != "DONE":
            files[rel] = {"size": p.stat().st_size, "sha256": _sha256(p)}
    return files


def check_shard(shard: Path, verify: bool = False) -> str | None:
    """None when every file the shard's ``DONE`` lists has its recorded size (and, with
    ``verify``, its SHA-256); else what is wrong with the first that does not, as a phrase that
    begins with the file's path relative to the shard (:data:`UNLISTED` for a ``DONE`` without a
    file list)."""
    shard = Path(shard)
    try:
        text = (shard / "DONE").read_text()
    except OSError as exc:
        return f"DONE unreadable ({exc.strerror or exc})"
    if not text.strip():
        return UNLISTED
    try:
        record = json.loads(text)
        files = record["files"]
        if record.get("format") != DONE_FORMAT or not isinstance(files, dict):
            raise ValueError
        entries = [(rel, int(e["size"]), str(e["sha256"])) for rel, e in files.items()]
    except (ValueError, KeyError, TypeError, AttributeError):
        return f"DONE unreadable (expected {DONE_FORMAT} JSON)"
    for rel, size, sha in entries:
        if rel.startswith("/") or ".." in rel.split("/"):
            return f"DONE unreadable (a path outside the shard: {rel})"
        path = shard / rel
        try:
            found = path.stat().st_size
        except FileNotFoundError:
            return f"{rel} is missing"
        except OSError as exc:
            return f"{rel} unreadable ({exc.strerror or exc})"
        if found != size:
            return f"{rel} has {found} bytes, DONE recorded {size}"
        if verify and _sha256(path) != sha:
            return f"{rel} differs from the SHA-256 DONE recorded"
    return None


def commit_shard(tmp: Path, final: Path) -> int:
    """Flush the shard written in ``tmp`` to the disk, write ``DONE`` (its file list, sizes and
    checksums) last inside it and rename it to ``final`` (atomic on one filesystem; durable on
    return, see the module docstring). Returns the shard's size in bytes, ``DONE`` included."""
    size = fsync_tree(tmp)
    done = (json.dumps({"format": DONE_FORMAT, "files": shard_inventory(tmp)}, sort_keys=True, indent=1)
            + "\n").encode()
    (tmp / "DONE").write_bytes(done)
    size += fsync_path(tmp / "DONE")
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
