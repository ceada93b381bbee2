"""``python -m jacbench advise``: the ranking, its JSON, its errors (one line, exit status 2),
and the predictions a sweep stores with its rows and its calibration, read back."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

import pytest
from factories import FAKE_MODEL

from jacbench import cli
from jacbench.render.words import words
from jacbench.results.folder import read_calibrations, write_calibrations
from jacbench.run import advise
from jacbench.run import sweep as sweeps
from jacbench.run.spec import build_spec
from jacbench.theory.time_model import predict

SHAPE = ["--L", "10", "--D", "1000", "--K", "1000", "--P", "1"]


@pytest.fixture
def calibrated(tmp_path: Path) -> Path:
    """A results folder holding only a calibration (of a made-up machine)."""
    write_calibrations(tmp_path, [dataclasses.replace(FAKE_MODEL, calibrated_at="2026")], "r1")
    return tmp_path


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(["advise", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_advise_ranks_every_available_mode_with_its_dominant_term(
        calibrated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli([*SHAPE, "--from", str(calibrated)], capsys)
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0].startswith("L=10 D=1000 K=1000 P=1 N=1 on cpu float32, predicted with the "
                               "calibration stored in")
    ranked = [line.split()[1] for line in lines[1:]]
    assert set(ranked) == set(advise.available_modes("cpu", "float32"))
    # P = 1: reverse reads the 40 MB of weights twice; forward does K·D tangent products
    reverse = next(line for line in lines if line.split()[1] == "reverse")
    assert "reads 40 MB of weights twice, memory-bound" in reverse
    assert ranked.index("reverse") < ranked.index("forward")


def test_json_is_a_list_best_first(calibrated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli([*SHAPE, "--from", str(calibrated), "--json", "--modes", "forward",
                            "reverse", "chain"], capsys)
    assert code == 0
    ranking = json.loads(out)
    assert ranking[0]["mode"] in ("reverse", "chain")
    assert [r["predicted_s"] for r in ranking] == sorted(r["predicted_s"] for r in ranking)
    assert {"mode", "predicted_s", "dominant", "dominant_words"} <= set(ranking[0])
    assert ranking[0]["predicted_s"] == pytest.approx(
        predict(ranking[0]["mode"], 10, 1000, 1000, 1, 1, FAKE_MODEL).seconds)


def test_measure_times_the_top_modes(calibrated: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["--L", "2", "--D", "3", "--K", "4", "--P", "2", "--from",
                            str(calibrated), "--measure", "--top", "2", "--modes", "forward",
                            "reverse", "chain"], capsys)
    assert code == 0
    assert out.count("(measured ") == 2
    assert out.strip().splitlines()[-1].startswith("check: ")


@pytest.mark.parametrize(("args", "says"), [
    (["--L", "0", "--D", "3", "--K", "4", "--P", "2"], "'0' is not a positive integer"),
    (["--L", "2", "--D", "x", "--K", "4", "--P", "2"], "'x' is not a positive integer"),
    (["--D", "3", "--K", "4", "--P", "2"], "--L"),
    ([*SHAPE, "--device", "tpu"], "invalid choice: 'tpu'"),
    ([*SHAPE, "--dtype", "int8"], "invalid choice: 'int8'"),
    ([*SHAPE, "--modes", "sideways"], "--modes: no mode sideways"),
])
def test_user_errors_are_one_line(args: list[str], says: str,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(args, capsys)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and says in err


def test_no_cuda_is_one_line(monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    code, _, err = run_cli([*SHAPE, "--device", "cuda"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "no CUDA device" in err


def test_a_folder_without_that_calibration_is_one_line(
        tmp_path: Path, calibrated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli([*SHAPE, "--from", str(tmp_path / "nowhere")], capsys)
    assert code == 2 and "no such results folder" in err
    code, _, err = run_cli([*SHAPE, "--from", str(calibrated), "--dtype", "float64"], capsys)
    assert code == 2 and "no calibration of cpu float64" in err
    (calibrated / "_calibration-bad.json").write_text("{")  # skipped in one line, the rest used
    code, out, err = run_cli([*SHAPE, "--from", str(calibrated)], capsys)
    assert code == 0 and "skipped the damaged calibration" in err and len(err.splitlines()) == 1
    assert "forward" in out


def test_a_sweep_stores_predictions_and_its_calibration(
        steady_machine: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = build_spec({"stability_points": 0, "rounds": 1, "min_run_time": 0.002,
                       "modes": ["forward", "reverse"],
                       "grid": [{"L": [1, 2], "D": [3], "K": [4], "P": [2]}]})
    outcome = sweeps.run_sweep(spec, tmp_path, progress=False, stream=io.StringIO())
    rows = outcome.frame
    assert len(rows) == 4
    for r in rows.to_dict("records"):
        expected = predict(r["mode"], r["L"], r["D"], r["K"], r["P"], r["batch"], FAKE_MODEL)
        assert r["predicted_s"] == pytest.approx(expected.seconds)
        assert r["predicted_bound"] == words(expected)
    stored = read_calibrations(tmp_path)
    assert stored[("cpu", "float32")].peak_flops == FAKE_MODEL.peak_flops
    code, out, _ = run_cli(["--L", "2", "--D", "3", "--K", "4", "--P", "2", "--from",
                            str(tmp_path), "--modes", "forward", "reverse"], capsys)
    assert code == 0 and "reverse" in out


def test_the_cache_is_used_and_refreshed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("JACBENCH_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(advise, "busy_warning", lambda load: None)
    calls = []
    monkeypatch.setattr(advise, "calibrate_machine",
                        lambda device, dtype, names=None: calls.append(1) or FAKE_MODEL)
    first, source = advise.machine_model("cpu", "float32", names=())
    assert source.startswith("calibrated now") and first == FAKE_MODEL
    again, source = advise.machine_model("cpu", "float32", names=())
    assert source.startswith("cached") and again == FAKE_MODEL and len(calls) == 1
    advise.machine_model("cpu", "float32", recalibrate=True, names=())
    assert len(calls) == 2
