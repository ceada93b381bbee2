"""The fits of a mode's own costs to its calibration probes: a fixed cost and a cost per call
from its times at tiny shapes, and a work factor from one mid-sized shape (see
``jacbench.measure.calibrate``). Pure arithmetic over the time model."""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import replace

from jacbench.theory.operations import operations_at
from jacbench.theory.shape import Shape
from jacbench.theory.time_model import MachineModel, ModeOverhead, predict_at

__all__ = ["WORK_SHAPE", "WORK_SHAPES", "fit_overhead", "fit_work_factor"]

#: The (L, D, K, P, N) a library mode's work factor is measured at, per device type: where its
#: products dominate its calls. On a GPU that takes a batch: at the CPU's shape every mode is
#: launch-bound there, and the factor would time launches.
WORK_SHAPES = {"cpu": (2, 256, 256, 256, 1), "cuda": (2, 512, 1024, 512, 32)}
WORK_SHAPE = WORK_SHAPES["cpu"]


def fit_overhead(mode: str, measured: Mapping[tuple[int, int, int, int], float],
                 model: MachineModel, itemsize: int = 4) -> ModeOverhead:
    """fixed_s and call_s of ``mode`` from its seconds at tiny shapes, by least squares.

    What the model predicts there without call costs (the work) is taken off first; the rest is
    fixed_s + calls · call_s, both kept non-negative.
    """
    bare = replace(model, overheads={mode: ModeOverhead(0.0, 0.0)})
    calls, rest = [], []
    for sizes, seconds in measured.items():
        shape = Shape(*sizes)
        calls.append(float(sum(op.calls * op.repeat for op in operations_at(mode, shape))))
        rest.append(seconds - predict_at(mode, shape, bare, dtype_bytes=itemsize).seconds)
    n, mc, mr = len(calls), statistics.fmean(calls), statistics.fmean(rest)
    spread = sum((c - mc) ** 2 for c in calls)
    call_s = sum((c - mc) * (r - mr) for c, r in zip(calls, rest, strict=True)) / spread \
        if n > 1 and spread > 0 else 0.0
    if call_s <= 0:
        return ModeOverhead(max(0.0, mr), 0.0)
    fixed = mr - call_s * mc
    if fixed < 0:
        return ModeOverhead(0.0, sum(c * r for c, r in zip(calls, rest, strict=True))
                            / sum(c * c for c in calls))
    return ModeOverhead(fixed, call_s)


def fit_work_factor(mode: str, seconds: float, own: ModeOverhead, model: MachineModel,
                    itemsize: int = 4, shape: tuple[int, ...] = WORK_SHAPE) -> ModeOverhead:
    """``own`` with the work factor that makes ``mode`` take ``seconds`` at ``shape``: its
    time beyond calls and thread syncs (kernel launches on a GPU) over the model's, kept within
    [1/2, 8] (a noisy probe cannot run away). On a GPU a mode whose host launches outlast its
    device work at ``shape`` shows nothing of its work: its factor stays 1."""
    bare = replace(model, overheads={mode: replace(own, work_factor=1.0)})
    p = predict_at(mode, Shape(*shape), bare, dtype_bytes=itemsize)
    if model.asynchronous:
        device = p.seconds if p.dominant != "calls" else 0.0
        work = device - p.terms["kernels"]
        factor = (seconds - p.terms["kernels"]) / work if work > 0 else 1.0
        return replace(own, work_factor=min(8.0, max(0.5, factor)))
    fixed = p.terms["calls"] + p.terms["sync"]  # what the factor does not scale
    work = p.seconds - fixed
    factor = (seconds - fixed) / work if work > 0 else 1.0
    return replace(own, work_factor=min(8.0, max(0.5, factor)))
