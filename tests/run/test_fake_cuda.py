"""The CUDA paths without a GPU: a fake torch.cuda records every call and the device it names.

The modes really run (on CPU tensors: this torch has no CUDA), but the runner, the timing clock,
the memory statistics, the out-of-memory handling, the machine readings and the environment all
take the CUDA branch for a point on ``cuda:1``, and each call must name that device, not the
current one (device 0 on a multi-GPU node).
"""

from __future__ import annotations

import dataclasses

import pytest
import torch
from fakes import FakeCapturer, FakeMachine

from jacbench.measure import environment, load
from jacbench.measure.timing import default_clock
from jacbench.modes import graphs
from jacbench.modes.registry import MODES
from jacbench.results.point import Point
from jacbench.run import case as case_module
from jacbench.run import runner as runner_module
from jacbench.run.instruments import Instruments, Yardsticks
from jacbench.run.runner import PointRunner
from jacbench.run.settings import Settings

DEVICE = "cuda:1"
POINT = Point(DEVICE, "float32", "tanh", False, 1, 2, 2, 2, 1)


class FakeCuda:
    """Stand-ins for the torch.cuda functions jacbench calls; ``calls`` logs (name, device)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[tuple[str, object]] = []
        for name, result in (("synchronize", None), ("reset_peak_memory_stats", None),
                             ("memory_allocated", 1000), ("max_memory_allocated", 5000),
                             ("mem_get_info", (8 << 30, 16 << 30)),
                             ("get_device_name", "Fake GPU"), ("clock_rate", 1410),
                             ("temperature", 55)):
            monkeypatch.setattr(torch.cuda, name, self._recorder(name, result))
        monkeypatch.setattr(torch.cuda, "empty_cache", lambda: self.calls.append(("empty", None)))

    def _recorder(self, name: str, result: object):
        def call(device: object = None) -> object:
            self.calls.append((name, device))
            return result
        return call

    def devices(self, name: str) -> set[object]:
        return {d for n, d in self.calls if n == name}


@pytest.fixture
def fake_cuda(monkeypatch: pytest.MonkeyPatch) -> FakeCuda:
    fake = FakeCuda(monkeypatch)
    real_build = case_module.build_case

    def build_on_cpu(point: Point) -> case_module.Case:  # this torch cannot allocate on CUDA
        return real_build(dataclasses.replace(point, device="cpu"))

    monkeypatch.setattr(runner_module, "build_case", build_on_cpu)
    return fake


def cuda_runner(machine: FakeMachine) -> PointRunner:
    instruments = Instruments(ceilings=machine.instruments.ceilings,
                              probe=machine.instruments.probe, load=load.machine_load,
                              sleep=machine.slept.append, free_memory=load.free_memory)
    settings = Settings(modes=("forward", "reverse"), min_run_time=0.002, rounds=1)
    return PointRunner(settings, {}, Yardsticks(), instruments)


def test_a_point_on_cuda_1_names_cuda_1_in_every_call(fake_cuda):
    records = cuda_runner(FakeMachine()).run(POINT, ("forward", "reverse"))
    rows = [r.to_row() for r in records]
    assert {r["status"] for r in rows} == {"ok"}
    device = torch.device(DEVICE)
    for name in ("synchronize", "reset_peak_memory_stats", "memory_allocated",
                 "max_memory_allocated", "mem_get_info", "clock_rate", "temperature"):
        assert fake_cuda.devices(name) == {device}, name
    assert {r["measured_peak_bytes"] for r in rows} == {4000}
    assert {r["gpu_clock_mhz"] for r in rows} == {1410.0}
    assert {r["gpu_temp_c"] for r in rows} == {55.0}


def test_the_timing_clock_waits_for_the_points_own_device(fake_cuda):
    clock = default_clock(DEVICE)
    clock()
    assert fake_cuda.calls == [("synchronize", torch.device(DEVICE))]


def test_out_of_memory_on_cuda_is_an_oom_row_and_frees_the_cache(fake_cuda, monkeypatch):
    def greedy(net, x):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 80 GiB on device 1")

    monkeypatch.setitem(MODES, "forward", dataclasses.replace(MODES["forward"], fn=greedy))
    rows = [r.to_row() for r in cuda_runner(FakeMachine()).run(POINT, ("forward", "reverse"))]
    assert [r["status"] for r in rows] == ["oom", "ok"]
    assert ("empty", None) in fake_cuda.calls


def test_a_point_bigger_than_the_devices_free_memory_is_not_attempted(fake_cuda, monkeypatch):
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (100, 16 << 30))
    rows = [r.to_row() for r in cuda_runner(FakeMachine()).run(POINT, ("forward",))]
    assert rows[0]["status"] == "oom" and "not attempted" in rows[0]["reason"]


def test_the_environment_names_the_points_device(fake_cuda):
    assert environment.device_name(DEVICE) == "Fake GPU"
    assert fake_cuda.devices("get_device_name") == {torch.device(DEVICE)}


def test_the_speed_probe_is_sized_for_the_gpu_and_times_on_its_device(fake_cuda, monkeypatch):
    from jacbench.measure import probe
    from jacbench.measure.stats import Timing

    seen = {}

    def fake_time(fn, *, device, min_run_time, clock):
        seen["device"] = device
        seen["sync"] = list(fake_cuda.calls)
        default_clock(device)()  # what time_callable's clock does at each block edge
        return Timing(raw_times_s=(2.7e-3,), number_per_run=1)

    monkeypatch.setattr(probe, "time_callable", fake_time)
    monkeypatch.setattr(torch.Tensor, "to", lambda self, *a, **k: self)  # no CUDA here
    gflops = probe.speed_probe(DEVICE)
    assert seen["device"] == DEVICE
    assert gflops == pytest.approx(2 * 4096**3 / 2.7e-3 / 1e9)  # n = 4096 on a GPU
    assert fake_cuda.devices("synchronize") == {torch.device(DEVICE)}


def test_gpu_calibration_probes_work_not_launches_and_syncs_on_its_device(fake_cuda,
                                                                          monkeypatch):
    from jacbench.measure import calibrate as cal
    from jacbench.measure import probes_cuda as gpu

    labels = []

    def timer(label, build):  # the GPU's answers, as an H200 would give them (fp32)
        labels.append(label)
        default_clock(DEVICE)()
        return gpu_seconds(label)

    model = cal.calibrate(DEVICE, "float32", timer=timer)
    assert fake_cuda.devices("synchronize") == {torch.device(DEVICE)}
    assert {f"gemm {gpu.GEMM_SQUARE}", "launch", f"elementwise {gpu.ELEMENTS}"} <= set(labels)
    assert model.asynchronous and model.device == DEVICE
    assert model.peak_flops == pytest.approx(5e13, rel=0.02)
    assert model.launch_s == pytest.approx(2e-6) and model.dispatch_s == pytest.approx(1e-5)
    assert model.bandwidth[-1][1] == pytest.approx(4e12, rel=0.01)
    assert model.elementwise_rate == pytest.approx(1e12, rel=0.01)
    # launch-bound readings (everything ~10 us) give no physical device: refused, not stored
    with pytest.raises(cal.ImplausibleCalibration, match=r"bandwidth|elementwise"):
        cal.calibrate(DEVICE, "float32", timer=lambda label, build: 1e-5)


def gpu_seconds(label: str) -> float:
    """Seconds per call of each GPU probe on a device of 50 TFLOP/s (n½ = 32), 4 TB/s out of
    its L2 and 10 TB/s in it, 1e12 act' elements/s, 2 us a kernel, 10 us a host call."""
    from jacbench.measure import probes_cuda as gpu

    kind, _, size = label.partition(" ")
    launch = 2e-6
    if kind == "dispatch":
        return 3 * gpu.DISPATCH_LOOP * 1e-5
    if kind == "launch":
        return gpu.GRAPH_KERNELS * launch
    if kind == "gemm":
        m = int(size)
        return launch + 2.0 * m * gpu.GEMM_SQUARE**2 / (5e13 * m / (m + 32))
    if kind == "elementwise":
        return launch + gpu.ELEMENTS / 1e12
    n, count = gpu.cycle_shape(int(size), 4)
    rate = 1e13 if int(size) <= 1 << 25 else 4e12
    return 2 * count * (launch + n * n * 4 / rate)


