"""What a sharded run submits through submitit: on SLURM one job array with the user's
parameters (tested against a fake sbatch: there is no cluster here), one command per shard."""

from __future__ import annotations

import os
import pickle
import stat
from pathlib import Path

import pytest

from jacbench.results.folder import read_run_records
from jacbench.run.submit import ClusterOptions, run_shard, shard_argv, submit_shards, wait


@pytest.fixture
def fake_slurm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """srun and sbatch on PATH; sbatch copies the script it is given and answers a job id."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    scripts = tmp_path / "submitted"
    scripts.mkdir()
    (bin_dir / "srun").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "sbatch").write_text(
        f'#!/bin/sh\nfor last; do :; done\ncp "$last" {scripts}/job.sh\n'
        'echo "Submitted batch job 4242"\n')
    for tool in ("srun", "sbatch"):
        (bin_dir / tool).chmod(stat.S_IRWXU)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return scripts


def test_slurm_gets_one_array_with_the_users_parameters(tmp_path, fake_slurm):
    out = tmp_path / "out"
    out.mkdir()
    options = ClusterOptions(executor="slurm", partition="gpu", gpus_per_task=1, time_min=90,
                             account="proj", constraint="h100", parallel=3, cpus_per_task=8,
                             exclusive=True)
    argv = ["--preset", "quick", "--out", str(out)]
    jobs = submit_shards(out, argv, [0, 1, 2], 3, "run42", options, [None])
    assert [j.job_id for j in jobs] == ["4242_0", "4242_1", "4242_2"]
    script = (fake_slurm / "job.sh").read_text()
    for line in ("--array=0-2%3", "--partition=gpu", "--gpus-per-task=1", "--time=90",
                 "--account=proj", "--constraint=h100", "--job-name=jacbench",
                 "--cpus-per-task=8", "--exclusive"):
        assert f"#SBATCH {line}" in script, line
    assert str(out / "_jobs") in script  # the logs stay in the results folder's _jobs
    commands = []
    for pickled in sorted((out / "_jobs").glob("*_submitted.pkl")):
        delayed = pickle.loads(pickled.read_bytes())
        assert delayed.function is run_shard
        commands.append(delayed.args[0])
        assert delayed.args[1] == {"JACBENCH_SLURM_EXCLUSIVE": "1"}  # the task knows it asked
    assert commands == [shard_argv(argv, i, 3, "run42") for i in range(3)]
    (record,) = read_run_records(out)
    assert (record.run_id, record.shards, record.job_ids) == ("run42", 3,
                                                              ["4242_0", "4242_1", "4242_2"])


def test_a_shards_command_is_the_users_sweep_with_its_slice_and_device():
    assert shard_argv(["--D", "4"], 1, 3, "r", "cuda:1") == [
        "--D", "4", "--shard", "1/3", "--run-id", "r", "--yes", "--device", "cuda:1"]


def test_local_shards_run_at_most_parallel_at_once_each_on_its_device(tmp_path):
    class FakeJob:
        def __init__(self, n: int, argv: list[str]) -> None:
            self.job_id, self.argv = str(n), argv

    class FakeExecutor:
        def __init__(self) -> None:
            self.submitted: list[FakeJob] = []

        def submit(self, fn, argv):
            self.submitted.append(FakeJob(len(self.submitted), argv))
            return self.submitted[-1]

    executor, batches = FakeExecutor(), []
    options = ClusterOptions(executor="local", parallel=2)
    submit_shards(tmp_path, ["--D", "4"], [0, 1, 2], 3, "r", options, ["cuda:0", "cuda:1"],
                  executor=executor, between=lambda batch: batches.append(
                      [j.argv[-1] for j in batch]))
    assert batches == [["cuda:0", "cuda:1"], ["cuda:0"]]


def test_a_shared_node_is_not_asked_for_whole():
    params = ClusterOptions(executor="slurm", cpus_per_task=2).parameters()
    assert params["slurm_cpus_per_task"] == 2 and "slurm_exclusive" not in params
    assert ClusterOptions(executor="slurm").task_environment() == {
        "JACBENCH_SLURM_EXCLUSIVE": "0"}


def test_the_last_progress_line_counts_after_every_job_ended_and_polling_noise_goes_to_the_log(
        tmp_path, capfd):
    class Job:
        """Ends on its third poll; each poll prints what sacct prints where accounting is off."""

        job_id, polls = "7_0", 0

        def done(self) -> bool:
            os.system("echo 'Slurm accounting storage is disabled' >&2")
            self.polls += 1
            return self.polls >= 3

        def result(self) -> int:
            return 0

    counts = iter([1, 2, 4])  # the last task's points land as it ends
    said: list[str] = []
    failures = wait([Job()], lambda: next(counts), 4, said.append, every_s=0, log=tmp_path)
    assert failures == []
    assert said[-1] == "jacbench: 4/4 points done across 1 shards, every job ended"
    assert "accounting" not in capfd.readouterr().err
    assert (tmp_path / "scheduler.log").read_text().count("accounting storage is disabled") == 3
