"""Shared torch-side test helpers: the cases the model and mode tests draw, the check that a mode
agrees with the one float64 reference, an independent torch.nn forward pass, and what torch counts
while a Jacobian is computed.

The reference and its tolerance are the package's own (``jacbench.model.reference``): the sweep
verifies against the same check the tests make. tests/model/test_reference.py checks that
reference against torch's autograd.

A ``Case`` is one model and input (sizes, activation, bias, seed); ``cases()`` is the hypothesis
strategy that draws them, every axis down to 1.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from hypothesis import strategies as st
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

import jacbench
from jacbench.model.activations import ACTIVATIONS
from jacbench.model.reference import TOLERANCE, reference_jacobian, relative_error

ACTIVATION_NAMES = tuple(ACTIVATIONS)
DTYPES = (torch.float64, torch.float32)


# Drawn cases -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    """One model and one input. N = None means a single input x of shape (D,)."""

    L: int
    D: int
    K: int
    P: int
    N: int | None = None
    activation: str = "tanh"
    bias: bool = False
    seed: int = 0
    x_scale: float = 1.0

    @property
    def jacobian_shape(self) -> tuple[int, ...]:
        return (self.P, self.D) if self.N is None else (self.N, self.P, self.D)

    def build(
        self, dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu"
    ) -> tuple[jacbench.MLP, torch.Tensor]:
        """The seeded model and a standard normal input (times x_scale) in dtype on device.

        The input is drawn in float64 on the CPU, so a seed gives the same point everywhere; a
        random input is almost surely away from relu's kink.
        """
        net = jacbench.MLP.random(
            self.L, self.D, self.K, self.P, seed=self.seed, dtype=dtype, device=device,
            activation=self.activation, bias=self.bias,
        )
        shape = (self.D,) if self.N is None else (self.N, self.D)
        gen = torch.Generator().manual_seed(10_000 + self.seed)
        x = torch.randn(*shape, generator=gen, dtype=torch.float64) * self.x_scale
        return net, x.to(dtype=dtype, device=device)


@st.composite
def cases(draw, max_L: int = 12, max_size: int = 10, max_N: int = 4) -> Case:
    """Cases with L in 1..max_L, D, K, P in 1..max_size, N None or 1..max_N, every activation.

    Inputs are standard normal or smaller (x_scale 1 or 0.2), so with fan-in scaled weights the
    pre-activations are O(1). Much larger ones saturate tanh and sigmoid, and act'(h) derived from
    the rounded output (1 - a², a(1 - a): what the modes and torch's own autograd kernels do)
    then loses relative accuracy in float32, in every mode alike.
    """
    size = st.integers(1, max_size)
    return Case(
        L=draw(st.integers(1, max_L)),
        D=draw(size),
        K=draw(size),
        P=draw(size),
        N=draw(st.none() | st.integers(1, max_N)),
        activation=draw(st.sampled_from(ACTIVATION_NAMES)),
        bias=draw(st.booleans()),
        seed=draw(st.integers(0, 2**16)),
        x_scale=draw(st.sampled_from((1.0, 0.2))),
    )


#: Every axis at 1 at once, and each axis alone at 1, across activations and biases.
EDGE_CASES = {
    "all-ones": Case(1, 1, 1, 1, None, "tanh", False, seed=1),
    "all-ones-batch": Case(1, 1, 1, 1, 1, "sigmoid", True, seed=2),
    "L=1": Case(1, 5, 6, 4, 3, "relu", True, seed=3),
    "D=1": Case(4, 1, 6, 4, 2, "tanh", True, seed=4),
    "K=1": Case(4, 5, 1, 4, 2, "sigmoid", False, seed=5),
    "P=1": Case(4, 5, 6, 1, None, "relu", True, seed=6),
    "N=1": Case(4, 5, 6, 4, 1, "tanh", False, seed=7),
    "L=12": Case(12, 3, 7, 2, 2, "sigmoid", True, seed=8),
}

#: Larger fixed shapes, still quick for every mode on a CPU.
LARGE_CASES = {
    "L3-D64-K48-P40-N5": Case(3, 64, 48, 40, 5, "tanh", False, seed=11),
    "L2-D80-K32-P72": Case(2, 80, 32, 72, None, "sigmoid", True, seed=12),
    "L5-D40-K64-P24-N3": Case(5, 40, 64, 24, 3, "relu", True, seed=13),
}

#: (L, D, K, P): every axis down to 1, and each kind of chain plan.
PLAN_SHAPES = [
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


def shape_id(shape: tuple) -> str:
    """A test id for (L, D, K, P) or (L, D, K, P, N)."""
    return "-".join(f"{axis}{n}" for axis, n in zip("LDKPN", shape, strict=False))


# Agreement with the reference --------------------------------------------------------------------
def assert_matches_reference(
    J: torch.Tensor, net: jacbench.MLP, x: torch.Tensor, what: str
) -> None:
    """J is within the sweep's tolerance for the model's dtype of the float64 reference at (net, x),
    which is computed from the very same (possibly float32) weights and input."""
    err = relative_error(J, reference_jacobian(net, x))
    tolerance = TOLERANCE[str(net.dtype).removeprefix("torch.")]
    assert err <= tolerance, f"{what}: relative error {err:.3g} > {tolerance:g}"


def check_agrees(mode: str, case: Case, dtype: torch.dtype, device: str = "cpu") -> None:
    """jacobian(net, x, mode) has the right shape, dtype and device, leaves x alone, and matches
    the float64 reference."""
    net, x = case.build(dtype, device)
    x_before = x.clone()
    J = jacbench.jacobian(net, x, mode=mode)
    assert tuple(J.shape) == case.jacobian_shape
    assert J.dtype == x.dtype
    assert J.device == x.device
    assert torch.equal(x, x_before), f"{mode} modified its input"
    assert_matches_reference(J, net, x, f"{mode} on {case}")


# An independent forward pass ---------------------------------------------------------------------
_TORCH_ACTIVATIONS = {"tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid, "relu": torch.nn.ReLU}


def torch_module(net: jacbench.MLP) -> torch.nn.Sequential:
    """``net`` rebuilt from torch.nn layers in float64 on the CPU, sharing no code with jacbench:
    the independent yardstick for its forward pass and, through autograd, for the reference."""
    layers: list[torch.nn.Module] = []
    for i, W in enumerate(net.weights):
        linear = torch.nn.Linear(
            W.shape[1], W.shape[0], bias=net.biases is not None, dtype=torch.float64
        )
        with torch.no_grad():
            linear.weight.copy_(W)
            if net.biases is not None:
                linear.bias.copy_(net.biases[i])
        layers += [linear, _TORCH_ACTIVATIONS[net.activation]()]
    return torch.nn.Sequential(*layers[:-1]).requires_grad_(False)  # no activation after W_F


# Counted work ------------------------------------------------------------------------------------
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


def counted(
    fn: Callable[[jacbench.MLP, torch.Tensor], torch.Tensor], net: jacbench.MLP, x: torch.Tensor
) -> tuple[int, int]:
    """(matrix-product multiply-adds, elements scaled by act'(h)) that torch sees ``fn`` do.

    FlopCounterMode leaves ``aten.mv`` and ``aten.addmv`` out; a single (D,) input takes them, so
    they are counted here as 2·rows·cols FLOPs.
    """
    flops = FlopCounterMode(
        display=False,
        custom_mapping={torch.ops.aten.mv: _mv_flop, torch.ops.aten.addmv: _addmv_flop},
    )
    with flops, _ScaledElements() as scaled:
        fn(net, x)
    total = flops.get_total_flops()
    assert total % 2 == 0
    return total // 2, scaled.count
