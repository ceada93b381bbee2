"""What a results folder keeps of a sharded run that was submitted: its record, as JSON.

The record says what was submitted (the sweep's flags, the shards, the executor's options, the
jobs, the devices the shards were dealt) and the run's resolved spec as data (its points, the
modes at each, its settings), so that ``python -m jacbench status`` can tell what each shard
still lacks without parsing a command line again. ``jacbench.results.folder`` says where the
file lives and writes it; this module only turns a record into JSON and back.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["RunRecord", "record_from_json", "record_to_json"]


@dataclass(frozen=True)
class RunRecord:
    """What was submitted for a sharded run: enough to say what is missing and resubmit it."""

    run_id: str
    argv: list[str]  # the sweep flags, without the cluster ones: what a resubmission repeats
    shards: int
    options: dict[str, Any]
    job_ids: list[str]
    submitted_at: str
    devices: list[str | None] = field(default_factory=lambda: [None])  # shard i: [i % len]
    #: The resolved spec as data (``jacbench.run.spec.spec_to_data``); None in the records of
    #: runs submitted before records kept it.
    spec: dict[str, Any] | None = None


def record_to_json(record: RunRecord) -> str:
    return json.dumps(asdict(record), indent=1)


def record_from_json(text: str) -> RunRecord:
    """A record written by ``record_to_json``, or by an older jacbench (no spec); ValueError
    for text that is not one (damaged, or edited by hand)."""
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("not a run record: a JSON object was expected")
    record = RunRecord(**data)
    if not (isinstance(record.run_id, str) and isinstance(record.argv, list)
            and isinstance(record.shards, int) and record.shards >= 1
            and isinstance(record.options, dict) and isinstance(record.devices, list)
            and (record.spec is None or isinstance(record.spec, dict))):
        raise ValueError("not a run record: a field holds the wrong type")
    return record
