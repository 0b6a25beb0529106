"""When the ops' faster-gradient paths (``torch.autograd.Function``s) may run.

Those paths only change how gradients are computed, and a ``torch.jit`` trace or script (the
TorchScript and ONNX exports of ``supernas export``) cannot record a Python autograd function. So they run only in eager mode.
"""
from __future__ import annotations

import torch


def custom_grad_paths() -> bool:
    """True in eager mode (not while tracing or scripting for export)."""
    return not torch.jit.is_tracing() and not torch.jit.is_scripting()
