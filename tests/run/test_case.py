"""The case of a point: what it sets up besides the model, its input and the reference."""

from __future__ import annotations

import torch

from jacbench.results.point import Point
from jacbench.run.case import build_case


def test_a_points_case_sets_the_catalogues_matmul_precision():
    """Every framework multiplies at the point's precision: a float32 point turns TF32 off even
    where the user's process had it on (JAX's modes read the same setting)."""
    from jacbench.modes.jax_modes import matmul_precision

    saved = torch.get_float32_matmul_precision()
    try:
        torch.set_float32_matmul_precision("high")
        build_case(Point("cpu", "float32", "tanh", False, 1, 2, 3, 2, 1))
        assert torch.get_float32_matmul_precision() == "highest"
        assert not torch.backends.cuda.matmul.allow_tf32
        assert matmul_precision() == "highest"
    finally:
        torch.set_float32_matmul_precision(saved)
