"""Every formatter of jacbench, in one place: how a time, a size, a rate or a point reads.

The terminal summary, the plots' axes, the report and the CLI all write numbers through these,
so a median reads '3.12 ms' everywhere. A missing value (None or NaN) reads '-'.

>>> fmt_time(3.123e-3), fmt_time(3.1e-3, compact=True), fmt_bytes(3 * 2**20)
('3.12 ms', '3.1ms', '3 MiB')
>>> fmt_percent(0.0425), fmt_si(1.5e9), fmt_gflops(1.7e11)
('4.25%', '1.5G', '170.0')
>>> fmt_quantity(4e6, "B"), fmt_quantity(2.5e10, "FLOP/s"), fmt_us(4e-6), fmt_duration(130)
('4 MB', '25 GFLOP/s', '4 us', '2 min')
>>> fmt_point({"L": 8, "K": 256, "P": 1, "device": "cpu", "dtype": "float32"})
'L=8, K=256, P=1 (cpu float32)'
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from jacbench.results.point import point_label

__all__ = ["fmt_bytes", "fmt_duration", "fmt_gflops", "fmt_percent", "fmt_point", "fmt_quantity",
           "fmt_si", "fmt_time", "fmt_us"]

MISSING = "-"


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def fmt_time(seconds: float | None, compact: bool = False) -> str:
    """Seconds with a unit a reader takes in at once: '3.12 ms', '450 us' ('3.1ms' compact)."""
    if seconds is None or not math.isfinite(seconds):
        return MISSING
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9)):
        if abs(seconds) >= scale or unit == "ns":
            value = seconds / scale
            break
    if compact:
        text = f"{value:.2g}" if value < 10 else f"{value:.0f}"
        return f"{text}{unit}"
    return f"{value:.3g} {unit}"


def fmt_us(seconds: float) -> str:
    """Seconds in microseconds whatever their size, for a cost per call: 2e-6 -> '2 us'."""
    return f"{seconds * 1e6:.3g} us"


def fmt_duration(seconds: float) -> str:
    """How long a run takes, rounded as a person says it: '45 s', '12 min', '2 h 10 min'."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60)} min"


def fmt_bytes(value: float | None) -> str:
    """A memory size in binary units: '512 B', '3 MiB', '1.5 GiB'."""
    if _missing(value):
        return MISSING
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{int(value)} B"


def fmt_percent(fraction: float) -> str:
    """A fraction as a percentage with three significant digits: 0.0425 -> '4.25%'."""
    return f"{100 * fraction:.3g}%"


def fmt_si(value: float) -> str:
    """A count with an SI suffix, for FLOPs on an axis: 1.5e9 -> '1.5G'."""
    for suffix, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= scale:
            return f"{value / scale:g}{suffix}"
    return f"{value:g}"


def fmt_quantity(value: float, unit: str) -> str:
    """A quantity with a decimal SI prefix on its unit, three significant digits: 4e6 B -> '4 MB',
    2.5e10 FLOP/s -> '25 GFLOP/s', 950 elements -> '950 elements'."""
    for scale, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}"


def fmt_gflops(per_second: float | None) -> str:
    """A rate per second in units of 10^9, one decimal: FLOP/s -> GFLOP/s, bytes/s -> GB/s."""
    return MISSING if _missing(per_second) else f"{per_second / 1e9:.1f}"


def fmt_point(point: Mapping[str, Any] | Iterable[tuple[str, Any]],
              skip: Iterable[str] = ()) -> str:
    """A group's fixed axes and context as a title: 'L=8, K=256, P=1 (cpu float32 tanh)'.

    The axes are written by ``results.point.point_label``; missing ones are left out. Then the
    device, dtype and activation, and 'bias' for a model with biases.
    """
    items = {k: v for k, v in dict(point).items() if not _missing(v)}
    skip = set(skip)
    axes = ", ".join(point_label(items, skip=skip).split())
    context = [str(items[c]) for c in ("device", "dtype", "activation")
               if c in items and c not in skip]
    if items.get("bias") is True and "bias" not in skip:
        context.append("bias")
    return f"{axes} ({' '.join(context)})" if context else axes
