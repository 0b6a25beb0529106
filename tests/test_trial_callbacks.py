"""Reporting callbacks (Katib stdout lines, NNI with nni.report_* monkeypatched, Katib push
selection), architecture JSON per epoch and PNG plots."""
from __future__ import annotations

import io
import json
from pathlib import Path

import nni
import pytest

from supernas.errors import ConfigError
from trial_templates.config import SearchConfig
from trial_templates.reporting import (
    KatibPushReporter,
    KatibStdoutReporter,
    NniReporter,
    choose_reporters,
    parse_metric_names,
    resolve_kind,
)
from trial_templates.runner import run_search


def test_auto_selection_follows_environment() -> None:
    assert resolve_kind("auto", {"NNI_PLATFORM": "local", "NNI_TRIAL_JOB_ID": "abc"}) == "nni"
    assert resolve_kind("auto", {"KATIB_TRIAL_NAME": "t-1"}) == "katib-push"
    assert resolve_kind("auto", {}) == "stdout"
    assert resolve_kind("none", {"KATIB_TRIAL_NAME": "t"}) == "none"
    assert isinstance(choose_reporters("auto", env={"KATIB_TRIAL_NAME": "t"})[0], KatibPushReporter)
    with pytest.raises(ConfigError, match="report='bogus'"):
        resolve_kind("bogus", {})


def test_stdout_lines_use_configured_names() -> None:
    stream = io.StringIO()
    rep = KatibStdoutReporter(parse_metric_names(["val_acc=accuracy"]), stream=stream)
    rep.report_epoch(3, {"val_acc": 0.912, "val_loss": 0.3})
    assert stream.getvalue().splitlines() == ["epoch 3:", "accuracy=0.912"]
    with pytest.raises(ConfigError, match="metric-name"):
        parse_metric_names(['val_acc=a"b'])


def test_search_reports_to_nni_and_writes_artifacts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture) -> None:
    sent: list[tuple[str, object]] = []
    monkeypatch.setattr(nni, "report_intermediate_result", lambda m: sent.append(("epoch", m)))
    monkeypatch.setattr(nni, "report_final_result", lambda m: sent.append(("final", m)))
    cfg = SearchConfig(algorithm="darts", space="nb201", space_args={"C": 4, "N": 1}, data="synthetic",
                       subset=32, batch_size=16, epochs=2, output=str(tmp_path), progress=False,
                       accelerator="cpu", report="nni")
    result = run_search(cfg)
    kinds = [k for k, _ in sent]
    assert kinds == ["epoch", "epoch", "final"]
    final = sent[-1][1]
    assert final["default"] == result["metrics"]["val_acc"] and final["params"] > 0
    assert json.loads(final["architecture"]) == result["architecture"]
    assert all(0 <= m["default"] <= 1 for k, m in sent if k == "epoch")
    for f in ("architectures/epoch_000.json", "architectures/epoch_001.json", "arch_probabilities.png",
              "cell.png", "architecture.json", "config.yaml"):
        assert (tmp_path / f).is_file(), f
    assert (tmp_path / "arch_probabilities.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "final architecture" in capsys.readouterr().out


def test_stdout_report_lines_in_search(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    cfg = SearchConfig(algorithm="random", space="mlp", data="synthetic", subset=32, batch_size=16,
                       epochs=1, output=str(tmp_path), progress=False, accelerator="cpu",
                       report="stdout", plots=False, settings={"num_samples": 3})
    result = run_search(cfg)
    out = capsys.readouterr().out
    assert f"Validation-Accuracy={result['metrics']['val_acc']:.6g}" in out
    lines = out.splitlines()
    assert sum(line.startswith("Validation-Accuracy=") for line in lines) == 2  # one epoch + final
    for name in ("Supernet-Validation-Accuracy=", "Recalibrated-Child-Accuracy="):
        assert sum(line.startswith(name) for line in lines) == 2  # one epoch + final


def test_cell_graph_for_input_choice_space() -> None:
    import random

    from supernas.mutator import sample_uniform
    from supernas.space import decisions
    from supernas.spaces import create_space
    from trial_templates.cellgraph import cell_graphs

    space = create_space("darts", cells=2, channels=4, nodes=2)
    choices = sample_uniform(decisions(space), random.Random(0))
    graphs = cell_graphs(space, choices)
    assert graphs and all(len(edges) == 2 * 2 for _, edges in graphs.values())  # 2 inputs per node
    assert all(e.label for _, edges in graphs.values() for e in edges)  # op names via depends_on


def test_katib_push_sends_named_metrics(monkeypatch: pytest.MonkeyPatch) -> None:
    import kubeflow.katib

    pushed: list[tuple[dict, str]] = []
    monkeypatch.setattr(kubeflow.katib, "report_metrics",
                        lambda metrics, db_manager_address: pushed.append((metrics, db_manager_address)))
    stream = io.StringIO()
    rep = KatibPushReporter({"val_acc": "accuracy"}, db_manager_address="db:6789", stream=stream)
    rep.report_epoch(0, {"val_acc": 0.5, "val_loss": 1.0})
    rep.report_final({"val_acc": 0.75}, None)
    assert pushed == [({"accuracy": 0.5}, "db:6789"), ({"accuracy": 0.75}, "db:6789")]
    assert "accuracy=0.75" in stream.getvalue()


def test_nni_reporter_payloads(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[object] = []
    monkeypatch.setattr(nni, "report_intermediate_result", sent.append)
    monkeypatch.setattr(nni, "report_final_result", sent.append)
    rep = NniReporter()
    rep.report_epoch(2, {"val_acc": 0.5, "val_loss": 1.5})
    rep.report_final({"val_acc": 0.6, "params": 10.0}, {"choices": {"a": "b"}})
    assert sent[0] == {"default": 0.5, "val_loss": 1.5, "epoch": 2}
    assert sent[1] == {"default": 0.6, "params": 10.0, "architecture": '{"choices":{"a":"b"}}'}
