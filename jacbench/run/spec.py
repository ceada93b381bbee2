"""What a sweep runs: presets and config files expanded into a grid of frozen Points.

A config (a preset shipped in jacbench/presets/ or a user's TOML of the same form) holds settings
and one or more ``[[grid]]`` tables. Each grid is the Cartesian product of its axis lists; axes a
grid leaves out take DEFAULT_AXES. The sweep is the union of the grids, for every device, dtype and
activation asked for. Axis flags on the command line replace that axis in every grid.

    modes = ["forward", "reverse"]     # optional; default: every mode
    dtype = ["float32"]
    min_run_time = 0.05                # seconds per mode per round
    [[grid]]
    name = "crossover"
    D = [4, 64, 1024]
    P = [4, 64, 1024]
    extra_modes = ["reverse-aoti"]    # optional: measured at this grid's points as well

``extra_modes`` is how a preset asks for costly modes (the torch-compiled ones compile for seconds
at every point) on a few points only; ``--modes`` on the command line replaces every mode list,
the grids' extras included.
"""

from __future__ import annotations

import itertools
import math
import sys
from dataclasses import asdict, dataclass, fields, replace
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

from jacbench.catalog import default_modes, mode_names
from jacbench.results.point import AXES, Point
from jacbench.results.schema import MAX_INT
from jacbench.run.bulk import collector_paused
from jacbench.run.drift_points import stability_reference_points
from jacbench.run.settings import DTYPES, Settings

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_AXES: dict[str, int] = {"L": 4, "D": 64, "K": 64, "P": 64, "batch": 1}


class SpecError(ValueError):
    """A sweep specification a user got wrong; the message is one line meant for them."""


@dataclass(frozen=True)
class SweepSpec:
    points: tuple[Point, ...]
    settings: Settings
    stability: tuple[Point, ...] = ()
    #: Modes measured at some points beyond ``settings.modes`` (a grid's ``extra_modes``).
    extra_modes: tuple[tuple[Point, tuple[str, ...]], ...] = ()
    #: The modes were not named and the points are on a CPU and a GPU: each point measures
    #: those of ``settings.modes`` that run on its device (no CUDA graph on the CPU's points).
    per_device: bool = False

    @cached_property
    def _extras(self) -> dict[Point, tuple[str, ...]]:
        return dict(self.extra_modes)  # once per spec, not per point: a grid stays linear

    @cached_property
    def _by_device(self) -> dict[str, tuple[str, ...]]:
        return {}  # each device's modes, filled as met

    def modes_at(self, point: Point) -> tuple[str, ...]:
        """The modes measured at ``point``: the sweep's (those of its device, if
        ``per_device``), then the point's extras."""
        modes = self.settings.modes
        if self.per_device:
            if point.device not in self._by_device:
                runs = set(default_modes((point.device,)))
                self._by_device[point.device] = tuple(m for m in modes if m in runs)
            modes = self._by_device[point.device]
        if not self.extra_modes:
            return modes
        extra = self._extras.get(point, ())
        return modes + tuple(m for m in extra if m not in modes)

    def to_data(self) -> dict[str, Any]:
        """The resolved spec as plain data (JSON): what a sharded run's record keeps."""
        return {"points": [p.key() for p in self.points],
                "settings": {**asdict(self.settings), "modes": list(self.settings.modes)},
                "stability": [p.key() for p in self.stability],
                "extra_modes": [[p.key(), list(ms)] for p, ms in self.extra_modes],
                "per_device": self.per_device}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> SweepSpec:
        """The spec ``to_data`` wrote."""
        settings = {**data["settings"], "modes": tuple(data["settings"]["modes"])}
        return cls(tuple(Point(**p) for p in data["points"]), Settings(**settings),
                   tuple(Point(**p) for p in data["stability"]),
                   tuple((Point(**p), tuple(ms)) for p, ms in data["extra_modes"]),
                   bool(data.get("per_device", False)))  # records before it: False


