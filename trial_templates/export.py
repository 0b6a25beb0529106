"""``supernas export``: a trained child (``model.pt`` from ``supernas train``) or an architecture
(fresh weights) to TorchScript (``torch.jit.trace``) or ONNX (``torch.onnx.export``; needs the
``export`` extra: ``onnx`` and ``onnxscript``, plus ``onnxruntime`` to run the file).

``model.pt`` holds plain data only (architecture dict, input shape, tensors, binary mode), so it
is read with ``weights_only=True``: a tampered file is refused and runs no code."""
from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from supernas.architecture import Architecture
from supernas.errors import ConfigError, bad_value
from supernas.spaces import build_child
from trial_templates.archsource import load_architecture_file
from trial_templates.checkpoint import load_torch_file
from trial_templates.space_budget import check_space_size

FORMATS = ("torchscript", "onnx")
ONNX_NEEDS = ("onnx", "onnxscript")  # torch.onnx.export(dynamo=True) imports both
MODEL_KEYS = ("architecture", "state_dict", "input_shape")
ALLOWED = "allowed: a model.pt written by `supernas train`"


def load_child(checkpoint: str | None, architecture: str | None,
               input_shape: Sequence[int] | None) -> tuple[nn.Module, tuple[int, ...]]:
    """The child network (eval mode) and the shape of one input."""
    if checkpoint:
        saved = read_model_file(Path(checkpoint))
        saved_shape = tuple(int(v) for v in saved["input_shape"])
        if input_shape and len(input_shape) != len(saved_shape):
            raise bad_value("input-shape", ",".join(map(str, input_shape)),
                            f"{len(saved_shape)} positive integers, like the shape the model was "
                            f"trained on ({','.join(map(str, saved_shape))})")
        model = _build(Architecture.from_dict(saved["architecture"]))
        if saved.get("binary_mode"):
            from supernas.binarize import set_binary_mode

            set_binary_mode(model, saved["binary_mode"])
        model.load_state_dict(saved["state_dict"])
        shape = tuple(input_shape or saved_shape)
    elif architecture:
        if not input_shape:
            raise bad_value("input_shape", None, "C,H,W of one input, e.g. 3,32,32 (needed with --architecture)")
        model = _build(load_architecture_file(architecture))
        shape = tuple(input_shape)
    else:
        raise bad_value("checkpoint", None, "--checkpoint model.pt or --architecture FILE")
    model.eval()
    check_input_shape(model, shape)
    return model, shape


def _build(arch: Architecture) -> nn.Module:
    if arch.space:
        check_space_size(arch.space, arch.space_args, field="space_args")  # before allocating
    return build_child(arch)


def check_input_shape(model: nn.Module, shape: Sequence[int]) -> None:
    """One forward of a zero input of ``shape`` (no state changes), so a shape the model cannot
    take is named here rather than deep inside the tracer."""
    try:
        with torch.no_grad():
            model(torch.zeros(1, *shape))  # [1, *shape]
    except Exception as exc:  # noqa: BLE001 - any shape error, named with the option
        raise bad_value("input-shape", ",".join(map(str, shape)),
                        f"the shape of one input the model takes, e.g. the one it was trained on "
                        f"(this one fails: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None


def read_model_file(path: Path) -> dict:
    """The plain data of a ``model.pt``; a missing, unsafe or foreign file is a ``ConfigError``."""
    if not path.is_file():
        raise ConfigError(f"checkpoint={str(path)!r} does not exist; {ALLOWED}")
    saved = load_torch_file(path, "checkpoint", ALLOWED)
    missing = [k for k in MODEL_KEYS if not isinstance(saved, dict) or k not in saved]
    if missing:
        raise ConfigError(f"checkpoint={str(path)!r} is not a supernas model file (it lacks "
                          f"{', '.join(missing)}); {ALLOWED}")
    return saved


def export(model: nn.Module, input_shape: Sequence[int], fmt: str, path: str | Path) -> Path:
    """Write ``model`` in ``fmt``; returns the file."""
    if fmt not in FORMATS:
        raise bad_value("format", fmt, ", ".join(FORMATS))
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "onnx":
        return _to_onnx(model, input_shape, out)
    example = torch.zeros(1, *input_shape)  # [1, *input_shape]
    with torch.no_grad():
        torch.jit.trace(model, example).save(str(out))
    return out


def _to_onnx(model: nn.Module, input_shape: Sequence[int], out: Path) -> Path:
    """One self-contained ``.onnx`` file (weights inside) from torch's ``torch.export``-based
    exporter, which needs ``onnx`` and ``onnxscript``; the batch dimension stays dynamic."""
    missing = [m for m in ONNX_NEEDS if importlib.util.find_spec(m) is None]
    if missing:
        raise ConfigError(f"format='onnx' needs the {', '.join(map(repr, missing))} package(s), which "
                          "are not installed; allowed: pip install 'supernas[export]' (or "
                          f"pip install {' '.join(missing)}), or --format torchscript")
    example = torch.zeros(2, *input_shape)  # [2, *input_shape]: a batch of 1 would fix the size
    batch = torch.export.Dim("batch")
    torch.onnx.export(model, (example,), str(out), input_names=["input"], output_names=["logits"],
                      dynamo=True, dynamic_shapes=({0: batch},), external_data=False, verbose=False)
    return out
