"""Precision on the command line: ``--dtype bfloat16`` (and a config's ``dtype``) sweeps rows that
read back with their dtype, matmul precision, error within the tolerance and the theory's bytes;
``advise --dtype bfloat16`` ranks the modes that have such products; a bad dtype is one line
(exit 2) that lists the dtypes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from factories import FAKE_MODEL
from test_cli import TINY, one_line

from jacbench.catalog import DTYPES
from jacbench.cli import main
from jacbench.model.reference import tolerance
from jacbench.results.folder import read_results, write_calibrations
from jacbench.theory.cost import cost_at
from jacbench.theory.shape import Shape

SWEEP = [*TINY, "--modes", "forward", "reverse", "reverse-native", "jax-jacrev"]


def test_a_bfloat16_sweep_writes_rows_that_read_back(tmp_path, steady_machine, capsys):
    out = tmp_path / "out"
    assert main(["sweep", *SWEEP, "--dtype", "bfloat16", "--out", str(out)]) == 0, \
        capsys.readouterr().err
    rows = read_results(out)
    rows = rows[rows["role"] == "sweep"].set_index("mode")
    assert set(rows.index) == {"forward", "reverse", "reverse-native", "jax-jacrev"}
    assert set(rows["dtype"]) == {"bfloat16"} and set(rows["matmul_precision"]) == {"highest"}
    native = rows.loc["reverse-native"]
    assert native["status"] == "unavailable" and "float32 and float64 only" in native["reason"]
    tol = tolerance("bfloat16", 1, 2)
    for mode in ("forward", "reverse", "jax-jacrev"):
        row = rows.loc[mode]
        assert row["status"] == "ok", (mode, row["reason"])
        assert 0 <= row["rel_error"] <= tol and row["time_median_s"] > 0
        # the theory counts two bytes a number, and the floor comes from the bf16 ceiling
        shape = Shape(1, 2, 2, 2, 1)
        assert row["bytes_moved"] == cost_at(mode, shape, dtype_bytes=2).bytes_moved
        assert row["bytes_moved"] < cost_at(mode, shape, dtype_bytes=4).bytes_moved
        assert row["floor_s"] > 0


def test_a_configs_dtype_takes_the_new_names(tmp_path, steady_machine, capsys):
    config = tmp_path / "half.toml"
    config.write_text('dtype = ["float16", "tf32"]\nrounds = 1\nmin_run_time = 0.002\n'
                      'stability_points = 0\nmodes = ["reverse"]\n'
                      '[[grid]]\nL = [1]\nD = [2]\nK = [2]\nP = [2]\n')
    out = tmp_path / "out"
    assert main(["sweep", "--config", str(config), "--device", "cpu", "--no-progress",
                 "--no-report", "--out", str(out)]) == 0, capsys.readouterr().err
    rows = read_results(out).set_index("dtype")
    assert rows.loc["float16", "status"] == "ok"
    assert rows.loc["float16", "matmul_precision"] == "highest"
    assert rows.loc["tf32", "status"] == "unavailable"  # no TF32 on a CPU
    assert rows.loc["tf32", "matmul_precision"] == "tf32"
    assert "CUDA tensor-core" in rows.loc["tf32", "reason"]


@pytest.mark.parametrize("command", [["sweep", *TINY], ["advise", "--L", "1", "--D", "2",
                                                        "--K", "2", "--P", "2"]])
def test_a_bad_dtype_is_one_line_that_lists_the_dtypes(tmp_path, capsys, no_measuring, command):
    code = main([*command, "--dtype", "float8", *(["--out", str(tmp_path / "o")]
                                                 if command[0] == "sweep" else [])])
    line = one_line(capsys.readouterr().err)
    assert code == 2
    assert line.startswith("jacbench: error:") and "float8" in line
    assert ", ".join(DTYPES) in line
    assert not (tmp_path / "o").exists()


@pytest.fixture
def calibrated_bf16(tmp_path: Path) -> Path:
    """A results folder holding only a calibration of a made-up machine in bfloat16."""
    model = dataclasses.replace(FAKE_MODEL, dtype="bfloat16", calibrated_at="2026")
    write_calibrations(tmp_path, [model], "r1")
    return tmp_path


def test_advise_ranks_the_modes_that_run_bfloat16(calibrated_bf16, capsys):
    code = main(["advise", "--L", "4", "--D", "64", "--K", "64", "--P", "8",
                 "--dtype", "bfloat16", "--from", str(calibrated_bf16)])
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = out.strip().splitlines()
    assert "on cpu bfloat16" in lines[0]
    ranked = {line.split()[1] for line in lines[1:]}
    assert {"forward", "reverse", "chain"} <= ranked
    assert not ranked & {"forward-native", "reverse-native", "chain-native"}


def test_advise_in_tf32_on_a_cpu_is_one_line_saying_why(calibrated_bf16, capsys):
    code = main(["advise", "--L", "1", "--D", "2", "--K", "2", "--P", "2", "--dtype", "tf32",
                 "--from", str(calibrated_bf16)])
    assert code == 2
    assert "TF32 is a CUDA tensor-core precision" in one_line(capsys.readouterr().err)
