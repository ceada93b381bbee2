"""JAX's jitted jacrev and jacfwd (``jacbench.modes.jax_modes``): the float64 reference on drawn
cases, the unavailable status without JAX or without a backend for the device, the threads XLA
is given, and the one-off compile time kept out of the median (fake clock).

JAX compiles at every new shape (0.1-0.3 s here), so the drawn cases are few and small.
"""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
from functools import partial

import pytest
import torch
from cases import Case, cases, check_agrees
from hypothesis import given, settings

import jacbench
from jacbench.modes import jax_modes
from jacbench.modes.registry import ModeUnavailable, Prepared, prepare
from jacbench.results.point import Point
from jacbench.run import check
from jacbench.run.case import build_case

pytest.importorskip("jax", reason="JAX is an optional extra: pip install 'jacbench[jax]'")

JAX_MODES = ("jax-jacrev", "jax-jacfwd")


@pytest.mark.parametrize("mode", JAX_MODES)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@given(case=cases(max_L=4, max_size=6, max_N=3))
@settings(max_examples=6)
def test_jax_mode_agrees_with_the_float64_reference(mode, dtype, case):
    check_agrees(mode, case, dtype)  # shape, dtype (float32 stays float32), device, values


@pytest.mark.parametrize("mode", JAX_MODES)
def test_jax_mode_is_exact_zero_where_relu_kills_every_unit_and_takes_a_non_contiguous_batch(mode):
    net = jacbench.MLP.random(3, 4, 5, 2, seed=0, dtype=torch.float64, activation="relu")
    dead = jacbench.MLP(net.weights, [torch.full((5,), -100.0).double()] * 3
                        + [torch.zeros(2).double()], activation="relu")
    assert torch.count_nonzero(jacbench.jacobian(dead, torch.randn(3, 4).double(), mode)) == 0
    x = torch.randn(4, 3, dtype=torch.float64).T[:, :4]
    assert not x.is_contiguous()
    check_agrees(mode, Case(3, 4, 5, 2, None, "tanh", True), torch.float64)
    torch.testing.assert_close(jacbench.jacobian(net, x, mode), jacbench.jacobian(net, x))


def test_prepared_call_reuses_the_converted_weights_and_the_trace():
    net, x = Case(2, 3, 4, 2, 2, "sigmoid", True, seed=1).build(torch.float32)
    first = prepare(net, x, "jax-jacrev")
    second = prepare(net, x, "jax-jacrev")
    first.call()
    params = jax_modes._PARAMS[net]
    assert len(params) == 1  # converted once per model and device
    assert second.to_torch(second.call()).dtype == torch.float32
    assert jax_modes._PARAMS[net] is params
    assert first.threads == jax_modes.xla_threads()


def test_without_jax_the_mode_is_unavailable_with_the_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "jax", None)  # `import jax` now raises ImportError
    net, x = Case(2, 3, 4, 2, None).build(torch.float32)
    with pytest.raises(ModeUnavailable, match=r"JAX is not installed .*jacbench\[jax\]"):
        prepare(net, x, "jax-jacfwd")
    point = Point("cpu", "float32", "tanh", False, 2, 3, 4, 2, 1)
    outcome, ready = check.check_mode(build_case(point), point, "jax-jacrev", max_call_time=1.0)
    assert (outcome.status, ready) == ("unavailable", None)
    assert "JAX is not installed" in outcome.reason


def test_a_device_jax_has_no_backend_for_is_unavailable():
    import jax

    # cuda:99: no machine has it, with or without a CUDA-enabled jaxlib
    with pytest.raises(ModeUnavailable, match=r"JAX has no gpu backend|JAX sees \d+ gpu"):
        jax_modes._jax_device(jax, torch.device("cuda", 99))


def _dot_precisions(rule: str, batched: bool) -> list[str]:
    import jax

    net, x = Case(3, 5, 7, 4, 2 if batched else None, seed=2).build(torch.float32)
    jx = jax_modes._import_jax()
    params = jax_modes._params(jx, net, jx.devices("cpu")[0])
    jaxpr = str(jax.make_jaxpr(jax_modes._jitted(jx, rule, "tanh", batched))(
        params, x.numpy()))
    found = re.findall(r"precision=\(?(Precision\.\w+|None)", jaxpr)
    assert len(found) == jaxpr.count("dot_general[")  # every product says its precision
    return found


