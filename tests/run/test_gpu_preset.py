"""The GPU preset: what it covers, that it fits one H200's memory by the memory check and its ten
minutes by the sweep's own estimate with the H200's time model (tests/h200.py), and that model
against the rows measured there."""

from __future__ import annotations

import pandas as pd
import pytest
from h200 import GRAPH_REPLAY_S, GRAPH_SHAPE, H200_MEMORY, ROWS, _kernels, h200_models

from jacbench.catalog import CATALOG, DTYPE_BYTES, DTYPES, default_modes
from jacbench.results.schema import Role, Status
from jacbench.run.estimate import estimate_setup_s, estimate_steps_s
from jacbench.run.memory import case_bytes, mode_bytes, too_big
from jacbench.run.spec import build_spec, load_preset
from jacbench.run.steps import sweep_steps
from jacbench.theory.shape import Shape
from jacbench.theory.time_model import predict_at

#: One H200, by the issue: the GPU preset finishes within this.
TEN_MINUTES = 600.0
MNIST = (8, 784, 50, 10, 256)  # the course's classifier over minibatches of 256
COURSE_SMALL = (10, 2, 30, 10, 1)


@pytest.fixture(scope="module")
def gpu():
    return build_spec(load_preset("gpu"), devices=("cuda",))


def shapes(spec) -> set[tuple[int, ...]]:
    return {(p.L, p.D, p.K, p.P, p.batch) for p in spec.points}


def test_the_gpu_preset_occupies_a_large_gpu_in_every_precision_with_every_mode(gpu):
    got = shapes(gpu)
    assert {p.dtype for p in gpu.points} == set(DTYPES)
    # every mode that runs on a GPU: a new default one joins by itself
    assert gpu.settings.modes == default_modes(("cuda",))
    assert max(n for *_, n in got) >= 2000  # batches in the thousands
    assert max(max(D, K, P) for _, D, K, P, _ in got) == 4096  # widths to 4096
    assert max(L for L, *_ in got) == 32
    assert any(min(D, P) > K for _, D, K, P, _ in got)  # the chain mode's region
    assert {COURSE_SMALL, MNIST, (3, 1000, 1000, 1, 1), (10, 1000, 1000, 1, 1),
            (4, 256, 1024, 128, 512)} <= got  # the course's configs, FINDINGS' N=512 point
    assert not gpu.extra_modes  # torch.compile's minutes per point would not fit 10 minutes


def test_the_seed_preset_carries_the_mnist_classifier_too():
    seed = build_spec(load_preset("seed"))
    assert MNIST in shapes(seed)


def test_every_point_of_the_gpu_preset_fits_an_h200_by_the_memory_check(gpu):
    needs = [case_bytes(p) + mode_bytes(p, m) for p in gpu.points for m in gpu.modes_at(p)]
    assert all(too_big(n, H200_MEMORY) == "" for n in needs)
    assert max(needs) > 2**30  # it does fill some memory: the check has something to pass


def past_the_cap_s(steps, cap: float, models) -> float:
    """What the estimate leaves out: a mode slower than ``cap`` a call still makes its two check
    calls in full before it is skipped (the estimate counts each at ``cap``)."""
    extra = 0.0
    for point, modes, _ in steps:
        model = models[("cuda", point.dtype)]
        for mode in (m for m in modes if "cuda" in CATALOG[m].devices):
            call = predict_at(mode, point.shape, model, dtype_bytes=DTYPE_BYTES[point.dtype],
                              single=point.batch == 1).seconds
            extra += 2 * max(call - cap, 0.0)
    return extra


def test_the_gpu_preset_takes_at_most_ten_minutes_on_an_h200_by_the_estimate(gpu):
    steps = sweep_steps(gpu, set())  # the sweep's own steps: drift-check points included
    models = h200_models()
    seconds, seen = estimate_steps_s(steps, gpu.settings, models)
    seconds += estimate_setup_s({(p.device, p.dtype) for p, _, _ in steps})
    assert seen == len(steps)
    seconds += past_the_cap_s(steps, gpu.settings.max_call_time, models)
    print(f"the GPU preset on an H200, by the estimate: {seconds:.0f} s")
    assert seconds <= TEN_MINUTES
    assert seconds >= TEN_MINUTES / 3  # and it uses the GPU's time for more than a glance


def test_the_h200_model_predicts_the_rows_measured_there():
    """The calibration corrected by FINDINGS' measurements against the H200's real rows: the
    hand-written modes at the compute-bound point within 25%, TF32 reverse against the 2.55 ms
    measured there, and the CUDA graph's replay of the course's small config."""
    models = h200_models()
    rows = pd.read_parquet(ROWS)
    rows = rows[(rows["role"] == Role.SWEEP) & (rows["status"] == Status.OK)]
    shape = Shape(4, 256, 1024, 128, 512)
    for mode in ("forward", "reverse", "chain"):
        measured = float(rows[rows["mode"] == mode]["time_median_s"].iloc[0])
        predicted = predict_at(mode, shape, models[("cuda", "float32")], single=False).seconds
        assert predicted == pytest.approx(measured, rel=0.25), mode
    tf32 = predict_at("reverse", shape, models[("cuda", "tf32")],
                      dtype_bytes=DTYPE_BYTES["tf32"], single=False).seconds
    assert tf32 == pytest.approx(2.55e-3, rel=0.25)
    model = models[("cuda", "float32")]
    assert model.launch_s * _kernels("reverse", GRAPH_SHAPE) == pytest.approx(GRAPH_REPLAY_S)
