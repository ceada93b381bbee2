"""A worker process: measures the points its sweep sends, in-process, as a sweep without
isolation would (``PointRunner``: the check, interleaved rounds, probes), and says which mode
runs at each moment, so that the sweep (``run.isolated``) can name the mode it was running if it
dies. Started by ``multiprocessing`` (forkserver where there is one, else spawn); its entry point
is ``serve``.
"""

from __future__ import annotations

import signal
import traceback
from multiprocessing.connection import Connection

import torch

from jacbench.modes.plugins import PluginError, load_plugins
from jacbench.run.protocol import Done, Failed, Job, Note, Ready, Running, Start
from jacbench.run.runner import PointRunner

__all__ = ["device_usable", "serve"]


def device_usable(device: str) -> bool:
    """False when an error left the device unusable in this process (a CUDA error is sticky:
    every later call in the context fails), so that the worker is replaced."""
    if not device.startswith("cuda"):
        return True
    try:
        torch.cuda.synchronize(device)
        return torch.ones(1, device=device).add_(1).item() == 2
    except Exception:
        return False


def _runner(start: Start, conn: Connection) -> PointRunner:
    return PointRunner(start.settings, start.environment, start.yardsticks, start.instruments,
                       on_progress=lambda text: conn.send(Note(text)),
                       on_mode=lambda mode: conn.send(Running(mode)))


def serve(conn: Connection) -> None:
    """Answer the parent's jobs until it sends None or goes away."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the sweep's to handle
    try:
        start: Start | None = conn.recv()
    except EOFError:
        return
    if start is None:  # the sweep ended before this worker was needed
        return
    if start.threads:
        torch.set_num_threads(start.threads)
    try:
        load_plugins(start.plugins)
    except PluginError as exc:
        conn.send(Failed(str(exc)))
        return
    runner = _runner(start, conn)
    conn.send(Ready())
    while True:
        try:
            job: Job | None = conn.recv()
        except EOFError:  # the parent is gone (killed): nothing more to do
            return
        if job is None:
            return
        runner.environment = job.environment
        try:
            records = runner.run(job.point, job.modes, job.role)
        except Exception:  # jacbench's own error, not a mode's (those are rows): stop the sweep
            conn.send(Failed(traceback.format_exc()))
            return
        usable = device_usable(job.point.device)
        conn.send(Done(records, start.yardsticks.trackers, usable))
        if not usable:
            return
