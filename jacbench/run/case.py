"""A point made concrete: its seeded model and input on the point's device, and the reference.

The same seed gives the same model and input on every device and in every dtype (up to the cast),
so CPU and CUDA rows of one point time the same Jacobian.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from jacbench.catalog import DTYPES, MATMUL_PRECISION
from jacbench.model.mlp import MLP
from jacbench.model.reference import reference_jacobian
from jacbench.results.point import Point

__all__ = ["TORCH_DTYPES", "Case", "build_case", "net_and_input", "synchronize"]

#: The torch dtype of each precision the catalogue lists (tf32 stores float32).
TORCH_DTYPES: dict[str, torch.dtype] = {
    name: getattr(torch, "float32" if name == "tf32" else name) for name in DTYPES}


@dataclass
class Case:
    """The model, its input, and the float64 reference Jacobian of one point."""

    net: MLP
    x: torch.Tensor
    reference: torch.Tensor


def set_precision(dtype: str) -> None:
    """Make torch multiply matrices at the catalogue's precision for ``dtype`` (TF32 off for
    "highest"); JAX's modes read the same setting (``jax_modes.matmul_precision``)."""
    torch.set_float32_matmul_precision(MATMUL_PRECISION[dtype])


def net_and_input(point: Point) -> tuple[MLP, torch.Tensor]:
    """Seeded model and input, identical on every device for the same seed: x is (D,) for a
    batch of one, else (batch, D). Sets the point's matrix-product precision (``set_precision``)."""
    set_precision(point.dtype)
    dtype = TORCH_DTYPES[point.dtype]
    net = MLP.random(point.L, point.D, point.K, point.P, seed=point.seed, dtype=dtype,
                     device=point.device, activation=point.activation, bias=point.bias)
    gen = torch.Generator().manual_seed(point.seed + 1)
    shape = (point.D,) if point.batch == 1 else (point.batch, point.D)
    x = torch.randn(*shape, generator=gen, dtype=torch.float64).to(dtype=dtype,
                                                                    device=point.device)
    return net, x


def build_case(point: Point) -> Case:
    """The point's model and input (``net_and_input``) and their float64 reference Jacobian."""
    net, x = net_and_input(point)
    return Case(net, x, reference_jacobian(net, x))


def synchronize(device: str) -> None:
    """Wait for the point's own device (not the current one) to finish its work."""
    if device.startswith("cuda"):
        torch.cuda.synchronize(torch.device(device))
