"""The estimate before a sweep counts what the run does: the setup of each (device, dtype), each
mode's one-off compile, its check calls and timing rounds, its calls at the device's call cost."""

from __future__ import annotations

import pytest

from jacbench.catalog import CATALOG
from jacbench.results.point import Point
from jacbench.run import estimate
from jacbench.run.settings import Settings

SETTINGS = Settings(min_run_time=0.1, rounds=3, max_call_time=2.0)


def point(device: str = "cpu", **sizes: int) -> Point:
    shape = {"L": 4, "D": 8, "K": 16, "P": 8, "batch": 1, **sizes}
    return Point(device, "float32", "tanh", False, **shape)


def test_a_tiny_eager_mode_costs_its_rounds_and_probes():
    seconds = estimate.estimate_point_s(point(), ("reverse",), SETTINGS)
    # rounds of min_run_time dominate a call of microseconds; two check calls and probes beside
    assert seconds == pytest.approx(estimate.PROBES_S + 3 * 0.1, rel=0.01)


def test_compiled_modes_pay_their_compile_at_every_point():
    eager = estimate.estimate_point_s(point(), ("reverse",), SETTINGS)
    for mode, how in (("reverse-aoti", "aoti"), ("jax-jacrev", "jax-jit"),
                      ("reverse-compiled", "torch.compile")):
        compiled = estimate.estimate_point_s(point(), (mode,), SETTINGS)
        assert compiled - eager == pytest.approx(estimate.COMPILE_S[how], rel=0.05, abs=0.01)


def test_a_mode_that_does_not_run_on_the_device_costs_nothing_and_gpu_peers_pay_there():
    # recorded unavailable at once: a CUDA graph or a GPU peer on a CPU, a native mode on a GPU
    for mode in ("reverse-graph", "reverse-compiled-autotune"):
        assert estimate.estimate_point_s(point(), (mode,), SETTINGS) == estimate.PROBES_S
    assert estimate.estimate_point_s(point("cuda:0"), ("reverse-native",),
                                     SETTINGS) == estimate.PROBES_S
    eager = estimate.estimate_point_s(point("cuda:0"), ("reverse",), SETTINGS)
    for mode, how in (("reverse-graph", "cuda-graph"),
                      ("reverse-compiled-cudagraphs", "torch.compile-cudagraphs")):
        on_gpu = estimate.estimate_point_s(point("cuda:0"), (mode,), SETTINGS)
        assert on_gpu - eager == pytest.approx(estimate.COMPILE_S[how], rel=0.05, abs=0.01)


def test_a_gpu_call_costs_its_launches():
    # a launch-bound shape: each call costs its framework calls at the GPU's launch cost
    slow = Settings(min_run_time=1e-6, rounds=1, max_call_time=2.0)
    cpu = estimate.estimate_point_s(point(), ("reverse",), slow) - estimate.PROBES_S
    gpu = estimate.estimate_point_s(point("cuda"), ("reverse",), slow) - estimate.PROBES_S
    assert gpu / cpu == pytest.approx(estimate.RATES["cuda"][0] / estimate.RATES["cpu"][0],
                                      rel=0.05)


def test_a_call_past_the_cap_is_counted_once_skipped():
    huge = point(L=8, D=4096, K=4096, P=4096, batch=64)
    seconds = estimate.estimate_point_s(huge, ("forward",), SETTINGS)
    assert seconds == pytest.approx(estimate.PROBES_S + 2 * SETTINGS.max_call_time)


def test_the_setup_is_paid_once_per_device_and_dtype():
    pairs = [("cpu", "float32"), ("cpu", "float32"), ("cpu", "float64"), ("cuda:0", "float32")]
    assert estimate.estimate_setup_s(pairs) == pytest.approx(
        2 * estimate.SETUP_S["cpu"] + estimate.SETUP_S["cuda"])


def test_a_calibrated_model_predicts_each_call_where_given():
    """With the device's time model, a call costs its prediction: two checks and a round of
    three calls each (the rounds' budget tiny), and nothing for a point of another dtype."""
    from factories import FAKE_MODEL

    from jacbench.theory.time_model import predict_at

    tiny = Settings(min_run_time=1e-9, rounds=1, max_call_time=2.0)
    at = point("cuda", L=3, D=64, K=256, P=64, batch=8)
    models = {("cuda", "float32"): FAKE_MODEL}
    seconds = estimate.estimate_point_s(at, ("reverse",), tiny, models)
    call = predict_at("reverse", at.shape, FAKE_MODEL, single=False).seconds
    assert seconds - estimate.PROBES_S == pytest.approx(5 * call)
    other = estimate.estimate_point_s(at, ("reverse",), tiny, {("cuda", "float64"): FAKE_MODEL})
    assert other == pytest.approx(estimate.estimate_point_s(at, ("reverse",), tiny))


def test_a_mode_the_device_does_not_run_costs_nothing():
    assert "cuda" not in CATALOG["reverse-native"].devices
    assert estimate.estimate_point_s(point("cuda"), ("reverse-native",), SETTINGS) == \
        pytest.approx(estimate.PROBES_S)
    assert estimate.estimate_point_s(point("cpu"), ("reverse-native",), SETTINGS) > \
        estimate.PROBES_S + SETTINGS.rounds * SETTINGS.min_run_time / 2


def test_a_mode_catalogued_for_another_device_or_dtype_costs_nothing():
    # forward-triton runs on CUDA in float32 only, reverse-native on the CPU only: elsewhere they
    # are answered unavailable at once, with no compile and no timing rounds
    bare = estimate.estimate_point_s(point(), (), SETTINGS)
    assert estimate.estimate_point_s(point(), ("forward-triton",), SETTINGS) == bare
    assert estimate.estimate_point_s(point("cuda:0"), ("reverse-native",), SETTINGS) == bare
    float64 = Point("cuda:0", "float64", "tanh", False, L=4, D=8, K=16, P=8, batch=1)
    assert estimate.estimate_point_s(float64, ("forward-triton",), SETTINGS) == bare
    on_gpu = estimate.estimate_point_s(point("cuda:0"), ("forward-triton",), SETTINGS)
    assert on_gpu - bare >= estimate.COMPILE_S["triton"]
