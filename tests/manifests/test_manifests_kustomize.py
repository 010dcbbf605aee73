"""Users' own overlays on ours: container lists merge by name, and renames are followed."""

import os
import shutil
from pathlib import Path

import yaml
from manifests_render import Doc, build

from kernel.toolpaths import REPO_ROOT

# A user's patch that touches one container: one more env var and a bigger memory limit.
EXTRA_ENV_PATCH = """\
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: code-analysis-agent
spec:
  template:
    spec:
      containers:
        - name: agent
          env:
            - name: AGENT_RATE_LIMIT_RPS
              value: "50"
          resources:
            limits:
              memory: 1Gi
"""


def overlay(directory: Path, base: Path, **fields: object) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    # kustomize refuses absolute resource paths.
    kustomization = {"resources": [os.path.relpath(base, directory)], **fields}
    (directory / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    return directory


def agent_container(docs: list[Doc]) -> Doc:
    (rollout,) = [doc for doc in docs if doc["kind"] == "Rollout"]
    (container,) = rollout["spec"]["template"]["spec"]["containers"]
    assert isinstance(container, dict)
    return container


def test_a_patch_on_one_container_merges_into_it(tmp_path: Path) -> None:
    user = overlay(
        tmp_path / "user", REPO_ROOT / "rollouts/agents/code-analysis", patches=[{"patch": EXTRA_ENV_PATCH}]
    )
    container = agent_container(build(user).docs)
    assert container["image"] == "ghcr.io/agent-rollouts/code-analysis"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    env = {item["name"] for item in container["env"]}
    assert {"AGENT_RATE_LIMIT_RPS", "AGENT_NAME", "AGENT_LLM_API_KEY", "AGENT_JWT_SECRET_FILE"} <= env
    assert container["resources"]["limits"] == {"cpu": "1", "memory": "1Gi"}
    assert container["resources"]["requests"] == {"cpu": "100m", "memory": "256Mi"}


def test_a_patch_adding_a_service_port_keeps_the_agents_port(tmp_path: Path) -> None:
    """kustomize takes one OpenAPI document instead of its built-in one: ours keeps Service ports merging."""
    patch = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "code-analysis-agent"},
        "spec": {"ports": [{"name": "grpc", "port": 9090, "targetPort": 9090}]},
    }
    user = overlay(
        tmp_path / "user",
        REPO_ROOT / "rollouts/agents/code-analysis",
        patches=[{"patch": yaml.safe_dump(patch)}],
    )
    (service,) = [
        doc
        for doc in build(user).docs
        if doc["kind"] == "Service" and doc["metadata"]["name"] == "code-analysis-agent"
    ]
    assert {port["name"]: port["port"] for port in service["spec"]["ports"]} == {"http": 8080, "grpc": 9090}


def test_without_our_openapi_schema_the_same_patch_would_replace_the_container(tmp_path: Path) -> None:
    """The control: the merge above is our schema's doing, not kustomize's default."""
    for folder in ("rollouts", "analysis"):
        shutil.copytree(REPO_ROOT / folder, tmp_path / folder)
    base = tmp_path / "rollouts/base/kustomization.yaml"
    kustomization = yaml.safe_load(base.read_text())
    del kustomization["openapi"]
    base.write_text(yaml.safe_dump(kustomization))
    user = overlay(
        tmp_path / "user", tmp_path / "rollouts/agents/code-analysis", patches=[{"patch": EXTRA_ENV_PATCH}]
    )
    container = agent_container(build(user).docs)
    assert "image" not in container and "readinessProbe" not in container


def test_a_further_name_prefix_is_followed_by_every_reference(tmp_path: Path) -> None:
    user = overlay(tmp_path / "user", REPO_ROOT / "rollouts/envs/prod/code-analysis", namePrefix="team-a-")
    docs = build(user).docs
    names = {(doc["kind"], doc["metadata"]["name"]) for doc in docs}
    assert all(name.startswith("team-a-code-analysis-agent") for _, name in names)
    (rollout,) = [doc for doc in docs if doc["kind"] == "Rollout"]
    canary = rollout["spec"]["strategy"]["canary"]
    references = [
        ("Service", canary["canaryService"]),
        ("Service", canary["stableService"]),
        ("VirtualService", canary["trafficRouting"]["istio"]["virtualService"]["name"]),
        ("DestinationRule", canary["trafficRouting"]["istio"]["destinationRule"]["name"]),
        ("ServiceAccount", rollout["spec"]["template"]["spec"]["serviceAccountName"]),
    ]
    references += [("AnalysisTemplate", t["templateName"]) for t in canary["analysis"]["templates"]]
    references += [
        ("AnalysisTemplate", t["templateName"])
        for step in canary["steps"]
        if "analysis" in step
        for t in step["analysis"]["templates"]
    ]
    missing = [ref for ref in references if ref not in names]
    assert not missing, f"references not renamed with their objects: {missing}"
    assert len(references) == 11  # 2 Services, VirtualService, DestinationRule, account, 3 + 3x1 templates
    hosts = {
        doc["kind"]: doc["spec"].get("hosts") or [doc["spec"]["host"]]
        for doc in docs
        if doc["kind"] in ("VirtualService", "DestinationRule")
    }
    host = rollout["metadata"]["name"]
    assert hosts == {"VirtualService": [host], "DestinationRule": [host]}
    (virtual_service,) = [doc for doc in docs if doc["kind"] == "VirtualService"]
    assert {r["destination"]["host"] for http in virtual_service["spec"]["http"] for r in http["route"]} == {
        host
    }


def test_kustomizations_reference_only_rollouts_and_analysis() -> None:
    """The environments repo vendors rollouts/ and analysis/ verbatim: nothing else may be referenced."""
    vendored = [REPO_ROOT / "rollouts", REPO_ROOT / "analysis"]
    kustomizations = sorted(path for folder in vendored for path in folder.rglob("kustomization.yaml"))
    assert len(kustomizations) > 20
    for path in kustomizations:
        kustomization = yaml.safe_load(path.read_text())
        referenced = [*kustomization.get("resources", []), *kustomization.get("components", [])]
        referenced += [patch["path"] for patch in kustomization.get("patches", []) if "path" in patch]
        referenced += kustomization.get("configurations", [])
        referenced += [kustomization["openapi"]["path"]] if "openapi" in kustomization else []
        for reference in referenced:
            target = (path.parent / reference).resolve()
            assert target.exists(), f"{path}: {reference} does not exist"
            assert any(target.is_relative_to(folder) for folder in vendored), (
                f"{path}: {reference} is outside rollouts/ and analysis/"
            )
