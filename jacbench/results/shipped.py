"""Folders the repository ships (reference runs under results/): read, never written or resumed.

A new run that resumed a shipped folder would take another machine's rows for its own (the
same host name on two cloud VMs is common) and write into files under version control. A folder
is shipped when it holds the marker ``_shipped`` (which works without git, in a tarball or a
wheel) or when git tracks any file in it. New runs go to the git-ignored ``runs/`` by default.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from jacbench.results.storage import ResultsError

__all__ = ["SHIPPED_MARKER", "check_not_shipped", "shipped"]

#: The file that marks a folder the repository ships.
SHIPPED_MARKER = "_shipped"


def _tracked_by_git(directory: Path) -> bool:
    try:
        listed = subprocess.run(["git", "-C", str(directory), "ls-files", "--", "."],
                                capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return False  # no git here: the marker alone says it
    return listed.returncode == 0 and bool(listed.stdout.strip())


def shipped(directory: Path) -> str | None:
    """Why ``directory`` is a folder the repository ships, or None when it is not."""
    if not directory.is_dir():
        return None
    if (directory / SHIPPED_MARKER).is_file():
        return f"it holds the marker {SHIPPED_MARKER}"
    if _tracked_by_git(directory):
        return "git tracks its files"
    return None


def check_not_shipped(directory: Path) -> None:
    """Refuse, in one line, to write into or resume from a folder the repository ships."""
    why = shipped(directory)
    if why:
        raise ResultsError(f"{directory} is a results folder the repository ships ({why}): a "
                           "new run never writes into it or resumes from it; choose another "
                           "--out (new runs go to runs/ by default)")
