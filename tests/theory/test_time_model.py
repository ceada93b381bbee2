"""The time model's arithmetic on cases computed by hand, and its calibration file's round trip."""

from __future__ import annotations

import dataclasses

import pytest

from jacbench.render.words import sentence, words
from jacbench.theory.operations import GEMM, operations
from jacbench.theory.time_model import (
    MachineModel,
    ModeOverhead,
    models_from_json,
    models_to_json,
    predict,
)

#: 1 us a call, 100 GFLOP/s at any shape, 1 G elements/s, 10 GB/s at every working set.
FLAT = MachineModel(dispatch_s=1e-6, peak_flops=1e11, gemm_half_dim=0.0, sync_s=0.0,
                    elementwise_rate=1e9, bandwidth=((1e6, 1e10),))


def test_reverse_at_p1_reads_its_weights_twice() -> None:
    p = predict("reverse", L=1, D=1000, K=1000, P=1, batch=1, model=FLAT)
    # Two matrix-vector products, each reading 4 MB of W_1 (4e-4 s) and 8 kB of vectors; an act
    # and a scaling of 1000 elements (1e-6 s of arithmetic; the scaling's 12 kB take 1.2e-6 s);
    # 4 calls at 1 us.
    gemv = 4e6 / 1e10 + 8e3 / 1e10
    assert p.seconds == pytest.approx(4e-6 + 2 * gemv + 1e-6 + 1.2e-6)
    assert p.dominant == "weights"
    assert p.terms["calls"] == pytest.approx(4e-6)
    assert sentence(p) == "reverse: reads 4 MB of weights twice, memory-bound at 10 GB/s"


def test_square_products_are_compute_bound() -> None:
    p = predict("forward", L=2, D=512, K=512, P=512, batch=1, model=FLAT)
    assert p.dominant == "compute"
    # tangents: 2 GEMMs 512³ (W_2 and W_F); the primal's matrix-vector products are memory-bound
    assert p.terms["compute"] == pytest.approx(2 * 2 * 512**3 / 1e11, rel=1e-3)
    assert "compute-bound" in words(p)


def test_thin_gemms_run_at_the_half_dimension_law() -> None:
    fast = dataclasses.replace(FLAT, bandwidth=((1e6, 1e13),))  # nothing memory-bound
    half = dataclasses.replace(fast, gemm_half_dim=16.0)
    assert half.gemm_flops(16) == pytest.approx(0.5e11)
    assert half.gemm_flops(48) == pytest.approx(0.75e11)
    p0 = predict("reverse", 2, 512, 512, 16, 1, fast)
    p1 = predict("reverse", 2, 512, 512, 16, 1, half)
    # two 16-row adjoint products of 2·16·512² FLOPs each: twice as long at half the rate
    extra = p1.terms["compute"] - p0.terms["compute"]
    assert extra == pytest.approx(2 * (2 * 16 * 512**2) / 1e11)


def test_bandwidth_is_interpolated_in_log_size_and_flat_beyond() -> None:
    m = dataclasses.replace(FLAT, bandwidth=((1e6, 1e11), (1e8, 1e10)))
    assert m.bytes_per_s(1e5) == 1e11
    assert m.bytes_per_s(1e9) == 1e10
    assert m.bytes_per_s(1e7) == pytest.approx(1 / (0.5 / 1e11 + 0.5 / 1e10))


def test_weights_out_of_cache_make_time_grow_faster_than_depth() -> None:
    m = dataclasses.replace(FLAT, bandwidth=((1e7, 1e11), (1e8, 1e10)))
    t = {L: predict("reverse", L, 1000, 1000, 1, 1, m).seconds for L in (2, 20)}
    assert t[20] / t[2] > 20  # 8 MB in cache against 80 MB out of it


def test_sync_is_paid_by_big_thread_parallel_products_only() -> None:
    m = dataclasses.replace(FLAT, sync_s=5e-6, sync_flops=1e6)
    p = predict("forward", L=1, D=64, K=128, P=64, batch=1, model=m)
    # one product of 2·64·128·64 ≈ 1.05 MFLOP (the tangent by W_F); the primal is a vector
    assert p.terms["sync"] == pytest.approx(5e-6)


def test_a_mode_pays_its_own_calibrated_call_costs() -> None:
    m = dataclasses.replace(FLAT, overheads={"jacrev": ModeOverhead(1e-4, 3e-6)})
    calls = predict("jacrev", 1, 1, 1, 1, 1, m).terms["calls"]
    plain = predict("jacrev", 1, 1, 1, 1, 1, FLAT).terms["calls"]
    assert calls == pytest.approx(1e-4 + 3 * plain)
    assert predict("jax-jacrev", 1, 1, 1, 1, 1, FLAT).terms["calls"] == pytest.approx(1e-6)


