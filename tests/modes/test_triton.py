"""The Triton modes against the float64 reference, their fused layer kernel against plain torch,
and their launches counted: on the CPU through triton's interpreter (``TRITON_INTERPRET=1``, set
for this module only: ``triton_modes.kernels`` rebuilds the kernels whenever the switch changes),
on a GPU in the CUDA-marked tests. Skipped, with the reason, where triton is not installed."""

from __future__ import annotations

import sys
from importlib.util import find_spec

import pytest
import torch

import jacbench
from jacbench.catalog import CATALOG, TRITON, jacbench_modes
from jacbench.model.activations import ACTIVATIONS
from jacbench.model.reference import TOLERANCE, reference_jacobian, relative_error
from jacbench.modes import triton_modes
from jacbench.modes.registry import ModeUnavailable, prepare

needs_triton = pytest.mark.skipif(find_spec("triton") is None,
                                  reason="triton is not installed (pip install 'jacbench[triton]')")
MODES = ("forward-triton", "reverse-triton")
#: The course's small config (L, D, K, P), and a shape of no power of two.
COURSE = (10, 2, 30, 10)
ODD = (3, 5, 19, 7)


@pytest.fixture(autouse=True, scope="module")
def interpreter():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TRITON_INTERPRET", "1")
        yield


def check(net: jacbench.MLP, x: torch.Tensor, J: torch.Tensor) -> None:
    reference = reference_jacobian(net, x)
    assert J.shape == reference.shape and J.dtype == torch.float32
    assert relative_error(J, reference) <= TOLERANCE["float32"]


# Against the reference ----------------------------------------------------------------------------
@needs_triton
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("bias", [False, True], ids=["no-bias", "bias"])
def test_mode_agrees_with_the_reference(mode, activation, bias):
    net = jacbench.MLP.random(*ODD, seed=2, activation=activation, bias=bias)
    x = torch.randn(3, net.D, generator=torch.Generator().manual_seed(0))
    check(net, x, jacbench.jacobian(net, x, mode))


@needs_triton
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("one_launch", [True, False], ids=["network", "layers"])
def test_course_config_agrees_in_one_launch_and_layer_by_layer(mode, one_launch):
    net = jacbench.MLP.random(*COURSE, seed=1, activation="tanh", bias=True)
    x = torch.randn(2, net.D, generator=torch.Generator().manual_seed(1))
    ready = prepare(net, x, mode) if one_launch else triton_modes.prepare_triton(
        mode.split("-")[0], net, x, one_launch=False)
    check(net, x, ready.to_torch(ready.call()))


@needs_triton
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("one_launch", [True, False], ids=["network", "layers"])
def test_a_single_input_of_a_one_layer_net_gives_a_p_by_d_jacobian(mode, one_launch):
    net = jacbench.MLP.random(1, 3, 6, 4, seed=4, activation="sigmoid")  # L = 1: no K×K layer
    x = torch.randn(3, generator=torch.Generator().manual_seed(2))
    ready = triton_modes.prepare_triton(mode.split("-")[0], net, x, one_launch=one_launch)
    check(net, x, ready.call())


@needs_triton
@pytest.mark.parametrize(("mode", "shape"), [
    ("forward-triton", (2, 70, 20, 3)),  # 70 tangent rows: two row blocks, one writes a_i
    ("reverse-triton", (2, 3, 20, 70)),  # 70 adjoint rows
    ("forward-triton", (2, 3, 70, 20)),  # 70 units: two column blocks, three inner blocks
    ("reverse-triton", (2, 3, 70, 20)),
], ids=["forward-rows", "reverse-rows", "forward-wide", "reverse-wide"])
def test_layer_kernels_agree_where_the_shape_needs_several_blocks(mode, shape):
    net = jacbench.MLP.random(*shape, seed=5, activation="relu", bias=True)
    assert not triton_modes._fits_one_launch(net)
    x = torch.randn(2, net.D, generator=torch.Generator().manual_seed(3))
    check(net, x, jacbench.jacobian(net, x, mode))


# The fused layer against plain torch ------------------------------------------------------------
@needs_triton
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_fused_layer_is_the_product_scaled_in_its_epilogue(activation):
    act, k = ACTIVATIONS[activation], triton_modes.kernels()
    code = k.ACTIVATION_CODES[activation]
    g = torch.Generator().manual_seed(6)
    N, R, KIN, KOUT = 2, 20, 37, 70
    u, m = torch.randn(N, R, KIN, generator=g), torch.randn(KIN, KOUT, generator=g)
    a, b = torch.randn(N, KIN, generator=g), torch.randn(KOUT, generator=g)
    product = u @ m
    out, a_out = torch.empty(N, R, KOUT), torch.empty(N, KOUT)
    triton_modes.layer(k, u, m, out, code, 1, a=a, b=b, a_out=a_out)  # forward: primal beside
    a_next = act.fn(a @ m + b)
    torch.testing.assert_close(a_out, a_next, rtol=1e-5, atol=1e-5)
    expected = product * act.derivative_from_output(a_next).unsqueeze(1)
    torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-4)
    stored = act.fn(torch.randn(N, KOUT, generator=g))
    triton_modes.layer(k, u, m, out, code, 2, a=stored)  # reverse: a stored activation
    expected = product * act.derivative_from_output(stored).unsqueeze(1)
    torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-4)
    triton_modes.layer(k, u, m, out, code, 0)  # the Jacobian's own product: no scaling
    torch.testing.assert_close(out, product, rtol=1e-4, atol=1e-4)
    square = torch.empty(N, KIN, KOUT)
    triton_modes.layer(k, None, m, square, code, 0)  # U = I
    torch.testing.assert_close(square, m.expand(N, -1, -1))


