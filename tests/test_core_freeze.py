"""``freeze`` and ``copy_weights``: compact children that share the supernet's module paths."""
from __future__ import annotations

import pytest
import torch

from supernas import ArchitectureError, FixedMutator, UniformMutator, copy_weights, create_space, freeze
from supernas.freeze import DroppedLayer, FrozenInput, FrozenLayer
from supernas.mutables import Mutable


def test_freeze_keeps_the_supernet_intact_and_its_weights() -> None:
    space = create_space("mlp").eval()
    mutator = UniformMutator(seed=3).bind(space)
    with torch.no_grad():
        space.hidden.candidates["h20"].fc1.weight.add_(1.0)  # "trained" weights
    choices = {"hidden": "h20", "activation": "sigmoid"}
    child = freeze(space, choices).eval()
    assert torch.equal(child.hidden.candidates["h20"].fc1.weight,
                       space.hidden.candidates["h20"].fc1.weight)
    assert child.hidden.candidates["h20"].fc1.weight is not space.hidden.candidates["h20"].fc1.weight
    assert all(m._mutator is mutator for m in space.modules() if isinstance(m, Mutable))
    FixedMutator(choices).bind(space)
    x = torch.randn(4, 64)
    assert torch.allclose(space(x), child(x))  # nested mutables frozen too
    assert isinstance(child.hidden, FrozenLayer) and child.supernas_architecture == choices
    assert list(child.hidden.candidates) == ["h20"]


def test_freeze_replaces_inputs_and_drops_unchosen_edges() -> None:
    space = create_space("darts", cells=3, channels=2, nodes=2)
    choices = UniformMutator(seed=0).bind(space).current
    child = freeze(space, choices)
    node = child.cells[0].nodes[1]  # normal/n3: 2 of 3 inputs
    assert isinstance(node.inputs, FrozenInput) and node.inputs.active() == choices["normal/n3"]
    unchosen = ({0, 1, 2} - set(choices["normal/n3"])).pop()
    dropped = node.edges[unchosen]
    assert isinstance(dropped, DroppedLayer)
    with pytest.raises(RuntimeError, match="dropped by freeze"):
        dropped(torch.ones(1))


def test_copy_weights_moves_shared_weights_and_refuses_foreign_children() -> None:
    space = create_space("nb201", C=2, N=1)
    choices = {f"e{k}": "nor_conv_3x3" for k in range(6)}
    child = freeze(create_space("nb201", C=2, N=1), choices)
    n = copy_weights(space, child)
    assert n == len(child.state_dict())
    for key, value in child.state_dict().items():
        assert torch.equal(value, space.state_dict()[key])
    other = freeze(create_space("nb201", C=4, N=1), choices)
    with pytest.raises(RuntimeError):  # same keys, wrong shapes
        copy_weights(space, other)
    with pytest.raises(KeyError, match="not found in the supernet"):
        copy_weights(create_space("mlp"), child)


def test_freeze_validates_the_architecture() -> None:
    with pytest.raises(ArchitectureError, match="e5: missing"):
        freeze(create_space("nb201", C=2, N=1), {f"e{k}": "none" for k in range(5)})
