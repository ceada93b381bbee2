"""A damaged native-kernel cache is rebuilt, never loaded (issue 21, item 2): a truncated
library mapped by the loader ends the process with SIGBUS, so damaged files are tried in a
child process first; a cache root that is a file makes the native modes unavailable and
leaves every other mode running."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from jacbench.modes import native_library
from jacbench.results.folder import read_results

REPO = Path(__file__).resolve().parents[2]
# Loads the kernel and computes one native Jacobian; prints ok.
USE_KERNEL = ("import torch, jacbench; net = jacbench.MLP.random(2, 3, 4, 2); "
              "print(jacbench.jacobian(net, torch.ones(3), mode='reverse-native').shape, 'ok')")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A good build, in a cache of its own, to be copied and damaged."""
    root = tmp_path_factory.mktemp("good-cache")
    before = os.environ.get("JACBENCH_CACHE")
    os.environ["JACBENCH_CACHE"] = str(root)
    try:
        native_library._build(native_library._compiler())
    finally:
        if before is None:
            del os.environ["JACBENCH_CACHE"]
        else:
            os.environ["JACBENCH_CACHE"] = before
    return root


def run(code: str, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "JACBENCH_CACHE": str(cache), "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=300, cwd=REPO)


def damage(library: Path, how: str) -> None:
    data = library.read_bytes()
    if how == "truncated":
        library.write_bytes(data[: len(data) // 3])
    elif how == "garbage":
        library.write_bytes(b"not an ELF file " * 64)
    elif how == "empty":
        library.write_bytes(b"")
    else:  # a build from before check files, or killed between the two writes
        library.with_suffix(".check").unlink()


@pytest.mark.parametrize("how", ["truncated", "garbage", "empty", "unvouched"])
def test_a_damaged_build_is_rebuilt_with_one_line(built: Path, tmp_path: Path, how: str) -> None:
    cache = tmp_path / "cache"
    shutil.copytree(built, cache)
    (library,) = (cache / "native").glob("*.so")
    damage(library, how)
    done = run(USE_KERNEL, cache)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr
    said = [line for line in done.stderr.splitlines() if "rebuilding" in line]
    assert len(said) == 1 and str(library) in said[0]
    assert library.read_bytes() == next((built / "native").glob("*.so")).read_bytes()
    again = run(USE_KERNEL, cache)  # put right: no line the second time
    assert again.returncode == 0 and "rebuilding" not in again.stderr


def test_a_vouched_for_library_that_does_not_load_is_rebuilt(
        built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    cache = tmp_path / "cache"
    shutil.copytree(built, cache)
    (library,) = (cache / "native").glob("*.so")
    library.write_bytes(b"garbage")
    library.with_suffix(".check").write_text(native_library._fingerprint(library))
    monkeypatch.setenv("JACBENCH_CACHE", str(cache))
    native_library._load.cache_clear()
    try:
        assert native_library.kernel().path == library
    finally:
        native_library._load.cache_clear()
    assert "does not load" in capsys.readouterr().err


def test_a_cache_root_that_is_a_file_makes_only_the_native_modes_unavailable(
        tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "jacbench", "sweep", "--L", "2", "--D", "3", "--K", "4", "--P",
         "2", "--modes", "forward", "reverse-native", "--rounds", "1", "--min-run-time", "0.002",
         "--no-progress", "--no-report", "--out", str(out), "--yes"],
        capture_output=True, text=True, timeout=600, cwd=REPO,
        env={**os.environ, "JACBENCH_CACHE": str(blocker), "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    table = read_results(out)
    assert set(table.loc[table["mode"] == "forward", "status"]) <= {"ok", "unhealthy"}  # measured
    native = table[table["mode"] == "reverse-native"]
    assert len(native) and set(native["status"]) == {"unavailable"}
    assert all(str(blocker) in r and "JACBENCH_CACHE" in r for r in native["reason"])
