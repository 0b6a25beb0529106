"""NNI 3.0's Python NAS API -> supernas: search an ``nni.nas.nn.pytorch.ModelSpace`` with the
supernas one-shot algorithms (DARTS with temperature, BATS, SPOS, ...).

``from_nni_model_space(model_space)`` returns a copy of the model in which every NNI
``LayerChoice`` / ``InputChoice`` is replaced by the supernas mutable of the same decision (key =
NNI label, option names = NNI candidate names, input reductions kept); the model's own
``forward`` is unchanged, so the result is an ordinary supernas space::

    space = from_nni_model_space(MyNniSpace())
    algo = ALGORITHMS.create("darts", space=space, temperature=0.5)
    ...                                          # search (trial_templates or a plain loop)
    sample = to_nni_sample(model_space, algo.derive())
    child = model_space.freeze(sample)           # NNI's own frozen model, e.g. for retraining

NNI mutables other than these two (``nni.choice`` hyper-parameters inside ``MutableConv2d``,
``Repeat``, ``Cell``) are refused with the list of their labels. NNI's ``NasExperiment`` runs
its own strategies on its own execution engine; supernas ask/tell strategies reach NNI through the
``nnictl`` tuners instead (see the package README section in ``examples/nni``).
"""
from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Mapping
from typing import Any

from nni.nas.nn.pytorch import InputChoice as NniInputChoice
from nni.nas.nn.pytorch import LayerChoice as NniLayerChoice
from torch import nn

from supernas.errors import SpaceError
from supernas.mutables import InputChoice, LayerChoice
from supernas.space import Choice


def from_nni_model_space(model_space: nn.Module, copy_model: bool = True) -> nn.Module:
    """A supernas space equivalent to NNI ``model_space`` (a deep copy unless ``copy_model``)."""
    _check_supported(model_space)
    space = copy.deepcopy(model_space) if copy_model else model_space
    targets = [(parent, name, child) for parent in space.modules()
               for name, child in parent.named_children()
               if isinstance(child, (NniLayerChoice, NniInputChoice))]
    uses = Counter(child.label for _, _, child in targets)
    for parent, name, child in targets:
        shared = uses[child.label] > 1
        new = _layer(child, shared) if isinstance(child, NniLayerChoice) else _input(child, shared)
        setattr(parent, name, new)
    return space


def _layer(choice: NniLayerChoice, shared: bool) -> LayerChoice:
    candidates = {str(n): choice[n] for n in choice.names}  # modules move, weights kept
    return LayerChoice(candidates, key=choice.label, shared=shared)


def _input(choice: NniInputChoice, shared: bool) -> InputChoice:
    if choice.reduction == "none":
        raise SpaceError(f"NNI InputChoice {choice.label!r}: reduction='none' is not supported; "
                         "allowed: 'sum', 'mean', 'concat'")
    return InputChoice(choice.n_candidates, choice.n_chosen, key=choice.label,
                       reduction=choice.reduction, shared=shared)


def _check_supported(model_space: nn.Module) -> None:
    """Refuse NNI mutables that have no supernas counterpart, naming their labels."""
    simplify = getattr(model_space, "simplify", None)
    if simplify is None:
        return
    covered = {m.label for m in model_space.modules() if isinstance(m, (NniLayerChoice, NniInputChoice))}
    other = sorted(label for label in simplify() if label not in covered)
    if other:
        raise SpaceError(f"NNI model space has mutables supernas cannot search: {', '.join(other)}; "
                         "allowed: nni.nas.nn.pytorch LayerChoice and InputChoice only")


def to_nni_sample(model_space: nn.Module, choices: Mapping[str, Choice]) -> dict[str, Any]:
    """A supernas architecture of the converted space as an NNI sample for ``model_space.freeze``."""
    sample: dict[str, Any] = {}
    for m in model_space.modules():
        if isinstance(m, NniLayerChoice) and m.label in choices:
            by_name = {str(n): n for n in m.names}
            sample[m.label] = by_name[str(choices[m.label])]
        elif isinstance(m, NniInputChoice) and m.label in choices:
            sample[m.label] = sorted(int(i) for i in choices[m.label])
    return sample