@pytest.mark.parametrize("rule", ["jacrev", "jacfwd"])
def test_every_product_and_its_derivatives_run_at_torchs_float32_precision(rule, monkeypatch):
    # torch's default "highest" (true float32): every dot_general of the traced Jacobian, the
    # transposed and tangent products too, at HIGHEST (JAX's GPU default would be TF32)
    found = _dot_precisions(rule, batched=True)
    assert len(found) >= 3 and set(found) == {"Precision.HIGHEST"}
    monkeypatch.setattr(torch, "get_float32_matmul_precision", lambda: "high")
    assert jax_modes.matmul_precision() == "tensorfloat32"
    assert set(_dot_precisions(rule, batched=False)) != {"Precision.HIGHEST"}


def test_jax_starts_without_taking_the_gpu_unless_the_user_said_otherwise():
    code = ("import os, torch, jacbench\n"
            "from jacbench.modes.registry import prepare\n"
            "prepare(jacbench.MLP.random(2, 3, 4, 2), torch.zeros(3), 'jax-jacrev').call()\n"
            "print(os.environ['XLA_PYTHON_CLIENT_PREALLOCATE'])\n")
    env = {k: v for k, v in os.environ.items() if k != "XLA_PYTHON_CLIENT_PREALLOCATE"}
    run = partial(subprocess.run, [sys.executable, "-c", code], capture_output=True, text=True,
                  check=True, timeout=120)
    assert run(env=env).stdout.split()[-1] == "false"
    assert run(env={**env, "XLA_PYTHON_CLIENT_PREALLOCATE": "true"}).stdout.split()[-1] == "true"


def test_on_a_gpu_the_extra_memory_is_xlas_own_count(monkeypatch):
    net, x = Case(2, 3, 4, 2, 5).build(torch.float32)
    ready = prepare(net, x, "jax-jacrev")
    assert ready.peak_bytes is None  # on a CPU torch's statistics are not read either
    # what the GPU path reads, run on the CPU device: XLA's analysis of the compiled program
    jx = jax_modes._import_jax()
    where = jx.devices("cpu")[0]
    fn = jax_modes._jitted(jx, "jacrev", "tanh", batched=True)
    read = jax_modes._memory_reader(fn, jax_modes._params(jx, net, where), x.numpy())
    assert read() >= 5 * 2 * 3 * 4  # at least the float32 output, (N, P, D)


def test_xla_gets_torchs_thread_count_when_jax_starts():
    # A process of its own: NPROC must be set before jax is first imported.
    code = (
        "import os, torch; torch.set_num_threads(1); os.environ.pop('NPROC', None)\n"
        "import jacbench\n"
        "from jacbench.modes.registry import prepare\n"
        "net = jacbench.MLP.random(2, 3, 4, 2)\n"
        "ready = prepare(net, torch.zeros(3), 'jax-jacrev'); ready.call()\n"
        "pool = [t for t in os.listdir('/proc/self/task')\n"
        "        if 'XLAEigen' in open(f'/proc/self/task/{t}/comm').read()]\n"
        "print(ready.threads, os.environ['NPROC'], len(pool))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120).stdout.split()
    assert out[:2] == ["1", "1"]
    assert out[2] in ("0", "1")  # XLA starts its pool lazily; never more than one thread


def test_compile_time_is_recorded_apart_from_the_timed_call(monkeypatch):
    # A fake clock: the first call (trace and compile) takes 5 s, every later call 2 ms.
    now = itertools.count()
    clock = {"t": 0.0}
    calls = []

    def call():
        calls.append(next(now))
        clock["t"] += 5.002 if len(calls) == 1 else 0.002
        return torch.zeros(2, 3)

    def fake_prepare(net, x):
        return Prepared(call, lambda r: jacbench.jacobian(net, x), threads=2)

    from jacbench.modes.registry import MODES

    monkeypatch.setitem(MODES, "jax-jacrev",
                        type(MODES["jax-jacrev"])(MODES["jax-jacrev"].info,
                                                  MODES["jax-jacrev"].fn, fake_prepare))
    monkeypatch.setattr(check.time, "perf_counter", lambda: clock["t"])
    point = Point("cpu", "float64", "tanh", False, 2, 3, 4, 2, 1)
    outcome, ready = check.check_mode(build_case(point), point, "jax-jacrev", max_call_time=1.0)
    assert outcome.status == "ok" and ready is not None
    assert outcome.compile_s == pytest.approx(5.0)
    assert outcome.call_s == pytest.approx(0.002)  # what is timed is the warm call
    assert outcome.mode_threads == 2
