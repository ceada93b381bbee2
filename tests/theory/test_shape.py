"""theory.shape: every count of a shape against a hand count, and sizes that are refused."""

from __future__ import annotations

import dataclasses

import pytest

from jacbench.results.point import Point
from jacbench.theory.cost import cost, cost_at
from jacbench.theory.operations import operations, operations_at
from jacbench.theory.shape import Shape
from jacbench.theory.time_model import MachineModel, predict, predict_at

FLAT = MachineModel(dispatch_s=1e-6, peak_flops=1e11, gemm_half_dim=0.0, sync_s=0.0,
                    elementwise_rate=1e9, bandwidth=((1e6, 1e10),))


def test_the_counts_of_a_small_shape_by_hand() -> None:
    s = Shape(L=3, D=2, K=5, P=4)
    assert s.N == 1
    assert s.dims == (2, 5, 5, 5, 4)
    assert s.weights == 2 * 5 + 2 * 25 + 4 * 5 == 80
    assert (s.inputs, s.outputs, s.jacobian) == (2, 4, 8)
    assert (s.layer, s.activations) == (5, 15)
    assert (s.tangent, s.adjoint) == (5 * 2, 4 * 5)


def test_the_batch_multiplies_every_count_but_the_weights() -> None:
    one, three = Shape(3, 2, 5, 4), Shape(3, 2, 5, 4, N=3)
    assert three.weights == one.weights and three.dims == one.dims
    for count in ("inputs", "outputs", "jacobian", "layer", "activations", "tangent", "adjoint"):
        assert getattr(three, count) == 3 * getattr(one, count), count


def test_the_weights_are_the_sum_over_the_layer_sizes() -> None:
    for s in (Shape(1, 7, 3, 2), Shape(4, 3, 8, 5, 2), Shape(2, 1, 1, 1)):
        d = s.dims
        assert s.weights == sum(d[i] * d[i + 1] for i in range(len(d) - 1))


@pytest.mark.parametrize(("sizes", "name"), [
    ({"L": 0}, "L"), ({"D": -1}, "D"), ({"K": 1.5}, "K"), ({"P": True}, "P"),
    ({"N": 0}, "N \\(batch\\)"), ({"L": "3"}, "L"),
])
def test_sizes_that_are_not_positive_integers_are_refused(sizes: dict, name: str) -> None:
    with pytest.raises(ValueError, match=f"^{name} must be a positive integer, got "):
        Shape(**{"L": 2, "D": 3, "K": 4, "P": 5, "N": 1, **sizes})


def test_a_shape_is_frozen_and_a_key() -> None:
    s = Shape(2, 3, 4, 5, 6)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.L = 3  # type: ignore[misc]
    assert {s: 1}[Shape(2, 3, 4, 5, 6)] == 1


def test_a_point_carries_its_shape() -> None:
    point = Point("cpu", "float64", "tanh", False, L=3, D=2, K=5, P=4, batch=7, seed=9)
    assert point.shape == Shape(3, 2, 5, 4, 7)
    assert dataclasses.asdict(point).keys() == point.key().keys()  # no new field


@pytest.mark.parametrize("mode", ["forward", "reverse", "chain", "jacrev", "reverse-native"])
def test_the_loose_number_forms_are_the_shape_forms(mode: str) -> None:
    s = Shape(3, 6, 5, 4, 2)
    assert cost(mode, 3, 6, 5, 4, 2, dtype_bytes=8) == cost_at(mode, s, dtype_bytes=8)
    assert operations(mode, 3, 6, 5, 4, batch=2) == operations_at(mode, s)
    assert predict(mode, 3, 6, 5, 4, 2, FLAT).seconds == predict_at(mode, s, FLAT).seconds
