"""Bad inputs end in one ``supernas: error: ...`` line (exit 2) naming the option or field, the
value and what is allowed, before anything large is allocated or trained (issue 12 item 17):
oversized spaces, out-of-range seeds, corrupt CIFAR-10 data, unusable ``--output`` paths,
``export --input-shape``, deeply nested architecture JSON, Katib Experiment files, NNI tuner
class names, ``--stage-set`` without ``--bats-stages`` and Katib's ``--algorithm-settings``."""
from __future__ import annotations

import io
import os
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from supernas.architecture import Architecture
from trial_templates.cli import main

REPO = Path(__file__).resolve().parents[1]
QUICK = ["--epochs", "1", "--subset", "64", "--no-progress", "--accelerator", "cpu", "--report", "none"]
NB201 = Architecture({f"e{i}": "nor_conv_3x3" if i % 2 else "skip_connect" for i in range(6)}, "nb201",
                     {"C": 4, "N": 1, "num_classes": 10, "in_channels": 1})


def _error(capsys: pytest.CaptureFixture, argv: list[str]) -> str:
    """The one stderr line of a refused command (exit 2)."""
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("supernas: error: ") and "\n" not in err and "Traceback" not in err, err
    return err


@pytest.fixture
def no_real_build(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if a space is built outside the meta device (i.e. allocated)."""
    from supernas.spaces import registry

    real = registry.create_space

    def create_space(name: str, **kwargs: object) -> torch.nn.Module:
        assert torch.empty(0).device.type == "meta", "a space was allocated before the size check"
        return real(name, **kwargs)

    monkeypatch.setattr(registry, "create_space", create_space)
    monkeypatch.setattr("trial_templates.setup.create_space", create_space)


@pytest.mark.parametrize("argv, expected", [
    (["search", "--space-arg", "C=1000000"], ("space-arg='C=1000000,N=1' is invalid: space 'nb201' "
                                               "would hold more than 1,000,000,000 parameters")),
    (["search", "--algorithm", "bats", "--space-arg", "channels=100000"], "channels=100000"),
    (["search", "--space", "mlp", "--space-arg", "in_features=1000000000"], "in_features=1000000000"),
])
def test_space_too_large_is_refused_before_allocating(argv: list[str], expected: str, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture,
                                                       no_real_build: None) -> None:
    err = _error(capsys, [*argv, "--output", str(tmp_path / "o"), *QUICK])
    assert expected in err and "allowed: arguments giving at most 1,000,000,000 parameters" in err
    assert "SUPERNAS_MAX_PARAMETERS" in err and not (tmp_path / "o").exists()


def test_too_many_modules_is_refused_and_the_bounds_are_settings(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 no_real_build: None) -> None:
    monkeypatch.setenv("SUPERNAS_MAX_MODULES", "500")  # nb201 C=8 N=1 registers about 300
    err = _error(capsys, ["search", "--space-arg", "N=4", "--output", str(tmp_path / "o"), *QUICK])
    assert "space-arg='C=8,N=4' is invalid: space 'nb201' would register more than 500 modules" in err
    monkeypatch.setenv("SUPERNAS_MAX_PARAMETERS", "1000")
    err = _error(capsys, ["search", "--output", str(tmp_path / "o"), *QUICK])
    assert "more than 1,000 parameters" in err


def test_train_and_export_refuse_too_large_space_args(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    arch_file = tmp_path / "arch.json"
    NB201.save(arch_file)
    err = _error(capsys, ["train", "--architecture", str(arch_file), "--space-arg", "C=1000000",
                          "--output", str(tmp_path / "o"), *QUICK])
    assert "space-arg='C=1000000' is invalid: space 'nb201' would hold more than" in err
    big = Architecture(NB201.choices, "nb201", {**NB201.space_args, "C": 1_000_000})
    big.save(arch_file)
    err = _error(capsys, ["export", "--architecture", str(arch_file), "--input-shape", "1,8,8",
                          "--output", str(tmp_path / "m.pt")])
    assert "space_args=" in err and "C=1000000" in err and "would hold more than" in err


@pytest.mark.parametrize("command", ["search", "train"])
@pytest.mark.parametrize("seed", [2**70, 2**32, -1])
def test_seed_outside_what_numpy_and_torch_take(command: str, seed: int, tmp_path: Path,
                                                capsys: pytest.CaptureFixture) -> None:
    arch = ["--architecture-json", NB201.to_json(indent=None)] if command == "train" else []
    err = _error(capsys, [command, *arch, "--seed", str(seed), "--output", str(tmp_path / "o"), *QUICK])
    assert f"seed={seed} is invalid; allowed: an integer from 0 to 4294967295 (2**32 - 1)" in err


def test_largest_seed_is_accepted() -> None:
    from trial_templates.checks import SEED_MAX, check_seed
    from trial_templates.seeding import reseed

    check_seed(SEED_MAX)
    reseed(SEED_MAX, 10_000)  # numpy and torch take every seed the check lets through


def _batches(root: Path, data: object = None, labels: object = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"data": np.zeros((10, 3072), np.uint8) if data is None else data,
                 b"labels": list(range(10)) if labels is None else labels}
        (root / name).write_bytes(pickle.dumps(batch))
    return root


def _png(height: int = 32, width: int = 32) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(np.zeros((height, width, 3), np.uint8)).save(out, "PNG")
    return out.getvalue()


def _zips(root: Path, image: bytes | None = None, garbage: bool = False) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for split in ("train", "test"):
        path = root / f"cifar10_{split}.zip"
        if garbage:
            path.write_bytes(b"PK\x03\x04 not really a zip" * 20)
            continue
        with zipfile.ZipFile(path, "w") as z:
            for c in ("cat", "dog"):
                for i in range(3):
                    z.writestr(f"{split}/{c}/{i}.png", _png() if image is None else image)
    return root


@pytest.mark.parametrize("make, expected", [
    (lambda d: _batches(d, data=np.zeros((10, 100), np.uint8)),
     "data_batch_1' holds b'data' of shape (10, 100), not [N, 3072] (N images of 3x32x32)"),
    (lambda d: _batches(d, data=[1, 2, 3]), "data_batch_1' holds b'data' of type list, not [N, 3072]"),
    (lambda d: _batches(d, labels=[0] * 7), "data_batch_1' holds 10 images but 7 labels"),
    (lambda d: _batches(d, labels=[99] * 10), "data_batch_1' holds labels outside 0..9 (e.g. 99)"),
    (lambda d: _batches(d, labels="abcdefghij"), "data_batch_1' holds b'labels' of type str"),
    (lambda d: _zips(d, garbage=True), "cifar10_train.zip' cannot be read: File is not a zip file"),
    (lambda d: _zips(d, image=b"\x00garbage"), "image 'train/cat/0.png' in "),
    (lambda d: _zips(d, image=_png(16, 20)), "is 20x16 pixels; allowed: JPEG or PNG images of 32x32"),
])
def test_corrupt_or_misshapen_cifar_names_the_file(make: object, expected: str, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture) -> None:
    data_dir = make(tmp_path / "cifar")  # type: ignore[operator]
    err = _error(capsys, ["search", "--data", "cifar10", "--data-dir", str(data_dir),
                          "--output", str(tmp_path / "o"), *QUICK])
    assert expected in err and "allowed:" in err
    assert str(data_dir) in err


def test_output_that_is_a_file_or_unwritable(tmp_path: Path, capsys: pytest.CaptureFixture,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    err = _error(capsys, ["search", "--output", str(a_file), *QUICK])
    assert f"output={str(a_file)!r} is invalid; allowed: a directory to write into (this path is an " \
           "existing file)" in err
    err = _error(capsys, ["train", "--architecture-json", NB201.to_json(indent=None),
                          "--output", str(a_file / "sub"), *QUICK])
    assert f"({str(a_file)!r} is a file, not a directory)" in err
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    if os.access(locked, os.W_OK):  # root writes anyway: pretend the filesystem refuses
        real = os.access
        monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == locked else real(p, mode))
    err = _error(capsys, ["search", "--output", str(locked / "run"), *QUICK])
    assert f"output={str(locked / 'run')!r} is invalid; allowed: a writable directory " \
           f"({str(locked)!r} is not writable)" in err
    err = _error(capsys, ["export", "--architecture", "unused.json", "--input-shape", "1,8,8",
                          "--output", str(tmp_path)])
    assert "allowed: a file to write (this path is an existing directory)" in err


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    from supernas.spaces import build_child
    from trial_templates.train_runner import save_model

    path = tmp_path / "model.pt"
    save_model(build_child(NB201), NB201, (1, 8, 8), path)
    return path


@pytest.mark.parametrize("shape, expected", [
    ("a,b", "input-shape='a,b' is invalid; allowed: comma-separated positive integers: C,H,W"),
    ("0,8,8", "input-shape='0,8,8' is invalid; allowed: comma-separated positive integers"),
    ("1,,8", "input-shape='1,,8' is invalid"),
    ("1,2", ("input-shape='1,2' is invalid; allowed: 3 positive integers, like the shape the model was "
             "trained on (1,8,8)")),
    ("3,8,8", "input-shape='3,8,8' is invalid; allowed: the shape of one input the model takes"),
])
def test_export_input_shape(shape: str, expected: str, model_file: Path, tmp_path: Path,
                            capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "m.ts"
    err = _error(capsys, ["export", "--checkpoint", str(model_file), "--input-shape", shape, "--output", str(out)])
    assert expected in err and not out.exists()


def test_export_input_shape_that_fits(model_file: Path, tmp_path: Path) -> None:
    assert main(["export", "--checkpoint", str(model_file), "--input-shape", "1, 8, 8",
                 "--output", str(tmp_path / "m.ts")]) == 0


@pytest.mark.parametrize("text", [
    '{"space": "nb201", "choices": ' + "[" * 100_000 + "]" * 100_000 + "}",
    '{"a": ' * 100_000 + "1" + "}" * 100_000,
])
def test_deeply_nested_architecture_json(text: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "deep.json"
    path.write_text(text)
    err = _error(capsys, ["train", "--architecture", str(path), "--output", str(tmp_path / "o"), *QUICK])
    assert "allowed: JSON nested at most 32 levels deep" in err and err.startswith("supernas: error: architecture=")
    err = _error(capsys, ["export", "--architecture", str(path), "--input-shape", "1,8,8",
                          "--output", str(tmp_path / "m.ts")])
    assert "allowed: JSON nested at most 32 levels deep" in err


def test_nested_json_within_the_limit_and_brackets_in_strings_pass() -> None:
    from trial_templates.archsource import check_json_depth

    check_json_depth('{"a": "' + "[" * 1000 + '\\"' + "{" * 100 + '"}', "architecture")
    check_json_depth("[" * 32 + "]" * 32, "architecture")


def _run_module(module: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True,
                          cwd=REPO, timeout=300, check=False)


def test_katib_experiment_cli_on_a_missing_or_foreign_file(tmp_path: Path) -> None:
    foreign = tmp_path / "deploy.yaml"
    foreign.write_text("apiVersion: apps/v1\nkind: Deployment\nspec: {}\n")
    broken = tmp_path / "spec.yaml"
    broken.write_text("apiVersion: kubeflow.org/v1beta1\nkind: Experiment\nspec: 5\n")
    for path, expected in ((tmp_path / "missing.yaml", "does not exist"),
                           (foreign, "holds no kind: Experiment document (kinds found: Deployment)"),
                           (broken, "spec=5 is not a mapping")):
        out = _run_module("katib_suggestions.experiment", str(path))
        assert out.returncode == 2, out.stderr
        err = out.stderr.strip()
        assert err == err.splitlines()[0] and "Traceback" not in err
        assert err.startswith(f"supernas: error: experiment file {str(path)!r}") and expected in err
        assert "allowed: a YAML file with a Katib Experiment" in err


def test_nni_check_names_the_tuner_classes_that_exist(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    typo = tmp_path / "typo.yml"
    typo.write_text("tuner:\n  className: nni_plugins.tuner.SupernasEnass\n  classArgs: {space: mlp}\n")
    err = _error(capsys, ["nni", "check", "--config", str(typo)])
    assert "tuner.className='nni_plugins.tuner.SupernasEnass' is invalid; allowed: " \
           "nni_plugins.tuner.SupernasEnas, nni_plugins.tuner.SupernasEvolution" in err
    assert "nni_plugins.oneshot_tuner.SupernasOneShot" in err
    module_typo = tmp_path / "module.yml"
    module_typo.write_text("tuner:\n  className: nni_plugins.tunr.SupernasEnas\n")
    assert "tuner.className='nni_plugins.tunr.SupernasEnas' is invalid" in _error(
        capsys, ["nni", "check", "--config", str(module_typo)])
    name_typo = tmp_path / "name.yml"
    name_typo.write_text("tuner:\n  name: SupernasEnass\n")
    assert "tuner.name='SupernasEnass' is invalid; allowed: SupernasEnas, SupernasEvolution" in _error(
        capsys, ["nni", "check", "--config", str(name_typo)])
    assert "does not exist" in _error(capsys, ["nni", "check", "--config", str(tmp_path / "none.yml")])


def test_stage_set_without_bats_stages(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    err = _error(capsys, ["train", "--architecture-json", NB201.to_json(indent=None),
                          "--stage-set", "stage2_epochs=5", "--output", str(tmp_path / "o"), *QUICK])
    assert "stage-set='stage2_epochs=5' is invalid without --bats-stages" in err
    assert "allowed: --stage-set together with --bats-stages" in err and not (tmp_path / "o").exists()


@pytest.mark.parametrize("settings", ["foo", "num_epochs=1,foo", "=1"])
def test_katib_trial_entry_algorithm_settings(settings: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from katib_suggestions.trial_entry import main as trial_main

    code = trial_main(["search", "--algorithm", "darts", "--num-layers", "1",
                       f"--algorithm-settings={settings}", "--output", str(tmp_path / "o"), *QUICK])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"supernas: error: algorithm-settings={settings!r} is invalid; allowed: "
                          "comma-separated key=value pairs") and "\n" not in err


def test_the_installed_command_prints_one_line(tmp_path: Path) -> None:
    out = _run_module("trial_templates", "search", "--seed", str(2**70), "--output", str(tmp_path / "o"), *QUICK)
    assert out.returncode == 2
    assert out.stderr.strip() == (f"supernas: error: seed={2**70} is invalid; allowed: an integer from 0 "
                                  "to 4294967295 (2**32 - 1)")
