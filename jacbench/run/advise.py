"""``python -m jacbench advise``: which mode to use for one shape on this machine, and why.

Every mode available in this install is ranked by the calibrated time model's prediction
(``jacbench.theory.time_model``), each with its dominant term in words. The calibration comes
from a results folder (``--from``), from this user's cache (a calibration of this machine, its
torch and thread count, under a day old), or is measured on the spot (a few seconds) and cached.
On request the top few modes are timed at the shape, to check the pick.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import torch

from jacbench.measure.timing import time_callable
from jacbench.model.mlp import MLP
from jacbench.modes.registry import ModeUnavailable, modes, prepare
from jacbench.paths import cache_root
from jacbench.results.folder import read_calibrations
from jacbench.results.schema import DTYPE_BYTES
from jacbench.run.calibration import calibrate_machine
from jacbench.run.case import TORCH_DTYPES
from jacbench.theory.time_model import (
    MachineModel,
    Prediction,
    models_from_json,
    models_to_json,
    predict,
)

__all__ = ["AdviseError", "Shape", "available_modes", "machine_model", "measure_top", "rank",
           "ranking_json", "ranking_lines"]

#: A cached calibration older than this is measured again.
CACHE_MAX_AGE_S = 24 * 3600


class AdviseError(Exception):
    """Something the user asked for that advise cannot do; said in one line."""


@dataclass(frozen=True)
class Shape:
    L: int
    D: int
    K: int
    P: int
    batch: int = 1
    device: str = "cpu"
    dtype: str = "float32"

    def sizes(self) -> tuple[int, int, int, int, int]:
        return self.L, self.D, self.K, self.P, self.batch


def _net_and_input(shape: Shape) -> tuple[MLP, torch.Tensor]:
    dtype = TORCH_DTYPES[shape.dtype]
    net = MLP.random(shape.L, shape.D, shape.K, shape.P, dtype=dtype, device=shape.device)
    dims = (shape.D,) if shape.batch == 1 else (shape.batch, shape.D)
    return net, torch.randn(*dims, dtype=dtype, device=shape.device)


def available_modes(device: str, dtype: str) -> list[str]:
    """The modes that can run here: those whose framework is installed (nothing is compiled)."""
    net, x = _net_and_input(Shape(1, 1, 1, 1, 1, device, dtype))
    found = []
    for mode in modes():
        try:
            prepare(net, x, mode)
        except ModeUnavailable:
            continue
        found.append(mode)
    return found


def _cache_path(device: str, dtype: str) -> Path:
    root = cache_root()
    host = socket.gethostname().split(".")[0] or "host"
    name = f"calibration-{host}-{device}-{dtype}-torch{torch.__version__}-" \
           f"{torch.get_num_threads()}threads.json"
    return root / name.replace("/", "_").replace(":", "_")


def machine_model(device: str, dtype: str, from_dir: str | None = None, *,
                  recalibrate: bool = False) -> tuple[MachineModel, str]:
    """The time model to advise with, and where it came from (said in the output)."""
    if from_dir is not None:
        if not Path(from_dir).is_dir():
            raise AdviseError(f"--from {from_dir}: no such results folder")
        try:
            found = read_calibrations(from_dir)
        except ValueError as exc:
            raise AdviseError(str(exc)) from None
        if (device, dtype) not in found:
            have = ", ".join(" ".join(k) for k in found) or "none"
            raise AdviseError(f"--from {from_dir} holds no calibration of {device} {dtype} "
                              f"(it has: {have})")
        return found[(device, dtype)], f"the calibration stored in {from_dir}"
    path = _cache_path(device, dtype)
    if not recalibrate and path.is_file() and time.time() - path.stat().st_mtime < CACHE_MAX_AGE_S:
        try:
            return models_from_json(path.read_text(encoding="utf-8"))[0], f"cached {path}"
        except ValueError:
            pass  # a damaged cache is measured again
    model = calibrate_machine(device, dtype)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(models_to_json([model]), encoding="utf-8")
    except OSError:
        pass  # no cache: the next call calibrates again
    return model, f"calibrated now in {model.calibration_s:.1f} s"


def rank(shape: Shape, model: MachineModel, names: Iterable[str]) -> list[Prediction]:
    """Every mode's prediction at ``shape``, fastest first."""
    found = [predict(m, *shape.sizes(), model, dtype_bytes=DTYPE_BYTES[shape.dtype],
                     single=shape.batch == 1) for m in names]
    return sorted(found, key=lambda p: p.seconds)


def measure_top(shape: Shape, ranking: list[Prediction], top: int = 3,
                min_run_time: float = 0.1) -> dict[str, float]:
    """The median seconds of the ``top`` predicted modes, timed at the shape (untimed first)."""
    net, x = _net_and_input(shape)
    measured = {}
    for p in ranking[:top]:
        call = prepare(net, x, p.mode).call
        call()  # compiles a traced mode; warms caches
        measured[p.mode] = time_callable(call, device=shape.device,
                                         min_run_time=min_run_time).median_s
    return measured


def _time(seconds: float) -> str:
    for scale, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "us")):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds * 1e9:.3g} ns"


def ranking_lines(shape: Shape, ranking: list[Prediction], source: str,
                  measured: dict[str, float] | None = None) -> list[str]:
    """The ranking for people: one line per mode, the pick first, measurements beside."""
    head = (f"L={shape.L} D={shape.D} K={shape.K} P={shape.P} N={shape.batch} on "
            f"{shape.device} {shape.dtype}, predicted with {source}:")
    width = max(len(p.mode) for p in ranking)
    lines = [head]
    for i, p in enumerate(ranking):
        seen = ""
        if measured and p.mode in measured:
            seen = f"  (measured {_time(measured[p.mode])})"
        lines.append(f"{i + 1:>3}. {p.mode:<{width}}  {_time(p.seconds):>9}  {p.words}{seen}")
    if measured:
        best = min(measured, key=measured.__getitem__)
        pick = ranking[0].mode
        verdict = ("the pick is the fastest measured" if best == pick else
                   f"measured fastest: {best}, {measured[pick] / measured[best]:.2f}x faster "
                   f"than the pick {pick}")
        lines.append(f"check: {verdict}")
    return lines


def ranking_json(ranking: list[Prediction], measured: dict[str, float] | None = None) -> str:
    """The ranking for scripts: a JSON list, best first."""
    return json.dumps([{"mode": p.mode, "predicted_s": p.seconds, "dominant": p.dominant,
                        "dominant_words": p.words, "terms_s": p.terms,
                        "measured_s": (measured or {}).get(p.mode)} for p in ranking], indent=1)
