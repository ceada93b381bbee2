"""A Record becomes one row in the schema: every identity column, derived figures, no strays."""

from __future__ import annotations

import pytest

from jacbench.measure.stats import RoundRobinTiming, Timing
from jacbench.results.point import Point
from jacbench.results.record import Outcome, Probes, Record, Theory
from jacbench.results.schema import KEY_COLUMNS, SCHEMA_VERSION, Role, Status
from jacbench.results.storage import to_table

POINT = Point(device="cpu", dtype="float32", activation="tanh", bias=False, L=2, D=3, K=4, P=5,
              batch=1, seed=7)
THEORY = Theory(macs=10, flops=20, bytes_moved=30, model_peak_bytes=40, peak_flops=1e9,
                peak_bandwidth=1e9, floor_s=2e-8)


def timing(*medians: float) -> RoundRobinTiming:
    return RoundRobinTiming(tuple(Timing((m, m), 3) for m in medians))


def test_a_timed_record_is_a_full_row() -> None:
    record = Record(Role.SWEEP, "reverse", POINT, Outcome(Status.OK, rel_error=1e-7), THEORY,
                    timing=timing(1e-6, 2e-6, 3e-6), probes=Probes(100.0, 90.0, 1),
                    readings={"load_avg_1m": 0.5}, min_run_time_s=0.1,
                    environment={"host": "here"})
    row = record.to_row()
    assert {k: row[k] for k in KEY_COLUMNS} == {"role": "sweep", "mode": "reverse", "L": 2,
                                                "D": 3, "K": 4, "P": 5, "batch": 1,
                                                "dtype": "float32", "device": "cpu",
                                                "activation": "tanh", "bias": False, "seed": 7}
    assert row["time_median_s"] == 2e-6 and row["rounds"] == 3 and row["repeats"] == 6
    assert row["efficiency"] == pytest.approx(2e-8 / 2e-6)
    assert (row["probe_before_gflops"], row["retries"], row["load_avg_1m"]) == (100.0, 1, 0.5)
    assert row["schema_version"] == SCHEMA_VERSION
    assert row["matmul_precision"] == "highest"  # every framework's products in float32
    assert to_table([row]).num_rows == 1  # every key is a schema column


def test_an_untimed_record_has_no_timing_columns() -> None:
    row = Record(Role.SWEEP, "jacrev", POINT, Outcome(Status.SKIPPED, "too slow"), THEORY
                 ).to_row()
    assert row["status"] == "skipped" and row["reason"] == "too slow"
    assert "time_median_s" not in row and "efficiency" not in row
    assert to_table([row]).column("time_median_s").to_pylist() == [None]


def test_an_unknown_status_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown status"):
        Outcome("fine")


def test_a_point_labels_itself_as_its_row_does() -> None:
    from jacbench.results.point import point_label

    assert POINT.label() == "L=2 D=3 K=4 P=5 N=1"
    assert point_label({**POINT.key(), "activation": "relu"}, extra=("activation",)) == (
        "L=2 D=3 K=4 P=5 N=1 activation=relu")
