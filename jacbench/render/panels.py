"""A figure of one panel per family of modes, each mode in its own look: the frame most figures
share (efficiency, predictions, compiled against eager, the GPU's pictures)."""

from __future__ import annotations

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from jacbench.render.axes import panel_figure
from jacbench.render.style import PER_PANEL, family_panels, family_title, look

__all__ = ["mode_panels"]


def mode_panels(rows: pd.DataFrame, x: str, y: str, *, joined: bool = False,
                per_panel: int = PER_PANEL, label: str = "{mode}",
                **kwargs: object) -> tuple[Figure, list[Axes]]:
    """A panel per family of the modes in ``rows``, each mode's (x, y) in its colour and marker
    (``joined``: a line through them in order of x); ``label`` may name columns of the mode's
    first row. Axes are shared unless ``kwargs`` say otherwise."""
    panels = family_panels(rows["mode"].unique(), per_panel)
    kwargs = {"sharex": True, "sharey": True, **kwargs}
    fig, axes = panel_figure(len(panels), legend=rows["mode"].nunique() + 2, **kwargs)
    for ax, (family, modes) in zip(axes, panels, strict=True):
        for mode in modes:
            mine = rows[rows["mode"] == mode].sort_values(x)
            style = look(mode)
            ax.plot(mine[x].astype(float), mine[y].astype(float),
                    linestyle="-" if joined else "none", marker=style.marker,
                    color=style.colour, alpha=0.85,
                    label=label.format(**mine.iloc[0].to_dict()))
        ax.set_title(family_title(family))
    return fig, axes
