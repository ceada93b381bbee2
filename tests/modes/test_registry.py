"""The mode registry: the list of modes, its agreement with the torch-free catalogue, and the
errors ``jacobian`` gives for bad input, before any arithmetic."""

from __future__ import annotations

import pytest
import torch
from cases import Case

import jacbench
from jacbench import catalog
from jacbench.modes.registry import MODES, mode_named, modes

ISSUE_MODES = (
    "forward",
    "reverse",
    "autograd-reverse",
    "autograd-reverse-vectorized",
    "autograd-forward-vectorized",
    "jacrev",
    "jacfwd",
)


# The mode list -----------------------------------------------------------------------------------
def test_modes_is_a_stable_tuple_of_distinct_names():
    names = jacbench.modes()
    assert isinstance(names, tuple)
    assert all(isinstance(n, str) and n for n in names)
    assert len(set(names)) == len(names)
    assert jacbench.modes() == names


def test_modes_lists_the_seven_issue_modes():
    missing = set(ISSUE_MODES) - set(jacbench.modes())
    assert not missing, f"missing modes: {sorted(missing)}"


def test_registry_binds_exactly_the_catalogued_modes_in_catalogue_order():
    assert modes() == tuple(MODES) == tuple(catalog.CATALOG) == jacbench.modes()
    for name, mode in MODES.items():
        info = catalog.CATALOG[name]
        assert (mode.name, mode.family, mode.info) == (name, info.family, info)
        assert callable(mode.fn)
    assert {m.name for m in MODES.values() if m.family == catalog.HAND_WRITTEN} == set(
        catalog.hand_written()
    )


def test_mode_named_finds_a_mode_and_names_the_choices_otherwise():
    assert mode_named("chain") is MODES["chain"]
    with pytest.raises(ValueError, match=r"unknown mode 'sideways'; choose one of forward"):
        mode_named("sideways")


def test_default_mode_is_reverse():
    net, x = Case(2, 3, 4, 2, 2, seed=9).build(torch.float64)
    assert torch.equal(jacbench.jacobian(net, x), jacbench.jacobian(net, x, mode="reverse"))


# Bad input ---------------------------------------------------------------------------------------
@pytest.fixture
def net() -> jacbench.MLP:
    return jacbench.MLP.random(2, 4, 5, 3, seed=0, dtype=torch.float64)


@pytest.mark.parametrize(
    "shape",
    [(5,), (2, 5), (2, 3, 4), (), (0, 4), (0,), (4, 1)],
    ids=["wrong-D", "wrong-D-batch", "3-D", "0-D", "empty-batch", "empty", "transposed"],
)
def test_jacobian_rejects_a_wrong_shape(net, shape):
    x = torch.zeros(shape, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"x must have shape \(D,\) or \(N, D\) with D = 4"):
        jacbench.jacobian(net, x)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.int64])
def test_jacobian_rejects_a_dtype_mismatch(net, dtype):
    x = torch.zeros(4, dtype=dtype)
    with pytest.raises(ValueError, match=rf"x has dtype {dtype}.*model has torch.float64"):
        jacbench.jacobian(net, x)


@pytest.mark.parametrize("x", [[0.0, 0.0, 0.0, 0.0], (0.0,) * 4, None, 1.0], ids=repr)
def test_jacobian_rejects_a_non_tensor(net, x):
    with pytest.raises(ValueError, match=r"x must be a torch\.Tensor"):
        jacbench.jacobian(net, x)


def test_jacobian_rejects_a_device_mismatch_meta(net):
    # The meta device stands in for a second device on a CPU-only machine: the check must fire
    # before any arithmetic.
    with pytest.raises(ValueError, match="x is on meta but the model is on cpu"):
        jacbench.jacobian(net, torch.zeros(4, dtype=torch.float64, device="meta"))
    with pytest.raises(ValueError, match="x is on cpu but the model is on meta"):
        jacbench.jacobian(net.to(device="meta"), torch.zeros(4, dtype=torch.float64))


@pytest.mark.parametrize("mode", ["bogus", "", "Forward", "jac rev", None, ["forward"]])
def test_jacobian_rejects_an_unknown_mode(net, mode):
    with pytest.raises(ValueError, match=r"unknown mode .*; choose one of .*reverse"):
        jacbench.jacobian(net, torch.zeros(4, dtype=torch.float64), mode=mode)


def test_jacobian_rejects_a_net_that_is_not_an_mlp():
    with pytest.raises(ValueError, match=r"net must be a jacbench\.MLP"):
        jacbench.jacobian(torch.nn.Linear(4, 3), torch.zeros(4))


@pytest.mark.cuda
def test_jacobian_rejects_a_device_mismatch_cuda(net):
    with pytest.raises(ValueError, match="x is on cuda:0 but the model is on cpu"):
        jacbench.jacobian(net, torch.zeros(4, dtype=torch.float64, device="cuda"))
    with pytest.raises(ValueError, match="x is on cpu but the model is on cuda:0"):
        jacbench.jacobian(net.to(device="cuda"), torch.zeros(4, dtype=torch.float64))
