"""The base class of every error in what the user gave us, and how such an error is reported.

Bad input (a config key, an asset reference, a model or motion file, a CLI argument, the output
folder, a dataset folder to read) and a missing environment piece (no GL context, an extra not
installed) raise a subclass of :class:`InputError`. The CLI reports every one the same way,
defined here once: :meth:`InputError.line` on stderr, nothing else, exit :data:`EXIT_BAD_INPUT`.

Errors that are the program's own (a bug, a failed shard, a render that failed for a reason
other than its input) do not subclass it: they are exit 1 or a traceback.

The module subclasses keep their standard base too (``class AssetError(InputError, ValueError)``)
where callers catch ``ValueError`` / ``ImportError`` / ``RuntimeError``.
"""
from __future__ import annotations

#: Exit status of a command refused for bad input (argparse uses 2 for bad arguments as well).
EXIT_BAD_INPUT = 2


def one_line(text: object) -> str:
    """``str(text)`` with its line breaks folded into single spaces (blank lines dropped). A
    message that already is one line comes back unchanged, byte for byte."""
    s = str(text)
    if s.splitlines() in ([s], []):     # no line break anywhere (str.splitlines's sense)
        return s
    return " ".join(part.strip() for part in s.splitlines() if part.strip())


def error_line(message: object, prog: str = "synthgen") -> str:
    """The one line a command prints on stderr for bad input: ``"<prog>: error: <message>"``."""
    return f"{prog}: error: {one_line(message)}"


class InputError(Exception):
    """Bad input or a missing environment piece the user can fix. ``str()`` names the key or
    file, what was expected and what was found; :meth:`line` is what the CLI prints and
    :attr:`exit_code` what it exits with."""

    exit_code: int = EXIT_BAD_INPUT

    def line(self, prog: str = "synthgen") -> str:
        """The error as the command's single stderr line (no newline at the end)."""
        return error_line(self, prog)
