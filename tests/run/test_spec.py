"""Spec expansion: axis lists to a Cartesian grid, grid unions, overrides, presets, config files,
bad values, and the choice of stability reference points."""

from __future__ import annotations

import itertools
import json
import math
import re
from importlib import resources

import pytest

from jacbench.catalog import CATALOG, default_modes
from jacbench.results.point import AXES, Point
from jacbench.results.schema import Role
from jacbench.run.drift_points import stability_reference_points
from jacbench.run.settings import Settings
from jacbench.run.spec import (
    DEFAULT_AXES,
    SpecError,
    SweepSpec,
    build_spec,
    load_config,
    load_preset,
    preset_names,
)
from jacbench.run.steps import sweep_steps


def shapes(spec) -> list[tuple[int, ...]]:
    """The (L, D, K, P, batch) of every point, in order."""
    return [(p.L, p.D, p.K, p.P, p.batch) for p in spec.points]


def expected_shapes(config: dict) -> set[tuple[int, ...]]:
    """The union of the grids' products, written independently of build_spec."""
    out = set()
    for grid in config.get("grid") or [{}]:
        lists = [grid.get(a, [DEFAULT_AXES[a]]) for a in AXES]
        out |= set(itertools.product(*lists))
    return out


# --- the grid ------------------------------------------------------------------------------------


def test_axis_lists_expand_to_their_cartesian_product():
    config = {"grid": [{"L": [1, 2], "D": [3, 5, 7], "K": [4], "P": [1, 2], "batch": [1, 8]}]}
    spec = build_spec(config)
    assert len(spec.points) == 2 * 3 * 1 * 2 * 2
    assert set(shapes(spec)) == set(itertools.product([1, 2], [3, 5, 7], [4], [1, 2], [1, 8]))
    assert len(set(spec.points)) == len(spec.points)
    p = spec.points[0]
    assert (p.device, p.dtype, p.activation, p.bias, p.seed) == ("cpu", "float32", "tanh", False, 0)


def test_grids_union_without_duplicates_in_first_seen_order():
    config = {"grid": [
        {"L": [1], "D": [2, 3], "K": [4], "P": [5]},
        {"L": [1], "D": [3, 9], "K": [4], "P": [5]},  # (1, 3, 4, 5, 1) is in both grids
    ]}
    spec = build_spec(config)
    assert shapes(spec) == [(1, 2, 4, 5, 1), (1, 3, 4, 5, 1), (1, 9, 4, 5, 1)]


def test_repeated_axis_values_give_one_point():
    spec = build_spec({}, {"L": [1], "D": [2, 2], "K": [3], "P": [4, 4]})
    assert shapes(spec) == [(1, 2, 3, 4, 1)]


def test_repeated_dtypes_and_activations_give_one_point():
    spec = build_spec({}, {"L": [1], "D": [2], "K": [3], "P": [4],
                           "dtype": ["float32", "float32"], "activation": ["tanh", "tanh"]})
    assert len(spec.points) == len(set(spec.points)) == 1


def test_missing_axes_take_the_defaults():
    spec = build_spec({"grid": [{"D": [3]}]})
    assert shapes(spec) == [(DEFAULT_AXES["L"], 3, DEFAULT_AXES["K"], DEFAULT_AXES["P"],
                             DEFAULT_AXES["batch"])]
    no_grid = build_spec({})
    assert shapes(no_grid) == [tuple(DEFAULT_AXES[a] for a in AXES)]


def test_axis_overrides_replace_that_axis_in_every_grid():
    config = {"grid": [
        {"L": [1], "D": [2, 3], "K": [4], "P": [5]},
        {"L": [2], "D": [7], "K": [8], "P": [9], "batch": [4]},
    ]}
    spec = build_spec(config, {"D": [6], "P": None})  # None = flag not given
    assert shapes(spec) == [(1, 6, 4, 5, 1), (2, 6, 8, 9, 4)]


def test_setting_overrides_replace_the_configs_settings():
    config = {"modes": ["forward"], "dtype": ["float32"], "min_run_time": 0.5, "rounds": 5,
              "max_call_time": 3.0, "grid": [{"L": [1], "D": [2], "K": [2], "P": [2]}]}
    spec = build_spec(config, {"modes": ["reverse", "forward"], "dtype": ["float64"],
                               "min_run_time": 0.01, "rounds": 2, "max_call_time": 0.1,
                               "seed": 7, "bias": True, "activation": ["relu"]})
    s = spec.settings
    assert (s.modes, s.min_run_time, s.rounds, s.max_call_time) == (("reverse", "forward"),
                                                                     0.01, 2, 0.1)
    (p,) = spec.points
    assert (p.dtype, p.seed, p.bias, p.activation) == ("float64", 7, True, "relu")


