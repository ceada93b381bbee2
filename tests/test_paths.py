"""One cache root for the whole of jacbench: $JACBENCH_CACHE first, then the XDG cache, and both
of its users (the native kernel's build, the advisor's cached calibration) keep their files
under it."""

from __future__ import annotations

from pathlib import Path

import pytest

from jacbench.paths import cache_root


def test_the_cache_root_honours_jacbench_cache_then_xdg_then_home(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JACBENCH_CACHE", str(tmp_path / "mine"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "mine"
    monkeypatch.delenv("JACBENCH_CACHE")
    assert cache_root() == tmp_path / "xdg" / "jacbench"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_root() == tmp_path / "home" / ".cache" / "jacbench"


def test_the_native_kernel_and_the_advisor_both_cache_under_jacbench_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from jacbench.modes import native_library
    from jacbench.run import advise_cache

    monkeypatch.setenv("JACBENCH_CACHE", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "elsewhere"))
    assert native_library.cache_folder() == tmp_path / "native"
    assert advise_cache.cache_path("cpu", "float32").parent == tmp_path
