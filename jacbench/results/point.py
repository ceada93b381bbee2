"""A point: one model shape on one device in one dtype, the identity of a measurement.

The fields of ``Point`` are the point's columns in the results table, in this order; a mode and a
role complete the key (``schema.KEY_COLUMNS``). ``point_label`` is the one way a point is written
for people, from a Point or from a table row. A point's ``shape`` (``jacbench.theory.shape``) is
what the theory counts.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from jacbench.theory.shape import Shape

AXES: tuple[str, ...] = ("L", "D", "K", "P", "batch")
AXIS_LABELS: dict[str, str] = {
    "L": "depth L (activation layers)",
    "D": "input size D",
    "K": "hidden width K",
    "P": "output size P",
    "batch": "batch N (inputs per call)",
}
#: What a point is measured in and on, beyond its shape.
CONTEXT: tuple[str, ...] = ("dtype", "device", "activation", "bias", "seed")


@dataclass(frozen=True, order=True)
class Point:
    """One model shape on one device: the identity of a measurement, together with a mode."""

    device: str
    dtype: str
    activation: str
    bias: bool
    L: int
    D: int
    K: int
    P: int
    batch: int
    seed: int = 0

    @property
    def shape(self) -> Shape:
        """The sizes the theory counts: L, D, K, P and N = batch."""
        return Shape(self.L, self.D, self.K, self.P, self.batch)

    def label(self) -> str:
        return point_label(self.key())

    def key(self) -> dict[str, Any]:
        """The point's columns, in the table's order."""
        return {name: getattr(self, name) for name in POINT_FIELDS}


#: The point's columns in the results table: shape first, then context.
POINT_FIELDS: tuple[str, ...] = (*AXES, *CONTEXT)
assert set(POINT_FIELDS) == {f.name for f in dataclasses.fields(Point)}


def _shown(value: Any) -> Any:
    """Integers without '.0'; a missing value as '?'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "?"
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


def point_label(point: Mapping[str, Any], extra: Iterable[str] = (),
                skip: Iterable[str] = ()) -> str:
    """'L=4 D=64 K=128 P=64 N=1', then ``extra`` context columns as 'activation=relu'."""
    skip = set(skip)
    parts = [f"{'N' if a == 'batch' else a}={_shown(point[a])}" for a in AXES
             if a in point and a not in skip]
    parts += [f"{c}={_shown(point[c])}" for c in extra if c in point]
    return " ".join(parts)
