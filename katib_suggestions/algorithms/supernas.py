"""``supernas-enas``, ``supernas-evolution``, ``supernas-random``, ``supernas-bo``, ``supernas-pnas``:
supernas architecture format.

One assignment, ``architecture``: ``b64:`` + URL-safe base64 of the supernas architecture JSON
(``formats.b64_json``), which ``supernas train --architecture-json`` reads as is::

    {"format":"supernas.architecture/1","space":"katib-macro",
     "space_args":{"num_layers":2,"input_sizes":[32,32,3],"output_sizes":[10],
                   "operations":["convolution:filter_size=3,num_filter=32,stride=1",...]},
     "choices":{"layer0":"convolution:filter_size=3,num_filter=32,stride=1","layer1":"...",
                "skip1":[0]}}

``space_args.operations`` lists only the operations the architecture uses: Katib sends every
trial's assignments with every call, so the value is kept short (a full list of Katib's enas-cpu
example is ~5 KB per trial). Candidates are keyed by their token, so the weights of a candidate
have the same name in every trial's (partial) supernet, which is what sharing them needs.
Settings: the scalar fields of the strategy's settings dataclass (``supernas.strategies``,
``seed`` included), and for ``supernas-enas`` Katib's ``suggestion_trial_dir`` (weight sharing,
``weights.py``).
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from kubeflow.katib import katib_api_pb2 as pb

from katib_suggestions.algorithms.base import register_algorithm
from katib_suggestions.algorithms.multitrial import Choices, MultiTrial
from katib_suggestions.formats import b64_json, decode
from katib_suggestions.nas_config import NasSpace
from katib_suggestions.settings import TRIAL_DIR_KEY, TrialDir
from katib_suggestions.weights import SharedWeights
from supernas.architecture import FORMAT, Architecture, validate
from supernas.errors import bad_value
from supernas.ops.katib_macro import KATIB_OPS

SPACE_NAME = "katib-macro"  # supernas.spaces.katib_macro


class SupernasMultiTrial(MultiTrial):
    """A registered ask/tell strategy over the ``katib-macro`` space."""

    references = ("architecture",)

    def __init__(self, experiment: pb.Experiment, state_dir: Path) -> None:
        super().__init__(experiment, state_dir)
        _check_buildable(self.space)
        if self.settings.get(TRIAL_DIR_KEY):
            self.weights = SharedWeights(self.state_dir, self.experiment_name)

    def encode(self, choices: Choices) -> dict[str, str]:
        used = {v for k, v in choices.items() if k.startswith("layer")}
        args = self.space.space_args()
        args["operations"] = [t for t in args["operations"] if t in used]
        arch = Architecture(choices=choices, space=SPACE_NAME, space_args=args)
        return {"architecture": b64_json(arch.to_dict())}

    def decode(self, assignments: Mapping[str, str]) -> Choices:
        data = decode(assignments["architecture"])
        if not isinstance(data, dict):
            raise TypeError(f"architecture is a JSON {type(data).__name__}, not an object")
        if data.get("format", FORMAT) != FORMAT or data.get("space") != SPACE_NAME:
            raise ValueError(f"not a {SPACE_NAME} architecture")
        return validate(Architecture.from_dict(data).choices, self.decisions)


def _check_buildable(space: NasSpace) -> None:
    kinds = sorted({op.type for op in space.operations} - set(KATIB_OPS))
    if kinds:
        raise bad_value("nasConfig.operations[].operationType", kinds[0],
                        f"a type the {SPACE_NAME} space builds: " + ", ".join(KATIB_OPS))


@register_algorithm("supernas-enas")
class SupernasEnas(SupernasMultiTrial):
    """ENAS REINFORCE controller (arXiv 1802.03268) with supernet weights shared between trials."""

    strategy_name = "enas"
    extra_schemas = (TrialDir,)


@register_algorithm("supernas-evolution")
class SupernasEvolution(SupernasMultiTrial):
    """Regularised (aging) evolution from ``supernas.strategies``."""

    strategy_name = "evolution"


@register_algorithm("supernas-random")
class SupernasRandom(SupernasMultiTrial):
    """Uniform random sampling (baseline)."""

    strategy_name = "random"


@register_algorithm("supernas-bo")
class SupernasBo(SupernasMultiTrial):
    """BANANAS Bayesian optimisation over architecture encodings (arXiv 1910.11858), strategy ``bo``."""

    strategy_name = "bo"


@register_algorithm("supernas-pnas")
class SupernasPnas(SupernasMultiTrial):
    """Progressive search with a surrogate (PNAS, arXiv 1712.00559), strategy ``pnas``."""

    strategy_name = "pnas"
