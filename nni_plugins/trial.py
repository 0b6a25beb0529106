"""``python -m nni_plugins.trial [supernas search/train flags]``: one trial command for any
supernas tuner, kept for configs written before the trials ran the Lightning runtime. The shipped
examples use ``supernas train --architecture nni`` / ``supernas search --params nni``, which this
is: the parameters NNI hands the trial pick the command (``supernas.oneshot/1``: a search, else an
architecture to train), become the typed config's fields (as the Katib trial entry builds its
config) and go to ``run_search`` / ``run_train``. Output goes to ``$NNI_OUTPUT_DIR/search`` or
``.../train`` unless ``--output`` is given.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from trial_templates import runner, train_runner
from trial_templates.archsource import to_architecture
from trial_templates.cli import guarded
from trial_templates.commands import command_args, search_config, train_config
from trial_templates.config import parse_pairs
from trial_templates.nni_params import ONESHOT_FORMAT, oneshot_fields, read_nni_parameters


def run_trial(params: Any, argv: Sequence[str]) -> int:
    """Run the search or the training that ``params`` (NNI's) asks for; ``argv``: its flags."""
    if isinstance(params, dict) and params.get("format") == ONESHOT_FORMAT:
        flags = command_args("search", argv)
        runner.run_search(search_config(flags, {**oneshot_fields(params), "output": _output("search")}))
        return 0
    flags = command_args("train", argv)
    arch = to_architecture(params or {}, flags.space, parse_pairs(flags.space_arg, "space-arg"))
    train_runner.run_train(train_config(flags, {"architecture": arch.to_dict(), "output": _output("train")}))
    return 0


def _output(command: str) -> str:
    return str(Path(os.environ.get("NNI_OUTPUT_DIR", ".")) / command)


def main(argv: Sequence[str] | None = None) -> int:
    rest = list(sys.argv[1:] if argv is None else argv)
    return guarded(lambda: run_trial(read_nni_parameters(), rest))


if __name__ == "__main__":
    sys.exit(main())
