"""Lossless JSON form of tensors and nested state (optimizer state, generator state).

Platforms store strategy state as JSON (NNI checkpoints, Katib's suggestion volume), so tensors
become ``{"__tensor__": values, "dtype": "float32", "shape": [...]}``. float32 and float64 values
survive the round trip through Python floats exactly.
"""
from __future__ import annotations

from typing import Any

import torch

_TAG = "__tensor__"


def to_json(obj: Any) -> Any:
    """Replace every tensor in a nested dict/list/tuple by its JSON form (tuples become lists)."""
    if isinstance(obj, torch.Tensor):
        t = obj.detach().cpu()
        return {_TAG: t.reshape(-1).tolist(), "dtype": str(t.dtype).replace("torch.", ""),
                "shape": list(t.shape)}
    if isinstance(obj, dict):
        return {str(k): to_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_json(v) for v in obj]
    return obj


def from_json(obj: Any) -> Any:
    """Inverse of ``to_json`` (lists stay lists; dict keys stay strings)."""
    if isinstance(obj, dict) and _TAG in obj:
        dtype = getattr(torch, obj["dtype"])
        return torch.tensor(obj[_TAG], dtype=dtype).reshape(obj["shape"])
    if isinstance(obj, dict):
        return {k: from_json(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [from_json(v) for v in obj]
    return obj


def optimizer_state_from_json(state: Any) -> dict[str, Any]:
    """An optimizer ``state_dict`` after ``to_json``/``from_json``: integer keys restored."""
    state = from_json(state)
    state["state"] = {int(k): v for k, v in state["state"].items()}
    return state


def generator_state_to_json(gen: torch.Generator) -> list[int]:
    return gen.get_state().tolist()


def generator_state_from_json(gen: torch.Generator, state: list[int]) -> None:
    gen.set_state(torch.tensor(state, dtype=torch.uint8))
