"""The precision of a point's products, set in one place (``run.case``) for every framework:
TF32 through fakes (this CPU has none), the ceilings and the probe in the dtype's own products,
and the rows of a precision a device lacks (TF32 on a CPU) ``unavailable`` with the reason."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from fakes import FakeMachine
from test_fake_cuda import FakeCuda, cuda_runner

from jacbench import jacobian
from jacbench.modes import jax_modes
from jacbench.results.point import Point
from jacbench.run import case as case_module
from jacbench.run import instruments as instruments_module
from jacbench.run import runner as runner_module
from jacbench.run.case import (
    TORCH_DTYPES,
    precision_unavailable,
    set_precision,
)
from jacbench.run.instruments import Yardsticks, best_ceilings
from jacbench.run.runner import PointRunner
from jacbench.run.settings import Settings


@pytest.fixture(autouse=True)
def _restore_precision():
    saved = torch.get_float32_matmul_precision()
    yield
    torch.set_float32_matmul_precision(saved)


def tiny(device: str, dtype: str) -> Point:
    return Point(device, dtype, "tanh", False, 2, 3, 4, 2, 1)


def test_one_mapping_gives_each_dtype_its_storage_and_its_products():
    expected = {"float32": torch.float32, "float64": torch.float64, "tf32": torch.float32,
                "bfloat16": torch.bfloat16, "float16": torch.float16}
    assert expected == TORCH_DTYPES
    pytest.importorskip("jax")
    for dtype, torch_setting, tf32, jax_setting in (
            ("tf32", "high", True, "tensorfloat32"), ("float32", "highest", False, "highest"),
            ("bfloat16", "highest", False, "highest"), ("tf32", "high", True, "tensorfloat32"),
            ("float64", "highest", False, "highest")):
        set_precision(dtype)
        assert torch.get_float32_matmul_precision() == torch_setting, dtype
        assert torch.backends.cuda.matmul.allow_tf32 is tf32, dtype
        assert jax_modes.matmul_precision() == jax_setting, dtype
        # half-precision sums in float32 on cuBLAS too (torch's default would allow bf16 sums)
        assert not torch.backends.cuda.matmul.allow_bf16_reduced_precision_reduction
        assert not torch.backends.cuda.matmul.allow_fp16_reduced_precision_reduction


def test_tf32_on_a_cpu_is_unavailable_for_every_mode_and_says_why():
    runner = PointRunner(Settings(min_run_time=0.002, rounds=1), {}, Yardsticks(),
                         FakeMachine().instruments)
    rows = [r.to_row() for r in runner.run(tiny("cpu", "tf32"), ("forward", "reverse-native"))]
    assert [r["mode"] for r in rows] == ["forward", "reverse-native"]
    for row in rows:
        assert (row["status"], row["dtype"], row["matmul_precision"]) == (
            "unavailable", "tf32", "tf32")
        assert row["reason"].startswith("TF32 is a CUDA tensor-core precision")
        assert row.get("time_median_s") is None and row.get("floor_s") is None


def test_a_precision_a_device_lacks_is_not_measured_and_the_others_are():
    ceilings, reported = [], []
    machine = FakeMachine().instruments
    fake = dataclasses.replace(machine, ceilings=lambda d, t: ceilings.append((d, t))
                               or machine.ceilings(d, t))
    found = Yardsticks.measure([("cpu", "tf32"), ("cpu", "bfloat16")], fake, reported.append)
    assert ceilings == [("cpu", "bfloat16")]
    assert set(found.ceilings) == set(found.models) == {("cpu", "bfloat16")}
    assert any(line.startswith("cpu tf32: TF32 is a CUDA") for line in reported)


def test_bfloat16_and_tf32_on_a_gpu_before_ampere_are_unavailable(monkeypatch):
    asked = []
    monkeypatch.setattr(torch.cuda, "get_device_capability",
                        lambda device=None: asked.append(device) or (7, 5))
    for dtype in ("tf32", "bfloat16"):
        assert "compute capability 8.0 or newer; cuda:1 has 7.5" in precision_unavailable(
            "cuda:1", dtype)
    assert precision_unavailable("cuda:1", "float16") == ""
    assert precision_unavailable("cuda:1", "float32") == ""
    assert asked == [torch.device("cuda:1")] * 2
    assert precision_unavailable("cpu", "bfloat16") == ""


def test_ceilings_are_measured_in_the_products_of_the_dtype(monkeypatch):
    asked = []

    def measured(device, dtype, *, allow_tf32=False):
        asked.append((device, dtype, allow_tf32))
        return FakeMachine().instruments.ceilings(device, "float32")

    monkeypatch.setattr(instruments_module, "measure_ceilings", measured)
    for dtype in ("tf32", "float32", "bfloat16"):
        best_ceilings("cuda:1", dtype, tries=1)
    assert asked == [("cuda:1", torch.float32, True), ("cuda:1", torch.float32, False),
                     ("cuda:1", torch.bfloat16, False)]


def test_the_speed_probe_runs_in_the_products_of_the_dtype(monkeypatch):
    """A float32 probe taken with TF32 on would raise float32's ceiling: each probe sets its
    dtype's precision first."""
    seen = []
    monkeypatch.setattr(instruments_module, "speed_probe", lambda device, dtype: seen.append(
        (dtype, torch.backends.cuda.matmul.allow_tf32)) or 1.0)
    for dtype in ("tf32", "float32", "tf32", "bfloat16"):
        instruments_module._probe("cuda:1", dtype)
    assert seen == [(torch.float32, True), (torch.float32, False), (torch.float32, True),
                    (torch.bfloat16, False)]


def test_a_tf32_point_on_a_fake_gpu_runs_torch_and_jax_with_tf32(monkeypatch, user_modes):
    """On (fake) CUDA every mode of a tf32 point runs with torch's TF32 switch on and JAX's
    products at "tensorfloat32"; the rows say tf32. The modes really run, on the CPU."""
    pytest.importorskip("jax")
    from jacbench import register_mode

    fake = FakeCuda(monkeypatch)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (9, 0))
    real_build = case_module.build_case
    monkeypatch.setattr(runner_module, "build_case",
                        lambda p: real_build(dataclasses.replace(p, device="cpu")))
    seen: list[tuple[str, object]] = []

    def spy(net, x):
        seen.append(("torch", torch.backends.cuda.matmul.allow_tf32))
        return jacobian(net, x, "reverse")

    real_mlp = jax_modes._mlp

    def jax_mlp(jnp, jax_nn, activation, precision):
        seen.append(("jax", precision))
        return real_mlp(jnp, jax_nn, activation, precision)

    register_mode("tf32-spy", spy, algorithm="reverse")
    monkeypatch.setattr(jax_modes, "_mlp", jax_mlp)
    monkeypatch.setattr(jax_modes, "_JITTED", {})
    point = tiny("cuda:1", "tf32")
    records = cuda_runner(FakeMachine()).run(point, ("tf32-spy", "jax-jacrev"))
    rows = {r.mode: r.to_row() for r in records}
    assert {m: r["status"] for m, r in rows.items()} == {"tf32-spy": "ok", "jax-jacrev": "ok"}
    assert {r["matmul_precision"] for r in rows.values()} == {"tf32"}
    assert ("torch", True) in seen and ("torch", False) not in seen
    assert ("jax", "tensorfloat32") in seen and ("jax", "highest") not in seen
    assert fake.devices("synchronize") == {torch.device("cuda:1")}