def preset_names() -> tuple[str, ...]:
    folder = resources.files("jacbench.run") / "presets"
    return tuple(sorted(p.name[: -len(".toml")] for p in folder.iterdir()
                        if p.name.endswith(".toml")))


def load_preset(name: str) -> dict[str, Any]:
    if name not in preset_names():
        raise SpecError(f"unknown preset {name!r}; choose one of {', '.join(preset_names())}")
    text = (resources.files("jacbench.run") / "presets" / f"{name}.toml").read_text()
    return tomllib.loads(text)


def load_config(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        return tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise SpecError(f"config file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read config file {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"config file {path} is not valid TOML: {exc}") from None


def _as_list(name: str, value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _positive_ints(name: str, values: Any) -> list[int]:
    out = []
    for v in _as_list(name, values):
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= MAX_INT:
            raise SpecError(f"{name} must be positive integers below 2**63, got {v!r}")
        out.append(v)
    if not out:
        raise SpecError(f"{name} needs at least one value")
    return out


def _choices(name: str, values: Any, allowed: tuple[str, ...]) -> list[str]:
    out = list(dict.fromkeys(_as_list(name, values)))  # repeats would run points twice
    for v in out:
        if v not in allowed:
            raise SpecError(f"unknown {name} {v!r}; choose from {', '.join(allowed)}")
    if not out:
        raise SpecError(f"{name} needs at least one value")
    return out


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SpecError(f"{name} must be one positive integer, got {value!r}")
    return value


def _fraction(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise SpecError(f"{name} must be a number from 0 to 1, got {value!r}")
    return float(value)


def _non_negative_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_INT:
        raise SpecError(f"{name} must be a non-negative integer below 2**63, got {value!r}")
    return value


#: Upper bounds of the settings: beyond them a value is a typo, not a wish (seconds or counts).
SETTING_LIMITS: dict[str, float] = {"min_run_time": 60, "max_call_time": 3600, "rounds": 1000,
                                    "stability_points": 100, "max_retries": 100,
                                    "retry_wait": 600, "lock_wait": 7 * 24 * 3600}


def _within_limits(settings: Settings) -> Settings:
    for name, limit in SETTING_LIMITS.items():
        value = getattr(settings, name)
        if value > limit:
            raise SpecError(f"{name} = {value:g} is above its limit of {limit:g}")
    return settings


def _non_negative_float(name: str, value: Any) -> float:
    if (isinstance(value, bool) or not isinstance(value, int | float)
            or not (math.isfinite(value) and value >= 0)):
        raise SpecError(f"{name} must be a non-negative number, got {value!r}")
    return float(value)


def _positive_float(name: str, value: Any) -> float:
    if (isinstance(value, bool) or not isinstance(value, int | float)
            or not (math.isfinite(value) and value > 0)):
        raise SpecError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


_SETTING_KEYS = {*(f.name for f in fields(Settings)), "dtype", "activation", "bias", "seed",
                 "grid", "description"}
_GRID_KEYS = {"name", "extra_modes", *AXES}


def build_spec(
    config: dict[str, Any],
    overrides: dict[str, Any] | None = None,
    devices: tuple[str, ...] = ("cpu",),
) -> SweepSpec:
    """Expand a config (preset or file) plus command-line overrides into the sweep's points.

    ``overrides`` holds values given on the command line (None = not given): axis lists replace
    that axis in every grid; settings replace the config's.
    """
    from jacbench.model.activations import ACTIVATIONS  # torch: not for report, plot, status

    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    unknown = set(config) - _SETTING_KEYS
    if unknown:
        raise SpecError(f"unknown config keys {sorted(unknown)}; known: {sorted(_SETTING_KEYS)}")
    merged = {**config, **{k: v for k, v in overrides.items() if k not in AXES}}
    settings = _settings(merged)
    named = "modes" in merged
    if not named:  # the default list: the modes that run on these devices
        settings = replace(settings, modes=default_modes(devices))
    dtypes = _choices("dtype", merged.get("dtype", [DTYPES[0]]), DTYPES)
    activations = _choices("activation", merged.get("activation", [next(iter(ACTIVATIONS))]),
                           tuple(ACTIVATIONS))
    bias = merged.get("bias", False)
    if not isinstance(bias, bool):
        raise SpecError(f"bias must be true or false, got {bias!r}")
    seed = _non_negative_int("seed", merged.get("seed", 0))
    extras: dict[tuple[int, ...], tuple[str, ...]] = {}
    shapes = _shapes(config.get("grid", [{}]), overrides, extras)
    with collector_paused():  # a million points at most 2 us each (jacbench.run.bulk)
        points = tuple(
            Point(dev, dt, act, bias, *shape, seed)  # AXES is Point's order of the sizes
            for dev in devices for dt in dtypes for act in activations for shape in shapes
        )
        extra_modes = () if "modes" in overrides or not extras else tuple(
            (p, extras[key]) for p in points
            if (key := tuple(getattr(p, a) for a in AXES)) in extras)
        stability = stability_reference_points(points, settings.stability_points)
    per_device = not named and len({default_modes((d,)) for d in devices}) > 1
    return SweepSpec(points, settings, stability, extra_modes, per_device)


def _settings(merged: dict[str, Any]) -> Settings:
    """Settings from a config merged with the command line; what is not given keeps its default
    (``Settings``'s fields are the one home of the defaults)."""
    default = Settings()

    def given(name: str) -> Any:
        return merged.get(name, getattr(default, name))

    names = mode_names()
    return _within_limits(Settings(
        modes=tuple(_choices("mode", given("modes"), names)),
        min_run_time=_positive_float("min_run_time", given("min_run_time")),
        rounds=_positive_int("rounds", given("rounds")),
        max_call_time=_positive_float("max_call_time", given("max_call_time")),
        stability_points=_non_negative_int("stability_points", given("stability_points")),
        probe_threshold=_fraction("probe_threshold", given("probe_threshold")),
        max_retries=_non_negative_int("max_retries", given("max_retries")),
        retry_wait=_non_negative_float("retry_wait", given("retry_wait")),
        mode_timeout=_positive_float("mode_timeout", given("mode_timeout")),
        lock_wait=_non_negative_float("lock_wait", given("lock_wait")),
    ))


def _shapes(grids: Any, overrides: dict[str, Any],
            extras: dict[tuple[int, ...], tuple[str, ...]] | None = None,
            ) -> list[tuple[int, ...]]:
    """The union of the grids' shapes (sizes in AXES's order), in order, each once; axis
    overrides replace that axis. ``extras`` collects each shape's ``extra_modes`` (the union
    over the grids that hold it)."""
    if grids == []:
        raise SpecError("the config's grid list is empty: add a [[grid]] table")
    if not isinstance(grids, list) or not all(isinstance(g, dict) for g in grids):
        raise SpecError("grid must be a list of [[grid]] tables")
    shapes: dict[tuple[int, ...], None] = {}  # by value, in order: linear
    for grid in grids:
        bad = set(grid) - _GRID_KEYS
        if bad:
            raise SpecError(f"unknown keys in [[grid]] {grid.get('name', '')!r}: {sorted(bad)}")
        axes = {a: _positive_ints(a, overrides.get(a, grid.get(a, DEFAULT_AXES[a])))
                for a in AXES}
        more = (_choices("extra_modes", grid["extra_modes"], mode_names())
                if extras is not None and "extra_modes" in grid else ())
        combos = itertools.product(*(axes[a] for a in AXES))
        if not more or extras is None:
            shapes.update(dict.fromkeys(combos))
            continue
        for combo in combos:
            shapes[combo] = None
            extras[combo] = tuple(dict.fromkeys((*extras.get(combo, ()), *more)))
    return list(shapes)
