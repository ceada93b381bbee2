"""The fastest mode of each implementation, per shape and precision: how a Jacobian is launched
(eager torch, one native call, a JAX jit, torch.compile, AOTInductor, a user's own, and whatever
implementation the catalogue gains) against what it computes.

At each point (its shape, device, activation, bias, seed) and precision (the dtype and the
precision of its matrix products), every implementation's fastest ok mode and its time over the
fastest of all: 1 for the winner. Implementations follow the catalogue's order; a mode the
catalogue does not know (a plugin not loaded here) counts under ``OTHER``.

>>> implementation_of("reverse-native"), implementation_of("jacrev"), implementation_of("mine")
('native', 'eager', 'other')
"""

from __future__ import annotations

import pandas as pd

from jacbench.analysis.devices import precision_label, precision_rank
from jacbench.analysis.table import mode_medians
from jacbench.catalog import CATALOG, IMPLEMENTATIONS
from jacbench.results.point import AXES, POINT_FIELDS

__all__ = ["OTHER", "best_by_implementation", "implementation_of", "implementations_in"]

OTHER = "other"
#: What a row of ``best_by_implementation`` is grouped by, besides its precision.
_POINT = tuple(c for c in POINT_FIELDS if c != "dtype")


def implementation_of(mode: str) -> str:
    """The catalogue's implementation of ``mode``; ``OTHER`` for a mode it does not know."""
    info = CATALOG.get(mode)
    return info.implementation if info is not None else OTHER


def implementations_in(names: object) -> list[str]:
    """Implementation names in the catalogue's order, ``OTHER`` last."""
    found = {str(n) for n in names}  # type: ignore[attr-defined]
    return [i for i in (*IMPLEMENTATIONS, OTHER) if i in found]


def best_by_implementation(ok: pd.DataFrame) -> pd.DataFrame:
    """One row per (point, precision, implementation) measured ok: the point's fields, its
    ``precision`` (``analysis.devices.precision_label``), the ``implementation``, its fastest
    ``mode`` and that mode's median ``time_s``, ``ratio`` (its time over the fastest of every
    implementation there) and ``fastest`` (the winner's row). Sorted by shape, then precision
    from the most exact down, then implementation."""
    columns = [*POINT_FIELDS, "precision", "implementation", "mode", "time_s", "ratio",
               "fastest"]
    if ok.empty:
        return pd.DataFrame(columns=columns)
    matmul = ok["matmul_precision"] if "matmul_precision" in ok else [None] * len(ok)
    rows = ok.assign(precision=[precision_label(d, m) for d, m in zip(ok["dtype"], matmul,
                                                                      strict=True)])
    ranked = mode_medians(rows, (*POINT_FIELDS, "precision"))
    ranked["implementation"] = [implementation_of(str(m)) for m in ranked["mode"]]
    best = ranked.groupby("point")["time_median_s"].transform("first")
    ranked = ranked.drop_duplicates(["point", "implementation"])  # each one's fastest mode
    table = ranked.assign(mode=ranked["mode"].astype(str), time_s=ranked["time_median_s"],
                          ratio=ranked["time_median_s"] / best,
                          fastest=ranked["rank"] == 0)[columns]
    order = {name: i for i, name in enumerate(implementations_in(table["implementation"]))}
    table = table.assign(_p=table["precision"].map(precision_rank),
                         _i=table["implementation"].map(order))
    return table.sort_values([*AXES, *(c for c in _POINT if c not in AXES), "_p", "_i"],
                             kind="stable").drop(columns=["_p", "_i"]).reset_index(drop=True)
