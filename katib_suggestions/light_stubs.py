"""Load the Katib SDK's generated gRPC modules without ``kubeflow/katib/__init__.py``.

``kubeflow.katib``'s package ``__init__`` imports the SDK's REST client and every model (and
through them the Kubernetes client): about 100 MiB resident that the suggestion service never
uses. ``python -m katib_suggestions`` calls ``preload()`` first, which registers a bare
``kubeflow.katib`` package pointing at the SDK's directory, so ``from kubeflow.katib import
katib_api_pb2`` loads just the generated modules (the same files). Only the dedicated service
process does this; library imports (tests, trials) use the SDK normally.
"""
from __future__ import annotations

import sys
import types
from pathlib import Path


def preload() -> bool:
    """Register the bare package; False when ``kubeflow.katib`` is already imported or missing."""
    if "kubeflow.katib" in sys.modules:
        return False
    import kubeflow

    for root in kubeflow.__path__:
        directory = Path(root) / "katib"
        if (directory / "katib_api_pb2.py").is_file():
            package = types.ModuleType("kubeflow.katib")
            package.__path__ = [str(directory)]
            package.__package__ = "kubeflow.katib"
            sys.modules["kubeflow.katib"] = package
            kubeflow.katib = package  # type: ignore[attr-defined]
            return True
    return False
