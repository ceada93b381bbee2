"""What a careless user does to a sweep, through ``main()``: nothing is lost or misreported, and
every refusal is one line with a non-zero exit that leaves the results as they were."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_cli import TINY, folder_with_results, one_line, snapshot

from jacbench.cli import main
from jacbench.results import storage
from jacbench.results.folder import read_results
from jacbench.run import sweep


def test_a_full_disk_mid_run_is_one_line_and_keeps_every_earlier_row(tmp_path, capsys,
                                                                     steady_machine,
                                                                     monkeypatch):
    out = tmp_path / "out"
    real_write, writes = storage.pq.write_table, []

    def fills_up(table, where, **kwargs):
        if "sweep" in table.column("role").to_pylist():
            writes.append(1)
        if len(writes) > 1:  # the first point is written, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(table, where, **kwargs)

    monkeypatch.setattr(storage.pq, "write_table", fills_up)
    assert main(["sweep", *TINY, "--D", "1", "2", "3", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("jacbench: error: cannot write") and "no space left" in last
    stored = read_results(out)
    assert list(stored.loc[stored["role"] == "sweep", "D"]) == [1, 1]  # the first point kept
    assert not list(out.rglob(".*.tmp"))


def test_resuming_with_other_settings_is_refused_naming_them(tmp_path, capsys, steady_machine):
    out = tmp_path / "out"
    assert main(["sweep", *TINY, "--out", str(out)]) == 0
    capsys.readouterr()
    before = snapshot(out)
    for flags, named in ((["--threads", "1"], "--threads"), (["--rounds", "2"], "--rounds"),
                         (["--min-run-time", "0.003"], "--min-run-time")):
        if flags[0] == "--threads" and os.cpu_count() == 1:
            continue
        assert main(["sweep", *TINY, "--out", str(out), *flags]) == 2
        assert named in one_line(capsys.readouterr().err)
        assert snapshot(out) == before
    assert main(["sweep", *TINY, "--out", str(out), "--rounds", "2", "--append"]) == 0
    stored = read_results(out)
    assert sorted(stored.loc[stored["role"] == "sweep", "rounds"]) == [1, 1, 2, 2]  # beside


def test_a_long_sweep_is_refused_without_yes(tmp_path, capsys, steady_machine, monkeypatch):
    monkeypatch.setattr(sweep, "ESTIMATE_LIMIT_S", 1e-6)
    out = tmp_path / "out"
    assert main(["sweep", *TINY, "--out", str(out)]) == 2
    line = one_line(capsys.readouterr().err.split("\n", 1)[1])
    assert "--yes" in line and "about" in line
    assert read_results(out).empty
    assert main(["sweep", *TINY, "--out", str(out), "--yes"]) == 0


def test_without_a_terminal_progress_comes_as_lines(tmp_path, steady_machine):
    import io

    from jacbench.run.spec import build_spec

    spec = build_spec({"stability_points": 0, "rounds": 1, "min_run_time": 0.002,
                       "modes": ["forward"], "grid": [{"L": [1], "D": [1, 2], "K": [2],
                                                       "P": [2]}]})
    stream = io.StringIO()
    sweep.run_sweep(spec, tmp_path, stream=stream)
    said = stream.getvalue()
    assert "2 points to measure; about" in said
    assert "jacbench: 2/2 points," in said and "elapsed" in said


def test_folders_of_foreign_files_and_files_as_folders_are_refused(tmp_path, capsys,
                                                                  no_measuring):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("keep")
    assert main(["sweep", *TINY, "--out", str(mine)]) == 2
    assert "thesis.tex" in one_line(capsys.readouterr().err)
    afile = tmp_path / "afile"
    afile.write_text("keep")
    assert main(["sweep", *TINY, "--out", str(afile)]) == 2
    assert "is a file, not a folder" in one_line(capsys.readouterr().err)
    assert afile.read_text() == "keep" and (mine / "thesis.tex").read_text() == "keep"


@pytest.mark.parametrize(("flags", "named"), [
    (["--threads", "100000"], "--threads"), (["--L", str(2**64)], "--L"),
    (["--seed", str(2**64)], "--seed"), (["--D", str(2**63)], "--D")])
def test_numbers_too_big_are_one_line_errors(tmp_path, capsys, no_measuring, flags, named):
    assert main(["sweep", *TINY, "--out", str(tmp_path / "out"), *flags]) == 2
    assert named in one_line(capsys.readouterr().err)


def test_a_config_with_an_absurd_pause_is_refused(tmp_path, capsys, no_measuring):
    config = tmp_path / "c.toml"
    config.write_text("retry_wait = 1e9\n")
    assert main(["sweep", "--config", str(config), "--out", str(tmp_path / "out")]) == 2
    assert "retry_wait" in one_line(capsys.readouterr().err)


def test_compare_with_an_empty_folder_is_an_error(tmp_path, capsys, steady_machine):
    out = tmp_path / "out"
    assert main(["sweep", *TINY, "--out", str(out)]) == 0
    (tmp_path / "empty").mkdir()
    capsys.readouterr()
    assert main(["compare", str(out), str(tmp_path / "empty")]) == 2
    assert "no (point, mode)" in one_line(capsys.readouterr().err)


def test_plots_that_cannot_be_written_are_one_line(tmp_path, capsys, steady_machine):
    out = tmp_path / "out"
    assert main(["sweep", *TINY, "--out", str(out)]) == 0
    capsys.readouterr()
    afile = tmp_path / "afile"
    afile.write_text("keep")
    assert main(["plot", str(out), "--out", str(afile)]) == 2
    assert "afile" in one_line(capsys.readouterr().err)


def test_a_finished_sweep_whose_plots_fail_still_exits_0(tmp_path, capsys, steady_machine):
    out = tmp_path / "out"
    out.mkdir()
    (out / "_plots").write_text("a file where the plots folder belongs")
    flags = [f for f in TINY if f != "--no-report"]
    assert main(["sweep", *flags, "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "plots and report not written" in captured.err
    stored = read_results(out)
    assert len(stored[stored["role"] == "sweep"]) == 2


def test_the_default_folder_is_named_after_the_preset_not_the_day():
    first = sweep.default_out(("cpu",), "quick")
    assert first.name.startswith("quick-") and first.name.endswith("-cpu")
    assert first.parent == Path("runs")  # git-ignored, apart from the shipped results/
    assert first == sweep.default_out(("cpu",), "quick")


@pytest.mark.slow
def test_sigterm_ends_a_sweep_like_ctrl_c(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "jacbench", "sweep", "--L", "1", "--K", "2", "--P", "2",
         "--D", *map(str, range(1, 40)), "--rounds", "1", "--min-run-time", "0.01",
         "--device", "cpu", "--no-report", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list(out.glob("part-*.parquet")):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "interrupted: every completed point is saved" in err
    assert len(read_results(out)) > 0


def test_a_folder_holding_two_machines_is_reported_and_compared_per_machine(tmp_path, capsys):
    from factories import grid, make_rows, write_rows

    rows = make_rows(grid(D=[4, 64]), ("forward", "reverse"))
    rows += make_rows(grid(D=[4, 64]), ("forward", "reverse"), host="other",
                      device_name="Other CPU", time=lambda m, p: 1e-3)
    folder = write_rows(tmp_path / "both", rows)
    assert main(["compare", str(folder), str(folder)]) == 0
    assert "0 beyond" in capsys.readouterr().out
    assert main(["report", str(folder)]) == 0
    report = (folder / "_report.md").read_text()
    assert "on testhost (AMD EPYC test)" in report and "on other (Other CPU)" in report


def test_the_cli_never_leaves_a_stale_temporary(tmp_path, steady_machine):
    out = tmp_path / "out"
    out.mkdir()
    (out / ".part-dead-s0-x.tmp").write_bytes(b"half a file from a killed run")
    assert main(["sweep", *TINY, "--out", str(out)]) == 0
    assert not list(Path(out).glob(".*.tmp"))


def test_every_command_works_on_the_rest_of_a_folder_with_damaged_files(tmp_path, capsys):
    """Issue 21, item 7: a zero-byte part, a truncated drift-check file, a corrupt run record and
    calibration each cost only themselves, in one line naming them."""
    from factories import grid, make_rows, write_rows

    folder = write_rows(tmp_path / "f", make_rows(grid(D=[4, 64]), ("forward", "reverse")))
    (folder / "part-zero-s0.parquet").write_bytes(b"")
    (folder / "_stability").mkdir()
    (folder / "_stability" / "cut-s0.parquet").write_bytes(b"PAR1\0\0")
    (folder / "_runs").mkdir()
    (folder / "_runs" / "broken.json").write_text('{"run_id": ')
    (folder / "_calibration-broken-s0.json").write_text("[]]")
    assert main(["status", str(folder)]) == 0
    captured = capsys.readouterr()
    assert "run run-1 on testhost: 4 rows" in captured.out
    assert "Traceback" not in captured.err
    for name in ("part-zero-s0.parquet", "cut-s0.parquet", "broken.json"):
        assert sum(name in line for line in captured.err.splitlines()) == 1, captured.err
    assert main(["report", str(folder)]) == 0
    assert "_calibration-broken-s0.json" in capsys.readouterr().err
    assert main(["compare", str(folder), str(folder)]) == 0
    assert main(["plot", str(folder)]) == 0


def test_a_point_locked_by_a_stopped_process_is_waited_on_then_skipped_not_hung(
        tmp_path, steady_machine):
    """Issue 21, item 9: a lock held by a stopped (SIGSTOP) process costs ``lock_wait``, said
    in a line naming the holder, then the point is skipped with a line; nothing hangs."""
    import io
    import json
    import threading

    from jacbench.run.spec import build_spec

    out = tmp_path / "out"
    out.mkdir()
    spec = build_spec({"lock_wait": 1, "stability_points": 0, "modes": ["forward"],
                       "rounds": 1, "min_run_time": 0.002},
                      {"L": [1], "D": [2], "K": [2], "P": [2]})
    (point,) = spec.points
    holder = subprocess.Popen(
        [sys.executable, "-c", "import json, os, signal, sys\n"
         "from pathlib import Path\n"
         "from jacbench.results.run_writer import mark_holder, point_lock\n"
         f"lock = point_lock(Path({str(out)!r}), json.loads({json.dumps(point.key())!r}))\n"
         "lock.acquire()\nmark_holder(lock)\nprint('held', flush=True)\n"
         "os.kill(os.getpid(), signal.SIGSTOP)\n"],
        stdout=subprocess.PIPE, text=True)
    said = io.StringIO()
    try:
        assert holder.stdout.readline().strip() == "held"
        outcomes: list[sweep.SweepOutcome] = []
        thread = threading.Thread(target=lambda: outcomes.append(
            sweep.run_sweep(spec, out, progress=False, stream=said)), daemon=True)
        thread.start()
        thread.join(timeout=120)
        assert outcomes, "the sweep hung on a lock held by a stopped process"
    finally:
        holder.kill()
        holder.wait()
    lines = said.getvalue().splitlines()
    waiting = [line for line in lines if line.startswith("waiting up to")]
    assert len(waiting) == 1 and f"pid {holder.pid} on" in waiting[0], lines
    skipped = [line for line in lines if line.startswith("skipped")]
    assert len(skipped) == 1 and "still held" in skipped[0] and point.label() in skipped[0]
    assert outcomes[0].new_rows == 0 and read_results(out).empty


REPOSITORY = Path(__file__).parents[1]


@pytest.mark.parametrize("how", ["marker", "git", "shipped"])
def test_a_sweep_never_writes_into_or_resumes_from_a_folder_the_repository_ships(
        tmp_path, capsys, no_measuring, how):
    """Issue 21, item 8: `make sweep` on a host named like the one of a committed run resumed
    that run and measured nothing; a shipped folder is refused in one line (exit 2)."""
    if how == "shipped":  # the committed run the issue resumed, as it is in the repository
        out = REPOSITORY / "results" / "default-vm-cpu"
    else:
        out = tmp_path / "repo" / "results" / "ref"
        folder_with_results(out)
        if how == "marker":
            (out / "_shipped").write_text("reference run\n")
        else:
            subprocess.run(["git", "init", "-q", str(tmp_path / "repo")], check=True)
            subprocess.run(["git", "-C", str(tmp_path / "repo"), "add", "results"], check=True)
    before = snapshot(out)
    for flags in ([], ["--shards", "2"]):
        assert main(["sweep", *TINY, "--out", str(out), *flags]) == 2
        line = one_line(capsys.readouterr().err)
        assert "the repository ships" in line and "--out" in line
    assert snapshot(out) == before


def test_the_repository_marks_every_folder_it_ships():
    folders = [p for p in (REPOSITORY / "results").iterdir() if p.is_dir()]
    assert folders and all((p / "_shipped").is_file() for p in folders)
    assert "/runs/" in (REPOSITORY / ".gitignore").read_text().split()
