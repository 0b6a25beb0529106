"""Manifests: generated files are current, render with ``kubectl kustomize``, validate against
Katib's OpenAPI schema (with an added unknown-field check) and the Kubernetes PodSpec/Container
schemas, name algorithms the service serves with matching trialParameters, and run hardened."""
from __future__ import annotations

import copy
import functools
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from katib_suggestions.algorithms import ALGORITHMS
from katib_suggestions.experiment import experiment_message, trial_references

REPO = Path(__file__).resolve().parents[1]
MANIFESTS = REPO / "manifests"
EXPERIMENTS = sorted((MANIFESTS / "experiments").glob("supernas-*.yaml"))
KUSTOMIZATIONS = ["katib-config", "overlays/drop-in", "experiments"]
KATIB_ONLY_KEYS = {"algorithmName", "volumeMountPath", "persistentVolumeClaimSpec",
                   "persistentVolumeSpec", "persistentVolumeLabels", "serviceAccountName"}


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def kustomize(rel: str) -> list[dict]:
    if not shutil.which("kubectl"):
        pytest.skip("kubectl not installed")
    out = subprocess.run(["kubectl", "kustomize", str(MANIFESTS / rel)], capture_output=True, text=True,
                         timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def test_generated_files_are_current() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("generate", MANIFESTS / "generate.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    rendered = gen.render()
    assert len(rendered) == 2 + 2 * len(gen.ALGORITHMS)
    for rel, text in rendered.items():
        assert (MANIFESTS / rel).read_text() == text, f"{rel} is stale: run python manifests/generate.py"


@pytest.mark.parametrize("rel", KUSTOMIZATIONS)
def test_kustomize_builds(rel: str) -> None:
    docs = kustomize(rel)
    if rel == "experiments":
        assert sorted(d["metadata"]["name"] for d in docs) == sorted(p.stem for p in EXPERIMENTS)
        assert all(d["metadata"]["namespace"] == "kubeflow" for d in docs)
        return
    (cm,) = docs
    assert cm["kind"] == "ConfigMap" and cm["metadata"]["name"] == "katib-config"
    config = yaml.safe_load(cm["data"]["katib-config.yaml"])
    entries = {e["algorithmName"]: e for e in config["runtime"]["suggestions"]}
    ours = [n for n in ALGORITHMS.names() if n.startswith("supernas-")]
    if rel == "overlays/drop-in":
        ours += ["enas", "darts"]
    for name in ours:
        assert entries[name]["image"].startswith("ghcr.io/supernas/katib-suggestion")
        assert memory_bytes(entries[name]["resources"]["limits"]["memory"]) >= 2**30
        assert entries[name]["volumeMountPath"] == "/opt/katib/data"
        assert entries[name]["persistentVolumeClaimSpec"]["resources"]["requests"]["storage"]
        hardened(entries[name]["securityContext"], {})
    assert "random" in entries and "pbt" in entries  # Katib's own algorithms are kept


def memory_bytes(text: str) -> float:
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
    return float(text[:-2]) * units[text[-2:]] if text[-2:] in units else float(text)


@pytest.mark.parametrize("path", EXPERIMENTS, ids=[p.stem for p in EXPERIMENTS])
def test_experiment_matches_its_algorithm(path: Path, tmp_path: Path) -> None:
    crd = load(path)
    exp = experiment_message(crd)
    algo = ALGORITHMS.create(crd["spec"]["algorithm"]["algorithmName"], experiment=exp, state_dir=tmp_path)
    assert sorted(trial_references(crd)) == sorted(algo.references)
    for p in crd["spec"]["trialTemplate"]["trialParameters"]:
        assert any(f"${{trialParameters.{p['name']}}}" in arg for arg in primary(crd)["command"])


def pod_specs(crd: dict) -> list[dict]:
    trial = crd["spec"]["trialTemplate"]["trialSpec"]
    if trial["kind"] == "Job":
        return [trial["spec"]["template"]["spec"]]
    assert trial["kind"] == "PyTorchJob"
    return [r["template"]["spec"] for r in trial["spec"]["pytorchReplicaSpecs"].values()]


def primary(crd: dict) -> dict:
    name = crd["spec"]["trialTemplate"]["primaryContainerName"]
    return next(c for c in pod_specs(crd)[0]["containers"] if c["name"] == name)


def hardened(sc: dict, pod_sc: dict) -> None:
    merged = {**pod_sc, **sc}
    assert merged["runAsNonRoot"] is True and merged.get("runAsUser", 1) != 0
    assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]


@pytest.mark.parametrize("path", EXPERIMENTS, ids=[p.stem for p in EXPERIMENTS])
def test_trial_pods_are_hardened_and_limited(path: Path) -> None:
    crd = load(path)
    for pod in pod_specs(crd):
        assert pod["automountServiceAccountToken"] is False  # trials never call the API server
        for c in pod["containers"]:
            hardened(c["securityContext"], pod["securityContext"])
            assert {"cpu", "memory"} <= set(c["resources"]["limits"])
            mounts = {m["mountPath"] for m in c.get("volumeMounts", [])}
            assert "/tmp" in mounts  # writable scratch despite the read-only root filesystem
    if path.stem.endswith("-gpu"):
        assert crd["spec"]["trialTemplate"]["trialSpec"]["kind"] == "PyTorchJob"
        assert int(primary(crd)["resources"]["limits"]["nvidia.com/gpu"]) >= 2


# --- OpenAPI validation -------------------------------------------------------------------------

def strict(schemas: dict) -> dict:
    """Katib's schemas with ``additionalProperties: false`` wherever properties are listed (the
    published schema allows unknown fields, which would hide typos)."""
    out = copy.deepcopy(schemas)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if ("properties" in node and "additionalProperties" not in node
                    and not node.get("x-kubernetes-preserve-unknown-fields")):
                node["additionalProperties"] = False
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(out)
    return out


@functools.lru_cache(maxsize=1)
def _openapi(path: Path) -> dict:
    doc = json.loads(path.read_text())
    return {"components": {"schemas": strict(doc["components"]["schemas"])}}


@pytest.fixture
def openapi(shared_dir: Path) -> dict:
    return _openapi(shared_dir / "anchors/katib/openapi/swagger.json")


def check(openapi: dict, name: str, instance: Any) -> None:
    schema = {**openapi, "$ref": f"#/components/schemas/{name}"}
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(instance), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])


