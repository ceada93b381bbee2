"""The advisor's cached calibrations: one file per machine fingerprint, checked before use.

A calibration is only worth caching if it describes this machine as it is: the file's name and
contents carry a fingerprint (host, CPU or GPU model, device, dtype, torch version, threads),
and an entry is used only when its fingerprint matches, it is under a day old, it covers the
modes asked about, and every parameter is inside its physical range
(``jacbench.measure.plausible``). Anything else (a damaged file, wrong types, another
machine's or another device's numbers) is measured again, with one line saying why. A
calibration taken while the machine was busy is used once and not cached: it would mislead
every later answer for a day. The files live under ``jacbench.paths.cache_root()``.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import tempfile
import time
from pathlib import Path

import torch

from jacbench.measure.environment import device_name
from jacbench.measure.plausible import implausible
from jacbench.paths import cache_root
from jacbench.theory.time_model import MachineModel, models_from_json, models_to_json

__all__ = ["CACHE_MAX_AGE_S", "cache_path", "fingerprint", "load", "store"]

#: A cached calibration older than this is measured again.
CACHE_MAX_AGE_S = 24 * 3600


def fingerprint(device: str, dtype: str) -> dict[str, object]:
    """What a calibration is a calibration of: the machine, the device, the software."""
    try:
        name = device_name(device)
    except (RuntimeError, AssertionError):  # no such device here: nothing cached matches it
        name = "absent"
    return {"host": socket.gethostname(), "device": device, "device_name": name,
            "dtype": dtype, "torch": torch.__version__, "threads": torch.get_num_threads()}


def cache_path(device: str, dtype: str) -> Path:
    """The file of this fingerprint's calibration (its hash in the name)."""
    digest = hashlib.sha256(json.dumps(fingerprint(device, dtype), sort_keys=True).encode())
    name = f"calibration-{device}-{dtype}-{digest.hexdigest()[:16]}.json"
    return cache_root() / name.replace("/", "_").replace(":", "_")


def load(device: str, dtype: str) -> tuple[MachineModel | None, str]:
    """(the cached calibration, '') where it can be trusted, else (None, why not: '' where there
    is simply none, or it is old). Which modes it covers is the caller's question."""
    path = cache_path(device, dtype)
    try:
        if time.time() - path.stat().st_mtime >= CACHE_MAX_AGE_S:
            return None, ""
        text = path.read_text(encoding="utf-8")
    except OSError:
        return None, ""
    try:
        found = json.loads(text).get("fingerprint")
        (model,) = models_from_json(text)
    except (ValueError, AttributeError):
        return None, f"the cached calibration {path} is damaged"
    if found != fingerprint(device, dtype) or (model.device, model.dtype) != (device, dtype):
        return None, f"the cached calibration {path} is of another machine or device"
    problems = implausible(model)
    if problems:
        return None, f"the cached calibration {path} is implausible ({problems[0]})"
    return model, ""


def store(model: MachineModel, device: str, dtype: str) -> str:
    """Write ``model`` as this fingerprint's cache, atomically; '' or why it could not be."""
    path = cache_path(device, dtype)
    entry = json.loads(models_to_json([model]))
    entry["fingerprint"] = fingerprint(device, dtype)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, partial = tempfile.mkstemp(prefix=".calibration-", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(entry, f, indent=1)
        os.replace(partial, path)
    except OSError as exc:
        return f"not cached ({exc.strerror or exc})"
    return ""
