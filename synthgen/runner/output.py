"""Output directory safety: never overwrite a dataset silently, never leave half-written files.

A finished shard is a folder ``OUT/{split}/{scene_id:06d}`` holding ``DONE``; it is written under a
temporary name in the same split folder and renamed into place, so it either exists whole or not
at all. Dataset-level files are written to a temporary name and replaced atomically.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path


class OutputError(ValueError):
    """The output directory cannot be used as asked; ``str()`` is one line."""


DATASET_MARKER = "dataset.json"


def is_synthgen_dataset(out: Path) -> bool:
    """True when ``out`` holds a synthgen dataset (finished or interrupted)."""
    return (out / DATASET_MARKER).is_file() or (out / ".synthgen").is_file()


def prepare_output(out: Path, overwrite: bool) -> None:
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
            raise OutputError(f"output {out} is not empty ({kind}); pass --overwrite to replace it "
                              f"or choose another -o")
        resolved = out.resolve()
        if (resolved / ".git").exists() or Path.cwd().resolve().is_relative_to(resolved):
            raise OutputError(f"output {out}: refusing to --overwrite a folder that holds a git "
                              f"repository or the current directory")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    # Marks the folder as ours from the start, so an interrupted render is recognised.
    (out / ".synthgen").write_text("synthgen dataset in progress or finished\n")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file and ``os.replace``."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def shard_tmp_dir(final: Path) -> Path:
    """The temporary folder a shard is written to before :func:`commit_shard`."""
    return final.with_name(f".tmp-{final.name}-{os.getpid()}")


def commit_shard(tmp: Path, final: Path) -> None:
    """Write ``DONE`` last inside ``tmp`` and rename it to ``final`` (atomic on one filesystem)."""
    (tmp / "DONE").write_text("")
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
