"""The chain mode runs its plan: right at every kind of plan, the pure plans hand over to forward
and reverse mode themselves, and the lean modes make a fixed number of torch calls per layer.

The plan itself (its bracketing and cost) is tested in tests/theory/test_chain_plan.py, the work
each mode does against the cost model in tests/theory/test_cost.py.
"""

from __future__ import annotations

import collections

import pytest
import torch
from cases import ACTIVATION_NAMES, DTYPES, PLAN_SHAPES, Case, check_agrees, shape_id
from torch.overrides import TorchFunctionMode

from jacbench.modes.chain import chain_jacobian
from jacbench.modes.handwritten import forward_jacobian, primal_activations, reverse_jacobian
from jacbench.theory.chain_plan import chain_plan
from jacbench.theory.chain_program import LINEAR, MATMUL, SCALE, TRANSPOSE


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("bias", [False, True], ids=["nobias", "bias"])
@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
@pytest.mark.parametrize("N", [None, 1, 3], ids=["single", "N1", "N3"])
@pytest.mark.parametrize("shape", PLAN_SHAPES, ids=shape_id)
def test_chain_agrees_with_reference_at_every_kind_of_plan(shape, N, activation, bias, dtype):
    check_agrees("chain", Case(*shape, N, activation, bias), dtype)


def test_every_kind_of_plan_is_covered() -> None:
    assert {chain_plan(*shape).kind for shape in PLAN_SHAPES} == {
        "forward", "reverse", "mixed"
    }
    assert any(chain_plan(*shape).transposes for shape in PLAN_SHAPES)


def test_pure_plans_call_the_mode_itself() -> None:
    net, x = Case(5, 2, 30, 10, 3, bias=True).build()
    assert chain_plan(5, 2, 30, 10).kind == "forward"
    assert torch.equal(chain_jacobian(net, x), forward_jacobian(net, x))
    net, x = Case(5, 30, 6, 1, 3, bias=True).build()
    assert chain_plan(5, 30, 6, 1).kind == "reverse"
    assert torch.equal(chain_jacobian(net, x), reverse_jacobian(net, x))


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
@pytest.mark.parametrize("N", [None, 3], ids=["single", "N3"])
@pytest.mark.parametrize("shape", [(10, 2, 30, 10), (10, 30, 2, 10), (4, 12, 2, 10)], ids=shape_id)
def test_torch_calls_per_layer(shape, N, bias) -> None:
    # At small shapes the time is dispatch: 4 calls per layer (act, fused scaling, two products)
    # plus at most 2 views and, for a batch, the unsqueeze; chain adds only its transposes.
    L = shape[0]
    net, x = Case(*shape, N, bias=bias).build(torch.float32)
    extra = 0 if N is None else 1
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
    assert plan.kind == "mixed"
    ops = collections.Counter(op for op, *_ in plan.program)
    assert ops[SCALE] == 4 and ops[MATMUL] + ops[LINEAR] == 4
    assert ops[TRANSPOSE] == plan.transposes
    # What chain_jacobian calls beyond its primal pass is the program, op for op.
    net, x = Case(4, 12, 2, 10, 3).build()
    with _TorchCalls() as primal:
        primal_activations(net, x)
    with _TorchCalls() as counter:
        chain_jacobian(net, x)
    run = counter.calls - primal.calls
    assert (run["matmul"], run["linear"], run["mT"]) == (ops[MATMUL], ops[LINEAR], ops[TRANSPOSE])
    assert run["tanh_backward.default"] == ops[SCALE]
    assert sum(run.values()) == len(plan.program)
