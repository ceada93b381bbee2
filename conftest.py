"""Which folders a pytest run collects.

pyproject's testpaths name both tests/ and benchmarks/, so that ``pytest --benchmark-only`` from
the repository root finds the benchmarks. This hook keeps the two apart:

- benchmarks/ is collected only for a benchmark run (``--benchmark-only``, ``--benchmark-enable``,
  ``--benchmark-disable``, ``--benchmark-json``, ``--benchmark-save``, ``--benchmark-autosave``)
  or when named on the command line (``pytest benchmarks``): plain ``pytest`` times nothing;
- tests/ is not collected under ``--benchmark-only`` (pytest-benchmark would skip every test in it
  anyway) unless named on the command line.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).parent
BENCHMARKS = ROOT / "benchmarks"
TESTS = ROOT / "tests"

BENCHMARK_RUN_OPTIONS = (
    "benchmark_only",
    "benchmark_enable",
    "benchmark_disable",
    "benchmark_json",
    "benchmark_save",
    "benchmark_autosave",
)


def _named_on_command_line(config: pytest.Config, folder: Path) -> bool:
    """Whether an argument of this run is ``folder`` or lies inside it."""
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        return False
    cwd = config.invocation_params.dir
    for arg in config.args:
        path = (cwd / arg.split("::")[0]).resolve()
        if path.is_relative_to(folder.resolve()):
            return True
    return False


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if collection_path.is_relative_to(BENCHMARKS):
        benchmark_run = any(config.getoption(name, default=None) for name in BENCHMARK_RUN_OPTIONS)
        collect = benchmark_run or _named_on_command_line(config, BENCHMARKS)
    elif collection_path.is_relative_to(TESTS):
        benchmark_only = config.getoption("benchmark_only", default=False)
        collect = not benchmark_only or _named_on_command_line(config, TESTS)
    else:
        return None
    return None if collect else True


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``cuda`` skip cleanly where torch sees no CUDA device: the one place that
    decides it, for tests/ and benchmarks/ alike."""
    if not any(item.get_closest_marker("cuda") for item in items):
        return
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if item.get_closest_marker("cuda"):
            item.add_marker(skip)
