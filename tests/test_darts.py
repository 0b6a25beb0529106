"""DARTS with temperature: reference equivalence at T=1, temperature, second order, derivation."""
from __future__ import annotations

import copy
import itertools
import math

import pytest
import torch
from torch import nn

from supernas.errors import ConfigError, RegistryError, SpaceError
from supernas.mutables import InputChoice, LayerChoice
from supernas.oneshot import ALGORITHMS
from supernas.oneshot.darts import DartsSearch
from supernas.oneshot.temperature import TemperatureSchedule
from supernas.oneshot.unrolled import unrolled_arch_grads
from supernas.spaces import architecture_of, create_space

PLAIN = {"temperature_schedule": "constant", "warmup_epochs": 0, "aux_skip": 0.0}


def plain(space: nn.Module, **settings: object) -> DartsSearch:
    """DARTS as published (constant T, no warm-up, no auxiliary skip), other settings given."""
    return DartsSearch(space, **{**PLAIN, **settings})


class Zeros(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(x)


def _ops(width: int) -> dict[str, nn.Module]:
    return {"lin": nn.Linear(width, width),
            "lin_tanh": nn.Sequential(nn.Linear(width, width), nn.Tanh()),
            "none": Zeros()}


class Tiny(nn.Module):
    """stem -> h + c1(h) -> c2 -> head; no batch norm, so every forward is deterministic."""

    def __init__(self, width: int = 5) -> None:
        super().__init__()
        self.stem = nn.Linear(4, width)
        self.c1 = LayerChoice(_ops(width), key="c1")
        self.c2 = LayerChoice({"lin": nn.Linear(width, width), "sq": nn.Sequential(
            nn.Linear(width, width), nn.Softplus())}, key="c2")
        self.head = nn.Linear(width, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.tanh(self.stem(x))
        h = h + self.c1(h)
        return self.head(self.c2(h))


def reference_forward(model: Tiny, alphas: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Plain DARTS mixing written out by hand: sum_i softmax(alpha)_i * op_i(h)."""
    def mix(choice: LayerChoice, h: torch.Tensor) -> torch.Tensor:
        w = torch.softmax(alphas[choice.key], dim=-1)
        return sum(w[i] * op(h) for i, op in enumerate(choice.candidates.values()))

    h = torch.tanh(model.stem(x))
    h = h + mix(model.c1, h)
    return model.head(mix(model.c2, h))


def _batches(n: int, seed: int = 1) -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(8, 4, generator=g), torch.randint(0, 3, (8,), generator=g)) for _ in range(n)]


def test_t1_matches_plain_softmax_reference() -> None:
    space = Tiny()
    ref = copy.deepcopy(space)
    algo = plain(space, temperature=1.0, arch_lr=0.01)
    alphas = {k: nn.Parameter(v.detach().clone()) for k, v in algo.mutator.alpha.items()}
    opts = algo.configure_optimizers()
    ref_w = torch.optim.SGD(ref.parameters(), lr=0.025, momentum=0.9, weight_decay=3e-4)
    ref_a = torch.optim.Adam(alphas.values(), lr=0.01, betas=(0.5, 0.999), weight_decay=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    data = _batches(6)
    for (xt, yt), (xv, yv) in zip(data[::2], data[1::2]):
        algo.arch_step((xv, yv), opts)
        algo.weight_step((xt, yt), opts)
        ref_a.zero_grad()
        loss_fn(reference_forward(ref, alphas, xv), yv).backward()
        ref_a.step()
        ref_w.zero_grad()
        loss_fn(reference_forward(ref, alphas, xt), yt).backward()
        nn.utils.clip_grad_norm_(ref.parameters(), 5.0)
        ref_w.step()
    for k, ref_alpha in alphas.items():
        assert torch.allclose(algo.mutator.alpha[k], ref_alpha, atol=1e-6)
    for (name, p), q in zip(space.named_parameters(), ref.parameters()):
        assert torch.allclose(p, q, atol=1e-6), name
    x = data[0][0]
    assert torch.allclose(space(x), reference_forward(ref, alphas, x), atol=1e-5)


def _entropy(summary: dict[str, dict[str, float]]) -> float:
    return sum(-sum(p * math.log(p) for p in probs.values() if p > 0)
               for probs in summary.values())


def test_lower_temperature_sharpens_distribution() -> None:
    entropies = {}
    for t in (1.0, 0.2):
        torch.manual_seed(0)
        algo = plain(Tiny(), temperature=t, arch_lr=0.05, seed=3)
        opts = algo.configure_optimizers()
        for xb, yb in _batches(10):
            algo.arch_step((xb, yb), opts)
            algo.weight_step((xb, yb), opts)
        entropies[t] = _entropy(algo.arch_summary())
    assert entropies[0.2] < entropies[1.0]


def _unrolled_objective(algo: DartsSearch, alphas: list[torch.Tensor], train, val, xi: float,
                        create_graph: bool) -> torch.Tensor:
    """L_val(w - xi * grad_w L_train(w, alpha), alpha) with the weights as free tensors."""
    names = [n for n, _ in algo.space.named_parameters()]
    w = [p.detach().clone().requires_grad_(True) for p in algo.space.parameters()]
    saved = algo.mutator.alpha
    algo.mutator.alpha = dict(zip(saved, alphas))  # the mixing weights now read ``alphas``

    def loss(params: list[torch.Tensor], batch) -> torch.Tensor:
        out = torch.func.functional_call(algo.space, dict(zip(names, params)), (batch[0],))
        return nn.functional.cross_entropy(out, batch[1])
    try:
        g = torch.autograd.grad(loss(w, train), w, create_graph=create_graph)
        return loss([p - xi * gp for p, gp in zip(w, g)], val).detach() if not create_graph \
            else loss([p - xi * gp for p, gp in zip(w, g)], val)
    finally:
        algo.mutator.alpha = saved


def test_second_order_matches_finite_difference_of_unrolled_objective() -> None:
    torch.manual_seed(0)
    space = Tiny().double()
    algo = plain(space, order=2, alpha_init=0.5)
    train, val = [(x.double(), y) for x, y in _batches(2, seed=5)]
    xi = 0.1
    alphas = algo.arch_parameters()
    before = [p.detach().clone() for p in space.parameters()]
    _, second = unrolled_arch_grads(algo.loss, algo.weight_parameters(), alphas, train, val, xi)
    assert all(torch.equal(p, b) for p, b in zip(space.parameters(), before))
    first = torch.autograd.grad(algo.loss(val), alphas)
    # exact gradient of the unrolled objective (autograd through the virtual step)
    base = [a.detach().clone() for a in alphas]
    leaf = [b.clone().requires_grad_(True) for b in base]
    exact = torch.autograd.grad(_unrolled_objective(algo, leaf, train, val, xi, True), leaf)
    # central finite differences of the same objective, coordinate by coordinate
    h = 1e-5
    for k, b in enumerate(base):
        for i in range(b.numel()):
            vals = []
            for sign in (1, -1):
                shifted = [t.clone() for t in base]
                shifted[k].view(-1)[i] += sign * h
                vals.append(_unrolled_objective(algo, shifted, train, val, xi, False).item())
            numeric = (vals[0] - vals[1]) / (2 * h)
            assert second[k].view(-1)[i].item() == pytest.approx(numeric, rel=1e-3, abs=1e-6)
    for s, e, f in zip(second, exact, first):
        assert torch.allclose(s, e, rtol=1e-3, atol=1e-7)
    assert any(not torch.allclose(s, f, rtol=1e-3, atol=1e-7) for s, f in zip(second, first))


def test_second_order_arch_step_runs_and_uses_train_batch() -> None:
    space = Tiny()
    algo = plain(space, order="second", arch_lr=0.1)
    opts = algo.configure_optimizers()
    (xt, yt), (xv, yv) = _batches(2)
    before = {k: v.detach().clone() for k, v in algo.mutator.alpha.items()}
    metrics = algo.arch_step((xv, yv), opts, train_batch=(xt, yt))
    assert math.isfinite(metrics["val_loss"])
    assert any(not torch.equal(before[k], v) for k, v in algo.mutator.alpha.items())


@pytest.mark.parametrize("kind", ["linear", "exponential"])
def test_schedules_hit_endpoints(kind: str) -> None:
    s = TemperatureSchedule(1.0, 0.1, kind)
    values = [s.value(e, 7) for e in range(7)]
    assert values[0] == pytest.approx(1.0) and values[-1] == pytest.approx(0.1)
    assert all(a > b for a, b in itertools.pairwise(values))
    if kind == "exponential":
        ratios = [b / a for a, b in itertools.pairwise(values)]
        assert ratios == pytest.approx([ratios[0]] * len(ratios))
    assert TemperatureSchedule(0.5).value(3, 7) == 0.5


def test_epoch_start_sets_temperature_and_cosine_lr() -> None:
    algo = plain(Tiny(), temperature=1.0, temperature_end=0.25,
                       temperature_schedule="linear")
    opts = algo.configure_optimizers()
    algo.on_epoch_start(0, 5)
    assert algo.temperature == pytest.approx(1.0)
    assert opts["weights"].param_groups[0]["lr"] == pytest.approx(0.025)
    algo.on_epoch_start(4, 5)
    assert algo.temperature == pytest.approx(0.25)
    assert algo.cosine_lr(5, 5) == pytest.approx(0.001)
    w = algo.mutator.layer_weights("c1")
    assert torch.allclose(w, torch.softmax(algo.mutator.alpha["c1"] / 0.25, -1))


def _set_alpha(algo: DartsSearch, key: str, values: dict[str, float]) -> None:
    names = algo.mutator.mutables[key][0].names
    with torch.no_grad():
        algo.mutator.alpha[key].copy_(torch.tensor([values.get(n, 0.0) for n in names]))


def test_derive_picks_top2_distinct_predecessors_and_skips_none() -> None:
    space = create_space("bats", channels=4, layers=3, nodes=3)
    algo = plain(space)
    for key in algo.mutator.alpha:
        _set_alpha(algo, key, {})
    # node 4 has inputs 0..3: make edge 3 strongest, edge 1 second; edge 0's "none" is the
    # largest weight anywhere but must not count.
    _set_alpha(algo, "normal/n4_p0", {"none": 9.0})
    _set_alpha(algo, "normal/n4_p3", {"max_pool_3x3": 5.0})
    _set_alpha(algo, "normal/n4_p1", {"bin_group_conv_3x3": 3.0})
    arch = algo.derive()
    assert arch["normal/n4"] == [1, 3]
    assert arch["normal/n4_p3"] == "max_pool_3x3"
    assert arch["normal/n4_p0"] != "none"
    for d in algo.mutator.decisions:
        if d.kind == "input":
            assert len(set(arch[d.key])) == 2
        else:
            assert arch[d.key] != "none"
    architecture_of(space, arch)  # validates against the space
    summary = algo.arch_summary()
    assert sum(summary["normal/n4"].values()) == pytest.approx(1.0)
    assert sum(summary["normal/n4_p0"].values()) == pytest.approx(1.0)


def test_layer_decision_without_none_uses_plain_argmax() -> None:
    algo = plain(Tiny())
    _set_alpha(algo, "c2", {"sq": 1.0})
    _set_alpha(algo, "c1", {"none": 2.0, "lin": 1.0})
    assert algo.derive() == {"c1": "lin", "c2": "sq"}


def test_state_dict_round_trip_and_rebind_keep_alphas() -> None:
    algo = plain(Tiny(), arch_lr=0.1)
    opts = algo.configure_optimizers()
    for batch in _batches(3):
        algo.arch_step(batch, opts)
    params = algo.arch_parameters()
    algo.eval_forward(_batches(1)[0][0])  # rebinding must not re-create alphas
    assert all(a is b for a, b in zip(params, algo.arch_parameters()))
    state = algo.state_dict()
    fresh = plain(Tiny(), seed=7)
    assert fresh.arch_summary()["c1"] != pytest.approx(algo.arch_summary()["c1"])
    fresh.load_state_dict(state)
    for key, probs in algo.arch_summary().items():
        assert fresh.arch_summary()[key] == pytest.approx(probs)
    assert fresh.derive() == algo.derive()


@pytest.mark.parametrize("settings, field", [
    ({"temperature": -1.0}, "temperature"),
    ({"temperature": 0}, "temperature"),
    ({"temperature_end": 0.0}, "temperature_end"),
    ({"temperature_schedule": "cosine"}, "temperature_schedule"),
    ({"order": 3}, "order"),
    ({"weight_lr": -0.1}, "weight_lr"),
    ({"arch_betas": (0.5, 1.5)}, "arch_betas"),
    ({"grad_clip": float("nan")}, "grad_clip"),
])
def test_bad_settings_name_the_field(settings: dict, field: str) -> None:
    with pytest.raises(ConfigError, match=field) as info:
        ALGORITHMS.create("darts", space=Tiny(), **settings)
    assert "allowed" in str(info.value)


def test_unknown_setting_and_undrivable_space_are_refused() -> None:
    with pytest.raises(RegistryError, match="temprature"):
        ALGORITHMS.create("darts", space=Tiny(), temprature=0.5)

    class Orphan(nn.Module):  # an input choice with no edges to derive it from
        def __init__(self) -> None:
            super().__init__()
            self.pick = InputChoice(3, 1, key="pick")

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.pick([x, x * 2, x * 3])

    with pytest.raises(SpaceError, match="pick"):
        plain(Orphan())
    with pytest.raises(SpaceError, match="no decisions"):
        plain(nn.Linear(2, 2))


def test_drives_the_darts_space_and_derives_a_valid_cell() -> None:
    space = create_space("darts", cells=3, channels=4, nodes=2, num_classes=3)
    algo = ALGORITHMS.create("darts", space=space, temperature=0.5)
    opts = algo.configure_optimizers()
    x, y = torch.randn(4, 3, 8, 8), torch.randint(0, 3, (4,))
    algo.arch_step((x, y), opts)
    algo.weight_step((x, y), opts)
    arch = architecture_of(space, algo.derive())
    assert all(len(arch.choices[k]) == 2 for k in arch.choices if "_p" not in k)
    assert algo.eval_forward(x).shape == (4, 3)
