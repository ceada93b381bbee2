"""Fakes that stand in for the machine in run/ tests: a scripted speed probe, recorded pauses.

The modes themselves are really run and timed (on tiny shapes with a tiny budget); what is faked
is what measures the machine (ceilings, probes, load), since the real ones take seconds and
depend on the machine's mood.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from factories import FAKE_CEILINGS, FAKE_MODEL

from jacbench.measure.load import Load
from jacbench.run.instruments import Instruments

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
