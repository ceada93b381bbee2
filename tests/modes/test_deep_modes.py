"""Deep models (issue 21, item 4): the chain mode and the native kernel's program at depths
where a recursive walk of the plan ends in a RecursionError."""

from __future__ import annotations

import sys

import torch

from jacbench.model.mlp import MLP
from jacbench.modes.chain import chain_jacobian
from jacbench.modes.handwritten import forward_jacobian
from jacbench.modes.native import chain_program
from jacbench.theory.chain_plan import chain_plan


def test_the_chain_mode_runs_a_mixed_plan_1500_layers_deep() -> None:
    L = 1500
    assert sys.getrecursionlimit() < L and chain_plan(L, 6, 2, 5).kind == "mixed"
    net = MLP.random(L, 6, 2, 5, dtype=torch.float64, seed=0)
    x = torch.randn(3, 6, dtype=torch.float64)
    torch.testing.assert_close(chain_jacobian(net, x), forward_jacobian(net, x))


def test_the_native_program_builds_5000_layers_deep() -> None:
    program, sizes = chain_program(5000, 64, 8, 64)
    assert len(program) == 5000 == len(sizes)  # one product per layer, the root last
    assert program[-1][0] == 5001 + len(sizes) - 1
