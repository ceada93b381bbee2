"""What every command shares: one-line user errors, the argument types, exit statuses."""

from __future__ import annotations

import argparse
import math

from jacbench.results.schema import MAX_INT

__all__ = ["EXIT_INTERRUPTED", "EXIT_USAGE", "Parser", "UserError", "add_plugin_flag",
           "load_plugins", "one_line", "positive_float", "positive_int"]

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UserError(Exception):
    """An error the user caused; reported as one line."""


class Parser(argparse.ArgumentParser):
    """argparse, but errors are one line (no usage block) so scripts and people see the cause."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UserError(f"{self.prog}: {message}")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer") from None
    if not 1 <= value <= MAX_INT:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer below 2**63")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive finite number")
    return value


def one_line(exc: BaseException) -> str:
    """An exception as the one line a user reads (an OS error names its file)."""
    if isinstance(exc, OSError) and exc.strerror:
        where = f" ({exc.filename})" if exc.filename else ""
        return f"{exc.strerror}{where}"
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def add_plugin_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--plugin", action="append", default=[], metavar="FILE.py",
                        help="a Python file that registers your own modes with "
                        "jacbench.register_mode (repeatable); installed plugins (entry points "
                        "in group jacbench.modes) load by themselves")


def load_plugins(args: argparse.Namespace) -> None:
    """The installed plugins and the --plugin files; one that fails is one line, exit 2."""
    from jacbench.modes.plugins import PluginError, load_plugins

    try:
        load_plugins(args.plugin)
    except PluginError as exc:
        raise UserError(str(exc)) from None
