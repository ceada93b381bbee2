"""The drift check's points: a few points of a sweep measured again at its start and its end.

Their medians, compared, say whether the machine drifted during the run (the report's
"medians reproduced within X%").
"""

from __future__ import annotations

from jacbench.results.point import Point


def stability_reference_points(points: tuple[Point, ...], count: int) -> tuple[Point, ...]:
    """A few points spread over the grid, re-measured at the start and the end of a sweep.

    Ranked by a size proxy (the cheaper pure mode's multiply-adds), the points at evenly spaced
    inner ranks (1/3 and 2/3 for two), per device: mid-sized work, neither dispatch-bound noise
    nor the slowest points.
    """
    if count == 0:
        return ()
    chosen: list[Point] = []
    for device in dict.fromkeys(p.device for p in points):
        on_device = sorted(
            (p for p in points if p.device == device),
            key=lambda p: p.batch * (p.K * p.D + (p.L - 1) * p.K * p.K * min(p.D, p.P)),
        )
        n = len(on_device)
        ranks = sorted({min(n - 1, (i + 1) * n // (count + 1)) for i in range(count)})
        chosen.extend(on_device[r] for r in ranks)
    return tuple(chosen)
