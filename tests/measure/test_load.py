"""Machine readings never raise, and the busy warning speaks only when the machine is busy."""

from __future__ import annotations

import pytest

from jacbench.measure.load import Load, busy_warning, machine_load


@pytest.mark.parametrize("device", ["cpu", "cuda", "not-a-device"])
def test_machine_load_never_raises(device: str) -> None:
    load = machine_load(device)
    assert isinstance(load, Load)
    for value in (load.load_avg_1m, load.cpu_freq_mhz, load.gpu_clock_mhz, load.gpu_temp_c):
        assert value is None or isinstance(value, float)
    assert load.busy_procs is None or load.busy_procs >= 0
    if device == "cpu":
        assert load.gpu_clock_mhz is None and load.gpu_temp_c is None


def test_busy_warning() -> None:
    assert busy_warning(Load(0.2, 2400.0, 0, None, None), cores=2) is None
    assert busy_warning(Load(None, None, None, None, None)) is None
    assert busy_warning(Load(1.93, 2400.0, 1, None, None), cores=2) == (
        "warning: machine already busy (load average 1.93 on 2 cores, 1 other running process);"
        " timings may be slow and noisy"
    )
    msg = busy_warning(Load(None, None, 3, None, None), cores=2)
    assert msg is not None and "3 other running processes" in msg and "\n" not in msg
    # A high load average left over by a process that has ended is not a busy machine ...
    assert busy_warning(Load(0.9, None, 0, None, None), cores=2) is None
    # ... but it is the only sign where running processes cannot be counted.
    assert busy_warning(Load(0.6, None, None, None, None), cores=2) is not None
