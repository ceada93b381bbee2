"""``python -m jacbench advise``: which mode to use for one shape on this machine, and why.

Every mode available in this install is ranked by the calibrated time model's prediction
(``jacbench.theory.time_model``), each with its dominant term (``jacbench.render.advise`` writes
the ranking out, in words). The calibration comes from a results folder (``--from``), from this
user's cache (a calibration of this machine, its torch and thread count, under a day old), or is
measured on the spot (a few seconds) and cached. On request the top few modes are timed at the
shape, to check the pick.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterable
from pathlib import Path

import torch

from jacbench.catalog import DTYPE_BYTES
from jacbench.measure.timing import time_callable
from jacbench.model.activations import ACTIVATIONS
from jacbench.modes.registry import ModeUnavailable, modes, prepare
from jacbench.paths import cache_root
from jacbench.results.folder import read_calibrations
from jacbench.results.point import Point
from jacbench.run.calibration import calibrate_machine
from jacbench.run.case import net_and_input
from jacbench.theory.shape import Shape
from jacbench.theory.time_model import (
    MachineModel,
    Prediction,
    models_from_json,
    models_to_json,
    predict_at,
)

__all__ = ["AdviseError", "advised_point", "available_modes", "machine_model", "measure_top",
           "rank"]

#: A cached calibration older than this is measured again.
CACHE_MAX_AGE_S = 24 * 3600


class AdviseError(Exception):
    """Something the user asked for that advise cannot do; said in one line."""


def advised_point(shape: Shape, device: str, dtype: str) -> Point:
    """The point advise ranks and times: ``shape`` on ``device`` in ``dtype``, with a sweep's
    default model (the first activation, no bias, seed 0)."""
    return Point(device=device, dtype=dtype, activation=next(iter(ACTIVATIONS)), bias=False,
                 L=shape.L, D=shape.D, K=shape.K, P=shape.P, batch=shape.N)


def available_modes(device: str, dtype: str) -> list[str]:
    """The modes that can run here: those whose framework is installed (nothing is compiled)."""
    net, x = net_and_input(advised_point(Shape(1, 1, 1, 1, 1), device, dtype))
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


def rank(point: Point, model: MachineModel, names: Iterable[str]) -> list[Prediction]:
    """Every mode's prediction at the point's shape, fastest first; a mode without a cost model
    (a user's mode that names no algorithm) has no prediction and is left out."""
    found = []
    for m in names:
        try:
            found.append(predict_at(m, point.shape, model, dtype_bytes=DTYPE_BYTES[point.dtype],
                                    single=point.batch == 1))
        except ValueError:
            continue
    return sorted(found, key=lambda p: p.seconds)


def measure_top(point: Point, ranking: list[Prediction], top: int = 3,
                min_run_time: float = 0.1) -> dict[str, float]:
    """The median seconds of the ``top`` predicted modes, timed at the point (untimed first)."""
    net, x = net_and_input(point)
    measured = {}
    for p in ranking[:top]:
        call = prepare(net, x, p.mode).call
        call()  # compiles a traced mode; warms caches
        measured[p.mode] = time_callable(call, device=point.device,
                                         min_run_time=min_run_time).median_s
    return measured
