"""torch modes compiled by inductor (``jacbench.modes.compiled``): each agrees with the eager mode
it compiles and with the float64 reference, compiles in its first call (so the runner's first
untimed call pays and records it), and is cached beside the model.

Compiling costs seconds per shape, so one torch.compile and one AOTInductor mode are checked, at
one small shape each.
"""

from __future__ import annotations

import time

import pytest
import torch
from cases import Case, assert_matches_reference

import jacbench
from jacbench import catalog
from jacbench.modes import compiled
from jacbench.modes.prepared import ModeUnavailable
from jacbench.modes.registry import prepare
from jacbench.results.point import Point
from jacbench.run import check
from jacbench.run.case import build_case


def test_every_compiled_mode_names_a_registered_eager_mode_and_is_not_a_default():
    torch_compiled = {f"{e}-{how}": e for how in ("compiled", "aoti", "compiled-cudagraphs",
                                                  "compiled-autotune")
                      for e in ("forward", "reverse", "chain")} | {
        f"jacrev-{how}": "jacrev" for how in ("compiled", "compiled-cudagraphs",
                                              "compiled-autotune")}
    native = {"forward-native": "forward", "reverse-native": "reverse", "chain-native": "chain"}
    graph = {f"{e}-graph": e for e in ("forward", "reverse", "chain", "jacrev", "jacfwd")}
    triton = {"forward-triton": "forward", "reverse-triton": "reverse"}
    assert catalog.compiled_pairs() == {"jax-jacrev": "jacrev", "jax-jacfwd": "jacfwd",
                                        **torch_compiled, **native, **graph, **triton}
    for mode, eager in torch_compiled.items():
        assert catalog.CATALOG[eager].family in catalog.EAGER_FAMILIES
        assert catalog.CATALOG[mode].family == catalog.COMPILED
        assert mode not in catalog.default_modes()
    assert {"jax-jacrev", "jax-jacfwd"} <= set(catalog.default_modes())


@pytest.mark.parametrize(("mode", "dtype"), [("reverse-compiled", torch.float64),
                                             ("chain-aoti", torch.float32)])
def test_compiled_mode_agrees_with_its_eager_mode(mode, dtype):
    net, x = Case(3, 5, 4, 6, 2, "tanh", True, seed=4).build(dtype)
    started = time.perf_counter()
    ready = prepare(net, x, mode)
    assert time.perf_counter() - started < 1.0  # compiling waits for the first call
    try:
        J = ready.to_torch(ready.call())
    except ModeUnavailable as exc:  # a torch whose AOTInductor loader crashes (seen on a GPU)
        pytest.skip(str(exc))
    eager = jacbench.jacobian(net, x, catalog.CATALOG[mode].eager)
    torch.testing.assert_close(J, eager)
    assert_matches_reference(J, net, x, mode)
    assert ready.threads == torch.get_num_threads()
    # a second call, and the mode through jacobian(), run the cached program
    torch.testing.assert_close(ready.to_torch(ready.call()), J)
    assert len(compiled._CACHE[net]) == 1
    torch.testing.assert_close(jacbench.jacobian(net, x, mode), J)
    assert len(compiled._CACHE[net]) == 1


@pytest.mark.parametrize(("code", "says"), [("import os; os.abort()", "SIGABRT"),
                                            ("import sys; sys.exit('no loader')", "exit code 1")])
def test_a_loader_that_crashes_makes_aoti_unavailable_and_leaves_this_process_alive(
        code, says, monkeypatch):
    monkeypatch.setattr(compiled, "_LOADER", {})
    monkeypatch.setattr(compiled, "LOADER_CODE", code)
    net, x = Case(2, 3, 4, 2, None, seed=1).build(torch.float32)
    with pytest.raises(ModeUnavailable, match=f"loader crashed.*{says}"):
        jacbench.jacobian(net, x, "reverse-aoti")
    point = Point("cpu", "float32", "tanh", False, 2, 3, 4, 2, 1)
    outcome, ready = check.check_mode(build_case(point), point, "forward-aoti", 5.0)
    assert (outcome.status, ready) == ("unavailable", None) and says in outcome.reason
    # found once per process: the next package is refused without another child
    monkeypatch.setattr(compiled, "subprocess", None)
    with pytest.raises(ModeUnavailable, match=says):
        compiled._loader_check("any.pt2", "cpu")
