"""The GPU's questions, as numbers from a loaded table: each mode on the CPU against the GPU, what
one program saves over eager launches on the GPU, and what each precision costs and loses.

>>> precision_label("float32", "high"), precision_label("float64", None)
('float32 (high)', 'float64')
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from jacbench.analysis.compiled import compiled_vs_eager
from jacbench.analysis.table import Fixed, is_missing
from jacbench.catalog import CATALOG, DTYPE_BYTES
from jacbench.results.point import POINT_FIELDS

__all__ = ["cpu_against_gpu", "is_gpu", "launch_savings", "precision_label",
           "precision_point", "precision_rank"]

#: Matmul precisions from the most exact ("highest": in the dtype itself) down.
_MATMUL_ORDER = ("highest", "high", "tf32", "medium")


def is_gpu(ok: pd.DataFrame) -> pd.Series:
    """Which rows ran on a CUDA device."""
    return ok["device"].fillna("").astype(str).str.startswith("cuda")


def cpu_against_gpu(ok: pd.DataFrame) -> pd.DataFrame:
    """One row per (mode, point) measured ok on both the CPU and a GPU: both medians, the
    speed-up (cpu_s / gpu_s) and the cost model's FLOPs; rows of another matmul precision are
    another pair."""
    keys = ["mode", *(c for c in POINT_FIELDS if c != "device")]
    keys += [c for c in ("matmul_precision",) if c in ok]
    gpu = is_gpu(ok)
    cpu_rows = ok[ok["device"] == "cpu"]

    def medians(rows: pd.DataFrame, name: str) -> pd.DataFrame:
        grouped = rows.groupby(keys, dropna=False)
        return pd.DataFrame({name: grouped["time_median_s"].median(),
                             f"{name}_flops": pd.to_numeric(grouped["flops"].first(),
                                                            errors="coerce")}).reset_index()

    both = medians(cpu_rows, "cpu_s").merge(medians(ok[gpu], "gpu_s"), on=keys)
    both["speedup"] = both["cpu_s"] / both["gpu_s"]
    both["flops"] = both["cpu_s_flops"].fillna(both["gpu_s_flops"])
    return both.drop(columns=["cpu_s_flops", "gpu_s_flops"])


def launch_savings(ok: pd.DataFrame) -> pd.DataFrame:
    """On the GPU, each one-program mode (JAX jit, torch.compile, AOTInductor, a CUDA graph)
    beside the eager mode of its algorithm: ``speedup`` = eager / one program. Eager torch
    launches a kernel per operation; one program does not, so at small sizes the speed-up is
    mostly the launches saved. Rows of another matmul precision are other pairs."""
    gpu = ok[is_gpu(ok)]
    by_precision = (gpu.groupby("matmul_precision", dropna=False) if "matmul_precision" in gpu
                    else [(None, gpu)])
    found = [compiled_vs_eager(rows) for _, rows in by_precision]
    pairs = pd.concat(found, ignore_index=True) if found else pd.DataFrame()
    if pairs.empty:
        return pairs
    program = pairs["mode"].map(lambda m: CATALOG[m].runs.program if m in CATALOG else False)
    return pairs[program.astype(bool)].reset_index(drop=True)


def precision_label(dtype: Any, matmul_precision: Any) -> str:
    """A dtype and the precision of its matrix products, in words ('highest' left unsaid, and
    a precision the dtype names itself: 'tf32')."""
    if is_missing(matmul_precision) or matmul_precision in ("", "highest", dtype):
        return str(dtype)
    return f"{dtype} ({matmul_precision})"


def precision_rank(label: str) -> tuple[int, str, int]:
    """A ``precision_label``'s place from the most exact down: wider dtypes first, then by
    name, then the most exact matrix products."""
    dtype, _, rest = label.partition(" (")
    matmul = rest.rstrip(")") or "highest"
    rank = _MATMUL_ORDER.index(matmul) if matmul in _MATMUL_ORDER else len(_MATMUL_ORDER)
    return (-DTYPE_BYTES.get(dtype, 0), dtype, rank)


def precision_point(ok: pd.DataFrame) -> tuple[Fixed, pd.DataFrame, list[str]] | None:
    """The point (all but dtype) measured in the most precisions, the largest such by FLOPs: its
    rows with a ``precision`` column, and the precisions from the most exact down. None where
    no point was measured in two or more."""
    if "matmul_precision" in ok:
        matmul = ok["matmul_precision"]
    else:
        matmul = pd.Series(None, index=ok.index, dtype=object)
    rows = ok.assign(precision=[precision_label(d, m) for d, m in zip(ok["dtype"], matmul,
                                                                      strict=True)],
                     flops=pd.to_numeric(ok["flops"], errors="coerce"))
    keys = [c for c in POINT_FIELDS if c != "dtype"]
    # Score every point in one grouped pass, then slice out only the winner.
    by_point = rows.groupby(keys, dropna=False, sort=True)
    scores = pd.DataFrame({"count": by_point["precision"].nunique(),
                           "flops": by_point["flops"].max().fillna(0)}).reset_index(drop=True)
    scores = scores[scores["count"] >= 2]
    if scores.empty:
        return None
    chosen = scores.sort_values(["count", "flops"], ascending=False, kind="stable").index[0]
    group = rows[by_point.ngroup() == chosen]
    fixed = tuple((c, None if is_missing(v) else v) for c, v in zip(
        keys, group[keys].iloc[0], strict=True))
    return fixed, group, sorted(group["precision"].unique(), key=precision_rank)
