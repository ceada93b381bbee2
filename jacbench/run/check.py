"""The untimed call that decides whether a mode is timed at a point: right answer, bearable time.

A mode that disagrees with the float64 reference is a mismatch and is not timed; one whose warm
call takes longer than the cap is skipped; one that runs out of memory or raises is recorded with
its error, one whose framework is missing as unavailable. None of these ends the sweep. The first
call's extra time over a warm one is the mode's one-off cost (tracing, compiling, allocating),
kept apart from the timed median.
"""

from __future__ import annotations

import time
from dataclasses import replace

import torch

from jacbench.model.reference import relative_error, tolerance
from jacbench.modes.registry import ModeUnavailable, Prepared, prepare
from jacbench.results.point import Point
from jacbench.results.record import Outcome
from jacbench.results.schema import Status
from jacbench.run.case import Case, mode_unavailable, synchronize

__all__ = ["check_mode", "failure", "first_line", "is_out_of_memory", "out_of_range"]


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


def out_of_range(reference: torch.Tensor, dtype: torch.dtype) -> str:
    """Why a half precision missed (its range, not its rounding): "" unless every entry of the
    reference Jacobian lies below the dtype's smallest normal number."""
    tiny = torch.finfo(dtype).tiny
    if reference.numel() == 0 or float(reference.abs().max()) >= tiny:
        return ""
    name = str(dtype).removeprefix("torch.")
    return f" (every entry of J is below {name}'s smallest normal number, {tiny:.1e})"


def _timed_call(ready: Prepared, device: str) -> tuple[object, float]:
    synchronize(device)
    start = time.perf_counter()
    result = ready.call()
    synchronize(device)
    return result, time.perf_counter() - start


def check_mode(case: Case, point: Point, mode: str, max_call_time: float
               ) -> tuple[Outcome, Prepared | None]:
    """Two untimed calls: the first checked against the reference, the second (warm) against
    the per-call time cap; the first's extra time, with the mode's preparation (a native plan,
    a weight conversion), is its one-off cost (``compile_s``).
    Returns the outcome and, when it is ok, the prepared mode to time."""
    device = point.device
    cuda = torch.device(device) if device.startswith("cuda") else None
    why = mode_unavailable(mode, point.dtype)
    if why:
        return Outcome(Status.UNAVAILABLE, why), None
    try:
        start = time.perf_counter()
        ready = prepare(case.net, case.x, mode)  # may build state: part of the one-off cost
        prepare_s = time.perf_counter() - start
        if cuda is not None:
            torch.cuda.reset_peak_memory_stats(cuda)
            base = torch.cuda.memory_allocated(cuda)
        result, first_s = _timed_call(ready, device)
        first_s += prepare_s
        peak = None if cuda is None else torch.cuda.max_memory_allocated(cuda) - base
        if ready.peak_bytes is not None:  # memory torch's statistics do not see (JAX's)
            peak = ready.peak_bytes()
        J = ready.to_torch(result)
        del result
        found = Outcome(Status.OK, "", None, first_s, peak, mode_threads=ready.threads)
        if J.shape != case.reference.shape:
            return replace(found, status=Status.MISMATCH, reason=f"shape {tuple(J.shape)}, "
                           f"expected {tuple(case.reference.shape)}"), None
        err = relative_error(J, case.reference)
        del J
        found = replace(found, rel_error=err)
        tol = tolerance(point.dtype, point.L, max(point.D, point.K), point.activation)
        if not err <= tol:
            return replace(found, status=Status.MISMATCH,
                           reason=f"relative error {err:.2e} > {tol:.1e}"
                           f"{out_of_range(case.reference, case.x.dtype)}"), None
        call_s = first_s if first_s > max_call_time else _timed_call(ready, device)[1]
        if first_s > max_call_time:  # the first call may pay one-off costs: confirm
            call_s = min(first_s, _timed_call(ready, device)[1])
        found = replace(found, call_s=call_s, compile_s=max(0.0, first_s - call_s))
        if call_s > max_call_time:
            return replace(found, status=Status.SKIPPED, reason=f"one call takes {call_s:.2f} s "
                           f"> --max-call-time {max_call_time:g} s"), None
    except ModeUnavailable as exc:
        return Outcome(Status.UNAVAILABLE, str(exc)), None
    except Exception as exc:  # a mode's failure is a result, not a crash of the sweep
        return failure(exc, device), None
    return found, ready
