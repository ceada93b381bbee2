"""Which preset a sweep runs when it names none: the GPU's on CUDA devices, the CPU's otherwise;
read through the command line's own parsing, no GPU needed."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from jacbench.cli import build_parser, main
from jacbench.cli.sweep_command import GPU_PRESET, build_spec, run_name
from jacbench.run import spec as specs
from jacbench.run import sweep


def parsed(*flags: str):
    return build_parser().parse_args(["sweep", *flags])


def preset_spec(name: str, devices: tuple[str, ...]):
    return specs.build_spec(specs.load_preset(name), {}, devices)


@pytest.mark.parametrize(("devices", "preset"), [
    (("cuda",), "gpu"), (("cuda:0", "cuda:1"), "gpu"), (("cpu",), "default"),
    (("cpu", "cuda"), "default"),  # a CPU beside the GPU could not finish the GPU's grid
])
def test_a_sweep_that_names_no_preset_runs_its_devices_preset(devices, preset):
    args = parsed("--device", *devices)
    assert build_spec(args, devices) == preset_spec(preset, devices)
    assert run_name(args, devices) == preset


def test_a_named_preset_axes_or_a_config_win_over_the_devices_default(tmp_path):
    cuda = ("cuda",)
    assert build_spec(parsed("--preset", "quick"), cuda) == preset_spec("quick", cuda)
    custom = build_spec(parsed("--L", "2", "--D", "3"), cuda)
    assert {(p.L, p.D) for p in custom.points} == {(2, 3)}
    assert run_name(parsed("--L", "2"), cuda) == "custom"
    config = tmp_path / "mine.toml"
    config.write_text("[[grid]]\nL = [1]\n")
    assert run_name(parsed("--config", str(config)), cuda) == "mine"


def test_the_flags_still_refine_the_gpu_preset():
    spec = build_spec(parsed("--device", "cuda", "--dtype", "bfloat16", "--rounds", "1"),
                      ("cuda",))
    gpu = preset_spec("gpu", ("cuda",))
    assert {p.dtype for p in spec.points} == {"bfloat16"}
    assert {p.shape for p in spec.points} == {p.shape for p in gpu.points}
    assert spec.settings.rounds == 1


def test_sweep_device_cuda_hands_the_gpu_preset_to_the_run(monkeypatch, tmp_path, capsys):
    """The whole command on a machine that says it has one GPU: the spec and the folder the
    sweep is handed (the run itself stopped before it measures)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.chdir(tmp_path)
    handed = {}

    def run_sweep(spec, out: Path, **kwargs: object) -> None:
        handed.update(spec=spec, out=out)
        raise KeyboardInterrupt  # stop here, as Ctrl-C would

    monkeypatch.setattr(sweep, "run_sweep", run_sweep)
    assert main(["sweep", "--device", "cuda", "--no-progress"]) != 0
    assert handed["spec"] == preset_spec(GPU_PRESET, ("cuda",))
    assert handed["out"].name.startswith("gpu-") and handed["out"].name.endswith("-cuda")


def test_the_help_says_which_preset_runs_on_cuda(capsys):
    with pytest.raises(SystemExit):
        main(["sweep", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "'gpu' preset runs when every --device is CUDA" in text
    assert "default: gpu when every --device is cuda" in text
