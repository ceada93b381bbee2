"""What a mode hands the runner: its timed call made ready (``Prepared``), or why it cannot run
here (``ModeUnavailable``). Torch-light and free of every mode, so that modes of other
frameworks (``jax_modes``, ``compiled``) and the registry can both import it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

__all__ = ["ModeUnavailable", "Prepared"]


class ModeUnavailable(Exception):
    """The mode's framework or backend is missing from this install; the message says which."""


@dataclass(frozen=True)
class Prepared:
    """One mode made ready to time at one (net, x): what the timer calls, and how to check it.

    ``call()`` does the timed work, one Jacobian, finished on its device (a mode of another
    framework converts its weights and input once, in ``prepare``, and blocks until its result is
    ready inside ``call``); ``to_torch`` turns what ``call`` returns into a torch tensor for the
    check against the reference; ``threads`` is how many CPU threads its framework runs with;
    ``peak_bytes``, for a framework whose device memory torch's statistics do not see (JAX on a
    GPU), returns the extra device memory one call needs (None where it cannot tell).
    """

    call: Callable[[], object]
    to_torch: Callable[[object], torch.Tensor]
    threads: int | None = None
    peak_bytes: Callable[[], int | None] | None = None
