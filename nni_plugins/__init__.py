"""supernas for NNI 3.0: tuners for ``nnictl create``, search-space conversion, registration,
the trial entry point and a bridge from NNI's Python NAS API (``nni.nas``) to supernas.

Importing this package needs ``nni`` (the ``supernas[nni]`` extra); the core ``supernas``
package never imports it.
"""
from pathlib import Path

from nni_plugins.oneshot_tuner import SupernasOneShot
from nni_plugins.tuner import (
                               SupernasBo,
                               SupernasEnas,
                               SupernasEvolution,
                               SupernasPnas,
                               SupernasRandom,
                               SupernasStrategyTuner,
                               tuner_for,
)

META_FILE = Path(__file__).with_name("meta.yml")

__all__ = ["META_FILE", "SupernasBo", "SupernasEnas", "SupernasEvolution", "SupernasOneShot",
           "SupernasPnas", "SupernasRandom", "SupernasStrategyTuner", "tuner_for"]
