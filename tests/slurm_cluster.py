"""A real one-node SLURM for the cluster tests: munge and slurm's daemons started in a private
folder with a minimal slurm.conf, and stopped again; no system file is touched.

It needs Debian's ``slurm-wlm`` and ``munge`` and root (slurmd runs jobs as their user and
SlurmUser is root here). ``why_not()`` says in one line what is missing, so the tests can skip
with the reason; CI installs the packages and sets ``JACBENCH_REQUIRE_SLURM=1``, which turns that
skip into a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["OneNodeSlurm", "why_not"]

_PROGRAMS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scancel")


def why_not() -> str | None:
    """Why a one-node SLURM cannot be started here, or None when it can."""
    missing = [p for p in _PROGRAMS if shutil.which(p) is None]
    if missing:
        return f"SLURM not installed (no {', '.join(missing)}; apt-get install slurm-wlm munge)"
    if os.geteuid() != 0:
        return "starting slurmd needs root"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _memory_mb() -> int:
    with open("/proc/meminfo") as f:
        kib = int(next(line for line in f if line.startswith("MemTotal")).split()[1])
    return max(kib // 1024 - 512, 256)


@dataclass
class OneNodeSlurm:
    """One node with every CPU of this machine in one default partition named ``debug``."""

    root: Path
    cpus: int = field(default_factory=lambda: os.cpu_count() or 1)
    partition: str = "debug"
    processes: list[subprocess.Popen] = field(default_factory=list)

    @property
    def conf(self) -> Path:
        return self.root / "slurm.conf"

    @property
    def env(self) -> dict[str, str]:
        """What a client (sbatch, squeue, submitit) needs to reach this cluster."""
        return {"SLURM_CONF": str(self.conf)}

    def _write_config(self) -> None:
        host = socket.gethostname().split(".")[0]
        munge = self.root / "munge"
        for sub in ("munge", "state", "spool", "log"):
            (self.root / sub).mkdir(mode=0o700, parents=True, exist_ok=True)
        (munge / "munge.key").write_bytes(os.urandom(1024))
        (munge / "munge.key").chmod(0o400)
        port = _free_port()
        self.conf.write_text("\n".join([
            "ClusterName=jacbench-test", f"SlurmctldHost={host}", "SlurmUser=root",
            f"SlurmctldPort={port}", f"SlurmdPort={_free_port()}",
            "AuthType=auth/munge", f"AuthInfo=socket={munge / 'socket'}",
            "CredType=cred/munge", "ProctrackType=proctrack/linuxproc", "TaskPlugin=task/none",
            "SelectType=select/cons_tres", "SelectTypeParameters=CR_Core",
            f"StateSaveLocation={self.root / 'state'}", f"SlurmdSpoolDir={self.root / 'spool'}",
            f"SlurmctldPidFile={self.root / 'slurmctld.pid'}",
            f"SlurmdPidFile={self.root / 'slurmd.pid'}",
            f"SlurmctldLogFile={self.root / 'log' / 'slurmctld.log'}",
            f"SlurmdLogFile={self.root / 'log' / 'slurmd.log'}",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            "ReturnToService=2", "MpiDefault=none", "SchedulerType=sched/backfill",
            "SlurmdTimeout=30", "InactiveLimit=0", "KillWait=5", "MinJobAge=300",
            f"NodeName={host} CPUs={self.cpus} RealMemory={_memory_mb()} State=UNKNOWN",
            f"PartitionName={self.partition} Nodes={host} Default=YES MaxTime=INFINITE "
            "State=UP OverSubscribe=NO", ""]))

    def start(self, timeout_s: float = 30.0) -> None:
        """Start munged, slurmctld and slurmd; wait until the node takes jobs."""
        self._write_config()
        munge = self.root / "munge"
        self._spawn(["munged", "--force", "--foreground", f"--socket={munge / 'socket'}",
                     f"--key-file={munge / 'munge.key'}", f"--pid-file={munge / 'munged.pid'}",
                     f"--seed-file={munge / 'seed'}",
                     f"--log-file={self.root / 'log' / 'munged.log'}"])
        self._spawn(["slurmctld", "-D", "-i", "-f", str(self.conf)])
        self._spawn(["slurmd", "-D", "-f", str(self.conf)])
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            state = self.run(["sinfo", "-h", "-o", "%t"], check=False).stdout.strip()
            if state in ("idle", "mix", "alloc"):
                return
            if any(p.poll() is not None for p in self.processes):
                break
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"one-node SLURM did not come up; logs in {self.root / 'log'}")

    def _spawn(self, argv: list[str]) -> None:
        log = open(self.root / "log" / f"{argv[0]}.out", "ab")  # noqa: SIM115 (kept open)
        self.processes.append(subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                               env={**os.environ, **self.env}))

    def run(self, argv: list[str], check: bool = True) -> subprocess.CompletedProcess:
        """A SLURM client command against this cluster."""
        return subprocess.run(argv, capture_output=True, text=True, check=check,
                              env={**os.environ, **self.env}, timeout=60)

    def stop(self) -> None:
        """Cancel what is left and stop the daemons, slurmd first."""
        self.run(["scancel", "--full", "--user", "root"], check=False)
        for process in reversed(self.processes):
            process.terminate()
        for process in reversed(self.processes):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes.clear()
