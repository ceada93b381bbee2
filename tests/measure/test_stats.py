"""Statistics derived from raw times: median, IQR, noise flag, ratios within rounds."""

from __future__ import annotations

import pytest
import torch

from jacbench.measure.stats import RoundRobinTiming, Timing, ratio_within_rounds
from jacbench.results.schema import NOISE_THRESHOLD


def test_timing_statistics_on_hand_made_times() -> None:
    t = Timing(raw_times_s=(4.0, 1.0, 3.0, 2.0), number_per_run=7)
    assert t.repeats == 4
    assert t.median_s == 2.5
    assert t.iqr_s == 1.5  # q75 = 3.25, q25 = 1.75 (linear interpolation)
    values = torch.tensor(t.raw_times_s, dtype=torch.float64)  # the definition Measurement uses
    assert t.median_s == values.quantile(0.5).item()
    assert t.iqr_s == (values.quantile(0.75) - values.quantile(0.25)).item()
    assert t.noisy

    quiet = Timing(raw_times_s=(1.0, 1.0, 1.05, 1.0, 0.98), number_per_run=1)
    assert quiet.iqr_s / quiet.median_s <= NOISE_THRESHOLD
    assert not quiet.noisy
    assert Timing((5.0,), 1).iqr_s == 0.0


def test_timing_rejects_empty_or_zero_blocks() -> None:
    with pytest.raises(ValueError):
        Timing(raw_times_s=(), number_per_run=1)
    with pytest.raises(ValueError):
        Timing(raw_times_s=(1.0,), number_per_run=0)


def test_ratio_within_rounds_on_hand_made_rounds() -> None:
    def rr(*medians: float) -> RoundRobinTiming:
        return RoundRobinTiming(tuple(Timing((m,), 1) for m in medians))

    # a is 2x slower in every round although the machine drifted 10x between rounds
    assert ratio_within_rounds(rr(2.0, 20.0, 4.0), rr(1.0, 10.0, 2.0)) == 2.0
    with pytest.raises(ValueError):
        ratio_within_rounds(rr(1.0, 2.0), rr(1.0))
