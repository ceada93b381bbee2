"""The untimed call that decides whether a mode is timed at a point: right answer, bearable time.

A mode that disagrees with the float64 reference is a mismatch and is not timed; one whose call
takes longer than the cap (twice: the first call may pay one-off costs) is skipped; one that runs
out of memory or raises is recorded with its error. None of these ends the sweep.
"""

from __future__ import annotations

import time

import torch

from jacbench.model.reference import TOLERANCE, relative_error
from jacbench.modes.registry import jacobian
from jacbench.results.point import Point
from jacbench.results.record import Outcome
from jacbench.results.schema import Status
from jacbench.run.case import Case, synchronize

__all__ = ["check_mode", "failure", "first_line", "is_out_of_memory"]


def first_line(exc: BaseException) -> str:
    """An exception as one short line: its type and the first line of its message."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


#: How allocators other than CUDA's say they ran out of memory (as a plain RuntimeError).
_OUT_OF_MEMORY = ("can't allocate memory", "not enough memory", "out of memory")


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether an exception is an allocation failure on any device."""
    if isinstance(exc, torch.OutOfMemoryError | MemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and any(s in text for s in _OUT_OF_MEMORY)


def failure(exc: BaseException, device: str, during: str = "") -> Outcome:
    """An exception raised by a mode, as an outcome: out of memory, or an error."""
    status = Status.OOM if is_out_of_memory(exc) else Status.ERROR
    if status == Status.OOM and device.startswith("cuda"):
        torch.cuda.empty_cache()
    return Outcome(status, during + first_line(exc))


def _timed_call(case: Case, mode: str, device: str) -> tuple[torch.Tensor, float]:
    synchronize(device)
    start = time.perf_counter()
    J = jacobian(case.net, case.x, mode)
    synchronize(device)
    return J, time.perf_counter() - start


def check_mode(case: Case, point: Point, mode: str, max_call_time: float) -> Outcome:
    """One untimed call: check against the reference and against the per-call time cap."""
    device = point.device
    cuda = torch.device(device) if device.startswith("cuda") else None
    try:
        if cuda is not None:
            torch.cuda.reset_peak_memory_stats(cuda)
            base = torch.cuda.memory_allocated(cuda)
        J, call_s = _timed_call(case, mode, device)
        peak = None if cuda is None else torch.cuda.max_memory_allocated(cuda) - base
        if J.shape != case.reference.shape:
            return Outcome(Status.MISMATCH, f"shape {tuple(J.shape)}, expected "
                           f"{tuple(case.reference.shape)}", None, call_s, peak)
        err = relative_error(J, case.reference)
        del J
        tol = TOLERANCE[point.dtype]
        if not err <= tol:
            return Outcome(Status.MISMATCH, f"relative error {err:.2e} > {tol:.0e}", err,
                           call_s, peak)
        if call_s > max_call_time:  # the first call may pay one-off costs: confirm
            call_s = min(call_s, _timed_call(case, mode, device)[1])
        if call_s > max_call_time:
            return Outcome(Status.SKIPPED, f"one call takes {call_s:.2f} s > --max-call-time "
                           f"{max_call_time:g} s", err, call_s, peak)
    except Exception as exc:  # a mode's failure is a result, not a crash of the sweep
        return failure(exc, device)
    return Outcome(Status.OK, "", err, call_s, peak)