def test_the_h200s_launch_timed_calibration_is_refused_not_stored():
    """The calibration jacbench stored on an H200 before its probes were sized for a GPU:
    bandwidths of 1e9-4e9 GB/s. A run that measures such a model keeps no model (its rows get
    no prediction) and says why in one line."""
    from pathlib import Path

    from jacbench.measure.plausible import implausible
    from jacbench.theory.time_model import models_from_json

    data = Path(__file__).parents[1] / "data" / "gpu-h200"
    (h200,) = models_from_json(next(data.glob("_calibration-*.json")).read_text())
    assert any("bandwidth" in p for p in implausible(h200))
    said, calls = [], []

    def calibrate(device, dtype, modes=None):
        calls.append(device)
        return h200

    instruments = dataclasses.replace(FakeMachine().instruments, calibrate=calibrate)
    found = Yardsticks.measure([(DEVICE, "float32")], instruments, said.append)
    assert found.models == {} and len(calls) == 2  # measured once more, then refused
    assert any("time model not calibrated" in line and "bandwidth" in line for line in said)
    assert (DEVICE, "float32") in found.ceilings


def test_a_graph_mode_at_a_gpu_point_is_captured_once_and_its_replays_are_timed(fake_cuda,
                                                                                monkeypatch):
    made: list[FakeCapturer] = []
    monkeypatch.setattr(graphs, "CAPTURER", lambda device: made.append(FakeCapturer()) or made[-1])
    rows = [r.to_row() for r in cuda_runner(FakeMachine()).run(POINT, ("reverse-graph",))]
    assert [r["status"] for r in rows] == ["ok"]
    assert rows[0]["rel_error"] <= 1e-4 and rows[0]["compile_s"] is not None
    (fake,) = made
    assert fake.events[:2] == ["warm_up", "capture"] and fake.events.count("capture") == 1
    assert fake.events.count("replay") > 2  # the checked call, the warm call, the timed rounds
