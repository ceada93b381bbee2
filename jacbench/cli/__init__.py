"""Command line: ``python -m jacbench sweep | plot | report | compare | advise | status``.

User errors (bad flags, a config that does not parse, a folder that cannot be written or read,
a full disk) end in one line on stderr and a non-zero exit; nothing already written is changed.
The heavy modules (torch, matplotlib, jax) are imported by the command that needs them, so
``--help`` is quick. One module per group of commands: ``sweep_command``, ``cluster_commands``
(shards, submission, status), ``folder_commands`` (plot, report, compare), ``advise_command``.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable, Sequence

import jacbench
from jacbench.cli.advise_command import add_advise_parser, cmd_advise
from jacbench.cli.arguments import EXIT_USAGE, Parser, UserError, one_line
from jacbench.cli.cluster_commands import add_cluster_flags, add_status_parser, cmd_status
from jacbench.cli.folder_commands import add_folder_parsers, cmd_compare, cmd_plot, cmd_report
from jacbench.cli.sweep_command import add_sweep_parser, cmd_sweep

__all__ = ["COMMANDS", "build_parser", "main"]

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "sweep": cmd_sweep, "plot": cmd_plot, "report": cmd_report, "compare": cmd_compare,
    "advise": cmd_advise, "status": cmd_status,
}


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="python -m jacbench", description=jacbench.__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"jacbench {jacbench.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    add_cluster_flags(add_sweep_parser(commands))
    add_folder_parsers(commands)
    add_advise_parser(commands)
    add_status_parser(commands)
    return parser


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM (a scheduler's or a user's kill) ends a sweep as Ctrl-C does: saved, resumable."""
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    from jacbench.results.storage import ResultsError
    from jacbench.run.spec import SpecError

    tokens = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        args = parser.parse_args(tokens)
        if args.command is None:
            parser.print_help()
            return EXIT_USAGE
        args.argv = tokens[tokens.index(args.command) + 1:]  # what a shard's command repeats
        return COMMANDS[args.command](args)
    except (UserError, SpecError, ResultsError) as exc:
        print(f"jacbench: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        sys.stderr.close()
        return 0
    except OSError as exc:  # the file system said no: a full disk, a read-only folder, ...
        print(f"jacbench: error: {one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        signal.signal(signal.SIGTERM, previous)
