"""The chain mode: its answer against an explicit float64 chain product, its bracketing against
hand-worked and brute-force optima, and its cost formula against the FLOPs torch counts.

Also checks that the lean forward and reverse modes still count exactly what their docstrings
claim, and that none of the three grows its number of torch calls per layer.
"""

from __future__ import annotations

import collections
import functools
import itertools

import pytest
import torch
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

import jacbench
from jacbench.modes import chain
from jacbench.modes.chain import chain_cost, chain_jacobian, chain_plan
from jacbench.modes.handwritten import forward_jacobian, reverse_jacobian

ACTIVATIONS = ("tanh", "sigmoid", "relu")
TOLERANCE = {torch.float64: 1e-10, torch.float32: 2e-5}
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


# An independent reference: the forward pass and the chain W_F diag(s_L) W_L ... diag(s_1) W_1,
# one sample at a time in float64 with torch.diag, derivatives written from h (not from act(h)).
_REFERENCE_ACTS = {
    "tanh": (torch.tanh, lambda h: 1.0 / torch.cosh(h) ** 2),
    "sigmoid": (
        lambda h: 1.0 / (1.0 + torch.exp(-h)),
        lambda h: torch.exp(-h) / (1.0 + torch.exp(-h)) ** 2,
    ),
    "relu": (lambda h: h.clamp(min=0), lambda h: (h > 0).double()),
}


def reference(net: jacbench.MLP, x: torch.Tensor) -> torch.Tensor:
    act, derivative = _REFERENCE_ACTS[net.activation]
    Ws = [W.detach().cpu().double() for W in net.weights]
    bs = [None] * len(Ws) if net.biases is None else [b.detach().cpu().double() for b in net.biases]

    def one(x_n: torch.Tensor) -> torch.Tensor:
        a, scales = x_n.detach().cpu().double(), []
        for W, b in zip(Ws[:-1], bs[:-1], strict=True):
            h = W @ a + (0 if b is None else b)
            scales.append(torch.diag(derivative(h)))
            a = act(h)
        J = Ws[-1]
        for W, S in zip(reversed(Ws[:-1]), reversed(scales), strict=True):
            J = J @ S @ W
        return J

    return one(x) if x.dim() == 1 else torch.stack([one(x_n) for x_n in x])


def rel_error(J: torch.Tensor, ref: torch.Tensor) -> float:
    diff = torch.linalg.norm((J.detach().cpu().double() - ref).reshape(-1))
    size = torch.linalg.norm(ref.reshape(-1))
    return float(diff / size) if size > 0 else float(diff)  # relu may kill every path: then 0


SHAPES = [  # (L, D, K, P): every axis down to 1, and each kind of plan
    (1, 1, 1, 1),
    (1, 3, 4, 2),
    (3, 1, 5, 4),
    (3, 4, 1, 5),
    (3, 4, 5, 1),
    (2, 6, 3, 5),
    (3, 10, 2, 12),  # mixed: the K×K middle first
    (4, 12, 2, 10),  # mixed, with transposes
    (5, 2, 30, 10),  # forward
    (5, 30, 6, 1),  # reverse
]


def _model(shape, activation, bias, dtype, seed=0):
    L, D, K, P = shape
    return jacbench.MLP.random(
        L=L, D=D, K=K, P=P, seed=seed, dtype=dtype, activation=activation, bias=bias
    )


