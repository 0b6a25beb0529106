"""Trial side: a suggested ``supernas-enas`` child trains with the supernas CLI, starting from the
shared supernet and publishing its weights back, and the service adopts them."""
from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import torch
from kubeflow.katib import katib_api_pb2 as pb

from katib_suggestions.algorithms import ALGORITHMS
from katib_suggestions.experiment import experiment_message
from katib_suggestions.testing import MINIMAL_ENAS, with_algorithm
from katib_suggestions.trial_entry import build_parser, main, search_argv, train_argv
from supernas.architecture import Architecture
from supernas.spaces import build_child, space_of
from trial_templates.archsource import find_architecture
from trial_templates.train_runner import load_init_weights

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
    argv = ["train", "--architecture-json", "b64:e30=", "--trial-dir", str(tmp_path), "--output", "o"]
    args, rest = build_parser().parse_known_args([*argv, "--epochs", "1"])
    assert train_argv(args, rest) == ["train", "--architecture-json", "b64:e30=", "--output", "o",
                                      "--epochs", "1"]
    torch.save({}, tmp_path / "supernet.pt")
    assert train_argv(args, rest) == ["train", "--architecture-json", "b64:e30=", "--output", "o",
                                      "--init-from", str(tmp_path / "supernet.pt"), "--epochs", "1"]


def test_search_arguments_from_supernas_darts_assignments() -> None:
    args, rest = build_parser().parse_known_args([
        "search", "--algorithm", "bats", "--algorithm-settings",
        "temperature=0.2,temperature_end=None,num_epochs=3,batch_size=16,init_channels=8,num_nodes=2",
        "--search-space", "bin_conv_3x3,skip_connect", "--num-layers", "2", "--seed", "4", "--data", "digits"])
    argv = search_argv(args, rest)
    assert argv[:4] == ["search", "--algorithm", "bats", "--space"]
    pairs = list(itertools.pairwise(argv[4:]))
    for pair in [("--seed", "4"), ("--space-arg", "layers=2"), ("--set", "temperature=0.2"), ("--epochs", "3"),
                 ("--batch-size", "16"), ("--space-arg", "channels=8"), ("--space-arg", "nodes=2"),
                 ("--space-arg", "ops=[bin_conv_3x3,skip_connect]"), ("--data", "digits")]:
        assert pair in pairs, pair
    assert not any("temperature_end" in a for a in argv)
