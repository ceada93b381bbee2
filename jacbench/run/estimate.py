"""How long a sweep will take, before anything is measured: every step the run takes.

Once per (device, dtype): the ceilings and the time model's calibration (``SETUP_S``). Per point:
two speed probes. Per mode at a point: its one-off cost (a JAX trace, a torch.compile or an
AOTInductor build: ``COMPILE_S`` by implementation), two untimed check calls, then ``rounds``
timed measurements of at least ``min_run_time`` each (and at least a few calls each). A call's
time is guessed from the mode's operations at modest rates of the device (``RATES``: its calls
at a framework call's cost, its FLOPs and bytes at a fraction of a typical device's ceilings),
capped at the per-call limit, past which a mode is skipped. Re-runs after a slow probe are not
foreseen: the estimate is a warning, not a promise (tests check it within 2x of a CPU run).
The counts are the point's own (``run.point_theory``), which the runner later records.

Given calibrations (``models``, by device type and dtype: the time model of a machine measured
before, such as the H200's the GPU preset is sized by), a call's time is the time model's
prediction instead of the modest rates. A mode the point's device or dtype does not run is
recorded unavailable at once and costs nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from jacbench.catalog import CATALOG, DTYPE_BYTES
from jacbench.results.point import Point
from jacbench.run.point_theory import point_calls, point_cost
from jacbench.run.settings import Settings
from jacbench.theory.time_model import MachineModel, predict_at

__all__ = ["COMPILE_S", "RATES", "SAMPLE_STEPS", "SETUP_S", "Models", "estimate_point_s",
           "estimate_setup_s", "estimate_steps_s"]

#: Per device type: seconds per framework call, FLOP/s and bytes/s a call is guessed at.
RATES = {"cpu": (3e-6, 50e9, 10e9), "cuda": (12e-6, 10e12, 1e12)}
#: Seconds before the first point, per (device, dtype): ceilings (two tries of about a second)
#: and the calibration (4-6 s on a 2-core CPU; on a GPU its probes do milliseconds of work each).
SETUP_S = {"cpu": 10.0, "cuda": 15.0}
#: One-off seconds of a mode's first call at a shape, by implementation (measured on the 2-core
#: VM: JAX 0.1-0.7 s, torch.compile 3-15 s, AOTInductor about 18 s; a native plan's tuning 0.1 s).
#: On a GPU, guessed before any was measured: a graph's warm-up and capture, torch.compile's
#: CUDA-graph and autotuning modes (autotuning benchmarks kernel configurations per product), and
#: Triton's kernels (about a second each to compile).
COMPILE_S = {"eager": 0.0, "native": 0.2, "jax-jit": 0.5, "torch.compile": 8.0, "aoti": 18.0,
             "cuda-graph": 0.1, "torch.compile-cudagraphs": 10.0, "torch.compile-autotune": 60.0,
             "triton": 2.0}
PROBES_S = 0.1  # two speed probes around the timing
CALLS_PER_MEASUREMENT = 3
#: Above this many steps the estimate looks at an even sample of them and scales it up: a point's
#: theory costs about 1 ms, so 10^6 points would take many minutes only to say how long.
SAMPLE_STEPS = 500
#: Calibrated time models by (device type, dtype): ("cuda", "float32"), say.
Models = Mapping[tuple[str, str], MachineModel]


def _kind(device: str) -> str:
    return "cuda" if device.startswith("cuda") else "cpu"


def _call_s(point: Point, mode: str, models: Models) -> float:
    call, flops, bandwidth = RATES[_kind(point.device)]
    model = models.get((_kind(point.device), point.dtype))
    if model is not None:
        try:
            return predict_at(mode, point.shape, model, dtype_bytes=DTYPE_BYTES[point.dtype],
                              single=point.batch == 1).seconds
        except ValueError:  # a mode without an operation list
            return 100 * model.dispatch_s
    try:
        c, calls = point_cost(point, mode), point_calls(point, mode)
    except ValueError:  # a mode without a cost model: guess a slow library call
        return 100 * call
    return max(calls, 1) * call + max(c.flops / flops, c.bytes_moved / bandwidth)


def _runs_at(point: Point, mode: str) -> bool:
    """Whether the catalogue lets ``mode`` run at the point's device type and dtype."""
    info = CATALOG.get(mode)
    return info is None or (_kind(point.device) in info.devices and point.dtype in info.dtypes)


def estimate_point_s(point: Point, modes: tuple[str, ...], settings: Settings,
                     models: Models | None = None) -> float:
    """Seconds to check and time ``modes`` at ``point`` with ``settings`` (calls predicted by
    ``models`` where they hold the point's device type and dtype)."""
    total = PROBES_S
    for mode in (m for m in modes if _runs_at(point, m)):  # others: unavailable at once
        info = CATALOG.get(mode)
        total += COMPILE_S.get(info.implementation, 0.0) if info is not None else 0.0
        call = min(_call_s(point, mode, models or {}), settings.max_call_time)
        total += 2 * call
        if call < settings.max_call_time:
            total += settings.rounds * max(settings.min_run_time, CALLS_PER_MEASUREMENT * call)
    return total


def estimate_setup_s(pairs: Iterable[tuple[str, str]]) -> float:
    """Seconds of the ceilings and calibration of each (device, dtype) the run measures on."""
    return sum(SETUP_S[_kind(device)] for device, _ in set(pairs))


def estimate_steps_s(steps: Sequence[tuple[Any, ...]], settings: Settings,
                     models: Models | None = None) -> tuple[float, int]:
    """Seconds to check and time the steps (each a point, its modes, and maybe more), and how
    many steps that looked at: every one, or an even sample of ``SAMPLE_STEPS`` scaled up."""
    count = len(steps)
    if count <= SAMPLE_STEPS:
        return sum(estimate_point_s(s[0], s[1], settings, models) for s in steps), count
    sample = [steps[i * count // SAMPLE_STEPS] for i in range(SAMPLE_STEPS)]
    seconds = sum(estimate_point_s(s[0], s[1], settings, models) for s in sample)
    return seconds * count / SAMPLE_STEPS, SAMPLE_STEPS
