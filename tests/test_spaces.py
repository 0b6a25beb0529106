"""Every registered space (parametrised over ``SPACES``: spaces registered later are covered too).

Invariants: forward shapes on 8x8 and 32x32 inputs; under ``FixedMutator`` the supernet equals
``freeze(space, arch)`` with the same weights; lossless JSON; uniform sampling reaches every
choice. Space-specific checks (NAS-Bench-201 strings and size, DARTS active edges, ENAS cell
outputs) follow.
"""
from __future__ import annotations

import math
from typing import Any

import pytest
import torch
from torch import nn

from supernas import (
    Architecture,
    ArchitectureError,
    FixedMutator,
    MixingMutator,
    UniformMutator,
    architecture_of,
    build_child,
    copy_weights,
    create_space,
    decisions,
    freeze,
    space_of,
)
from supernas.errors import ConfigError, RegistryError
from supernas.freeze import DroppedLayer
from supernas.mutables import Mutable
from supernas.spaces import SPACES

# Small constructor arguments for CPU tests; spaces not listed are built with their defaults.
SMALL_ARGS: dict[str, dict[str, Any]] = {
    "nb201": {"C": 4, "N": 1},
    "darts": {"cells": 3, "channels": 4, "nodes": 2},
    "enas-macro": {"layers": 4, "channels": 4},
    "enas-micro": {"layers": 1, "channels": 4, "nodes": 2},
    "bats": {"layers": 3, "nodes": 2},
}


def small_space(name: str) -> nn.Module:
    return create_space(name, **SMALL_ARGS.get(name, {}))


def example_input(space: nn.Module, size: int, batch: int = 2) -> torch.Tensor:
    """Images ``[B, in_channels, size, size]``; flat ``[B, in_features]`` for dense spaces."""
    args = space.space_args
    if "in_channels" in args:
        return torch.randn(batch, args["in_channels"], size, size)
    if "input_sizes" in args:  # Katib nasConfig form: [height, width, channels]
        return torch.randn(batch, args["input_sizes"][-1], size, size)
    return torch.randn(batch, args["in_features"])


def num_classes(space: nn.Module) -> int:
    args = space.space_args
    return args["num_classes"] if "num_classes" in args else args["output_sizes"][-1]


def sample_archs(space: nn.Module, n: int, seed: int = 0) -> list[dict[str, Any]]:
    mutator = UniformMutator(seed).bind(space)
    return [mutator.sample() for _ in range(n)]


@pytest.mark.parametrize("name", SPACES.names())
@pytest.mark.parametrize("size", [8, 32])
def test_forward_shape(name: str, size: int) -> None:
    space = small_space(name)
    UniformMutator(seed=1).bind(space)
    x = example_input(space, size)
    y = space(x)
    assert y.shape == (2, num_classes(space))
    y.sum().backward()  # gradients reach the chosen path
    assert any(p.grad is not None for p in space.parameters())


