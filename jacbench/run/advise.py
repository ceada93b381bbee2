"""``python -m jacbench advise``: which mode to use for one shape on this machine, and why.

Every mode available in this install is ranked by the calibrated time model's prediction
(``jacbench.theory.time_model``), each with its dominant term (``jacbench.render.advise`` writes
the ranking out, in words). The calibration comes from a results folder (``--from``), from this
user's cache (a calibration of this machine, its torch and thread count, under a day old), or is
measured on the spot (a few seconds) and cached. On request the top few modes are timed at the
shape, to check the pick.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path

from jacbench.catalog import DTYPE_BYTES
from jacbench.measure.load import busy_warning, free_memory, machine_load
from jacbench.measure.plausible import ImplausibleCalibration
from jacbench.measure.timing import time_callable
from jacbench.model.activations import ACTIVATIONS
from jacbench.modes.registry import ModeUnavailable, modes, prepare
from jacbench.render.format import fmt_bytes
from jacbench.results.folder import read_calibrations
from jacbench.results.point import Point
from jacbench.run import advise_cache
from jacbench.run.calibration import calibrate_machine, probed_modes
from jacbench.run.case import mode_unavailable, net_and_input
from jacbench.run.memory import case_bytes, mode_bytes, too_big
from jacbench.theory.shape import Shape
from jacbench.theory.time_model import MachineModel, Prediction, predict_at

__all__ = ["AdviseError", "advised_point", "available_modes", "machine_model", "measure_top",
           "rank"]

class AdviseError(Exception):
    """Something the user asked for that advise cannot do; said in one line."""


def advised_point(shape: Shape, device: str, dtype: str) -> Point:
    """The point advise ranks and times: ``shape`` on ``device`` in ``dtype``, with a sweep's
    default model (the first activation, no bias, seed 0)."""
    return Point(device=device, dtype=dtype, activation=next(iter(ACTIVATIONS)), bias=False,
                 L=shape.L, D=shape.D, K=shape.K, P=shape.P, batch=shape.N)


def available_modes(device: str, dtype: str, names: Iterable[str] | None = None) -> list[str]:
    """The modes among ``names`` (default: all) that can run here: those whose framework is
    installed (nothing is compiled). Only these are loaded: a broken mode the user did not ask
    about costs nothing."""
    net, x = net_and_input(advised_point(Shape(1, 1, 1, 1, 1), device, dtype))
    found = []
    for mode in modes() if names is None else names:
        if mode_unavailable(mode, dtype):  # no such products (the native kernel in bfloat16)
            continue
        try:
            prepare(net, x, mode)
        except ModeUnavailable:
            continue
        found.append(mode)
    return found


def machine_model(device: str, dtype: str, from_dir: str | None = None, *,
                  recalibrate: bool = False, names: Iterable[str] | None = None,
                  say: Callable[[str], None] = print) -> tuple[MachineModel, str]:
    """The time model to advise with, and where it came from (said in the output).

    Calibrates only ``names`` (default: every mode); the cache (``run.advise_cache``) is used
    where it covers them, and a damaged or implausible entry is measured again with one line
    through ``say``.
    """
    if from_dir is not None:
        return _stored(device, dtype, from_dir)
    wanted = set(probed_modes(None if names is None else tuple(names)))
    cached, why = (None, "") if recalibrate else advise_cache.load(device, dtype)
    if why:
        say(f"{why}; calibrating again")
    if cached is not None and wanted <= set(cached.overheads):
        return cached, f"cached {advise_cache.cache_path(device, dtype)}"
    busy = busy_warning(machine_load(device))
    try:
        model = calibrate_machine(device, dtype, None if names is None else tuple(names))
    except ImplausibleCalibration as exc:  # measured twice, outside physical ranges both times
        raise AdviseError(f"this machine's calibration reads outside physical ranges ({exc}); "
                          "is it busy? Try again when it is quiet, or use --from DIR") from None
    if cached is not None:  # keep what the cache knew of other modes
        model = replace(model, overheads={**cached.overheads, **model.overheads})
    busy = busy or busy_warning(machine_load(device))
    if busy:
        say(f"{busy.removeprefix('warning: ')}: this calibration is not cached")
    else:
        problem = advise_cache.store(model, device, dtype)
        if problem:
            say(f"calibration {problem}")
    return model, f"calibrated now in {model.calibration_s:.1f} s"


def _stored(device: str, dtype: str, from_dir: str) -> tuple[MachineModel, str]:
    """The calibration a results folder keeps (``--from``)."""
    if not Path(from_dir).is_dir():
        raise AdviseError(f"--from {from_dir}: no such results folder")
    try:
        found = read_calibrations(from_dir)
    except ValueError as exc:
        raise AdviseError(str(exc)) from None
    if (device, dtype) not in found:
        have = ", ".join(" ".join(k) for k in found) or "none"
        raise AdviseError(f"--from {from_dir} holds no calibration of {device} {dtype} "
                          f"(it has: {have})")
    return found[(device, dtype)], f"the calibration stored in {from_dir}"


def rank(point: Point, model: MachineModel, names: Iterable[str]) -> list[Prediction]:
    """Every mode's prediction at the point's shape, fastest first; a mode without a cost model
    (a user's mode that names no algorithm) has no prediction and is left out."""
    found = []
    for m in names:
        try:
            found.append(predict_at(m, point.shape, model, dtype_bytes=DTYPE_BYTES[point.dtype],
                                    single=point.batch == 1))
        except ValueError:
            continue
    return sorted(found, key=lambda p: p.seconds)


def measure_top(point: Point, ranking: list[Prediction], top: int = 3,
                min_run_time: float = 0.1,
                free: Callable[[str], int | None] = free_memory) -> dict[str, float | str]:
    """The median seconds of the ``top`` predicted modes, timed at the point (untimed first).

    A mode that would not fit in the memory ``free`` reports (the sweep's memory check,
    ``run.memory``) is not run: its entry says why, ``not measured (needs X, Y free)``; the
    model is not even built when none fits.
    """
    available = free(point.device)
    measured: dict[str, float | str] = {}
    for p in ranking[:top]:
        needed = case_bytes(point) + mode_bytes(point, p.mode)
        if too_big(needed, available):
            measured[p.mode] = (f"not measured (needs {fmt_bytes(needed)}, "
                                f"{fmt_bytes(available)} free)")
    todo = [p.mode for p in ranking[:top] if p.mode not in measured]
    if not todo:
        return measured
    net, x = net_and_input(point)
    for mode in todo:
        call = prepare(net, x, mode).call
        call()  # compiles a traced mode; warms caches
        measured[mode] = time_callable(call, device=point.device,
                                       min_run_time=min_run_time).median_s
    return measured
