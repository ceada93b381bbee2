"""The collector pause around bulk building leaves the collector as it found it."""

import gc

import pytest

from jacbench.run.bulk import collector_paused


@pytest.mark.parametrize("enabled", [True, False])
def test_the_collector_is_paused_inside_and_restored_after(enabled):
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert gc.isenabled() is enabled
        with pytest.raises(RuntimeError), collector_paused():
            raise RuntimeError("an error while building")
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()
