"""Write the supernas Katib manifests from one table: ``python manifests/generate.py``.

Outputs (committed; ``tests/test_manifests.py`` checks they equal this script's output):

- ``katib-config/katib-config.yaml``: Katib's standalone katib-config (``upstream-katib-config.yaml``)
  plus one suggestion entry per supernas algorithm (torch-sized resources, suggestion volume,
  hardened container);
- ``overlays/drop-in/katib-config.yaml``: the same with Katib's ``enas`` and ``darts`` served by
  the supernas image;
- ``experiments/<algorithm>-{cpu,gpu}.yaml``: Experiments per algorithm; CPU trials are a batch
  Job on scikit-learn digits (no download), GPU trials a PyTorchJob with 2 GPUs (``torchrun``,
  Lightning DDP) on CIFAR-10 from the ``supernas-cifar10`` volume.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
SUGGESTION_IMAGE = "ghcr.io/supernas/katib-suggestion:v0.1.0"
TRIAL_IMAGE = "ghcr.io/supernas/trial:v0.1.0"
ALGORITHMS = ("supernas-enas", "supernas-darts", "supernas-bats", "supernas-evolution", "supernas-random",
              "supernas-bo", "supernas-pnas")
UID = 1000  # the images' non-root user (see the Dockerfiles)
TRIAL_DIR = "/opt/supernas/trial"  # suggestion_trial_dir: Katib mounts <experiment>/<trial> here

# Suggestion resources: importing torch alone takes ~300 MiB resident; Katib's default limit
# (100Mi, pkg/apis/config/v1beta1/defaults.go) kills the process.
SUGGESTION_RESOURCES = {"requests": {"cpu": "250m", "memory": "512Mi"},
                        "limits": {"cpu": "2", "memory": "1536Mi"}}
HARDENED = {"runAsNonRoot": True, "runAsUser": UID, "runAsGroup": 0, "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"}}


def suggestion_entry(name: str) -> dict[str, Any]:
    return {"algorithmName": name, "image": SUGGESTION_IMAGE,
            "resources": copy.deepcopy(SUGGESTION_RESOURCES), "securityContext": copy.deepcopy(HARDENED), "volumeMountPath": "/opt/katib/data",
            # ReadWriteMany: supernas-enas trials mount their sub-directories while it runs.
            "persistentVolumeClaimSpec": {"accessModes": ["ReadWriteMany"],
                                          "resources": {"requests": {"storage": "2Gi"}}}}


def katib_config(drop_in: bool) -> dict[str, Any]:
    text = (HERE / "katib-config/upstream-katib-config.yaml").read_text()
    config = yaml.safe_load(text)
    entries = config["runtime"]["suggestions"]
    if drop_in:
        entries = [e for e in entries if e["algorithmName"] not in ("enas", "darts")]
        entries += [suggestion_entry("enas"), suggestion_entry("darts")]
    config["runtime"]["suggestions"] = entries + [suggestion_entry(n) for n in ALGORITHMS]
    return config


# --- Experiments -----------------------------------------------------------------------------

def _categorical(name: str, *values: str) -> dict[str, Any]:
    return {"name": name, "parameterType": "categorical", "feasibleSpace": {"list": list(values)}}


def macro_nas_config(gpu: bool) -> dict[str, Any]:
    """ENAS-style macro space (Pham et al. 2018): 3x3/5x5 conv and separable conv, pooling."""
    width = "64" if gpu else "16"
    ops = [{"operationType": t, "parameters": [_categorical("filter_size", "3", "5"),
                                                _categorical("num_filter", width)]}
           for t in ("convolution", "separable_convolution")]
    ops += [{"operationType": t, "parameters": [_categorical("filter_size", "3")]}
            for t in ("max_pooling", "avg_pooling")]
    sizes = [32, 32, 3] if gpu else [8, 8, 1]
    return {"graphConfig": {"numLayers": 8 if gpu else 3, "inputSizes": sizes, "outputSizes": [10]},
            "operations": ops}


def cell_nas_config(algorithm: str, gpu: bool) -> dict[str, Any]:
    """DARTS (arXiv 1806.09055) or BATS (arXiv 2003.01711) cell operations."""
    if algorithm == "supernas-bats":
        ops = [{"operationType": t} for t in ("max_pool_3x3", "avg_pool_3x3", "skip_connect",
                                              "bin_group_conv_3x3", "bin_dil_group_conv_3x3")]
    else:
        ops = [{"operationType": t, "parameters": [_categorical("filter_size", "3", "5")]}
               for t in ("separable_convolution", "dilated_convolution")]
        ops += [{"operationType": t, "parameters": [_categorical("filter_size", "3")]}
                for t in ("max_pooling", "avg_pooling")] + [{"operationType": "skip_connection"}]
    cpu_layers = 3 if algorithm == "supernas-bats" else 2  # the bats space builds >= 3 cells
    return {"graphConfig": {"numLayers": 8 if gpu else cpu_layers}, "operations": ops}


SETTINGS: dict[str, dict[bool, dict[str, str]]] = {
    "supernas-enas": {False: {"suggestion_trial_dir": TRIAL_DIR, "seed": "0"},
                      True: {"suggestion_trial_dir": TRIAL_DIR, "seed": "0"}},
    "supernas-evolution": {False: {"population_size": "6", "sample_size": "3"},
                           True: {"population_size": "20", "sample_size": "5"}},
    "supernas-random": {False: {"seed": "0"}, True: {"seed": "0"}},
    "supernas-bo": {False: {"seed": "0", "initial": "4", "batch_size": "4", "epochs": "100"},
                    True: {"seed": "0"}},
    "supernas-pnas": {False: {"seed": "0", "initial": "4", "beam_size": "3", "epochs": "100"},
                      True: {"seed": "0"}},
    "supernas-darts": {False: {"num_epochs": "2", "batch_size": "32", "init_channels": "8",
                               "num_nodes": "2", "temperature": "0.5"},
                       True: {"num_epochs": "50", "batch_size": "64", "temperature": "0.5"}},
    "supernas-bats": {False: {"num_epochs": "2", "batch_size": "32", "init_channels": "8",
                              "num_nodes": "2"},
                      True: {"num_epochs": "50", "batch_size": "64"}},
}
PARAMETERS = {  # trialParameters: name -> reference (assignment name the algorithm returns)
    "multi": {"architecture": "architecture"},
    "cell": {"algorithmSettings": "algorithm-settings", "searchSpace": "search-space",
             "numberLayers": "num-layers", "seed": "seed"},
}


def trial_args(algorithm: str, gpu: bool) -> list[str]:
    data = (["--data=cifar10", "--data-dir=/data/cifar10", "--accelerator=gpu", "--devices=2",
             "--strategy=ddp"] if gpu else ["--data=digits", "--accelerator=cpu"])
    common = ["--report=stdout", "--no-progress", "--no-plots", *data]
    if algorithm in ("supernas-darts", "supernas-bats"):
        return ["search", f"--algorithm={algorithm.split('-')[1]}",
                "--algorithm-settings=${trialParameters.algorithmSettings}",
                "--search-space=${trialParameters.searchSpace}",
                "--num-layers=${trialParameters.numberLayers}", "--seed=${trialParameters.seed}",
                "--output=/tmp/supernas", *common]
    extra = [f"--trial-dir={TRIAL_DIR}"] if algorithm == "supernas-enas" else []
    return ["train", "--architecture-json=${trialParameters.architecture}", "--output=/tmp/supernas",
            f"--epochs={20 if gpu else 3}", *extra, *common]


def container(algorithm: str, gpu: bool) -> dict[str, Any]:
    launcher = (["torchrun", "--standalone", "--nproc_per_node=2", "-m"] if gpu else ["python", "-m"])
    resources = ({"limits": {"cpu": "8", "memory": "32Gi", "nvidia.com/gpu": "2"},
                  "requests": {"cpu": "4", "memory": "16Gi"}} if gpu else
                 {"limits": {"cpu": "2", "memory": "2Gi"}, "requests": {"cpu": "1", "memory": "1Gi"}})
    mounts = [{"name": "tmp", "mountPath": "/tmp"}]
    if gpu:
        mounts += [{"name": "data", "mountPath": "/data", "readOnly": True},
                   {"name": "dshm", "mountPath": "/dev/shm"}]
    return {"name": "training-container", "image": TRIAL_IMAGE,
            "command": [*launcher, "katib_suggestions.trial_entry", *trial_args(algorithm, gpu)],
            "env": [{"name": "HOME", "value": "/tmp"}], "resources": resources,
            "securityContext": {k: v for k, v in HARDENED.items() if k != "runAsUser"},
            "volumeMounts": mounts}


def pod_spec(algorithm: str, gpu: bool, restart: str) -> dict[str, Any]:
    volumes: list[dict[str, Any]] = [{"name": "tmp", "emptyDir": {}}]
    if gpu:
        volumes += [{"name": "data", "persistentVolumeClaim": {"claimName": "supernas-cifar10",
                                                                "readOnly": True}},
                    {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "2Gi"}}]
    return {"securityContext": {"runAsNonRoot": True, "runAsUser": UID, "runAsGroup": 0, "fsGroup": 0,
                                "seccompProfile": {"type": "RuntimeDefault"}},
            "automountServiceAccountToken": False,  # trials never talk to the API server
            "restartPolicy": restart, "containers": [container(algorithm, gpu)], "volumes": volumes}


def trial_spec(algorithm: str, gpu: bool) -> dict[str, Any]:
    if not gpu:
        return {"apiVersion": "batch/v1", "kind": "Job",
                "spec": {"backoffLimit": 0, "template": {"spec": pod_spec(algorithm, gpu, "Never")}}}
    master = {"replicas": 1, "restartPolicy": "OnFailure",
              "template": {"spec": pod_spec(algorithm, gpu, "OnFailure")}}
    for c in master["template"]["spec"]["containers"]:
        c["name"] = "pytorch"  # the PyTorchJob operator's container name
    return {"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob",
            "spec": {"pytorchReplicaSpecs": {"Master": master}}}


def experiment(algorithm: str, gpu: bool) -> dict[str, Any]:
    cell = algorithm in ("supernas-darts", "supernas-bats")
    params = PARAMETERS["cell" if cell else "multi"]
    nas = cell_nas_config(algorithm, gpu) if cell else macro_nas_config(gpu)
    return {"apiVersion": "kubeflow.org/v1beta1", "kind": "Experiment",
            "metadata": {"name": f"{algorithm}-{'gpu' if gpu else 'cpu'}", "namespace": "kubeflow"},
            "spec": {
                "parallelTrialCount": 1 if cell else (3 if gpu else 2),
                "maxTrialCount": 2 if cell else (48 if gpu else 6),
                "maxFailedTrialCount": 2 if cell else 3,
                "resumePolicy": "FromVolume",
                "objective": {"type": "maximize", "goal": 0.99, "objectiveMetricName": "Validation-Accuracy"},
                "metricsCollectorSpec": {"collector": {"kind": "StdOut"}},
                "algorithm": {"algorithmName": algorithm, "algorithmSettings": [
                    {"name": k, "value": v} for k, v in SETTINGS[algorithm][gpu].items()]},
                "nasConfig": nas,
                "trialTemplate": {
                    "primaryContainerName": "pytorch" if gpu else "training-container",
                    "trialParameters": [{"name": n, "description": f"{r} assignment of {algorithm}",
                                         "reference": r} for n, r in params.items()],
                    "trialSpec": trial_spec(algorithm, gpu)}}}


def render() -> dict[str, str]:
    """Relative path -> file text."""
    header = "# Generated by manifests/generate.py; edit the generator, not this file.\n"
    dump = lambda obj: header + yaml.safe_dump(obj, sort_keys=False, width=110)
    out = {"katib-config/katib-config.yaml": dump(katib_config(False)),
           "overlays/drop-in/katib-config.yaml": dump(katib_config(True))}
    for algorithm in ALGORITHMS:
        for gpu in (False, True):
            out[f"experiments/{algorithm}-{'gpu' if gpu else 'cpu'}.yaml"] = dump(experiment(algorithm, gpu))
    return out


def main() -> None:
    for rel, text in render().items():
        (HERE / rel).parent.mkdir(parents=True, exist_ok=True)
        (HERE / rel).write_text(text)
        print(f"wrote manifests/{rel}")


if __name__ == "__main__":
    main()