def test_calibration_round_trips_through_json() -> None:
    m = dataclasses.replace(FLAT, overheads={"reverse": ModeOverhead(0.0, 2e-6)}, threads=2,
                            bandwidth=((1e6, 1e11), (1e8, 1e10)))
    assert models_from_json(models_to_json([m, FLAT])) == [m, FLAT]
    with pytest.raises(ValueError, match="not a jacbench calibration"):
        models_from_json('{"rows": []}')


def test_a_product_called_on_its_own_pays_the_handoff_and_one_in_a_traced_program_not() -> None:
    m = dataclasses.replace(FLAT, sync_s=2e-6, handoff_s=4e-6, sync_flops=1e6)
    eager = predict("reverse", L=2, D=64, K=128, P=64, batch=1, model=m)
    traced = predict("reverse-compiled", L=2, D=64, K=128, P=64, batch=1, model=dataclasses.replace(
        m, overheads={"reverse-compiled": ModeOverhead(1e-5, 0.0)}))
    # two adjoint products of 2·64·128·128 ≈ 2.1 MFLOP and 2·64·128·64 ≈ 1.05 MFLOP: both sync
    assert eager.terms["sync"] == pytest.approx(2 * (2e-6 + 4e-6))
    assert traced.terms["sync"] == pytest.approx(2 * 2e-6)
    # a native mode is one call, but each product is a BLAS call of its own: it hands over
    native = predict("reverse-native", L=2, D=64, K=128, P=64, batch=1, model=dataclasses.replace(
        m, overheads={"reverse-native": ModeOverhead(3e-6, 0.0)}))
    assert native.terms["sync"] == pytest.approx(eager.terms["sync"])
    assert native.terms["calls"] == pytest.approx(3e-6)


def test_a_one_call_mode_is_said_to_cost_per_jacobian_not_per_call() -> None:
    m = dataclasses.replace(FLAT, overheads={"reverse-native": ModeOverhead(4e-6, 0.0)})
    p = predict("reverse-native", L=1, D=1, K=1, P=1, batch=1, model=m)
    assert p.dominant == "calls"
    assert words(p) == "one call, 4 us per Jacobian, overhead-bound"


#: A GPU: 10 us of host per call, 2 us of device per kernel, 50 TFLOP/s, 4 TB/s.
GPU = dataclasses.replace(FLAT, dispatch_s=1e-5, launch_s=2e-6, peak_flops=5e13,
                          elementwise_rate=1e12, bandwidth=((1e6, 4e12),), asynchronous=True)


def test_on_a_gpu_the_time_is_the_slower_of_host_launches_and_device_work() -> None:
    tiny = predict("reverse", L=10, D=2, K=30, P=10, batch=1, model=GPU)
    # 4 calls a layer, 10 us each on the host; the device's kernels (2 us each) finish sooner
    assert tiny.seconds == pytest.approx(40 * 1e-5)
    assert tiny.dominant == "calls" and "the device waits for the host" in words(tiny)
    big = predict("reverse", L=4, D=256, K=1024, P=128, batch=512, model=GPU)
    device = sum(v for k, v in big.terms.items() if k != "calls")
    assert big.seconds == pytest.approx(device) and device > big.terms["calls"]
    assert big.dominant == "compute"
    assert big.terms["kernels"] == pytest.approx(2e-6 * big.tally.kernels)
    # the same work on a CPU model adds the calls instead of hiding them behind the device
    cpu = predict("reverse", L=4, D=256, K=1024, P=128, batch=512,
                  model=dataclasses.replace(GPU, asynchronous=False, launch_s=0.0))
    assert cpu.seconds == pytest.approx(big.seconds - big.terms["kernels"] + big.terms["calls"])


def test_a_traced_program_on_a_gpu_launches_its_products_and_fuses_the_rest() -> None:
    eager = predict("jacrev", L=3, D=64, K=64, P=64, batch=1, model=GPU)
    traced = predict("jax-jacrev", L=3, D=64, K=64, P=64, batch=1, model=GPU)
    gemms = sum(op.repeat for op in operations("jacrev", 3, 64, 64, 64) if op.kind == GEMM)
    assert traced.tally.kernels == gemms < eager.tally.kernels


def test_a_gpu_work_factor_is_measured_only_where_the_device_is_the_bottleneck() -> None:
    from jacbench.measure.calibrate_fits import WORK_SHAPES, fit_work_factor

    own = ModeOverhead(0.0, 1e-5)
    model = dataclasses.replace(GPU, overheads={"jacrev": own})
    shape = WORK_SHAPES["cuda"]
    p = predict("jacrev", *shape, model=model)
    assert p.dominant != "calls"  # the GPU's work shape is device-bound, not launch-bound
    slower = fit_work_factor("jacrev", 2 * p.seconds - p.terms["kernels"], own, model,
                             shape=shape)
    assert slower.work_factor == pytest.approx(2.0)
    tiny = fit_work_factor("jacrev", 1.0, own, model, shape=(1, 2, 2, 2, 1))
    assert tiny.work_factor == 1.0  # launch-bound: the probe says nothing of the work
