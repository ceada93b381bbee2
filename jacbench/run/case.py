"""A point made concrete: its seeded model and input on the point's device, and the reference.

The same seed gives the same model and input on every device and in every dtype (up to the cast),
so CPU and CUDA rows of one point time the same Jacobian.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from jacbench.catalog import CATALOG, DTYPES, MATMUL_PRECISION
from jacbench.model.mlp import MLP
from jacbench.model.reference import reference_jacobian
from jacbench.results.point import Point

__all__ = ["TORCH_DTYPES", "TORCH_MATMUL", "Case", "build_case", "mode_unavailable",
           "net_and_input", "precision_unavailable", "set_precision", "synchronize"]

#: The one mapping from a dtype's name to how torch runs it. Storage: the torch dtype of the
#: weights and inputs (tf32 stores float32: only its products differ).
TORCH_DTYPES: dict[str, torch.dtype] = {
    name: torch.float32 if name == "tf32" else getattr(torch, name) for name in DTYPES}
#: Products: the catalogue's matmul precision as torch's ``set_float32_matmul_precision`` names
#: it ("high" switches ``torch.backends.cuda.matmul.allow_tf32`` on; JAX's modes read it back).
TORCH_MATMUL: dict[str, str] = {"highest": "highest", "tf32": "high"}
#: CUDA compute capability the reduced precisions need on tensor cores (Ampere).
_TENSOR_CORES = (8, 0)


@dataclass
class Case:
    """The model, its input, and the float64 reference Jacobian of one point."""

    net: MLP
    x: torch.Tensor
    reference: torch.Tensor


def set_precision(dtype: str) -> None:
    """Make torch multiply matrices at the catalogue's precision for ``dtype`` (TF32 off for
    "highest", on for "tf32"); JAX's modes read the same setting
    (``jax_modes.matmul_precision``). Half-precision products accumulate in float32, as XLA's
    do and as the tolerance assumes: cuBLAS's reduced-precision reductions (split-K sums in
    bf16/fp16, on by default in torch) are switched off."""
    torch.set_float32_matmul_precision(TORCH_MATMUL[MATMUL_PRECISION[dtype]])
    torch.backends.cuda.matmul.allow_bf16_reduced_precision_reduction = False
    torch.backends.cuda.matmul.allow_fp16_reduced_precision_reduction = False


def precision_unavailable(device: str, dtype: str) -> str:
    """Why no mode can run ``dtype`` on ``device`` ("" when it can): TF32 exists on CUDA tensor
    cores only, and bfloat16 and TF32 need an Ampere GPU or newer."""
    if dtype == "tf32" and not device.startswith("cuda"):
        return (f"TF32 is a CUDA tensor-core precision (float32 storage, products rounded to "
                f"10 mantissa bits): {device} has none")
    if device.startswith("cuda") and dtype in ("tf32", "bfloat16"):
        found = torch.cuda.get_device_capability(torch.device(device))
        if tuple(found) < _TENSOR_CORES:
            return (f"{dtype} needs a GPU of compute capability {_TENSOR_CORES[0]}."
                    f"{_TENSOR_CORES[1]} or newer; {device} has {found[0]}.{found[1]}")
    return ""


def mode_unavailable(mode: str, dtype: str) -> str:
    """Why ``mode`` cannot run ``dtype`` ("" when it can, or when it is not catalogued): its
    catalogue entry lists the dtypes its implementation runs."""
    info = CATALOG.get(mode)
    if info is None or dtype in info.dtypes:
        return ""
    return (f"{mode} runs {' and '.join(info.dtypes)} only: its implementation "
            f"({info.implementation}) has no {dtype} products")


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
