"""Shared test configuration: hypothesis profiles.

pytest's default (prepend) import mode puts tests/ on sys.path, so test modules import the
test-side helpers as ``from reference import ...``.

Profiles: "ci" (default) is small, derandomized and has no deadline, so the suite is quick and
gives the same examples on every run; ``HYPOTHESIS_PROFILE=thorough pytest`` draws many more.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile(
    "ci", max_examples=40, deadline=None, derandomize=True, database=None, print_blob=True
)
settings.register_profile("thorough", max_examples=500, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
