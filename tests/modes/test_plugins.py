"""Users' own modes: a --plugin file and an installed entry point, end to end.

Both register through ``jacbench.register_mode`` into the catalogue, so they appear in
``jacbench.modes()``, are measured by a sweep (in its worker process, which loads them too),
ranked by ``advise`` and written in the report, as the built-in modes are.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from fakes import steady_instruments

import jacbench
from jacbench import catalog
from jacbench.cli import main
from jacbench.modes.handwritten import forward_jacobian
from jacbench.results.folder import read_results
from jacbench.results.schema import Status
from jacbench.run import sweep

PLUGINS = Path(__file__).resolve().parents[1] / "data" / "plugins"
BLOCKED = PLUGINS / "blocked.py"
ENTRY_MODE = "ep-forward"


def install_entry_point(site: Path) -> None:
    """A package in ``site`` whose dist-info names its module in the group jacbench.modes."""
    (site / "epplug").mkdir(parents=True)
    (site / "epplug" / "__init__.py").write_text(
        "import jacbench\nfrom jacbench.modes.handwritten import forward_jacobian\n"
        f"jacbench.register_mode({ENTRY_MODE!r}, forward_jacobian, algorithm='forward',\n"
        "                       summary='forward mode, from an installed package')\n")
    info = site / "epplug-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: epplug\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[jacbench.modes]\nepplug = epplug\n")


def tiny_sweep(out: Path, *more: str) -> list[str]:
    return ["sweep", "--L", "1", "--D", "2", "--K", "3", "--P", "3", "--rounds", "1",
            "--min-run-time", "0.005", "--device", "cpu", "--no-progress", "--out", str(out),
            *more]


@pytest.mark.slow
def test_a_plugin_file_and_an_entry_point_appear_in_modes_advise_and_the_report(
        tmp_path, monkeypatch, user_modes, capsys):
    install_entry_point(tmp_path / "site")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setattr(sweep, "INSTRUMENTS", steady_instruments())
    assert ENTRY_MODE in jacbench.modes()
    assert "blocked-reverse" not in jacbench.modes()

    out = tmp_path / "out"  # measured in a worker process, which loads both plugins itself
    assert main(tiny_sweep(out, "--plugin", str(BLOCKED), "--modes", "reverse",
                           "blocked-reverse", ENTRY_MODE)) == 0
    assert "blocked-reverse" in jacbench.modes()
    rows = read_results(out)
    rows = rows[rows["role"] == "sweep"].set_index("mode")
    assert set(rows.index) == {"reverse", "blocked-reverse", ENTRY_MODE}
    assert (rows["status"] == Status.OK).all(), rows["reason"]
    # Estimated as the algorithm it names: the same counts as the built-in mode.
    assert rows.loc["blocked-reverse", "macs"] == rows.loc["reverse", "macs"]
    assert rows.loc["blocked-reverse", "predicted_s"] > 0
    report = (out / "_report.md").read_text()
    assert "blocked-reverse" in report and ENTRY_MODE in report

    capsys.readouterr()
    assert main(["advise", "--L", "1", "--D", "2", "--K", "3", "--P", "3", "--plugin",
                 str(BLOCKED), "--from", str(out), "--json"]) == 0
    ranked = {r["mode"] for r in json.loads(capsys.readouterr().out)}
    assert {"blocked-reverse", ENTRY_MODE, "reverse"} <= ranked


@pytest.mark.parametrize("command", [["sweep", "--device", "cpu"],
                                     ["advise", "--L", "1", "--D", "1", "--K", "1", "--P", "1"]])
def test_a_plugin_that_fails_to_import_is_one_line(command, capsys, user_modes, no_measuring):
    assert main([*command, "--plugin", str(PLUGINS / "broken.py")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "broken.py" in err and "ModuleNotFoundError" in err and "jacbench_no_such" in err


def test_a_missing_plugin_file_is_one_line(capsys, user_modes):
    assert main(["sweep", "--plugin", "no/such/plugin.py"]) == 2
    assert capsys.readouterr().err.strip() == "jacbench: error: --plugin no/such/plugin.py: " \
                                              "no such file"


def test_a_mode_of_its_own_algorithm_is_measured_without_counts(tmp_path, user_modes,
                                                                  steady_machine):
    from jacbench.run.spec import build_spec

    jacbench.register_mode("mine", forward_jacobian)
    assert catalog.CATALOG["mine"].family == catalog.USER
    assert "mine" not in catalog.compiled_pairs() and "mine" not in catalog.jacbench_modes()
    x = torch.randn(2)
    net = jacbench.MLP.random(L=2, D=2, K=3, P=2)
    assert torch.equal(jacbench.jacobian(net, x, "mine"), forward_jacobian(net, x))
    spec = build_spec({"stability_points": 0}, {"L": [1], "D": [2], "K": [3], "P": [2],
                                                "modes": ["mine"], "rounds": 1,
                                                "min_run_time": 0.005})
    frame = sweep.run_sweep(spec, tmp_path / "out", progress=False).frame
    row = frame.set_index("mode").loc["mine"]
    assert row["status"] == Status.OK
    assert row["time_median_s"] > 0
    assert row[["macs", "flops", "predicted_s"]].isna().all()


def test_register_mode_refuses_a_built_in_name_and_unknown_facts(user_modes):
    with pytest.raises(ValueError, match="built into jacbench"):
        jacbench.register_mode("reverse", forward_jacobian)
    with pytest.raises(ValueError, match="not catalogued"):
        jacbench.register_mode("x", forward_jacobian, algorithm="sideways")
    with pytest.raises(ValueError, match="devices"):
        jacbench.register_mode("x", forward_jacobian, devices=("tpu",))
    with pytest.raises(ValueError, match="callable"):
        jacbench.register_mode("x", "not a function")  # type: ignore[arg-type]
    assert "x" not in jacbench.modes()
