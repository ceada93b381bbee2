"""Lose the worker, not the run: a point's modes run in a worker process the sweep watches.

One worker (``run.worker``) measures point after point while it is healthy, so its start (a
fresh interpreter importing torch, from a forkserver that imported it once) is paid once per
run, not per point. A worker that dies (a segmentation fault, an abort, a CUDA error that ends
the process) is stored as ``crashed`` for the mode it was running, with the signal or exit
code; a mode that runs past the wall-clock cap (``Settings.mode_timeout``) is killed and stored
``timeout``. Either way the point's other modes are measured again by a fresh worker, and the
sweep goes on. A worker that dies outside any mode (building the point, probing) takes the
point's remaining modes with it, as ``crashed``.

Inside the worker nothing changes: the check, the interleaved rounds and the probes run as in
``PointRunner``. The only traffic while timing is a message between measurements.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

import torch

from jacbench.render.format import fmt_duration
from jacbench.results.point import Point
from jacbench.results.record import Outcome, Record
from jacbench.results.schema import Status
from jacbench.run.instruments import Instruments, Yardsticks
from jacbench.run.protocol import Done, Failed, Job, Note, Ready, Running, Start
from jacbench.run.runner import PointRunner
from jacbench.run.settings import Settings
from jacbench.run.worker import serve

__all__ = ["IsolatedRunner", "WorkerError", "death"]

#: Seconds a worker has to leave after it was asked to, before it is killed.
_LEAVE_S = 5.0


class WorkerError(RuntimeError):
    """A worker could not start (a plugin failed to load there) or failed in jacbench's own
    code: the sweep stops with the worker's message."""


def _context() -> Any:
    """forkserver where there is one (a worker forks from a process that imported torch once,
    and never from the sweep's, which may hold a CUDA context), else spawn."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["jacbench.run.worker"])
        return context
    return multiprocessing.get_context("spawn")


def death(exitcode: int | None) -> str:
    """How a process ended, in words: 'killed by SIGSEGV', 'exit code 3'."""
    if exitcode is not None and exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exit code {exitcode}"


@dataclass
class _Worker:
    process: Any
    conn: Connection


#: What one try at a point gives: its records, or the mode to blame ("" for none) and why.
_Attempt = list[Record] | tuple[str, Outcome]


@dataclass
class IsolatedRunner:
    """``PointRunner.run``'s contract, with the modes run in a worker process."""

    settings: Settings
    environment: Mapping[str, Any]
    yardsticks: Yardsticks
    instruments: Instruments = field(default_factory=Instruments)
    on_progress: Callable[[str], None] | None = None
    plugins: tuple[str, ...] = ()
    #: Seconds each worker took to start (to ``Ready``): the cost of isolation, once per worker.
    starts_s: list[float] = field(default_factory=list)
    _worker: _Worker | None = None
    _busy: bool = False  # a job sent and not yet answered

    def run(self, point: Point, modes: tuple[str, ...], role: str) -> list[Record]:
        """A record for every mode at this point, whatever happens to the worker."""
        records: dict[str, Record] = {}
        lost: dict[str, Outcome] = {}
        while left := tuple(m for m in modes if m not in lost):
            got = self._attempt(point, left, role)
            if isinstance(got, list):
                records = {r.mode: r for r in got}
                break
            blamed, outcome = got
            lost.update({m: outcome for m in ((blamed,) if blamed in left else left)})
        here = PointRunner(self.settings, self.environment, self.yardsticks, self.instruments)
        for mode, outcome in lost.items():
            records[mode] = here.records_of(point, (mode,), role, outcome)[0]
        return [records[m] for m in modes]

    def close(self) -> None:
        """Ask the worker to leave, and make sure it has (at once if it is still measuring: the
        sweep was interrupted)."""
        if self._busy and self._worker is not None:
            self._kill()
        worker, self._worker = self._worker, None
        if worker is None:
            return
        with contextlib.suppress(OSError):  # a worker already gone
            worker.conn.send(None)
        worker.process.join(_LEAVE_S)
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join()
        worker.conn.close()

    def _kill(self) -> int | None:
        worker, self._worker = self._worker, None
        assert worker is not None
        worker.process.kill()
        worker.process.join()
        worker.conn.close()
        return worker.process.exitcode

    def _start(self) -> _Worker:
        began = time.perf_counter()
        context = _context()
        conn, child = context.Pipe()
        process = context.Process(target=serve, args=(child,), name="jacbench-worker")
        process.start()
        child.close()
        self._worker = _Worker(process, conn)
        conn.send(Start(self.settings, dict(self.environment), self.yardsticks,
                        self.instruments, self.plugins, torch.get_num_threads()))
        answer = self._receive(self._worker, timeout=None)
        if not isinstance(answer, Ready):
            self._kill()
            why = answer.message if isinstance(answer, Failed) else (
                f"the worker process died while starting ({death(process.exitcode)})")
            raise WorkerError(why)
        self.starts_s.append(time.perf_counter() - began)
        return self._worker

    @staticmethod
    def _receive(worker: _Worker, timeout: float | None) -> object:
        """The worker's next message; None when it is dead, ``TimeoutError`` past ``timeout``."""
        ready = wait([worker.conn, worker.process.sentinel], timeout)
        if not ready:
            return TimeoutError()
        if worker.conn in ready or worker.conn.poll():
            try:
                return worker.conn.recv()
            except (EOFError, OSError):
                pass
        worker.process.join()
        return None

    def _unusable(self, records: list[Record]) -> _Attempt:
        """A point after which the worker's device was unusable: the worker is replaced, and the
        first mode that failed is blamed; the others are measured again in a fresh worker (they
        may have failed only because the device was already lost)."""
        self._kill()
        failed = [r for r in records if r.outcome.status in (Status.ERROR, Status.OOM)]
        if not failed:
            return records
        blamed = failed[0].outcome
        return failed[0].mode, Outcome(blamed.status, f"{blamed.reason} (it left the device "
                                       "unusable: the worker was replaced)")

    def _attempt(self, point: Point, modes: tuple[str, ...], role: str) -> _Attempt:
        worker = self._worker or self._start()
        worker.conn.send(Job(point, modes, role, dict(self.environment)))
        self._busy = True  # until answered: an interrupt meanwhile leaves it busy, for close()
        attempt = self._watch(worker)
        self._busy = False
        return attempt

    def _watch(self, worker: _Worker) -> _Attempt:
        """The worker's messages until its answer, its death or a mode past the cap."""
        running, since, cap = "", 0.0, self.settings.mode_timeout
        while True:
            left = None if not running else max(0.0, since + cap - time.monotonic())
            message = self._receive(worker, left)
            if isinstance(message, Running):
                running, since = message.mode, time.monotonic()
            elif isinstance(message, Note):
                if self.on_progress is not None:
                    self.on_progress(message.text)
            elif isinstance(message, Done):
                self.yardsticks.trackers.update(message.trackers)
                return message.records if message.usable else self._unusable(message.records)
            elif isinstance(message, Failed):
                self._kill()
                raise WorkerError(message.message)
            elif isinstance(message, TimeoutError):
                self._kill()
                return running, Outcome(Status.TIMEOUT, f"ran past the {fmt_duration(cap)} "
                                        "cap per mode (--mode-timeout): killed")
            else:  # dead
                how = death(self._kill())
                where = "while running this mode" if running else (
                    "outside any mode (building the point or probing)")
                return running, Outcome(Status.CRASHED, f"the worker process died {where}: "
                                        f"{how}")
