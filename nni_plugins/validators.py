"""``classArgsValidator`` classes for ``nnictl`` (named in ``meta.yml``).

nnictl calls ``validate_class_args(**classArgs)`` before it starts a v1-config experiment (NNI 3.0
skips it for v2 configs, which is why ``supernas nni check`` exists). Each validator builds its
tuner the way the dispatcher would, outside the dispatcher (``nni_plugins.startup``: synchronously),
so the settings go through the same schema (``supernas.settings``) and fail with the same message
as at the tuner's start, the CLI's ``--set`` and Katib's ``ValidateAlgorithmSettings``.
"""
from __future__ import annotations

import importlib
from typing import Any

from nni.utils import ClassArgsValidator


class SupernasArgsValidator(ClassArgsValidator):
    """Validates the class arguments of the tuner named by ``tuner`` (``module.Class``)."""

    tuner = ""

    def validate_class_args(self, **kwargs: Any) -> None:
        module, _, name = self.tuner.rpartition(".")
        getattr(importlib.import_module(module), name)(**kwargs)  # raises the tuner's own error


class EnasValidator(SupernasArgsValidator):
    tuner = "nni_plugins.tuner.SupernasEnas"


class EvolutionValidator(SupernasArgsValidator):
    tuner = "nni_plugins.tuner.SupernasEvolution"


class RandomValidator(SupernasArgsValidator):
    tuner = "nni_plugins.tuner.SupernasRandom"


class BoValidator(SupernasArgsValidator):
    tuner = "nni_plugins.tuner.SupernasBo"


class PnasValidator(SupernasArgsValidator):
    tuner = "nni_plugins.tuner.SupernasPnas"


class OneShotValidator(SupernasArgsValidator):
    tuner = "nni_plugins.oneshot_tuner.SupernasOneShot"
