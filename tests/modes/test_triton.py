"""The Triton modes against the float64 reference, their fused layer kernel against plain torch,
and their launches counted: on the CPU through triton's interpreter (``TRITON_INTERPRET=1``, set
for this module only: ``triton_modes.kernels`` rebuilds the kernels whenever the switch changes),
on a GPU in the CUDA-marked tests. Skipped, with the reason, where triton is not installed."""

from __future__ import annotations

import contextlib
import importlib
import inspect
import re
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

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
# Imported now, before the interpreter is switched on: the kernels must run under it all the same
# (they use none of triton's library functions, which are built when triton is imported).
triton = importlib.import_module("triton") if find_spec("triton") else None
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
    x = torch.randn(1, net.D, generator=torch.Generator().manual_seed(1))
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


# The GPU code, compiled here ----------------------------------------------------------------------
def compiled_for_h100(kernel, constants: dict[str, object], warps: int = 4):
    """``kernel`` compiled for sm_90 (H100, H200) with ``constants``, float32 pointers and int32
    sizes: triton compiles to a cubin with no GPU at hand, which the interpreter never does."""
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    names = list(inspect.signature(kernel.fn).parameters)
    signature = {n: "constexpr" if n in constants else "*fp32" if n.endswith("_ptr") else "i32"
                 for n in names}
    source = ASTSource(fn=kernel, signature=signature,
                       constexprs={(names.index(n),): v for n, v in constants.items()})
    return triton.compile(source, target=GPUTarget("cuda", 90, 32),
                          options={"num_warps": warps, "enable_fp_fusion": True})


def spilled_bytes(cubin: bytes, tmp_path) -> int | None:
    """The cubin's stack and local memory (spilled registers), by the wheel's cuobjdump."""
    tool = Path(triton.__file__).parent / "backends" / "nvidia" / "bin" / "cuobjdump"
    if not tool.exists():
        return None
    (tmp_path / "k.cubin").write_bytes(cubin)
    usage = subprocess.run([str(tool), "--dump-resource-usage", str(tmp_path / "k.cubin")],
                           capture_output=True, text=True, check=True).stdout
    return sum(int(v) for v in re.findall(r"(?:STACK|LOCAL):(\d+)", usage))


@needs_triton
@pytest.mark.parametrize(("name", "constants"), [
    ("forward_network_kernel", {"DP": 64, "KP": 64, "PP": 64, "ACT": 0, "HAS_BIAS": True}),
    ("reverse_network_kernel", {"DP": 64, "KP": 64, "PP": 64, "ACT": 1, "HAS_BIAS": True}),
    ("layer_kernel", {"ACT": 2, "IDENTITY_IN": False, "EPILOGUE": 1, "HAS_BIAS": True,
                      "BLOCK_R": 64, "BLOCK_J": 64, "BLOCK_K": triton_modes.BLOCK_K}),
    ("primal_kernel", {"ACT": 0, "HAS_BIAS": True, "BLOCK_M": 64, "BLOCK_J": 64,
                       "BLOCK_K": triton_modes.BLOCK_K}),
], ids=["forward-network", "reverse-network", "layer", "primal"])
def test_the_gpu_kernels_compile_for_sm90_without_spilling(monkeypatch, tmp_path, name, constants):
    # the network kernels at the largest padded size they take (NETWORK_MAX), with the warps the
    # modes give them: every value in registers (at 128 the reverse one spilled 27 kB a thread)
    assert triton_modes.NETWORK_MAX == 64
    monkeypatch.delenv("TRITON_INTERPRET")
    kernel = getattr(triton_modes.kernels(), name)
    warps = triton_modes.network_warps(constants["KP"]) if "KP" in constants else 4
    binary = compiled_for_h100(kernel, {**constants, "PRECISION": "ieee"}, warps).asm["cubin"]
    assert len(binary) > 1000
    assert spilled_bytes(binary, tmp_path) in (0, None)


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


def test_a_model_on_another_gpu_launches_under_that_device(monkeypatch):
    # triton launches on the current device: cuda:1 while cuda:0 is current needs the switch
    entered = []

    @contextlib.contextmanager
    def device(where):
        entered.append(where)
        yield

    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "device", device)
    run = triton_modes._on_device(lambda: "J", torch.device("cuda", 1))
    assert run() == "J" and entered == [torch.device("cuda", 1)]
    for same in (torch.device("cuda", 0), torch.device("cuda"), torch.device("cpu")):
        assert triton_modes._on_device(run, same) is run


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
