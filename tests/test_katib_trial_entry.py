"""Trial side: a suggested ``supernas-enas`` child trains through the typed trial runtime, starting
from the shared supernet and publishing its weights back, and the service adopts them; a
``supernas-darts``/``-bats`` trial's assignments become its ``SearchConfig`` and a 3-op Experiment
searches exactly those 3 ops."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml
from kubeflow.katib import katib_api_pb2 as pb

from katib_suggestions.algorithms import ALGORITHMS
from katib_suggestions.experiment import experiment_message
from katib_suggestions.testing import MINIMAL_ENAS, with_algorithm
from katib_suggestions.trial_entry import (
    build_parser,
    katib_search_fields,
    main,
    shared_weights,
    trial_architecture,
)
from supernas.architecture import Architecture
from supernas.space import decisions
from supernas.spaces import build_child, space_of
from trial_templates.archsource import find_architecture
from trial_templates.commands import command_args, search_config, train_config
from trial_templates.train_runner import load_init_weights

REPO = Path(__file__).resolve().parents[1]
C = pb.TrialStatus.TrialConditionType
TRAIN_FLAGS = ["--data", "digits", "--subset", "64", "--epochs", "1", "--batch-size", "32",
               "--accelerator", "cpu", "--no-progress", "--no-plots", "--report", "stdout"]


def digits_experiment() -> pb.Experiment:
    crd = with_algorithm(MINIMAL_ENAS, "supernas-enas", {"suggestion_trial_dir": "/opt/trial"},
                         exp_name="digits")
    crd["spec"]["nasConfig"]["graphConfig"].update(numLayers=2, inputSizes=[8, 8, 1], outputSizes=[10])
    return experiment_message(crd)


def request(exp: pb.Experiment, trials: list[pb.Trial], n: int) -> pb.GetSuggestionsRequest:
    return pb.GetSuggestionsRequest(experiment=exp, trials=trials, current_request_number=n)


def trial(name: str, assignments: dict[str, str], acc: str) -> pb.Trial:
    spec = pb.TrialSpec(parameter_assignments=pb.TrialSpec.ParameterAssignments(
        assignments=[pb.ParameterAssignment(name=k, value=v) for k, v in assignments.items()]))
    status = pb.TrialStatus(condition=C.SUCCEEDED, completion_time="2026-01-01T00:00:01Z",
                            observation=pb.Observation(metrics=[pb.Metric(name="Validation-Accuracy", value=acc)]))
    return pb.Trial(name=name, spec=spec, status=status)


@pytest.mark.slow
def test_enas_trials_share_supernet_weights(tmp_path: Path) -> None:
    exp = digits_experiment()
    algo = ALGORITHMS.create("supernas-enas", experiment=exp, state_dir=tmp_path)
    first = algo.get_suggestions(request(exp, [], 1))[0]
    trial_dir = tmp_path / "digits" / first.trial_name  # what Katib mounts at suggestion_trial_dir
    code = main(["train", "--architecture-json", first.assignments["architecture"], "--trial-dir",
                 str(trial_dir), "--output", str(tmp_path / "out1"), *TRAIN_FLAGS])
    assert code == 0 and (trial_dir / "supernet-out.pt").is_file()
    published = torch.load(trial_dir / "supernet-out.pt")
    second = algo.get_suggestions(request(exp, [trial(first.trial_name, first.assignments, "0.5")], 1))[0]
    shared = torch.load(tmp_path / "digits" / second.trial_name / "supernet.pt")
    assert all(torch.equal(shared[k], published[k]) for k in published)
    assert not trial_dir.exists()  # the finished trial's directory is pruned once adopted
    trained = torch.load(tmp_path / "out1" / "model.pt")["state_dict"]
    assert all(torch.equal(published[k], v) for k, v in trained.items())  # the child's weights went in


def test_child_starts_from_the_shared_supernet(tmp_path: Path) -> None:
    exp = digits_experiment()
    algo = ALGORITHMS.create("supernas-enas", experiment=exp, state_dir=tmp_path)
    value = algo.get_suggestions(request(exp, [], 1))[0].assignments["architecture"]
    arch = find_architecture(None, value, None, env={})
    supernet = space_of(arch)
    torch.save(supernet.state_dict(), tmp_path / "supernet.pt")
    child = build_child(arch, init_from=load_init_weights(tmp_path / "supernet.pt"))
    fresh = build_child(Architecture.from_dict(arch.to_dict()))
    source = supernet.state_dict()
    assert all(torch.equal(source[k], v) for k, v in child.state_dict().items())
    assert any(not torch.equal(source[k], v) for k, v in fresh.state_dict().items() if v.is_floating_point())


def test_train_starts_from_the_shared_weights_only_when_present(tmp_path: Path) -> None:
    assert shared_weights(str(tmp_path)) is None and shared_weights("") is None
    torch.save({"w": torch.ones(2)}, tmp_path / "supernet.pt")
    weights = shared_weights(str(tmp_path))
    assert weights is not None and torch.equal(weights["w"], torch.ones(2))


def test_train_config_from_the_architecture_assignment() -> None:
    arch = Architecture({"e0": "skip_connect"}, "nb201", {"C": 4})
    args, rest = build_parser().parse_known_args(["train", "--architecture-json", arch.to_json(),
                                                  "--output", "o", "--epochs", "1"])
    flags = command_args("train", rest)
    cfg = train_config(flags, {"architecture": trial_architecture(args, flags), "output": args.output})
    assert cfg.output == "o" and cfg.epochs == 1
    assert Architecture.from_dict(cfg.architecture).choices == arch.choices


BATS_TRIAL = ["search", "--algorithm", "bats", "--algorithm-settings",
              "temperature=0.2,temperature_end=None,num_epochs=3,batch_size=16,init_channels=8,num_nodes=2",
              "--search-space", "bin_conv_3x3,skip_connect", "--num-layers", "3", "--seed", "4", "--data", "digits"]


def test_search_config_from_supernas_bats_assignments() -> None:
    args, rest = build_parser().parse_known_args(BATS_TRIAL)
    cfg = search_config(command_args("search", rest), katib_search_fields(args))
    assert (cfg.algorithm, cfg.space, cfg.seed, cfg.epochs, cfg.batch_size, cfg.data) == (
        "bats", "bats", 4, 3, 16, "digits")
    assert cfg.space_args == {"layers": 3, "channels": 8, "nodes": 2, "ops": ["bin_conv_3x3", "skip_connect"]}
    assert cfg.settings["temperature"] == 0.2 and cfg.settings["temperature_end"] is None
    assert not {"num_epochs", "batch_size", "init_channels", "num_nodes"} & set(cfg.settings)


def test_trial_flags_override_the_assignments() -> None:
    args, rest = build_parser().parse_known_args([*BATS_TRIAL, "--epochs", "1", "--set", "temperature=0.3",
                                                  "--space-arg", "channels=12"])
    cfg = search_config(command_args("search", rest), katib_search_fields(args))
    assert cfg.epochs == 1 and cfg.settings["temperature"] == 0.3 and cfg.settings["temperature_end"] is None
    assert cfg.space_args["channels"] == 12 and cfg.space_args["layers"] == 3


THREE_OPS = [{"operationType": "separable_convolution", "parameters": [
                 {"name": "filter_size", "parameterType": "categorical", "feasibleSpace": {"list": ["3"]}}]},
             {"operationType": "max_pooling", "parameters": [
                 {"name": "filter_size", "parameterType": "categorical", "feasibleSpace": {"list": ["3"]}}]},
             {"operationType": "skip_connection"}]
SEARCHED = ["sep_conv_3x3", "max_pool_3x3", "skip_connect"]


def three_op_trial(state_dir: Path) -> list[str]:
    """The shipped ``supernas-darts-cpu`` Experiment cut to 3 operations and a tiny recipe: the
    trial command its first suggestion gives, as Katib substitutes it."""
    crd = yaml.safe_load((REPO / "manifests/experiments/supernas-darts-cpu.yaml").read_text())
    crd["spec"]["nasConfig"].update(operations=THREE_OPS, graphConfig={"numLayers": 3})
    crd["spec"]["algorithm"]["algorithmSettings"] = [
        {"name": k, "value": v} for k, v in
        {"num_epochs": "1", "batch_size": "32", "init_channels": "4", "num_nodes": "2"}.items()]
    algo = ALGORITHMS.create("supernas-darts", experiment=experiment_message(crd), state_dir=state_dir)
    (suggestion,) = algo.get_suggestions(pb.GetSuggestionsRequest(current_request_number=1,
                                                                  total_request_number=1))
    names = {p["reference"]: p["name"] for p in crd["spec"]["trialTemplate"]["trialParameters"]}
    argv = crd["spec"]["trialTemplate"]["trialSpec"]["spec"]["template"]["spec"]["containers"][0]["command"]
    for ref, value in suggestion.assignments.items():
        argv = [a.replace(f"${{trialParameters.{names[ref]}}}", value) for a in argv]
    return argv[3:]  # python -m katib_suggestions.trial_entry


@pytest.mark.slow
def test_a_three_op_supernas_darts_trial_searches_exactly_those_ops(tmp_path: Path) -> None:
    out = tmp_path / "out"
    argv = [*three_op_trial(tmp_path / "state"), f"--output={out}", "--subset=64", "--limit-batches=2",
            "--finetune-steps=0"]
    assert main(argv) == 0
    arch = Architecture.load(out / "architecture.json")
    assert arch.space == "darts" and arch.space_args["ops"] == SEARCHED and arch.space_args["cells"] == 3
    edges = {k: v for k, v in arch.choices.items() if isinstance(v, str)}
    assert edges and set(edges.values()) <= set(SEARCHED) and any(k.startswith("normal/") for k in edges)
    history = json.loads((out / "arch_probabilities.json").read_text())["epochs"]
    op_probs = [p for p in history[-1]["probabilities"].values() if not set(p) <= {"0", "1", "2", "3"}]
    assert op_probs and all(list(p) == SEARCHED for p in op_probs)
    supernet = space_of(arch)
    assert all(d.choices == tuple(SEARCHED) for d in decisions(supernet) if d.kind == "layer")