def _input(D: int, batch: int | None, dtype=torch.float64, device="cpu") -> torch.Tensor:
    gen = torch.Generator().manual_seed(7)
    shape = (D,) if batch is None else (batch, D)
    return torch.randn(*shape, generator=gen, dtype=torch.float64).to(dtype=dtype, device=device)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("bias", [False, True], ids=["nobias", "bias"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("batch", [None, 1, 3], ids=["single", "N1", "N3"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "L{}-D{}-K{}-P{}".format(*s))
def test_chain_matches_explicit_chain_product(shape, batch, activation, bias, dtype) -> None:
    net = _model(shape, activation, bias, dtype)
    x = _input(net.D, batch, dtype)
    J = jacbench.jacobian(net, x, "chain")
    expected_shape = (net.P, net.D) if batch is None else (batch, net.P, net.D)
    assert J.shape == expected_shape and J.dtype == dtype
    assert rel_error(J, reference(net, x)) <= TOLERANCE[dtype]


@pytest.mark.parametrize("mode", ["forward", "reverse", "chain"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_lean_modes_match_reference_with_bias(mode, activation) -> None:
    for shape in SHAPES:
        net = _model(shape, activation, True, torch.float64, seed=3)
        for batch in (None, 3):
            x = _input(net.D, batch)
            assert rel_error(jacbench.jacobian(net, x, mode), reference(net, x)) <= 1e-10


# --- the bracketing ------------------------------------------------------------------------


def test_pure_forward_when_D_is_smallest() -> None:
    # L=3, D=1, K=4, P=5: forward costs 2·16·1 + 5·4·1 = 52 in products and 3·4·1 scalings;
    # any product touching P first costs at least 5·4·4 = 80 on its own.
    plan = chain_plan(3, 1, 4, 5)
    assert plan.kind == "forward"
    assert plan.tree == (3, (2, (1, 0)))
    assert (plan.matmul_macs, plan.elementwise_macs) == (52, 12)


def test_pure_reverse_when_P_is_smallest() -> None:
    plan = chain_plan(3, 5, 4, 1)
    assert plan.kind == "reverse"
    assert plan.tree == (((3, 2), 1), 0)
    assert (plan.matmul_macs, plan.elementwise_macs) == (2 * 16 * 1 + 1 * 4 * 5, 3 * 1 * 4)


def test_middle_first_when_K_is_small() -> None:
    # L=3, D=10, K=2, P=12. Forward: 2·K²·D + P·K·D = 80 + 240 = 320 products; reverse
    # 2·K²·P + P·K·D = 96 + 240 = 336. Middle first: W_3 S W_2 (K³ = 8), then with W_1 (K²·D
    # = 40), then W_F on the left (P·K·D = 240): 288, with scalings K·K + K·K + K·min(P, D)
    # = 4 + 4 + 20 = 28.
    plan = chain_plan(3, 10, 2, 12)
    assert plan.kind == "mixed"
    assert plan.tree == (3, ((2, 1), 0))
    assert (plan.matmul_macs, plan.elementwise_macs) == (288, 28)
    assert plan.describe() == "W_F S_3 ((W_3 S_2 W_2) S_1 W_1)"
    # handed on: W_3 S W_2 (K×K = 4) and the K×D middle (20); held: that and J (P×D = 120)
    assert (plan.handed_on, plan.held) == (24, 140)


def test_tie_between_forward_and_reverse_goes_to_reverse() -> None:
    # D = P, K large: forward and reverse cost the same; reverse needs no transpose views.
    plan = chain_plan(2, 3, 8, 3)
    assert plan.kind == "reverse" and plan.transposes == 0


def _brute_force_macs(dims: tuple[int, ...]) -> int:
    """Cheapest products + scalings over every bracketing of the chain, by enumeration."""

    @functools.cache
    def best(i: int, j: int) -> int:  # weights i..j; weight m is dims[m+1] × dims[m]
        if i == j:
            return 0
        return min(
            best(i, k) + best(k + 1, j)
            + dims[j + 1] * dims[k + 1] * dims[i]  # the product
            + dims[k + 1] * min(dims[j + 1], dims[i])  # S folded into the smaller factor
            for k in range(i, j)
        )

    return best(0, len(dims) - 2)


@pytest.mark.parametrize("L", [1, 2, 3, 4, 6])
def test_programme_matches_brute_force(L: int) -> None:
    for D, K, P in itertools.product((1, 3, 16), (1, 4, 9), (1, 5, 16)):
        plan = chain_plan(L, D, K, P)
        dims = (D,) + (K,) * L + (P,)
        assert plan.matmul_macs + plan.elementwise_macs == _brute_force_macs(dims)
        forward = (L - 1) * K * K * D + P * K * D + L * K * D
        reverse = (L - 1) * K * K * P + P * K * D + L * P * K
        assert plan.matmul_macs + plan.elementwise_macs <= min(forward, reverse)


@pytest.mark.parametrize("sizes", [(0, 2, 3, 4), (2, -1, 3, 4), (2, 2, 1.5, 4), (2, 2, 3, True)])
def test_bad_sizes_are_refused(sizes) -> None:
    with pytest.raises(ValueError, match="positive integer"):
        chain_plan(*sizes)
    with pytest.raises(ValueError, match="batch"):
        chain_cost(2, 3, 4, 5, batch=0)


def test_plan_is_cached_per_shape() -> None:
    assert chain_plan(5, 6, 7, 8) is chain_plan(5, 6, 7, 8)


def test_pure_plans_call_the_mode_itself() -> None:
    x = _input(2, 3)
    net = _model((5, 2, 30, 10), "tanh", True, torch.float64)
    assert torch.equal(chain_jacobian(net, x), forward_jacobian(net, x))
    net = _model((5, 30, 6, 1), "tanh", True, torch.float64)
    assert torch.equal(chain_jacobian(net, _input(30, 3)), reverse_jacobian(net, _input(30, 3)))


# --- counted work ----------------------------------------------------------------------------


def _mv_flop(a_shape, b_shape, *args, out_shape=None, **kwargs) -> int:
    return 2 * a_shape[0] * a_shape[1]


def _addmv_flop(self_shape, a_shape, b_shape, *args, out_shape=None, **kwargs) -> int:
    return 2 * a_shape[0] * a_shape[1]


class _ScaledElements(TorchDispatchMode):
    """Counts the elements written by the fused act'(h) scaling kernels."""

    KERNELS = ("aten.tanh_backward", "aten.sigmoid_backward", "aten.threshold_backward")

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if str(func.overloadpacket) in self.KERNELS:
            self.count += out.numel()
        return out


def counted(fn, net: jacbench.MLP, x: torch.Tensor) -> tuple[int, int]:
    """(matrix-product multiply-adds, elements scaled by act'(h)) that torch sees ``fn`` do.

    FlopCounterMode leaves ``aten.mv`` and ``aten.addmv`` out; the modes' primal pass takes them
    for a single (D,) input, so they are counted here as 2·rows·cols FLOPs.
    """
    flops = FlopCounterMode(
        display=False,
        custom_mapping={torch.ops.aten.mv: _mv_flop, torch.ops.aten.addmv: _addmv_flop},
    )
    with flops:
        fn(net, x)
    with _ScaledElements() as scaled:
        fn(net, x)
    total = flops.get_total_flops()
    assert total % 2 == 0
    return total // 2, scaled.count


COUNT_SHAPES = [  # (L, D, K, P, batch) covering forward, reverse and mixed plans
    (1, 1, 1, 1, None),
    (1, 3, 4, 2, 2),
    (3, 1, 4, 5, None),
    (3, 5, 4, 1, 3),
    (3, 10, 2, 12, None),
    (3, 10, 2, 12, 3),
    (4, 12, 2, 10, 2),
    (6, 32, 8, 32, 1),
    (2, 3, 8, 3, 4),
]


@pytest.mark.parametrize("bias", [False, True], ids=["nobias", "bias"])
@pytest.mark.parametrize("shape", COUNT_SHAPES, ids=lambda s: "L{}-D{}-K{}-P{}-N{}".format(*s))
def test_chain_cost_equals_counted_flops(shape, bias) -> None:
    L, D, K, P, batch = shape
    net = _model((L, D, K, P), "tanh", bias, torch.float64)
    x = _input(D, batch)
    assert counted(chain_jacobian, net, x) == chain_cost(L, D, K, P, batch or 1)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("shape", COUNT_SHAPES, ids=lambda s: "L{}-D{}-K{}-P{}-N{}".format(*s))
def test_forward_and_reverse_count_what_their_docstrings_say(shape, activation) -> None:
    L, D, K, P, batch = shape
    N = batch or 1
    net = _model((L, D, K, P), activation, False, torch.float64)
    x = _input(D, batch)
    primal = K * D + (L - 1) * K * K  # y itself is never formed
    # forward: tangents (L-1)·K²·D + P·K·D, L·K·D scalings
    assert counted(forward_jacobian, net, x) == (
        N * (primal + (L - 1) * K * K * D + P * K * D), N * L * K * D
    )
    # reverse: adjoints (L-1)·K²·P + P·K·D, L·P·K scalings
    assert counted(reverse_jacobian, net, x) == (
        N * (primal + (L - 1) * K * K * P + P * K * D), N * L * P * K
    )


# --- torch calls -----------------------------------------------------------------------------


class _TorchCalls(TorchFunctionMode):
    """Counts torch calls made from Python: ops and views (``.T``, ``.mT``), not the metadata
    reads ``dim()`` and ``.shape``, which dispatch nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: collections.Counter[str] = collections.Counter()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", str(func))
        if name == "__get__":  # a property: name it by its descriptor (T, mT, shape)
            name = getattr(getattr(func, "__self__", None), "__name__", name)
        if name not in ("dim", "shape"):
            self.calls[name] += 1
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize("bias", [False, True], ids=["nobias", "bias"])
@pytest.mark.parametrize("batch", [None, 3], ids=["single", "N3"])
def test_torch_calls_per_layer(batch, bias) -> None:
    # At small shapes the time is dispatch: 4 calls per layer (act, fused scaling, two products)
    # plus at most 2 views and, for a batch, the unsqueeze; chain adds only its transposes.
    for shape in [(10, 2, 30, 10), (10, 30, 2, 10), (4, 12, 2, 10)]:
        L = shape[0]
        net = _model(shape, "tanh", bias, torch.float32)
        x = _input(net.D, batch, torch.float32)
        extra = 0 if batch is None else 1
        for fn, views in (
            (forward_jacobian, 2),
            (reverse_jacobian, 0),
            (chain_jacobian, chain_plan(*shape).transposes),
        ):
            with _TorchCalls() as counter:
                fn(net, x)
            assert sum(counter.calls.values()) == 4 * L + views + extra, (fn, dict(counter.calls))


def test_chain_program_has_one_call_per_step() -> None:
    plan = chain_plan(4, 12, 2, 10)
    ops = collections.Counter(op for op, *_ in plan.program)
    assert ops[chain.SCALE] == 4 and ops[chain.MATMUL] + ops[chain.LINEAR] == 4
    assert ops[chain.TRANSPOSE] == plan.transposes


# --- CUDA -----------------------------------------------------------------------------------


@pytest.mark.cuda
@needs_cuda
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("mode", ["forward", "reverse", "chain"])
def test_lean_modes_on_cuda(mode, dtype) -> None:
    # TF32 would loosen fp32 products past the tolerance; the modes never switch it on.
    saved = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        for shape in SHAPES:
            for activation in ACTIVATIONS:
                net = _model(shape, activation, True, dtype).to(device="cuda")
                for batch in (None, 3):
                    x = _input(net.D, batch, dtype, "cuda")
                    J = jacbench.jacobian(net, x, mode)
                    assert J.device.type == "cuda"
                    assert rel_error(J, reference(net, x)) <= TOLERANCE[dtype]
    finally:
        torch.backends.cuda.matmul.allow_tf32 = saved
