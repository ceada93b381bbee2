"""Command line: ``python -m jacbench sweep | plot | report``."""

from __future__ import annotations

import argparse
import sys

import jacbench


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m jacbench", description=jacbench.__doc__)
    parser.add_argument("--version", action="version", version=f"jacbench {jacbench.__version__}")
    return parser


def main(argv: list[str] | None = None) -> int:
    build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    return 0
