"""Fakes that stand in for the machine in run/ tests: a scripted speed probe, recorded pauses;
and a CUDA graph's capturer that runs on a CPU.

The modes themselves are really run and timed (on tiny shapes with a tiny budget); what is faked
is what measures the machine (ceilings, probes, load), since the real ones take seconds and
depend on the machine's mood.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import torch
from factories import FAKE_CEILINGS, FAKE_MODEL

from jacbench.measure.load import Load
from jacbench.run.instruments import Instruments
from jacbench.theory.floors import Ceilings
from jacbench.theory.time_model import MachineModel

HEALTHY_GFLOPS = 100.0
QUIET = Load(load_avg_1m=0.0, cpu_freq_mhz=None, busy_procs=0, gpu_clock_mhz=None,
             gpu_temp_c=None)


class ScriptedProbe:
    """A speed probe that reads its values from a script, repeating the last one."""

    def __init__(self, *values: float) -> None:
        self.values = list(values)
        self.calls = 0

    def __call__(self, device: str = "cpu", dtype: str = "float32") -> float:
        self.calls += 1
        return self.values.pop(0) if len(self.values) > 1 else self.values[0]


@dataclass
class FakeMachine:
    """Fixed ceilings, a scripted probe, a quiet load reading, pauses recorded instead of slept."""

    probe: ScriptedProbe = field(default_factory=lambda: ScriptedProbe(HEALTHY_GFLOPS))
    slept: list[float] = field(default_factory=list)
    free_bytes: int | None = 1 << 34  # 16 GiB free

    @property
    def instruments(self) -> Instruments:
        return Instruments(ceilings=lambda device, dtype: FAKE_CEILINGS,
                           probe=lambda device, dtype: self.probe(device, dtype),
                           load=lambda device: QUIET, sleep=self.slept.append,
                           free_memory=lambda device: self.free_bytes,
                           calibrate=lambda device, dtype, modes=None: replace(
                               FAKE_MODEL, device=device, dtype=dtype))


# The same machine as module-level functions, which pickle: for sweeps whose modes run in worker
# processes (tests/run/test_isolated.py), where FakeMachine's closures cannot go.
def _ceilings(device: str, dtype: str) -> Ceilings:
    return FAKE_CEILINGS


def _probe(device: str, dtype: str) -> float:
    return HEALTHY_GFLOPS


def _quiet(device: str) -> Load:
    return QUIET


def _no_sleep(seconds: float) -> None:
    pass


def _free(device: str) -> int:
    return 1 << 34


def _calibrate(device: str, dtype: str, modes: object = None) -> MachineModel:
    return replace(FAKE_MODEL, device=device, dtype=dtype)


def steady_instruments() -> Instruments:
    """A steady, quiet machine (as ``FakeMachine`` with its default script) that pickles."""
    return Instruments(ceilings=_ceilings, probe=_probe, load=_quiet, sleep=_no_sleep,
                       free_memory=_free, calibrate=_calibrate)


class FakeCapturer:
    """A CUDA graph on a CPU (``jacbench.modes.graphs.Capturer``): ``capture`` keeps the step and
    hands back its output buffer filled with NaN, as a real capture records kernels without
    running them; ``replay`` reruns the kept step into that buffer, reading the static input as
    a real replay does. ``events`` logs each phase in order; ``fail`` makes the capture raise."""

    def __init__(self, fail: BaseException | None = None) -> None:
        self.events: list[str] = []
        self.fail = fail
        self.step: Callable[[], torch.Tensor] | None = None
        self.out: torch.Tensor | None = None

    def warm_up(self, step: Callable[[], torch.Tensor]) -> None:
        self.events.append("warm_up")
        step()

    def capture(self, step: Callable[[], torch.Tensor]) -> torch.Tensor:
        self.events.append("capture")
        if self.fail is not None:
            raise self.fail
        self.step, self.out = step, step()
        self.out.fill_(float("nan"))
        return self.out

    def replay(self) -> None:
        self.events.append("replay")
        assert self.step is not None and self.out is not None, "replayed before a capture"
        self.out.copy_(self.step())
