"""render.words: a prediction's dominant term as a sentence, one case for each term."""

from __future__ import annotations

import dataclasses

import pytest

from jacbench.render.words import sentence, words
from jacbench.theory.shape import Shape
from jacbench.theory.time_model import MachineModel, ModeOverhead, predict_at

#: 1 us a call, 100 GFLOP/s at any shape, 1 G elements/s, 10 GB/s at every working set.
FLAT = MachineModel(dispatch_s=1e-6, peak_flops=1e11, gemm_half_dim=0.0, sync_s=0.0,
                    elementwise_rate=1e9, bandwidth=((1e6, 1e10),))
FREE_CALLS = dataclasses.replace(FLAT, dispatch_s=1e-9)


@pytest.mark.parametrize(("mode", "shape", "model", "said"), [
    ("reverse", Shape(1, 1, 1, 1), dataclasses.replace(
        FLAT, overheads={"reverse": ModeOverhead(3e-6, 2e-6)}),
     "reverse: 4 framework calls at 2 us each + 3 us fixed, overhead-bound"),
    ("forward", Shape(2, 8, 16, 8), dataclasses.replace(FREE_CALLS, sync_s=1e-3, sync_flops=1.0),
     "forward: 2 thread-parallel products and kernels at 1e+03 us each to start, join and hand "
     "over, sync-bound"),
    ("reverse", Shape(2, 8, 64, 64, 16), dataclasses.replace(FREE_CALLS, elementwise_rate=1e6),
     "reverse: scales 133 kelements at 1 Melements/s"),
    ("jacrev", Shape(2, 64, 64, 64, 32), dataclasses.replace(FREE_CALLS, bandwidth=((1e3, 1e6),)),
     "jacrev: moves 6.37 MB of activations, tangents and adjoints at 1 MB/s, memory-bound"),
    ("reverse", Shape(1, 1000, 1000, 1), FLAT,
     "reverse: reads 4 MB of weights twice, memory-bound at 10 GB/s"),
])
def test_each_dominant_term_is_said_with_its_numbers(mode: str, shape: Shape,
                                                     model: MachineModel, said: str) -> None:
    p = predict_at(mode, shape, model)
    assert sentence(p) == said
    assert words(p) == said.removeprefix(f"{mode}: ")
