"""Calibration with fake probes: a timer that answers each probe from a known machine must give
that machine's parameters back, without building or running anything."""

from __future__ import annotations

import pytest

from jacbench.measure import calibrate as cal
from jacbench.theory.operations import operations
from jacbench.theory.time_model import MachineModel, ModeOverhead, predict

TRUE = MachineModel(dispatch_s=2e-6, peak_flops=2e11, gemm_half_dim=8.0, sync_s=5e-6,
                    elementwise_rate=4e9, handoff_s=3e-6, sync_flops=2.0 * 64 * 128 * 128,
                    kernel_sync_s=1e-6, kernel_sync_elems=112,
                    bandwidth=tuple((float(s), 1e11 if s <= 1 << 22 else 4e10)
                                    for s in cal.WORKING_SETS))
MODES = {"reverse": ModeOverhead(0.0, 2.5e-6), "jacrev": ModeOverhead(3e-4, 4e-6)}


def _calls(mode: str, L: int, D: int, K: int, P: int) -> int:
    return sum(op.calls * op.repeat for op in operations(mode, L, D, K, P))


def fake_seconds(label: str) -> float:
    """What each probe would take on TRUE (see calibrate's docstring for what each probe does)."""
    kind, _, shape = label.partition(" ")
    m = TRUE
    if kind == "dispatch":
        return 3 * cal.DISPATCH_LOOP * m.dispatch_s
    if kind == "gemm":
        a, b, c = (int(v) for v in shape.split("x"))
        flops = 2.0 * a * b * c
        sync = m.sync_s if flops >= m.sync_flops and a < 512 else 0.0
        return m.dispatch_s + flops / m.gemm_flops(min(a, b, c)) + sync
    if kind == "handoff":  # the chained loop pays the handoff on each GEMM of sync_flops or more
        how, rows = shape.split(" ")
        pairs = cal.HANDOFF_LOOP * (m.dispatch_s * 2 + 1e-6)
        big = 2.0 * int(rows) * cal.HANDOFF_K**2 >= m.sync_flops
        return pairs + (cal.HANDOFF_LOOP * m.handoff_s if how == "chained" and big else 0.0)
    if kind == "act":  # the library splits kernels of kernel_sync_elems or more over threads
        return m.dispatch_s + (m.kernel_sync_s if int(shape) >= m.kernel_sync_elems else 0.0)
    if kind == "elementwise":
        return m.dispatch_s + int(shape) / m.elementwise_rate
    if kind == "bandwidth":
        n, count = cal._cycle_shape(int(shape), 4)
        return 2 * count * (m.dispatch_s + n * n * 4 / m.bytes_per_s(n * n * count * 4))
    mode, dims = shape.split(" ")
    L, D, K, P = (int(v) for v in dims.split("x"))
    bare = MachineModel(**{**m.__dict__, "overheads": {mode: ModeOverhead(0.0, 0.0)}})
    own = MODES[mode]
    return own.fixed_s + own.call_s * _calls(mode, L, D, K, P) + predict(
        mode, L, D, K, P, 1, bare).seconds


def fake_timer(label: str, build: object) -> float:
    return fake_seconds(label)  # builds nothing


def test_calibration_recovers_the_machine() -> None:
    probes = {mode: lambda *shape: pytest.fail("a fake timer builds nothing") for mode in MODES}
    ticks = iter([10.0, 12.5])
    found = cal.calibrate("cpu", "float32", mode_probes=probes, timer=fake_timer,
                          clock=lambda: next(ticks))
    assert found.dispatch_s == pytest.approx(TRUE.dispatch_s)
    assert found.peak_flops == pytest.approx(TRUE.peak_flops, rel=0.03)
    assert found.gemm_half_dim == pytest.approx(TRUE.gemm_half_dim, rel=0.1)
    assert found.sync_s == pytest.approx(TRUE.sync_s, rel=0.1)
    assert found.handoff_s == pytest.approx(TRUE.handoff_s)
    assert found.sync_flops == TRUE.sync_flops
    assert found.kernel_sync_s == pytest.approx(TRUE.kernel_sync_s)
    assert found.kernel_sync_elems == TRUE.kernel_sync_elems
    assert found.elementwise_rate == pytest.approx(TRUE.elementwise_rate)
    for (size, bw), (true_size, true_bw) in zip(found.bandwidth, TRUE.bandwidth, strict=True):
        assert size == true_size and bw == pytest.approx(true_bw)
    for mode, own in MODES.items():
        assert found.overheads[mode].call_s == pytest.approx(own.call_s, rel=0.05)
        assert found.overheads[mode].fixed_s == pytest.approx(own.fixed_s, rel=0.05, abs=1e-7)
    assert (found.device, found.dtype, found.calibration_s) == ("cpu", "float32", 2.5)


def test_overhead_fit_keeps_both_costs_non_negative() -> None:
    shapes = cal.TINY_SHAPES
    flat = {s: 1e-4 for s in shapes}  # no growth with calls: all fixed
    assert cal.fit_overhead("reverse", flat, TRUE).call_s == 0.0
    assert cal.fit_overhead("reverse", flat, TRUE).fixed_s == pytest.approx(1e-4, rel=0.05)
    steep = {s: 3e-6 * _calls("reverse", *s) - 2e-5 for s in shapes}  # a negative intercept
    fitted = cal.fit_overhead("reverse", steep, TRUE)
    assert fitted.fixed_s == 0.0 and fitted.call_s > 0


def test_a_real_calibration_is_quick_and_sane() -> None:
    found = cal.calibrate("cpu", "float32", timer=cal.default_timer("cpu", min_run_time=0.002))
    assert found.calibration_s < 10
    assert 0 < found.dispatch_s < 1e-3
    assert found.peak_flops > 1e8
    assert all(bw > 0 for _, bw in found.bandwidth)
