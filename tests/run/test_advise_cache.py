"""The advisor's cache and its edges (issue 21, items 2, 3, 5 and 9): a damaged, implausible or
foreign cache entry is measured again with one line; a busy calibration is not cached; only the
modes asked about are loaded; --measure checks memory before allocating; a mode named twice is
ranked once."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from factories import FAKE_MODEL

from jacbench import cli
from jacbench.modes import native_library
from jacbench.results.folder import write_calibrations
from jacbench.run import advise, advise_cache
from jacbench.theory.shape import Shape
from jacbench.theory.time_model import models_to_json

SHAPE = ["--L", "2", "--D", "3", "--K", "4", "--P", "2"]


@pytest.fixture
def cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[tuple]:
    """An empty cache root, a quiet machine, and a calibration that records what it probes."""
    monkeypatch.setenv("JACBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(advise, "busy_warning", lambda load: None)
    calls: list[tuple] = []

    def calibrate(device: str, dtype: str, names=None):
        calls.append(names)
        overheads = {m: FAKE_MODEL.overhead(m) for m in names or ()}
        return dataclasses.replace(FAKE_MODEL, overheads=overheads)

    monkeypatch.setattr(advise, "calibrate_machine", calibrate)
    return calls


def entry(**changes) -> str:
    data = json.loads(models_to_json([FAKE_MODEL]))
    data["calibrations"][0].update(changes)
    data["fingerprint"] = advise_cache.fingerprint("cpu", "float32")
    return json.dumps(data)


@pytest.mark.parametrize("text", [
    '{"calibrations": []}', "{not json", "[1, 2]", entry(peak_flops=0), entry(peak_flops="fast"),
    entry(bandwidth=[]), entry(sync_s=2.57e-3), entry(dispatch_s=None), entry(device="cuda"),
    entry(overheads={"forward": [1, 2]}),
    json.dumps({**json.loads(entry()), "fingerprint": {"host": "elsewhere"}})])
def test_a_bad_cache_entry_is_measured_again_with_one_line(cache: list, text: str) -> None:
    path = advise_cache.cache_path("cpu", "float32")
    path.parent.mkdir(parents=True)
    path.write_text(text)
    said: list[str] = []
    model, source = advise.machine_model("cpu", "float32", names=("forward",), say=said.append)
    assert source.startswith("calibrated now") and len(cache) == 1
    assert len(said) == 1 and str(path) in said[0] and "calibrating again" in said[0]
    assert advise_cache.load("cpu", "float32") == (model, "")  # the cache is put right


def test_a_good_entry_is_used_and_a_mode_it_lacks_is_added(cache: list) -> None:
    advise.machine_model("cpu", "float32", names=("forward",))
    _, source = advise.machine_model("cpu", "float32", names=("forward",))
    assert source.startswith("cached") and cache == [("forward",)]
    advise.machine_model("cpu", "float32", names=("reverse",))
    assert cache == [("forward",), ("reverse",)]
    assert {"forward", "reverse"} <= set(advise_cache.load("cpu", "float32")[0].overheads)


def test_a_busy_calibration_is_used_but_not_cached(
        cache: list, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(advise, "busy_warning", lambda load: "warning: machine already busy (x)")
    said: list[str] = []
    advise.machine_model("cpu", "float32", names=("forward",), say=said.append)
    assert said == ["machine already busy (x): this calibration is not cached"]
    assert not advise_cache.cache_path("cpu", "float32").exists()


def test_a_cuda_calibration_is_never_used_for_the_cpu(cache: list) -> None:
    cuda = dataclasses.replace(FAKE_MODEL, device="cuda")
    assert advise_cache.store(cuda, "cpu", "float32") == ""
    model, why = advise_cache.load("cpu", "float32")
    assert model is None and "another machine or device" in why
    assert advise_cache.cache_path("cuda", "float32") != advise_cache.cache_path("cpu", "float32")


@pytest.fixture
def calibrated(tmp_path: Path) -> Path:
    write_calibrations(tmp_path, [dataclasses.replace(FAKE_MODEL, calibrated_at="2026")], "r1")
    return tmp_path


def test_advise_for_one_mode_never_loads_the_native_kernel(
        calibrated: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    def broken() -> None:
        raise AssertionError("the native kernel was loaded")

    monkeypatch.setattr(native_library, "_load", broken)
    assert cli.main(["advise", *SHAPE, "--modes", "forward", "--from", str(calibrated)]) == 0
    assert "forward" in capsys.readouterr().out


def test_a_mode_named_twice_is_ranked_once(calibrated: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["advise", *SHAPE, "--modes", "forward", "reverse", "forward", "--from",
                     str(calibrated), "--json"]) == 0
    assert [r["mode"] for r in json.loads(capsys.readouterr().out)] in (
        ["forward", "reverse"], ["reverse", "forward"])


def test_measure_reports_a_shape_beyond_memory_without_allocating(
        calibrated: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    real = advise.net_and_input

    def no_allocation(point):
        assert point.L < 200, "allocated a model that cannot fit"
        return real(point)

    monkeypatch.setattr(advise, "net_and_input", no_allocation)
    code = cli.main(["advise", "--L", "200", "--D", "20000", "--K", "20000", "--P", "20000",
                     "--modes", "forward", "reverse", "--from", str(calibrated), "--measure"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.count("(not measured (needs ") == 2 and " free)" in out
    assert out.strip().splitlines()[-1] == "check: the pick was not measured"


def test_measure_times_what_fits_and_skips_what_does_not() -> None:
    point = advise.advised_point(Shape(2, 3, 4, 2, 1), "cpu", "float32")
    ranking = advise.rank(point, FAKE_MODEL, ["forward", "reverse"])
    measured = advise.measure_top(point, ranking, 2, min_run_time=0.01, free=lambda d: 1 << 30)
    assert all(isinstance(t, float) for t in measured.values())
    nothing = advise.measure_top(point, ranking, 2, free=lambda d: 100)
    assert all(t.startswith("not measured (needs ") for t in nothing.values())


def test_a_sweeps_calibration_probes_only_the_modes_it_measures() -> None:
    from fakes import FakeMachine

    from jacbench.run.calibration import probed_modes
    from jacbench.run.instruments import Yardsticks

    asked: list = []
    machine = FakeMachine().instruments
    instruments = dataclasses.replace(
        machine, calibrate=lambda device, dtype, modes=None: asked.append(modes) or FAKE_MODEL)
    Yardsticks.measure([("cpu", "float32")], instruments, lambda line: None, ("forward",))
    assert asked == [("forward",)]
    assert probed_modes(("forward",)) == ("forward",) and probed_modes(()) == ()
