"""Where jacbench keeps what outlives a run on this machine, outside any results folder.

On the ground floor (it imports nothing of jacbench), so the native kernel's build
(``modes/native_library.py``) and the advisor's cached calibration (``run/advise.py``) share one
root.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_root"]


def cache_root() -> Path:
    """This user's jacbench cache: $JACBENCH_CACHE, else $XDG_CACHE_HOME/jacbench, else
    ~/.cache/jacbench."""
    root = os.environ.get("JACBENCH_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "jacbench")
    return Path(root)
