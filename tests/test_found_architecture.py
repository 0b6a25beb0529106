"""A search that decides and reports what its found architecture is worth (real short DARTS
searches on scikit-learn's digits): decisions as data, the plot drawn from them, the derived
child scored after BN recalibration and a short fine-tune."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from supernas.oneshot.child_score import FinetuneSettings, score_child
from supernas.oneshot.strength import decision_strength
from trial_templates.artifacts import plot_probabilities_file
from trial_templates.config import SearchConfig
from trial_templates.runner import run_search

EPOCHS = 4


@pytest.fixture(scope="module")
def darts_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """One default DARTS search on digits (the README's job, smaller and shorter)."""
    out = tmp_path_factory.mktemp("darts")
    cfg = SearchConfig(algorithm="darts", space="nb201", space_args={"C": 4, "N": 1}, data="digits",
                       epochs=EPOCHS, output=str(out), progress=False, accelerator="cpu",
                       report="none", plots=True, finetune_steps=100)
    return out, run_search(cfg)


def test_arch_probabilities_json_is_what_the_plot_shows(darts_run: tuple[Path, dict], tmp_path: Path) -> None:
    out, _ = darts_run
    doc = json.loads((out / "arch_probabilities.json").read_text())
    assert doc["format"] == "supernas.arch_probabilities/1"
    assert [e["epoch"] for e in doc["epochs"]] == list(range(EPOCHS))
    assert (out / "arch_probabilities.png").stat().st_size > 0
    series = plot_probabilities_file(out / "arch_probabilities.json", tmp_path / "again.png")
    assert set(series) == set(doc["epochs"][0]["probabilities"])
    for key, options in series.items():
        for option, ys in options.items():
            assert ys == [e["probabilities"][key][option] for e in doc["epochs"]]
    for e in doc["epochs"]:
        assert e["decision_strength"] == pytest.approx(decision_strength(e["probabilities"]))
        assert all(sum(p.values()) == pytest.approx(1.0) for p in e["probabilities"].values())
        assert set(e["probabilities_t1"]) == set(e["probabilities"]) and e["temperature"] > 0


def test_default_schedule_moves_the_architecture(darts_run: tuple[Path, dict]) -> None:
    """Uniform is 0.2 on NB201; the default search must leave it (alphas start at 1e-3 * N(0,1),
    and a 4-epoch run has no warm-up: a fifth of 4 epochs rounds down to 0)."""
    out, result = darts_run
    epochs = json.loads((out / "arch_probabilities.json").read_text())["epochs"]
    strengths = [e["decision_strength"] for e in epochs]
    assert strengths[-1] > 0.3 and strengths[-1] > strengths[0] + 0.05, strengths
    assert result["metrics"]["decision_strength"] == pytest.approx(epochs[-1]["decision_strength"])


def test_found_child_scores_well_above_chance(darts_run: tuple[Path, dict]) -> None:
    """Digits has 10 classes (chance 0.1): the derived child, BN-recalibrated and briefly
    fine-tuned from the shared weights, is far above it (this 4-epoch C=4 run: 0.58; the README's
    job: 0.96); metrics.json holds every figure. The recalibrated-only proxy is reported but not
    bounded: it measured 0.14-0.16 here and on the README's job (see the issue notes)."""
    out, result = darts_run
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics == pytest.approx(result["metrics"])
    assert metrics["val_acc"] > 0.45
    assert 0.0 <= metrics["val_child_recal_acc"] <= 1.0 and 0.0 <= metrics["val_supernet_acc"] <= 1.0


def test_score_child_leaves_the_supernet_unchanged_and_fine_tune_helps() -> None:
    from supernas.mutator import UniformMutator
    from supernas.spaces import create_space

    torch.manual_seed(0)
    space = create_space("mlp", in_features=8, num_classes=3)
    UniformMutator(seed=0).bind(space)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(256, 8, generator=g)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0.5).long()
    batches = [(x[i:i + 32], y[i:i + 32]) for i in range(0, 256, 32)]
    before = {k: v.clone() for k, v in space.state_dict().items()}
    from supernas.space import decisions
    choices = {d.key: d.choices[0] for d in decisions(space) if d.kind == "layer"}
    score = score_child(space, choices, batches[:6], batches[6:], FinetuneSettings(steps=150, lr=0.05))
    assert all(torch.equal(before[k], v) for k, v in space.state_dict().items())
    assert score.finetuned > score.recalibrated and score.finetuned > 0.6
    assert score_child(space, choices, batches[:6], batches[6:], FinetuneSettings(steps=0)).steps == 0
