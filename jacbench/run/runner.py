"""For each Point: build the case, verify every mode (untimed), time them in rounds, record rows.

Nothing a single point does can end the sweep: out-of-memory, a mode too slow to time, and any
other exception become a row with a status and a reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from jacbench.measure.ceilings import Ceilings, floor_seconds
from jacbench.theory.cost import cost
from jacbench.measure.environment import now_iso
from jacbench.model.mlp import MLP
from jacbench.modes.registry import jacobian
from jacbench.measure.probe import ProbeTracker, machine_load, measure_with_probes, speed_probe
from jacbench.model.reference import TOLERANCE, reference_jacobian, relative_error
from jacbench.run.spec import Point, Settings
from jacbench.measure.timing import default_clock, time_round_robin

DTYPES = {"float32": torch.float32, "float64": torch.float64}


@dataclass
class Case:
    """A point made concrete: the model, its input, and the float64 reference Jacobian."""

    net: MLP
    x: torch.Tensor
    reference: torch.Tensor


def build_case(point: Point) -> Case:
    """Seeded model and input, identical on every device for the same seed."""
    dtype = DTYPES[point.dtype]
    net = MLP.random(point.L, point.D, point.K, point.P, seed=point.seed, dtype=dtype,
                     device=point.device, activation=point.activation, bias=point.bias)
    gen = torch.Generator().manual_seed(point.seed + 1)
    shape = (point.D,) if point.batch == 1 else (point.batch, point.D)
    x = torch.randn(*shape, generator=gen, dtype=torch.float64).to(dtype=dtype,
                                                                    device=point.device)
    return Case(net, x, reference_jacobian(net, x))


def _synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


@dataclass
class Verified:
    """What the untimed verification call of one mode found."""

    status: str  # "ok" to time it, else mismatch / skipped / oom / error
    reason: str = ""
    rel_error: float | None = None
    call_s: float | None = None
    measured_peak_bytes: int | None = None


def verify_mode(case: Case, point: Point, mode: str, max_call_time: float) -> Verified:
    """One untimed call: check against the reference and against the per-call time cap."""
    device = point.device
    try:
        if device.startswith("cuda"):
            torch.cuda.reset_peak_memory_stats()
            base = torch.cuda.memory_allocated()
        _synchronize(device)
        start = time.perf_counter()
        J = jacobian(case.net, case.x, mode)
        _synchronize(device)
        call_s = time.perf_counter() - start
        peak = torch.cuda.max_memory_allocated() - base if device.startswith("cuda") else None
        if J.shape != case.reference.shape:
            return Verified("mismatch", f"shape {tuple(J.shape)}, expected "
                            f"{tuple(case.reference.shape)}", None, call_s, peak)
        err = relative_error(J, case.reference)
        del J
    except torch.OutOfMemoryError as exc:
        torch.cuda.empty_cache()
        return Verified("oom", _first_line(exc))
    except Exception as exc:  # a mode's failure is a result, not a crash of the sweep
        return Verified("error", _first_line(exc))
    tol = TOLERANCE[point.dtype]
    if not err <= tol:
        return Verified("mismatch", f"relative error {err:.2e} > {tol:.0e}", err, call_s, peak)
    if call_s > max_call_time:
        # The first call may pay one-off costs (tracing, allocation): confirm with a second.
        start = time.perf_counter()
        jacobian(case.net, case.x, mode)
        _synchronize(device)
        call_s = min(call_s, time.perf_counter() - start)
        if call_s > max_call_time:
            return Verified("skipped", f"one call takes {call_s:.2f} s > --max-call-time "
                            f"{max_call_time:g} s", err, call_s, peak)
    return Verified("ok", "", err, call_s, peak)


class _ModeFailed(Exception):
    """Raised out of the timing loop by the mode that failed there (its error is the cause)."""

    def __init__(self, mode: str) -> None:
        super().__init__(mode)
        self.mode = mode


def _guarded(mode: str, fn: Callable[[], object]) -> Callable[[], object]:
    def call() -> object:
        try:
            return fn()
        except Exception as exc:
            raise _ModeFailed(mode) from exc

    return call


@dataclass
class PointRunner:
    """Runs points one after another, sharing the speed-probe history and the ceilings."""

    settings: Settings
    environment: dict[str, Any]
    ceilings: dict[tuple[str, str], Ceilings]
    #: The best speed probe per (device, dtype): a float64 probe is no yardstick for float32.
    trackers: dict[tuple[str, str], ProbeTracker] = field(default_factory=dict)
    on_progress: Callable[[str], None] | None = None
    sleep: Callable[[float], None] = time.sleep

    def run(self, point: Point, modes: tuple[str, ...], role: str = "sweep") -> list[dict]:
        """Rows for every mode at this point (one per mode), whatever happens."""
        load = machine_load(point.device)
        try:
            case = build_case(point)
        except torch.OutOfMemoryError as exc:
            torch.cuda.empty_cache()
            return [self._row(point, m, role, load, Verified("oom", _first_line(exc)))
                    for m in modes]
        verified = {}
        for m in modes:
            self._progress(f"{point.label()} verify {m}")
            verified[m] = verify_mode(case, point, m, self.settings.max_call_time)
        timeable = {m: self._closure(case, m) for m in modes if verified[m].status == "ok"}
        probed = None
        if timeable:
            probed = measure_with_probes(
                lambda: self._time(point, timeable),
                lambda: speed_probe(point.device, dtype=DTYPES[point.dtype]),
                self.tracker(point),
                threshold=self.settings.probe_threshold,
                max_retries=self.settings.max_retries,
                wait_s=self.settings.retry_wait,
                sleep=self.sleep,
            )
        del case
        if point.device.startswith("cuda"):
            torch.cuda.empty_cache()
        return [self._row(point, m, role, load, verified[m], probed) for m in modes]

    def tracker(self, point: Point) -> ProbeTracker:
        return self.trackers.setdefault((point.device, point.dtype), ProbeTracker())

    def _progress(self, text: str) -> None:
        if self.on_progress is not None:
            self.on_progress(text)

    @staticmethod
    def _closure(case: Case, mode: str) -> Callable[[], object]:
        net, x = case.net, case.x
        return lambda: jacobian(net, x, mode)

    def _time(self, point: Point, fns: dict[str, Callable[[], object]]) -> dict[str, Any]:
        """Round-robin timings per mode; a mode that fails while timed gets a Verified failure
        in its place and the others are timed again without it."""
        failures: dict[str, Verified] = {}
        while True:
            alive = {m: _guarded(m, fn) for m, fn in fns.items() if m not in failures}
            if not alive:
                return failures
            try:
                timings: dict[str, Any] = time_round_robin(
                    alive,
                    rounds=self.settings.rounds,
                    device=point.device,
                    min_run_time_per_round=self.settings.min_run_time,
                    clock=default_clock(point.device),
                    on_measurement=lambda m, r: self._progress(
                        f"{point.label()} {m} round {r + 1}"),
                )
            except _ModeFailed as failed:
                exc = failed.__cause__
                if isinstance(exc, torch.OutOfMemoryError):
                    torch.cuda.empty_cache()
                    failures[failed.mode] = Verified("oom", _first_line(exc))
                else:
                    failures[failed.mode] = Verified("error", _first_line(exc))
                continue
            timings.update(failures)
            return timings

    def _row(self, point: Point, mode: str, role: str, load: Any, verified: Verified,
             probed: Any = None) -> dict[str, Any]:
        c = cost(mode, point.L, point.D, point.K, point.P, point.batch,
                 dtype_bytes=DTYPES[point.dtype].itemsize)
        ceil = self.ceilings.get((point.device, point.dtype))
        row: dict[str, Any] = {
            "role": role, "mode": mode, **point.key(),
            "status": verified.status, "reason": verified.reason, "rel_error": verified.rel_error,
            "macs": c.macs, "flops": c.flops, "bytes_moved": c.bytes_moved,
            "model_peak_bytes": c.peak_extra_bytes,
            "measured_peak_bytes": verified.measured_peak_bytes,
            "min_run_time_s": self.settings.min_run_time,
            "load_avg_1m": load.load_avg_1m, "cpu_freq_mhz": load.cpu_freq_mhz,
            "busy_procs": load.busy_procs, "gpu_clock_mhz": load.gpu_clock_mhz,
            "gpu_temp_c": load.gpu_temp_c, "measured_at": now_iso(),
            **self.environment,
        }
        if ceil is not None:
            # The speed probe is a matmul on the same device and dtype: a probe faster than the
            # ceiling measured at the start proves that measurement caught a slow moment.
            best_probe = (self.tracker(point).best or 0.0) * 1e9
            ceil = replace(ceil, peak_flops=max(ceil.peak_flops, best_probe))
            row["peak_flops"], row["peak_bandwidth"] = ceil.peak_flops, ceil.peak_bandwidth
        if probed is None or verified.status != "ok":
            return row
        row.update(probe_before_gflops=probed.probe_before, probe_after_gflops=probed.probe_after,
                   retries=probed.retries)
        t = probed.result[mode]
        if isinstance(t, Verified):
            row.update(status=t.status, reason=f"while timing: {t.reason}")
            return row
        row.update(
            time_median_s=t.median_s, time_iqr_s=t.iqr_s, repeats=t.repeats,
            number_per_run=t.number_per_run, raw_times_s=list(t.raw_times_s),
            round_medians_s=list(t.round_medians_s), rounds=len(t.rounds), noisy=t.noisy,
        )
        if ceil is not None:
            row["floor_s"] = floor_seconds(c, ceil)
            row["efficiency"] = row["floor_s"] / t.median_s
        if not probed.healthy:
            row.update(status="noisy", reason=probed.reason)
        return row