@pytest.mark.parametrize("name", SPACES.names())
def test_fixed_supernet_equals_frozen_child(name: str) -> None:
    space = small_space(name).eval()
    x = example_input(space, 8)
    for i, choices in enumerate(sample_archs(space, 2)):
        FixedMutator(choices).bind(space)
        child = freeze(space, choices).eval()
        assert not any(isinstance(m, Mutable) for m in child.modules())
        assert set(child.state_dict()) <= set(space.state_dict())
        torch.testing.assert_close(space(x), child(x), rtol=1e-5, atol=1e-6)
        if i == 0:  # a fresh child of the same architecture, weights copied from the supernet
            rebuilt = build_child(architecture_of(space, choices)).eval()
            assert copy_weights(space, rebuilt) == len(rebuilt.state_dict())
            torch.testing.assert_close(space(x), rebuilt(x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", SPACES.names())
def test_json_round_trip(name: str, tmp_path: Any) -> None:
    space = small_space(name)
    for i, choices in enumerate(sample_archs(space, 5, seed=3)):
        arch = architecture_of(space, choices)
        again = Architecture.from_json(arch.to_json())
        assert again.choices == arch.choices and again.space == name
        assert again.to_json() == arch.to_json()
        arch.save(tmp_path / f"{i}.json")
        loaded = Architecture.load(tmp_path / f"{i}.json")
        assert loaded.choices == choices
        assert decisions(space_of(loaded)) == decisions(space)


def _draws_needed(probabilities: list[float], false_failure: float) -> int:
    """Draws so that P(some option never drawn) <= ``false_failure`` (union bound)."""
    return math.ceil(math.log(len(probabilities) / false_failure) / min(probabilities))


@pytest.mark.parametrize("name", SPACES.names())
def test_uniform_sampling_reaches_every_choice(name: str) -> None:
    """Each option with probability p is missed in K draws with prob (1-p)^K <= exp(-pK); K is
    chosen so the union bound over all options is 1e-9: the false-failure probability of this
    test over random seeds is below 1e-9 (the seed is fixed, so it is deterministic)."""
    space = small_space(name)
    targets: list[tuple[str, Any]] = []
    probs: list[float] = []
    for d in decisions(space):
        if d.size() <= 64:  # every allowed value, each of probability 1 / size
            targets += [(d.key, tuple(o) if isinstance(o, list) else o) for o in d.options()]
            probs += [1 / d.size()] * d.size()
        else:  # input decisions with many subsets: every index chosen at least once
            targets += [(d.key, i) for i in range(d.n_candidates)]
            probs += [(d.n_chosen or d.n_candidates / 2) / d.n_candidates] * d.n_candidates
    mutator = UniformMutator(seed=11).bind(space)
    seen: set[tuple[str, Any]] = set()
    for _ in range(_draws_needed(probs, 1e-9)):
        for key, value in mutator.sample().items():
            seen.add((key, tuple(value) if isinstance(value, list) else value))
            if isinstance(value, list):
                seen.update((key, i) for i in value)
    missing = [t for t in targets if t not in seen]
    assert not missing


@pytest.mark.parametrize("name", SPACES.names())
def test_bad_constructor_arguments(name: str) -> None:
    with pytest.raises(RegistryError) as err:
        create_space(name, no_such_argument=1)
    assert "no_such_argument" in str(err.value) and "allowed:" in str(err.value)


@pytest.mark.parametrize(("name", "field"), [("nb201", "C"), ("darts", "nodes"),
                                             ("enas-macro", "layers"), ("enas-micro", "channels")])
def test_bad_argument_values(name: str, field: str) -> None:
    with pytest.raises(ConfigError, match=rf"{field}=0 is invalid; allowed: a positive integer"):
        create_space(name, **{field: 0})


def test_unknown_space_name() -> None:
    with pytest.raises(RegistryError) as err:
        create_space("nb202")
    msg = str(err.value)
    assert "unknown space 'nb202'" in msg and "did you mean 'nb201'" in msg and "darts" in msg


# ----- darts: per-edge ops that depend on the node's input choice ---------------------------

def _count_edge_calls(space: nn.Module) -> dict[str, int]:
    calls: dict[str, int] = {}
    for m in space.modules():
        if isinstance(m, Mutable) and m.depends_on is not None:
            m.register_forward_hook(
                lambda mod, a, o: calls.__setitem__(mod.key, calls.get(mod.key, 0) + 1))
    return calls


def test_darts_fixed_child_computes_only_chosen_edges() -> None:
    space = small_space("darts")
    choices = sample_archs(space, 1)[0]
    FixedMutator(choices).bind(space)
    calls = _count_edge_calls(space)
    space(example_input(space, 8))
    chosen = {f"{node}_p{p}" for node, value in choices.items() if "_p" not in node
              for p in value}
    assert set(calls) == chosen  # 2 edges per node, nothing else ran
    assert sum(calls.values()) == 3 * 2 * 2  # cells x chosen edges x nodes


def test_darts_freeze_drops_unchosen_edges_and_shrinks() -> None:
    space = small_space("darts")
    choices = sample_archs(space, 1)[0]
    child = freeze(space, choices)
    dropped = {m.key for m in child.modules() if isinstance(m, DroppedLayer)}
    kept = {m.key for m in child.modules() if hasattr(m, "chosen") and "_p" in m.key}
    assert dropped and kept and not dropped & kept
    assert all(int(k.rsplit("_p", 1)[1]) in choices[k.rsplit("_p", 1)[0]] for k in kept)
    n_params = sum(p.numel() for p in child.parameters())
    assert n_params < sum(p.numel() for p in space.parameters())


def test_darts_structure_and_shared_keys() -> None:
    space = create_space("darts", cells=5, channels=4, nodes=4)
    ds = {d.key: d for d in decisions(space)}
    assert len(ds) == 2 * (4 + (2 + 3 + 4 + 5))  # per cell type: 4 inputs + 14 edges
    assert ds["normal/n5"].n_candidates == 5 and ds["normal/n5"].n_chosen == 2
    assert ds["reduce/n2_p0"].choices[0] == "none" and len(ds["reduce/n2_p0"].choices) == 8
    reductions = [cell.reduction for cell in space.cells]
    assert reductions == [False, True, False, True, False]  # cells 5//3 and 2*5//3


class _UniformMix(MixingMutator):
    def layer_weights(self, key: str) -> torch.Tensor:
        n = len(next(d for d in self.decisions if d.key == key).choices)
        return torch.full((n,), 1.0 / n)


def test_darts_mixing_runs_every_edge() -> None:
    space = small_space("darts")
    _UniformMix().bind(space)
    calls = _count_edge_calls(space)
    y = space(example_input(space, 8))
    assert y.shape == (2, 10)
    n_edges = sum(2 + i for i in range(2))
    assert len(calls) == 2 * n_edges  # every normal and reduce edge key ran


# ----- nb201 ---------------------------------------------------------------------------------

def test_nb201_enumeration_has_15625_distinct_architectures() -> None:
    from itertools import product

    from supernas.space import space_size
    from supernas.spaces.nb201 import to_nb201_string

    space = create_space("nb201", C=2, N=1)
    ds = decisions(space)
    assert [d.key for d in ds] == ["e0", "e1", "e2", "e3", "e4", "e5"]
    archs = [dict(zip([d.key for d in ds], combo)) for combo in product(*[d.options() for d in ds])]
    strings = {to_nb201_string(a) for a in archs}
    assert len(archs) == len(strings) == space_size(space) == 15625


def test_nb201_strings_round_trip_on_the_benchmark(shared_dir: Any) -> None:
    import csv

    from supernas.architecture import validate
    from supernas.spaces.nb201 import from_nb201_string, to_nb201_string

    path = shared_dir / "anchors/benchmarks/nb201_cifar10_200ep_test.csv"
    with open(path, newline="") as f:
        cells = [row["cellstr"] for row in csv.DictReader(f)]
    ds = decisions(create_space("nb201", C=2, N=1))
    seen = set()
    for cell in cells:
        choices = from_nb201_string(cell)
        validate(choices, ds)
        assert to_nb201_string(choices) == cell
        seen.add(tuple(sorted(choices.items())))
    assert len(cells) == len(seen) == 15625


def test_nb201_edge_order_and_all_skip_cell() -> None:
    from supernas.spaces.nb201 import from_nb201_string, to_nb201_string

    cell = "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|"
    assert from_nb201_string(cell) == {f"e{k}": "skip_connect" for k in range(6)}
    assert to_nb201_string(from_nb201_string(cell)) == cell
    ops = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3", "none"]
    choices = {f"e{k}": op for k, op in enumerate(ops)}
    expected = ("|none~0|+|skip_connect~0|nor_conv_1x1~1|+"
                "|nor_conv_3x3~0|avg_pool_3x3~1|none~2|")
    assert to_nb201_string(choices) == expected  # e0=1<-0, e1=2<-0, e2=2<-1, e3..e5=3<-0,1,2
    assert to_nb201_string(Architecture(choices)) == expected


@pytest.mark.parametrize(("text", "fragment"), [
    ("", "malformed"),
    ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|", "malformed"),
    ("nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|", "malformed"),
    ("|conv_7x7~0|+|none~0|none~1|+|none~0|none~1|none~2|", "op 'conv_7x7' is not allowed"),
    ("|none~0|+|none~1|none~0|+|none~0|none~1|none~2|", "inputs [1, 0] are not allowed"),
    ("|none~0|+|none~0|+|none~0|none~1|none~2|", "inputs [0] are not allowed"),
])
def test_nb201_malformed_strings(text: str, fragment: str) -> None:
    from supernas.spaces.nb201 import from_nb201_string

    with pytest.raises(ArchitectureError) as err:
        from_nb201_string(text)
    assert fragment in str(err.value)


def test_nb201_to_string_reports_bad_choices() -> None:
    from supernas.spaces.nb201 import to_nb201_string

    with pytest.raises(ArchitectureError) as err:
        to_nb201_string({"e0": "sep_conv_3x3", "e1": "none", "e9": "none"})
    msg = str(err.value)
    assert "e0: 'sep_conv_3x3' is not allowed" in msg and "e5: missing" in msg
    assert "e9: unknown key" in msg


def test_nb201_cells_share_one_architecture() -> None:
    space = create_space("nb201", C=2, N=2)
    arch = {f"e{k}": "nor_conv_1x1" for k in range(6)}
    child = freeze(space, arch)
    chosen = [m.chosen for m in child.modules() if hasattr(m, "chosen")]
    assert len(chosen) == 6 * 6 and set(chosen) == {"nor_conv_1x1"}  # 6 edges x 3 stages x N


# ----- enas ----------------------------------------------------------------------------------

def test_enas_macro_skips_and_pooling() -> None:
    space = create_space("enas-macro", layers=6, channels=4)
    ds = {d.key: d for d in decisions(space)}
    assert "layer0/skip" not in ds and ds["layer5/skip"].n_candidates == 5
    assert ds["layer5/skip"].n_chosen is None and ds["layer5/skip"].allow_empty
    assert len(ds["layer0/op"].choices) == 6
    assert sorted(space.reductions) == ["1", "3"]  # after layers 6//3-1 and 2*6//3-1
    choices = {k: ([] if d.kind == "input" else "enas_conv_3x3") for k, d in ds.items()}
    space.eval()
    FixedMutator(choices).bind(space)
    x = example_input(space, 8)
    y_plain = space(x)
    choices["layer5/skip"] = [0, 4]
    FixedMutator(choices).bind(space)
    assert not torch.allclose(space(x), y_plain)  # the skip connection changes the output


def test_enas_micro_output_reads_unused_states() -> None:
    space = create_space("enas-micro", layers=1, channels=4, nodes=3)  # cells: R R N
    ds = decisions(space)
    assert [d.key for d in ds][:4] == ["reduce/n2/in0", "reduce/n2/op0", "reduce/n2/in1",
                                       "reduce/n2/op1"]
    assert [cell.reduction for cell in space.cells] == [True, True, False]
    choices = {d.key: ([0] if d.kind == "input" else "skip_connect") for d in ds}
    FixedMutator(choices).bind(space)
    calls: list[int] = []
    for cell in space.cells:
        for i, conv in enumerate(cell.out_convs):
            conv.register_forward_hook(lambda m, a, o, i=i: calls.append(i))
    space(example_input(space, 8))
    # every node reads state 0, so states 1..4 are unused: 4 output convs per cell, 3 cells
    assert calls == [1, 2, 3, 4] * 3


def test_every_space_has_distinct_decision_keys_in_stable_order() -> None:
    for name in SPACES.names():
        keys_a = [d.key for d in decisions(small_space(name))]
        keys_b = [d.key for d in decisions(small_space(name))]
        assert keys_a == keys_b and len(set(keys_a)) == len(keys_a)