# Launches counted -------------------------------------------------------------------------------
class Counted:
    """A kernel that counts its launches and runs the real one."""

    def __init__(self, kernel: object) -> None:
        self.kernel, self.launches = kernel, 0

    def __getitem__(self, grid: tuple[int, ...]):
        def launch(*args: object, **options: object) -> None:
            self.launches += 1
            self.kernel[grid](*args, **options)  # type: ignore[index]
        return launch


@needs_triton
@pytest.mark.parametrize(("algorithm", "one_launch", "launches"), [
    ("forward", True, 1), ("reverse", True, 1),
    ("forward", False, 4),  # L + 1 fused layers
    ("reverse", False, 7),  # L primal layers, then L + 1 fused adjoint layers
])
def test_a_jacobian_is_one_launch_or_one_per_layer(monkeypatch, algorithm, one_launch, launches):
    k = triton_modes.kernels()
    counters = {name: Counted(getattr(k, name)) for name in (
        "forward_network_kernel", "reverse_network_kernel", "layer_kernel", "primal_kernel")}
    for name, counter in counters.items():
        monkeypatch.setattr(k, name, counter)
    net = jacbench.MLP.random(3, 2, 8, 3, seed=7)
    x = torch.randn(2, 2, generator=torch.Generator().manual_seed(4))
    ready = triton_modes.prepare_triton(algorithm, net, x, one_launch=one_launch)
    before = sum(c.launches for c in counters.values())
    check(net, x, ready.call())
    assert sum(c.launches for c in counters.values()) - before == launches


# Where the modes cannot run -----------------------------------------------------------------------
def test_the_modes_are_catalogued_as_jacbench_s_own_cuda_float32_modes():
    for mode in MODES:
        info = CATALOG[mode]
        assert (info.family, info.devices, info.dtypes) == (TRITON, ("cuda",), ("float32",))
        assert info.runs.program and mode in jacbench_modes()


@pytest.mark.parametrize("mode", MODES)
def test_on_the_cpu_without_the_interpreter_the_mode_is_unavailable(monkeypatch, mode):
    monkeypatch.delenv("TRITON_INTERPRET")
    monkeypatch.setitem(sys.modules, "triton", None)  # and never imports triton to say so
    net = jacbench.MLP.random(2, 3, 4, 2)
    with pytest.raises(ModeUnavailable, match="run on CUDA"):
        prepare(net, torch.zeros(3), mode)


@pytest.mark.parametrize("mode", MODES)
def test_float64_is_unavailable(mode):
    net = jacbench.MLP.random(2, 3, 4, 2, dtype=torch.float64)
    with pytest.raises(ModeUnavailable, match=r"float32, not torch\.float64"):
        prepare(net, torch.zeros(3, dtype=torch.float64), mode)


@needs_triton
def test_the_kernels_follow_the_interpreter_switch(monkeypatch):
    assert triton_modes.kernels().INTERPRETED
    monkeypatch.delenv("TRITON_INTERPRET")  # GPU kernels: defined here, never launched
    assert not triton_modes.kernels().INTERPRETED
    assert type(triton_modes.kernels().layer_kernel).__name__ == "JITFunction"
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    assert triton_modes.kernels().INTERPRETED


def test_without_triton_the_mode_is_unavailable_with_the_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "triton", None)
    with pytest.raises(ModeUnavailable, match=r"triton is not installed \(pip install"):
        triton_modes.kernels()


# On a GPU ---------------------------------------------------------------------------------------
@needs_triton
@pytest.mark.cuda
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape", [COURSE, ODD, (4, 64, 256, 32)], ids=["course", "odd", "layers"])
def test_on_a_gpu_the_mode_agrees_with_the_reference(monkeypatch, mode, shape):
    monkeypatch.delenv("TRITON_INTERPRET")
    net = jacbench.MLP.random(*shape, seed=8, bias=True, device="cuda")
    x = torch.randn(16, net.D, device="cuda")
    ready = prepare(net, x, mode)
    check(net, x, ready.to_torch(ready.call()))


def test_products_follow_torch_s_float32_matmul_precision():
    before = torch.get_float32_matmul_precision()
    try:
        torch.set_float32_matmul_precision("highest")
        assert triton_modes.dot_precision() == "ieee"
        torch.set_float32_matmul_precision("high")
        assert triton_modes.dot_precision() == "tf32"
    finally:
        torch.set_float32_matmul_precision(before)