@pytest.mark.parametrize("path", EXPERIMENTS, ids=[p.stem for p in EXPERIMENTS])
def test_experiment_validates_against_openapi(openapi: dict, path: Path) -> None:
    crd = load(path)
    check(openapi, "v1beta1.Experiment", crd)
    for pod in pod_specs(crd):
        check(openapi, "io.k8s.api.core.v1.PodSpec", pod)


def test_validator_catches_a_typo(openapi: dict) -> None:
    crd = load(EXPERIMENTS[0])
    crd["spec"]["parallelTrialCounts"] = 2
    with pytest.raises(AssertionError, match="parallelTrialCounts"):
        check(openapi, "v1beta1.Experiment", crd)


@pytest.mark.parametrize("rel", ["katib-config/katib-config.yaml", "overlays/drop-in/katib-config.yaml"])
def test_katib_config_entries_validate(openapi: dict, rel: str) -> None:
    config = load(MANIFESTS / rel)
    assert config["kind"] == "KatibConfig"
    for entry in config["runtime"]["suggestions"]:
        container = {k: v for k, v in entry.items() if k not in KATIB_ONLY_KEYS}
        check(openapi, "io.k8s.api.core.v1.Container", {"name": "suggestion", **container})  # Katib names it
        if "persistentVolumeClaimSpec" in entry:
            check(openapi, "io.k8s.api.core.v1.PersistentVolumeClaimSpec", entry["persistentVolumeClaimSpec"])


# --- Dockerfiles --------------------------------------------------------------------------------

@pytest.mark.parametrize("dockerfile", ["katib_suggestions/Dockerfile", "trial_templates/Dockerfile"])
def test_dockerfile_lint_clean(dockerfile: str) -> None:
    hadolint = shutil.which("hadolint") or str(Path(REPO / ".venv/bin/hadolint"))
    if not Path(hadolint).exists():
        pytest.skip("hadolint not installed")
    out = subprocess.run([hadolint, str(REPO / dockerfile)], capture_output=True, text=True, timeout=60,
                         check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    text = (REPO / dockerfile).read_text()
    assert "\nUSER 1000" in text
    if dockerfile.startswith("katib"):
        assert "download.pytorch.org/whl/cpu" in text and "EXPOSE 6789" in text


def _tested_torch() -> str:
    """The torch version the tests run on (``scripts/setup.sh`` installs it)."""
    import re

    return re.search(r"torch==([0-9][\w.]*)", (REPO / "scripts/setup.sh").read_text()).group(1)


@pytest.mark.parametrize("dockerfile", ["katib_suggestions/Dockerfile", "trial_templates/Dockerfile"])
def test_images_run_the_tested_torch(dockerfile: str) -> None:
    """An image on another torch behaves otherwise (torch < 2.6 defaults ``torch.load`` to
    ``weights_only=False``); a ``pytorch/pytorch`` base image would bring its own torch."""
    import re

    text = (REPO / dockerfile).read_text()
    assert re.findall(r"\btorch==([0-9][\w.]*)", text) == [_tested_torch()]
    assert not re.search(r"^FROM\s+pytorch/", text, re.MULTILINE)


def test_trial_requirements_pin_core_and_trial_extra() -> None:
    import re

    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    lines = (REPO / "docker/requirements-trial.txt").read_text().splitlines()
    pins = dict(line.lower().split("==", 1) for line in lines if line and not line.startswith("#"))
    for spec in [*project["dependencies"], *project["optional-dependencies"]["trial"]]:
        name = re.match(r"[A-Za-z0-9._-]+", spec).group(0).lower()
        if name != "torch":  # from the Dockerfile (test above)
            assert name in pins, f"{name} ({spec}) is not pinned in docker/requirements-trial.txt"