def test_settings_default_to_every_mode_that_runs_on_the_sweeps_devices():
    on_both = build_spec({}, devices=("cpu", "cuda:0")).settings.modes
    assert on_both == default_modes()
    cpu, cuda = (build_spec({}, devices=(d,)).settings.modes for d in ("cpu", "cuda:1"))
    assert cpu == tuple(m for m in on_both if "cpu" in CATALOG[m].devices)
    assert cuda == tuple(m for m in on_both if "cuda" in CATALOG[m].devices)
    assert "reverse-graph" in cuda and "reverse-graph" not in cpu
    assert "reverse-native" in cpu and "reverse-native" not in cuda
    assert {"forward", "reverse", "chain", "jacrev"} <= set(cpu) & set(cuda)


def test_modes_a_config_or_the_command_line_names_run_on_every_device():
    named = ("reverse-graph", "reverse")
    assert build_spec({"modes": list(named)}).settings.modes == named
    for spec in (build_spec({"modes": list(named)}, devices=("cpu", "cuda")),
                 build_spec({}, {"modes": list(named)}, devices=("cpu", "cuda"))):
        assert {spec.modes_at(p) for p in spec.points} == {named}


def test_a_cpu_and_gpu_sweep_measures_each_devices_own_modes_at_its_points():
    grid = {"grid": [{"L": [1], "D": [2], "K": [3], "P": [2, 4]}]}
    spec = build_spec(grid, devices=("cpu", "cuda:0"))
    by_device = {p.device: spec.modes_at(p) for p in spec.points}
    assert by_device == {d: default_modes((d,)) for d in ("cpu", "cuda:0")}
    steps = sweep_steps(spec, set())
    assert {(p.device, ms) for p, ms, _ in steps} >= set(by_device.items())
    assert all(ms == by_device[p.device] for p, ms, role in steps if role == Role.SWEEP)
    assert SweepSpec.from_data(json.loads(json.dumps(spec.to_data()))) == spec  # the run record
    assert not build_spec(grid).per_device  # one device: its modes are the sweep's modes


def test_devices_dtypes_and_activations_multiply_the_shapes():
    config = {"dtype": ["float32", "float64"], "activation": ["tanh", "relu"],
              "grid": [{"L": [1], "D": [2, 3], "K": [2], "P": [2]}]}
    spec = build_spec(config, devices=("cpu", "cuda"))
    assert len(spec.points) == 2 * 2 * 2 * 2
    assert {(p.device, p.dtype, p.activation) for p in spec.points} == set(
        itertools.product(["cpu", "cuda"], ["float32", "float64"], ["tanh", "relu"]))


def test_points_are_frozen_hashable_and_keyed():
    p = Point("cpu", "float32", "tanh", False, 1, 2, 3, 4, 1)
    with pytest.raises(AttributeError):
        p.D = 5  # type: ignore[misc]
    assert hash(p) == hash(Point("cpu", "float32", "tanh", False, 1, 2, 3, 4, 1))
    assert p.key() == {"L": 1, "D": 2, "K": 3, "P": 4, "batch": 1, "dtype": "float32",
                       "device": "cpu", "activation": "tanh", "bias": False, "seed": 0}
    assert p.label() == "L=1 D=2 K=3 P=4 N=1"


# --- presets and config files ------------------------------------------------------------------


def test_the_presets_ship_with_the_package():
    assert {"default", "quick", "seed", "gpu"} <= set(preset_names())


@pytest.mark.parametrize("name", ["default", "quick", "seed", "gpu"])
def test_every_preset_loads_and_expands_to_its_grids(name):
    config = load_preset(name)
    spec = build_spec(config)
    assert set(shapes(spec)) == expected_shapes(config)
    assert len(spec.points) == len(set(spec.points))
    assert set(spec.stability) <= set(spec.points)
    assert len(spec.stability) == min(config.get("stability_points", 2), len(spec.points))


def test_the_seed_preset_reproduces_the_course_configurations():
    spec = build_spec(load_preset("seed"))
    assert sorted(shapes(spec)) == sorted([
        (10, 2, 30, 10, 1), (3, 1000, 1000, 1, 1), (5, 1000, 1000, 1, 1), (10, 1000, 1000, 1, 1),
        (8, 784, 50, 10, 256),  # the MNIST classifier over minibatches of 256
    ])


