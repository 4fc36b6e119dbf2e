"""Errors raised while loading and validating scene configs.

``ConfigError`` is the only exception the loader lets out for a problem in the user's files or
command line; the CLI prints its one-line ``str()`` and exits with status 2.
``FieldValueError`` is what the schema's range checks raise; the loader turns it into a
``ConfigError`` that names the full dotted key path.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import InputError


def _one_line(text: str) -> str:
    # Messages are printed as a single line by the CLI; fold any newline a library put in.
    return " ".join(str(text).split())


class ConfigError(InputError):
    """A config problem the user can fix: bad key, type, value, file or override.

    ``str(err)`` is one line naming the key (full dotted path) or the file, what was expected and
    what was found. ``key`` (dotted path) and ``source`` (file or override) are set when known.
    """

    def __init__(self, message: str, *, key: str | None = None, source: str | Path | None = None):
        self.message = _one_line(message)
        self.key = key
        self.source = None if source is None else str(source)
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class FieldValueError(InputError, ValueError):
    """A schema range check failed for one field.

    ``key`` is the field name relative to the dataclass that ran the check; ``str()`` reads
    ``"<key>: expected <expected>, found <found!r>"`` so direct construction of a schema
    dataclass still gives a readable error.
    """

    def __init__(self, key: str, expected: str, found: object):
        self.key = key
        self.expected = expected
        self.found = found
        super().__init__(f"{key}: expected {expected}, found {found!r}")


def check(cond: bool, key: str, expected: str, found: object) -> None:
    """Raise :class:`FieldValueError` for ``key`` unless ``cond`` (schema range checks)."""
    if not cond:
        raise FieldValueError(key, expected, found)


def check_range(key: str, rng: list[float], lo: float | None = None, hi: float | None = None) -> None:
    """A ``[low, high]`` pair with low <= high, inside [lo, hi] when given."""
    check(len(rng) == 2, key, "a [low, high] pair", list(rng))
    check(rng[0] <= rng[1], key, "low <= high", list(rng))
    if lo is not None:
        check(rng[0] >= lo, key, f"values >= {lo}", list(rng))
    if hi is not None:
        check(rng[1] <= hi, key, f"values <= {hi}", list(rng))
