"""render.summary: the terminal table at the end of a sweep, points labelled by point_label."""

from __future__ import annotations

from factories import flop_time, frame_of, grid, make_rows

from jacbench.render.summary import format_summary
from jacbench.results.point import point_label
from jacbench.results.schema import Role, Status


def test_modes_are_rows_and_points_are_columns_right_aligned() -> None:
    rows = (make_rows(grid(D=[2]), ("forward",), time=lambda m, p: 2e-5)
            + make_rows(grid(D=[2]), ("reverse",), time=lambda m, p: 3.5e-3, noisy=True)
            + make_rows(grid(D=[8]), ("forward",), status=Status.SKIPPED, reason="slow")
            + make_rows(grid(D=[8]), ("reverse",), time=lambda m, p: 1.5,
                        status=Status.UNHEALTHY))
    text = format_summary(frame_of(rows))
    lines = text.splitlines()
    assert lines[0].startswith("[ cpu float32: AMD EPYC test ]")
    assert "IQR > 10% of median" in lines[0]
    small, large = point_label(grid(D=[2])[0]), point_label(grid(D=[8])[0])
    assert small == "L=4 D=2 K=128 P=64 N=1"
    header = next(line for line in lines if small in line)
    forward = next(line for line in lines if line.startswith("forward"))
    reverse = next(line for line in lines if line.startswith("reverse"))
    assert header.index(small) < header.index(large)
    # Each cell ends where its point's label ends; '*' marks noisy and unhealthy medians.
    for label, line, cell in ((small, forward, "20 us"), (large, forward, "skipped"),
                              (small, reverse, "3.5 ms*"), (large, reverse, "1.5 s*")):
        assert line.index(cell) + len(cell) == header.index(label) + len(label), cell
    status = lines[-1]
    assert set(status[len("status: "):].split(", ")) == {"2 ok", "1 skipped", "1 unhealthy"}


def test_varying_context_goes_into_the_label() -> None:
    rows = make_rows(grid(), ("forward",), time=lambda m, p: 2e-5) + make_rows(
        grid(), ("forward",), time=lambda m, p: 7e-3, activation="relu")
    text = format_summary(frame_of(rows))
    assert "activation=relu" in text and "activation=tanh" in text
    assert "20 us" in text and "7 ms" in text


def test_health_and_stability_of_the_run() -> None:
    rows = make_rows(grid(D=[8, 16]), retries=1) + make_rows(
        grid(D=[32]), status=Status.UNHEALTHY, retries=3)
    rows += make_rows(grid(), role=Role.STABILITY_START)
    rows += make_rows(grid(), role=Role.STABILITY_END, time=lambda m, p: flop_time(m, p) * 1.04)
    text = format_summary(frame_of(rows), "run-1")
    assert ("health: 3 of 3 points re-run after a slow speed probe (5 re-runs); "
            "2 rows recorded unhealthy") in text
    assert "stability: medians reproduced within 4.0%" in text
    assert "stability" not in format_summary(frame_of(rows))  # no run named


def test_no_sweep_rows() -> None:
    assert format_summary(frame_of(make_rows(grid(), role=Role.STABILITY_START))) == (
        "no sweep rows")