def test_the_default_preset_covers_the_crossover_depth_width_and_batch():
    spec = build_spec(load_preset("default"))
    got = set(shapes(spec))
    assert len(got) == 39  # 25 + 6 + 4 + 2 + 4, less the batch=1 point shared with "depth"
    assert {(d, p) for _, d, _, p, _ in got} >= {(4, 1024), (1024, 4)}  # both sides of D = P
    assert {shape[0] for shape in got} >= {1, 32}
    assert {shape[4] for shape in got} >= {1, 64}


def test_unknown_preset_is_a_spec_error_naming_the_choices():
    with pytest.raises(SpecError, match=r"unknown preset 'nope'.*default"):
        load_preset("nope")


def test_a_users_config_file_of_the_preset_form(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(
        'modes = ["forward", "reverse"]\n'
        'dtype = ["float64"]\n'
        "min_run_time = 0.01\n"
        "stability_points = 1\n"
        "[[grid]]\n"
        'name = "a"\n'
        "D = [2, 4]\n"
        "P = [3]\n"
        "L = [1]\n"
        "K = [2]\n"
    )
    spec = build_spec(load_config(path))
    assert shapes(spec) == [(1, 2, 2, 3, 1), (1, 4, 2, 3, 1)]
    assert spec.settings.modes == ("forward", "reverse")
    assert spec.settings.min_run_time == 0.01
    assert {p.dtype for p in spec.points} == {"float64"}
    assert len(spec.stability) == 1


def test_presets_are_the_same_form_as_config_files(tmp_path):
    text = (resources.files("jacbench.run") / "presets" / "quick.toml").read_text()
    (tmp_path / "copy.toml").write_text(text)
    assert build_spec(load_config(tmp_path / "copy.toml")) == build_spec(load_preset("quick"))


def test_a_config_that_does_not_parse_is_a_spec_error(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[[grid]\nD = [1,\n")
    with pytest.raises(SpecError, match="not valid TOML") as info:
        load_config(path)
    assert str(path) in str(info.value)


def test_a_missing_config_is_a_spec_error(tmp_path):
    with pytest.raises(SpecError, match="does not exist"):
        load_config(tmp_path / "missing.toml")


@pytest.mark.parametrize("content", [None, b"\xff\xfe D = [1]"], ids=["folder", "not-utf8"])
def test_an_unreadable_config_is_a_spec_error(tmp_path, content):
    path = tmp_path / "c.toml"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    with pytest.raises(SpecError, match=re.escape(str(path))):
        load_config(path)


# --- bad values ----------------------------------------------------------------------------------

BAD_CONFIGS = {
    "D zero": ({"grid": [{"D": [0]}]}, None, "D"),
    "L negative": ({"grid": [{"L": [-2]}]}, None, "L"),
    "K non-integer": ({"grid": [{"K": [2.5]}]}, None, "K"),
    "P integral float": ({"grid": [{"P": [2.0]}]}, None, "P"),
    "batch bool": ({"grid": [{"batch": [True]}]}, None, "batch"),
    "D string": ({"grid": [{"D": ["4"]}]}, None, "D"),
    "D empty": ({"grid": [{"D": []}]}, None, "D"),
    "override zero": ({}, {"D": [0]}, "D"),
    "override negative": ({}, {"P": [-3]}, "P"),
    "unknown mode": ({"modes": ["nope"]}, None, "nope"),
    "no modes": ({"modes": []}, None, "mode"),
    "unknown dtype": ({"dtype": ["float8"]}, None, "float8"),
    "unknown activation": ({"activation": ["swish"]}, None, "swish"),
    "unknown override mode": ({}, {"modes": ["forward", "sideways"]}, "sideways"),
    "unknown key": ({"colour": "red"}, None, "colour"),
    "unknown grid key": ({"grid": [{"Q": [1]}]}, None, "Q"),
    "grid not tables": ({"grid": [1, 2]}, None, "grid"),
    "grid not a list": ({"grid": 3}, None, "grid"),
    "min_run_time zero": ({"min_run_time": 0}, None, "min_run_time"),
    "min_run_time negative": ({"min_run_time": -1.0}, None, "min_run_time"),
    "min_run_time string": ({"min_run_time": "fast"}, None, "min_run_time"),
    "max_call_time zero": ({"max_call_time": 0}, None, "max_call_time"),
    "rounds zero": ({"rounds": 0}, None, "rounds"),
    "rounds bool": ({"rounds": True}, None, "rounds"),
    "rounds a list": ({"rounds": [2, 7]}, None, "rounds"),
    "seed negative": ({"seed": -1}, None, "seed"),
    "seed bool": ({"seed": False}, None, "seed"),
    "bias string": ({"bias": "yes"}, None, "bias"),
    "stability negative": ({"stability_points": -1}, None, "stability_points"),
    "stability float": ({"stability_points": 1.5}, None, "stability_points"),
}


@pytest.mark.parametrize(("config", "overrides", "named"), BAD_CONFIGS.values(),
                         ids=BAD_CONFIGS.keys())
def test_bad_values_are_one_line_spec_errors_naming_the_problem(config, overrides, named):
    with pytest.raises(SpecError) as info:
        build_spec(config, overrides)
    message = str(info.value)
    assert named in message
    assert "\n" not in message


@pytest.mark.parametrize("value", ["nan", "inf"])
def test_non_finite_min_run_time_is_a_spec_error(tmp_path, value):
    path = tmp_path / "c.toml"
    path.write_text(f"min_run_time = {value}\n")  # TOML spells both
    config = load_config(path)
    assert not math.isfinite(config["min_run_time"])
    with pytest.raises(SpecError, match="min_run_time"):
        build_spec(config)


# --- stability reference points ------------------------------------------------------------------


def _points(n: int, device: str = "cpu") -> tuple[Point, ...]:
    return tuple(Point(device, "float32", "tanh", False, 2, d, 4, 3, 1) for d in range(1, n + 1))


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8])
@pytest.mark.parametrize("count", [0, 1, 2, 3, 6])
def test_stability_points_are_existing_points_and_the_count_is_respected(n, count):
    points = _points(n)
    chosen = stability_reference_points(points, count)
    assert set(chosen) <= set(points)
    assert len(chosen) == len(set(chosen)) == min(count, n)


def test_stability_points_avoid_the_extremes_and_are_chosen_per_device():
    points = _points(9) + _points(9, "cuda")
    chosen = stability_reference_points(points, 2)
    assert [p.device for p in chosen] == ["cpu", "cpu", "cuda", "cuda"]
    sizes = sorted(p.D for p in chosen if p.device == "cpu")
    assert sizes == [4, 7]  # ranks 3 and 6 of 0..8 by size: neither the smallest nor the largest


def test_zero_stability_points_means_none():
    assert stability_reference_points(_points(4), 0) == ()
    spec = build_spec({"stability_points": 0, "grid": [{"D": [1, 2, 3]}]})
    assert spec.stability == ()


@pytest.mark.parametrize(
    ("key", "value"),
    [("probe_threshold", 1.5), ("probe_threshold", -0.1), ("max_retries", -1),
     ("max_retries", 1.5), ("retry_wait", -2.0), ("retry_wait", float("inf"))],
)
def test_health_settings_out_of_range_are_refused(key, value):
    with pytest.raises(SpecError, match=key):
        build_spec({key: value})


def test_health_settings_reach_the_spec():
    settings = build_spec({"probe_threshold": 0.9, "max_retries": 0, "retry_wait": 0}).settings
    assert (settings.probe_threshold, settings.max_retries, settings.retry_wait) == (0.9, 0, 0.0)


def test_what_is_not_given_takes_the_settings_defaults():
    """Settings' fields are the one home of the defaults: an empty config for every device
    gets exactly them."""
    assert build_spec({}, devices=("cpu", "cuda")).settings == Settings()


def test_the_presets_name_only_known_settings():
    for name in preset_names():
        build_spec(load_preset(name))  # raises on an unknown key


def test_a_grid_adds_its_extra_modes_at_its_points_only_and_modes_flag_drops_them():
    config = {"modes": ["forward", "reverse"],
              "grid": [{"L": [2], "D": [3], "K": [4], "P": [5, 6]},
                       {"L": [2], "D": [3], "K": [4], "P": [6], "extra_modes": ["reverse-aoti",
                                                                               "reverse"]}]}
    spec = build_spec(config)
    by_P = {p.P: spec.modes_at(p) for p in spec.points}
    assert by_P == {5: ("forward", "reverse"), 6: ("forward", "reverse", "reverse-aoti")}
    flagged = build_spec(config, {"modes": ["chain"]})
    assert {flagged.modes_at(p) for p in flagged.points} == {("chain",)}
    with pytest.raises(SpecError, match="sideways"):
        build_spec({"grid": [{"extra_modes": ["sideways"]}]})
