"""The command line: a tiny sweep through ``main()``, and every bad input a user can give, each
ending in one line on stderr, a non-zero exit, and no change to results already on disk.

Most cases call ``main()`` in-process (a subprocess pays the torch import each time); a few run
``python -m jacbench`` to see exactly what a user's terminal gets.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import jacbench
from jacbench.cli import main
from jacbench.measure.environment import cpu_model
from jacbench.results.folder import LEGACY_FILE as RESULTS_FILE
from jacbench.results.folder import read_results
from jacbench.results.schema import SCHEMA_VERSION
from jacbench.results.storage import to_table, write_file

TINY = ["--L", "1", "--D", "2", "--K", "2", "--P", "2", "--modes", "forward", "reverse",
        "--rounds", "1", "--min-run-time", "0.002", "--device", "cpu", "--no-progress",
        "--no-report"]


def stored_row(**changes) -> dict:
    """A row measured earlier on this machine (unless `changes` says otherwise)."""
    row = {"role": "sweep", "mode": "forward", "L": 9, "D": 9, "K": 9, "P": 9, "batch": 1,
           "dtype": "float32", "device": "cpu", "activation": "tanh", "bias": False, "seed": 0,
           "status": "ok", "reason": "", "time_median_s": 1e-3, "schema_version": SCHEMA_VERSION,
           "host": socket.gethostname(), "cpu_model": cpu_model(),
           "torch_version": torch.__version__, "cuda_version": torch.version.cuda or "",
           "run_id": "earlier"}
    return {**row, **changes}


def folder_with_results(folder: Path, **changes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_file(folder / RESULTS_FILE, to_table([stored_row(**changes)]))
    return folder


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


# --- a sweep through main() ----------------------------------------------------------------------


def test_a_tiny_sweep_prints_the_summary_and_runs_nothing_the_second_time(tmp_path, capsys,
                                                                         steady_machine):
    out = tmp_path / "out"
    assert main(["sweep", *TINY, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    lines = printed.splitlines()
    assert any(line.startswith("[ cpu float32:") for line in lines)
    assert any("L=1 D=2 K=2 P=2 N=1" in line for line in lines)
    assert any(line.startswith("forward") for line in lines)
    assert any(line.startswith("reverse") for line in lines)
    stored = read_results(out)
    sweep_rows = stored[stored["role"] == "sweep"]
    assert sorted(sweep_rows["mode"]) == ["forward", "reverse"]
    assert f"results: {out} ({len(stored)} new rows, {len(stored)} in all)" in printed

    before = snapshot(out)
    assert main(["sweep", *TINY, "--out", str(out)]) == 0
    assert f"results: {out} (0 new rows, {len(stored)} in all)" in capsys.readouterr().out
    assert snapshot(out) == before


def test_sweep_messages_go_to_the_current_stderr(tmp_path, capsys, steady_machine):
    out = tmp_path / "out"
    main(["sweep", *TINY, "--out", str(out)])
    capsys.readouterr()
    main(["sweep", *TINY, "--out", str(out)])
    assert "nothing to do" in capsys.readouterr().err


def test_a_folder_from_another_machine_is_refused_without_append(tmp_path, capsys,
                                                                 steady_machine):
    out = folder_with_results(tmp_path / "out", host="elsewhere")
    before = snapshot(out)
    assert main(["sweep", *TINY, "--out", str(out)]) != 0
    line = one_line(capsys.readouterr().err)
    assert "host=elsewhere" in line and "--append" in line
    assert snapshot(out) == before


def test_a_folder_from_another_machine_is_accepted_with_append(tmp_path, steady_machine):
    out = folder_with_results(tmp_path / "out", host="elsewhere")
    assert main(["sweep", *TINY, "--out", str(out), "--append"]) == 0
    stored = read_results(out)
    assert set(stored["host"]) == {"elsewhere", stored_row()["host"]}
    assert len(stored[stored["run_id"] == "earlier"]) == 1  # the other machine's row is kept


def test_a_folder_from_another_torch_is_refused(tmp_path, capsys, steady_machine):
    out = folder_with_results(tmp_path / "out", torch_version="1.0.0")
    before = snapshot(out)
    assert main(["sweep", *TINY, "--out", str(out)]) != 0
    assert "torch_version=1.0.0" in one_line(capsys.readouterr().err)
    assert snapshot(out) == before


# --- bad input -----------------------------------------------------------------------------------

BAD_FLAGS = {
    "D zero": (["--D", "0"], "'0' is not a positive integer"),
    "D negative": (["--D", "-3"], "'-3' is not a positive integer"),
    "D fraction": (["--D", "2.5"], "'2.5' is not a positive integer"),
    "D word": (["--D", "x"], "'x' is not a positive integer"),
    "P zero among others": (["--P", "4", "0"], "'0'"),
    "batch zero": (["--batch", "0"], "--batch"),
    "unknown mode": (["--modes", "nope"], "unknown mode 'nope'"),
    "unknown dtype": (["--dtype", "int8"], "unknown dtype 'int8'"),
    "unknown device": (["--device", "tpu"], "'tpu'"),
    "unknown activation": (["--activation", "swish"], "unknown activation 'swish'"),
    "unknown preset": (["--preset", "nope"], "unknown preset 'nope'"),
    "min-run-time zero": (["--min-run-time", "0"], "--min-run-time"),
    "min-run-time nan": (["--min-run-time", "nan"], "--min-run-time"),
    "max-call-time negative": (["--max-call-time", "-1"], "--max-call-time"),
    "rounds zero": (["--rounds", "0"], "--rounds"),
    "seed negative": (["--seed", "-1"], "--seed"),
    "unknown flag": (["--frobnicate"], "--frobnicate"),
}


@pytest.mark.parametrize(("flags", "named"), BAD_FLAGS.values(), ids=BAD_FLAGS.keys())
def test_bad_flags_are_one_line_errors_and_change_nothing(tmp_path, capsys, no_measuring,
                                                          flags, named):
    out = folder_with_results(tmp_path / "out")
    before = snapshot(out)
    assert main(["sweep", *TINY, "--out", str(out), *flags]) != 0
    captured = capsys.readouterr()
    line = one_line(captured.err)
    assert line.startswith("jacbench: error:")
    assert named in line
    assert snapshot(out) == before


def test_cuda_without_cuda_is_a_one_line_error(tmp_path, capsys, no_measuring, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    out = folder_with_results(tmp_path / "out")
    before = snapshot(out)
    assert main(["sweep", *TINY, "--out", str(out), "--device", "cuda"]) != 0
    assert "no CUDA device" in one_line(capsys.readouterr().err)
    assert snapshot(out) == before


def test_an_infinite_min_run_time_is_refused(tmp_path, capsys, no_measuring):
    assert main(["sweep", *TINY, "--out", str(tmp_path / "out"), "--min-run-time", "inf"]) != 0
    assert "--min-run-time" in one_line(capsys.readouterr().err)


def test_a_config_that_does_not_parse(tmp_path, capsys, no_measuring):
    bad = tmp_path / "bad.toml"
    bad.write_text("min_run_time = = 1\n")
    out = folder_with_results(tmp_path / "out")
    before = snapshot(out)
    assert main(["sweep", "--config", str(bad), "--out", str(out)]) != 0
    line = one_line(capsys.readouterr().err)
    assert "bad.toml" in line and "not valid TOML" in line
    assert snapshot(out) == before


def test_a_missing_config(tmp_path, capsys, no_measuring):
    assert main(["sweep", "--config", str(tmp_path / "missing.toml"),
                 "--out", str(tmp_path / "out")]) != 0
    line = one_line(capsys.readouterr().err)
    assert "missing.toml" in line and "does not exist" in line
    assert not (tmp_path / "out").exists()


def test_a_config_with_bad_values(tmp_path, capsys, no_measuring):
    config = tmp_path / "c.toml"
    config.write_text("[[grid]]\nD = [0]\n")
    assert main(["sweep", "--config", str(config), "--out", str(tmp_path / "out")]) != 0
    assert "D must be positive integers" in one_line(capsys.readouterr().err)


def test_preset_and_config_together(tmp_path, capsys, no_measuring):
    config = tmp_path / "c.toml"
    config.write_text("rounds = 1\n")
    assert main(["sweep", "--preset", "quick", "--config", str(config),
                 "--out", str(tmp_path / "out")]) != 0
    line = one_line(capsys.readouterr().err)
    assert "--preset" in line and "--config" in line


def test_an_out_folder_that_cannot_be_made(tmp_path, capsys, no_measuring):
    afile = tmp_path / "afile"  # root ignores permission bits; nothing can make a folder here
    afile.write_text("keep me")
    assert main(["sweep", *TINY, "--out", str(afile / "sub")]) != 0
    line = one_line(capsys.readouterr().err)
    assert "cannot write" in line and "afile" in line
    assert afile.read_text() == "keep me"


def test_a_corrupt_results_file_in_out_is_set_aside_and_the_sweep_goes_on(tmp_path, capsys,
                                                                           steady_machine):
    out = tmp_path / "out"
    out.mkdir()
    (out / RESULTS_FILE).write_bytes(b"PAR1 this is not really parquet PAR1")
    assert main(["sweep", *TINY, "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert f"set aside damaged {out / RESULTS_FILE}" in err
    assert (out / f"_{RESULTS_FILE}.damaged").read_bytes().startswith(b"PAR1 this")
    assert set(read_results(out)["mode"]) == {"forward", "reverse"}


def test_results_of_another_schema_version_in_out(tmp_path, capsys, no_measuring):
    out = folder_with_results(tmp_path / "out", schema_version=SCHEMA_VERSION + 1)
    before = snapshot(out)
    assert main(["sweep", *TINY, "--out", str(out)]) != 0
    assert "schema version" in one_line(capsys.readouterr().err)
    assert snapshot(out) == before


def test_plot_and_report_of_a_missing_folder(tmp_path, capsys):
    for command in ("plot", "report"):
        assert main([command, str(tmp_path / "nothing")]) != 0
        assert "not a results folder" in one_line(capsys.readouterr().err)


# --- help and version ----------------------------------------------------------------------------


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"jacbench {jacbench.__version__}"


def test_help_lists_the_commands_and_the_sweep_flags(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    assert all(c in text for c in ("sweep", "plot", "report"))
    with pytest.raises(SystemExit):
        main(["sweep", "--help"])
    text = capsys.readouterr().out
    for flag in ("--L", "--D", "--K", "--P", "--batch", "--modes", "--device", "--dtype",
                 "--min-run-time", "--preset", "--config", "--out", "--append"):
        assert flag in text


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) != 0
    assert "usage:" in capsys.readouterr().out


# --- what a terminal sees ------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("case", ["bad axis", "newer results"])
def test_bad_input_in_a_subprocess_is_one_line_without_traceback(tmp_path, case):
    out = tmp_path / "out"
    out.mkdir()
    if case == "newer results":
        folder_with_results(out, schema_version=SCHEMA_VERSION + 1)
        flags = ["--D", "2"]
    else:
        folder_with_results(out)
        flags = ["--D", "x"]
    before = snapshot(out)
    done = subprocess.run(
        [sys.executable, "-m", "jacbench", "sweep", "--L", "1", "--K", "2", "--P", "2",
         "--device", "cpu", "--no-progress", "--out", str(out), *flags],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode != 0
    assert one_line(done.stderr).startswith("jacbench: error:")
    assert done.stdout == ""
    assert snapshot(out) == before
