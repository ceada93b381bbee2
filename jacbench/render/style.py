"""How a mode looks in every figure, and how figures group modes into panels: one home for both.

A mode is an algorithm run by an implementation (``catalog``), and so is its look: the **hue**
says the algorithm (forward blue, reverse orange, chain green, ...), the **shade and marker** say
the implementation (eager: the hue itself, ``o``; native: darker, ``s``; JAX: lighter, ``D``...).
``forward`` and ``forward-native`` are then two blues a reader still tells apart, and
``reverse-compiled`` is never a pastel twin of ``forward``. A mode the catalog does not know is
drawn in a grey of its own. Panels hold one family each (hand-written, native, library, JAX,
compiled), so no axes carries more than ``PER_PANEL`` modes.

>>> look("forward").marker, look("forward-native").marker
('o', 's')
>>> look("forward").colour != look("forward-native").colour
True
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass

import matplotlib as mpl
from matplotlib.colors import to_rgb

from jacbench.analysis.compiled import FAMILY_ORDER
from jacbench.catalog import ALGORITHMS, CATALOG, IMPLEMENTATIONS, mode_order

__all__ = ["PER_PANEL", "RC", "Look", "family_of", "family_panels", "family_title",
           "look", "mode_colours", "precision_looks"]

Colour = tuple[float, float, float]

#: matplotlib settings every figure is drawn under: fonts that read at 100% in a README.
RC: dict[str, object] = {
    "font.size": 9,
    "axes.titlesize": 9,
    "axes.labelsize": 9,
    "xtick.labelsize": 8.5,
    "ytick.labelsize": 8.5,
    "legend.fontsize": 8.5,
    "legend.title_fontsize": 8.5,
    "figure.titlesize": 10.5,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "lines.linewidth": 1.4,
    "lines.markersize": 4.5,
}

#: Modes on one axes at most (a figure adds at most two guide lines of its own).
PER_PANEL = 6
OTHER = "other"

# tab10 without its grey (kept for modes the catalog does not know), then Dark2.
_HUES = [c for i, c in enumerate(mpl.colormaps["tab10"].colors) if i != 7]
_HUES += list(mpl.colormaps["Dark2"].colors)
# Per implementation, in catalog order: toward black (<0) or white (>0), and a marker.
_SHADES = (0.0, -0.45, 0.3, -0.2, 0.2, -0.6, 0.5, -0.35, 0.62, -0.72)
_MARKERS = ("o", "s", "D", "^", "v", "P", "X", "*", "h", "<")
_GREYS = ((0.45, 0.45, 0.45), (0.25, 0.25, 0.25), (0.62, 0.62, 0.62), (0.55, 0.5, 0.35))
_TITLES = {
    "hand-written": "hand-written (eager torch)",
    "native": "native (one C call)",
    "triton": "Triton (fused GPU kernels)",
    "library": "library (torch.autograd, torch.func)",
    "compiled peer": "JAX (jit)",
    "compiled": "torch.compile and AOTInductor",
    "cuda graph": "CUDA graph (captured once, replayed)",
}


@dataclass(frozen=True)
class Look:
    """A mode's colour and marker."""

    colour: Colour
    marker: str


def _shade(colour: Colour, amount: float) -> Colour:
    target = 0.0 if amount < 0 else 1.0
    a = abs(amount)
    r, g, b = (c + (target - c) * a for c in colour)
    return (r, g, b)


def look(mode: str) -> Look:
    """The colour and marker of a mode, the same in every figure whatever else ran."""
    info = CATALOG.get(mode)
    if info is None:
        return Look(_GREYS[zlib.crc32(mode.encode()) % len(_GREYS)], "x")
    hue = to_rgb(_HUES[list(ALGORITHMS).index(info.algorithm) % len(_HUES)])
    i = list(IMPLEMENTATIONS).index(info.implementation)
    return Look(_shade(hue, _SHADES[i % len(_SHADES)]), _MARKERS[i % len(_MARKERS)])


def precision_looks(precisions: Iterable[str]) -> dict[str, Look]:
    """A look per precision, for figures that draw precisions, not modes: given from the most
    exact down, from dark to light along one colour map, each with a marker of its own."""
    names = list(dict.fromkeys(precisions))
    ramp, last = mpl.colormaps["viridis"], max(len(names) - 1, 1)
    return {name: Look(to_rgb(ramp(0.85 * i / last)), _MARKERS[i % len(_MARKERS)])
            for i, name in enumerate(names)}


def mode_colours(modes: Iterable[str]) -> dict[str, Colour]:
    """Each mode's colour (``look(mode).colour``), for callers that only colour."""
    return {m: look(m).colour for m in mode_order(str(m) for m in modes)}


def family_of(mode: str) -> str:
    info = CATALOG.get(mode)
    return info.family if info is not None else OTHER


def family_title(family: str) -> str:
    """A panel's title: the family in words."""
    return _TITLES.get(family, family)


def family_panels(modes: Iterable[str], per_panel: int = PER_PANEL) -> list[tuple[str, list[str]]]:
    """The modes grouped one family per panel (families in table order, unknown modes last),
    a family of more than ``per_panel`` modes split evenly over several panels.

    >>> [len(modes) for _, modes in family_panels(["forward", "reverse", "jacrev"])]
    [2, 1]
    """
    order = mode_order(modes)
    families = [*FAMILY_ORDER, *sorted({family_of(m) for m in order} - set(FAMILY_ORDER))]
    panels = []
    for family in families:
        mine = [m for m in order if family_of(m) == family]
        size = -(-len(mine) // -(-len(mine) // per_panel)) if mine else 1  # evenly split
        panels += [(family, mine[i:i + size]) for i in range(0, len(mine), size)]
    return panels
