"""The status of a sharded run from the spec its record keeps: each shard's points are the ones
its own command measures, what is done and what to resubmit are said per shard, and a record of
an older jacbench (no spec) gets one line, never a parse of its command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from factories import result_row

from jacbench.cli import main
from jacbench.results.folder import read_results, run_tag, write_run_record
from jacbench.results.run_record import RunRecord
from jacbench.results.run_writer import RunWriter
from jacbench.run.shard import Shard
from jacbench.run.spec import SweepSpec, build_spec
from jacbench.run.status import run_status, shard_specs
from jacbench.run.sweep import slice_of

CONFIG = {"modes": ["forward", "reverse"], "stability_points": 1,
          "grid": [{"L": [1], "D": [1, 2, 3, 4, 5], "K": [2], "P": [2]},
                   {"L": [2], "D": [6], "K": [2], "P": [2], "extra_modes": ["jacrev"]}]}
#: Deliberately not a sweep command: status must not parse it, only print it to resubmit.
ARGV = ["--not-a-flag"]


def record(devices: list[str | None], shards: int = 3, **changes: object) -> RunRecord:
    spec = build_spec(CONFIG, devices=tuple(d or "cpu" for d in devices))
    fields = {"spec": spec.to_data(), **changes}
    return RunRecord("r1", ARGV, shards, {"executor": "local"}, ["1", "2", "3"],
                     "2026-01-01T00:00:00Z", devices, **fields)  # type: ignore[arg-type]


def test_the_spec_round_trips_through_its_data() -> None:
    spec = build_spec(CONFIG, devices=("cpu", "cuda:0"))
    assert SweepSpec.from_data(json.loads(json.dumps(spec.to_data()))) == spec
    assert spec.extra_modes  # the extra modes of a grid are kept too


@pytest.mark.parametrize("devices", [["cpu"], ["cpu", "cuda:0"], [None]])
def test_each_shards_points_are_those_its_own_command_builds(devices) -> None:
    found = shard_specs(record(devices))
    assert found is not None and len(found) == 3
    for index, spec in enumerate(found):
        device = devices[index % len(devices)]
        own = build_spec(CONFIG, devices=(device,) if device else ("cpu",))
        assert spec == slice_of(own, Shard(index, 3))


def measured(folder: Path, spec: SweepSpec, shard: int, status: str = "ok") -> None:
    writer = RunWriter(folder, run_tag("r1", shard))
    writer.write([result_row(**p.key(), mode=m, status=status, run_id="r1", shard=shard)
                  for p in spec.points for m in spec.modes_at(p)])


def test_status_says_what_each_shard_lacks_from_the_stored_spec(tmp_path, capsys) -> None:
    kept = record(["cpu"], shards=2)
    write_run_record(tmp_path, kept)
    first, second = shard_specs(kept)
    measured(tmp_path, first, 0)
    measured(tmp_path, second, 1, status="error")
    found = run_status(read_results(tmp_path), kept)
    assert [(s.done, s.points, s.failed, s.state) for s in found] == [
        (len(first.points), len(first.points), 0, "complete"),
        (0, len(second.points), len(second.points), "incomplete")]
    assert main(["status", str(tmp_path)]) == 1
    said = capsys.readouterr().out
    assert f"shard 0: {len(first.points)}/{len(first.points)} points done" in said
    assert "--not-a-flag --shards 2 --only-shards 1 --run-id r1" in said
    measured(tmp_path, second, 1)
    assert main(["status", str(tmp_path)]) == 0
    assert "resubmit" not in capsys.readouterr().out


def test_a_record_without_a_spec_is_one_line_and_the_command_for_every_shard(
        tmp_path, capsys) -> None:
    write_run_record(tmp_path, record(["cpu"], shards=2, spec=None))
    assert main(["status", str(tmp_path)]) == 0
    said = capsys.readouterr().out.splitlines()
    assert said[0].startswith("run r1 (2 shards, local")
    assert "keeps no spec" in said[1] and len(said) == 3
    assert "--only-shards 0,1 --run-id r1" in said[2]
