"""Shared test configuration: hypothesis profiles and the fakes that stand in for the machine.

pytest's default (prepend) import mode puts tests/ on sys.path (this file's folder), so test
modules in any subfolder import the shared helpers as ``from factories import ...``.

Profiles: "ci" (default) is small, derandomized and has no deadline, so the suite is quick and
gives the same examples on every run; ``HYPOTHESIS_PROFILE=thorough pytest`` draws many more.

Tests marked ``cuda`` are skipped without a GPU by the repository's root conftest.py.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

settings.register_profile(
    "ci", max_examples=40, deadline=None, derandomize=True, database=None, print_blob=True
)
settings.register_profile("thorough", max_examples=500, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def steady_machine(monkeypatch: pytest.MonkeyPatch):
    """A sweep whose instruments are fakes (tests/fakes.py): fixed ceilings, a steady probe that
    a test may script, pauses recorded. Only the modes are really timed."""
    from fakes import FakeMachine

    from jacbench.run import sweep

    machine = FakeMachine()
    monkeypatch.setattr(sweep, "INSTRUMENTS", machine.instruments)
    monkeypatch.setattr(sweep, "ISOLATE", False)  # the fakes are closures: they stay here
    return machine


@pytest.fixture
def no_measuring(monkeypatch: pytest.MonkeyPatch):
    """Bad input must be refused before anything is measured: measuring fails the test."""
    from jacbench.run import sweep
    from jacbench.run.instruments import Instruments

    def refuse(*args: object, **kwargs: object) -> float:
        raise AssertionError("the sweep started measuring: the bad input was not caught")

    monkeypatch.setattr(sweep, "INSTRUMENTS", Instruments(ceilings=refuse, probe=refuse))


@pytest.fixture
def user_modes(monkeypatch: pytest.MonkeyPatch):
    """Users' modes registered by a test are forgotten after it: the catalogue, the registry
    and the plugins loaded are as they were (a crashing mode must not reach other tests)."""
    from jacbench import catalog
    from jacbench.modes import plugins, registry

    saved = [(t, dict(t)) for t in (catalog.CATALOG, catalog.ALGORITHMS, registry.MODES,
                                    registry.USER_FUNCTIONS, plugins._files)]
    monkeypatch.setattr(plugins, "_entry_points_loaded", False)
    yield
    for table, before in saved:
        table.clear()
        table.update(before)
