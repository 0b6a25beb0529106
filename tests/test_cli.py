"""The ``supernas`` CLI: errors before training, spaces listing, train + export round trip."""
from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from supernas.architecture import Architecture
from trial_templates.archsource import find_architecture, parse_architecture_text
from trial_templates.cli import SUBCOMMANDS, build_parser, extensions, main


def _err(capsys: pytest.CaptureFixture, argv: list[str]) -> str:
    assert main(argv) == 2
    return capsys.readouterr().err


@pytest.mark.parametrize("argv, expected", [
    (["search", "--algorithm", "nope"], "unknown one-shot algorithm 'nope'"),
    (["search", "--algorithm", "darts", "--set", "temperature=-1"], "temperature=-1"),
    (["search", "--algorithm", "bats", "--space", "nb201"], "bats cannot drive space 'nb201'"),
    (["search", "--data", "cifar10", "--data-dir", "/no/such/dir"], "data_dir='/no/such/dir' does not exist"),
    (["search", "--space", "nb201", "--data", "mnist1d"], "cannot take data='mnist1d'"),
    (["search", "--space-arg", "bogus"], "space-arg='bogus'"),
    (["train", "--architecture", "/no/file.json"], "/no/file.json"),
])
def test_bad_settings_stop_before_training(argv: list[str], expected: str, tmp_path: Path,
                                           capsys: pytest.CaptureFixture) -> None:
    err = _err(capsys, [*argv, "--output", str(tmp_path / "o"), "--no-progress", "--accelerator", "cpu"])
    assert expected in err
    assert not (tmp_path / "o" / "checkpoints").exists()


@pytest.mark.parametrize("option, value, reason", [
    ("--precision", "bogus", "Precision 'bogus' is invalid"),
    ("--devices", "-7", "devices"),
    ("--strategy", "bogus", "invalid strategy name"),
    ("--accelerator", "gpu", "gpu"),  # no GPU on the test machines
])
def test_trainer_options_lightning_refuses_are_a_clear_error(option: str, value: str, reason: str,
                                                             tmp_path: Path,
                                                             capsys: pytest.CaptureFixture) -> None:
    if option == "--accelerator" and torch.cuda.is_available():
        pytest.skip("a GPU is visible: --accelerator gpu is valid here")
    argv = ["search", "--algorithm", "darts", "--epochs", "1", "--subset", "64",
            "--output", str(tmp_path / "o"), "--no-progress", option, value]
    err = _err(capsys, argv)
    assert err.startswith("supernas: error: Lightning refused the trainer options") and reason in err
    assert f"{option} {value}" in err and "Traceback" not in err
    assert not (tmp_path / "o" / "checkpoints").exists()


def test_subcommand_registry_and_extensions() -> None:
    assert {"search", "train", "export", "spaces"} <= set(SUBCOMMANDS)
    assert {ep.name: ep.value for ep in extensions().values()} == {
        "nni": "nni_plugins.cli:add_subcommand", "katib": "katib_suggestions.cli:add_subcommand"}
    args = build_parser(["search"]).parse_args(["search"])
    assert args.algorithm == "darts" and args.data == "digits"


def test_extensions_are_imported_only_when_their_command_is_used() -> None:
    """``supernas search`` imports neither NNI nor gRPC; ``supernas nni ...`` loads its entry point."""
    code = (
        "import sys\n"
        "from trial_templates.cli import build_parser\n"
        "build_parser(['search']).parse_args(['search'])\n"
        "print(sorted(m for m in ('nni', 'grpc', 'nni_plugins.cli', 'katib_suggestions.cli') if m in sys.modules))\n"
        "args = build_parser(['nni', 'check', '--config', 'x.yml']).parse_args(['nni', 'check', '--config', 'x.yml'])\n"
        "print(args.nni_command, 'nni_plugins.cli' in sys.modules, 'katib_suggestions.cli' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1]).stdout.splitlines()
    assert out == ["[]", "check True False"], out


def test_spaces_lists_registered_spaces(capsys: pytest.CaptureFixture) -> None:
    assert main(["spaces"]) == 0
    out = capsys.readouterr().out
    assert "mlp: 6 architectures" in out and "nb201: 15625 architectures" in out


def test_architecture_text_forms(monkeypatch: pytest.MonkeyPatch) -> None:
    arch = Architecture({"hidden": "h10", "activation": "relu"}, "mlp", {"in_features": 64})
    text = arch.to_json(indent=None)
    b64 = "b64:" + base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")
    assert parse_architecture_text(b64) == json.loads(text)
    assert parse_architecture_text("e0=nor_conv_3x3,normal/n2=0+1") == {"e0": "nor_conv_3x3", "normal/n2": [0, 1]}
    env = {"SUPERNAS_ARCHITECTURE": "hidden=h20,activation=sigmoid"}
    found = find_architecture(None, None, "mlp", {}, env=env)
    assert found.space == "mlp" and found.choices == {"hidden": "h20", "activation": "sigmoid"}


def test_train_then_export_torchscript_and_onnx_match(tmp_path: Path) -> None:
    out = tmp_path / "child"
    argv = ["train", "--architecture-json", "hidden=h20,activation=relu", "--space", "mlp",
            "--data", "synthetic", "--subset", "64", "--epochs", "1", "--batch-size", "32",
            "--output", str(out), "--no-progress", "--accelerator", "cpu", "--report", "none"]
    assert main(argv) == 0
    assert (out / "config.yaml").is_file() and (out / "architecture.json").is_file()
    ts = tmp_path / "child.ts"
    assert main(["export", "--checkpoint", str(out / "model.pt"), "--format", "torchscript",
                 "--output", str(ts)]) == 0
    from trial_templates.export import load_child

    model, shape = load_child(str(out / "model.pt"), None, None)
    x = torch.randn(5, *shape)
    assert torch.allclose(torch.jit.load(str(ts))(x), model(x), atol=1e-6)
    onnx_file = tmp_path / "child.onnx"
    assert main(["export", "--checkpoint", str(out / "model.pt"), "--format", "onnx",
                 "--output", str(onnx_file)]) == 0
    from test_export import run_onnx

    torch.testing.assert_close(run_onnx(onnx_file, x), model(x).detach(), atol=1e-5, rtol=1e-4)


def test_architecture_from_nni(monkeypatch: pytest.MonkeyPatch) -> None:
    import nni

    arch = Architecture({"hidden": "h30", "activation": "relu"}, "mlp", {"in_features": 64})
    monkeypatch.setattr(nni, "get_next_parameter", lambda: arch.to_dict())
    assert find_architecture("nni", None, None, env={}).choices == arch.choices


def test_train_refuses_an_init_file_it_cannot_read_safely(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bad = tmp_path / "supernet.pt"
    bad.write_bytes(b"not a torch file")
    err = _err(capsys, ["train", "--architecture-json", "hidden=h20,activation=relu", "--space", "mlp",
                        "--init-from", str(bad), "--data", "synthetic", "--output", str(tmp_path / "o"),
                        "--no-progress", "--accelerator", "cpu", "--report", "none"])
    assert "supernas: error: init_from=" in err and "cannot be read safely" in err
