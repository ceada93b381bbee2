"""The time model's calibration for a run: the machine probes plus every mode at tiny shapes.

``jacbench.measure.calibrate`` measures; this module hands it the modes (the measure stage knows
nothing about Jacobians). A sweep stores what it found in its results folder
(``jacbench.results.folder.write_calibrations``; read back for ``advise --from`` and the report).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch

from jacbench.catalog import CATALOG, COMPILED_PEER, LIBRARY
from jacbench.measure.calibrate import ModeProbe, calibrate
from jacbench.model.mlp import MLP
from jacbench.modes.registry import ModeUnavailable, modes, prepare
from jacbench.run.case import TORCH_DTYPES, mode_unavailable, set_precision
from jacbench.theory.time_model import MachineModel

__all__ = ["calibrate_machine", "probed_modes"]


#: Families whose work factor is measured too: the library modes (copies, unfused kernels) and
#: the JAX peers, whose XLA products run at a rate of their own (Eigen, not torch's BLAS: about
#: half of it at 128-wide and larger GEMMs on the 2-core VM).
WORK_FAMILIES = (LIBRARY, COMPILED_PEER)


def probed_modes(names: Iterable[str] | None = None) -> tuple[str, ...]:
    """The modes among ``names`` (default: all) whose call costs are calibrated: those whose
    implementation says so (``Implementation.probed``; torch.compile'd modes take seconds a
    shape and are predicted as the algorithm's program)."""
    return tuple(m for m in (modes() if names is None else names)
                 if m in CATALOG and CATALOG[m].runs.probed)


def _probe(mode: str, device: str, dtype: str) -> ModeProbe:
    def ready(L: int, D: int, K: int, P: int, N: int = 1) -> Callable[[], object]:
        net = MLP.random(L, D, K, P, dtype=TORCH_DTYPES[dtype], device=device)
        x = torch.randn(*((N,) if N > 1 else ()), D, dtype=TORCH_DTYPES[dtype], device=device)
        call = prepare(net, x, mode).call
        call()  # a first call outside the timer (lazy initialisation, tracing)
        return call

    return ready


def calibrate_machine(device: str, dtype: str,
                      mode_names: Iterable[str] | None = None) -> MachineModel:
    """The calibrated time model of ``device`` in ``dtype``, with the eager modes' call costs
    (and the library modes' and JAX peers' work factors).

    A mode that cannot run here (its framework is missing, or it has no such products) is left
    out of the calibration. Every product runs at the dtype's precision (``set_precision``).
    """
    set_precision(dtype)
    probes = {}
    for mode in probed_modes(mode_names):
        if mode_unavailable(mode, dtype):
            continue
        try:
            prepare(MLP.random(1, 1, 1, 1, dtype=TORCH_DTYPES[dtype], device=device),
                    torch.zeros(1, dtype=TORCH_DTYPES[dtype], device=device), mode)
        except ModeUnavailable:
            continue
        probes[mode] = _probe(mode, device, dtype)
    worked = frozenset(m for m in probes if m in CATALOG and CATALOG[m].family in WORK_FAMILIES)
    return calibrate(device, dtype, mode_probes=probes, work_probes=worked,
                     storage=TORCH_DTYPES[dtype])
