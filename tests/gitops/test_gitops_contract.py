"""The environments repo is a checked contract: it renders the platform's overlays, and valid Argo CD objects."""

import copy
import json
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from gitops_support import digest, git_out

from ci.schemas import crd_documents, default_crd_dir, strict_crd_schema
from gitops import layout
from gitops.generate import ENV_LABEL, OPERATOR_ACTIONS, OVERRIDE_ACTIONS, ROLLOUT_TRIGGERS
from gitops.writer import release
from kernel.catalog import AGENTS, ENVIRONMENTS, EXAMPLE, image_repository
from kernel.toolpaths import REPO_ROOT

# What a variant adds to every object: settings of the environment, never part of the platform.
VARIANT_ANNOTATIONS = ("link.argocd.argoproj.io/", "notifications.argoproj.io/")
LINKS = ("link.argocd.argoproj.io/judge-report", "link.argocd.argoproj.io/grafana")


def rendered(folder: Path) -> dict[tuple[str, str], dict[str, Any]]:
    out = subprocess.run(
        ["kubectl", "kustomize", str(folder)], capture_output=True, text=True, check=True
    ).stdout
    objects = [doc for doc in yaml.safe_load_all(out) if doc]
    return {(obj["kind"], obj["metadata"]["name"]): obj for obj in objects}


def without_variant(obj: dict[str, Any]) -> dict[str, Any]:
    """The object without what an environments repo sets per environment: variant labels and
    annotations, and the AnalysisRun links (the platform's overlays link to localhost)."""
    obj = copy.deepcopy(obj)
    metadata = obj["metadata"]
    # The labels the environments repo's Prometheus selects PodMonitors by come from its platform file.
    monitoring = EXAMPLE.monitoring_labels if obj["kind"] == "PodMonitor" else {}
    labels = {k: v for k, v in metadata.get("labels", {}).items() if k != ENV_LABEL and k not in monitoring}
    annotations = {
        k: v for k, v in metadata.get("annotations", {}).items() if not k.startswith(VARIANT_ANNOTATIONS)
    }
    metadata = {k: v for k, v in metadata.items() if k not in ("labels", "annotations")}
    for container in _containers(obj):  # a strategic-merge patch may reorder the env list
        container.get("env", []).sort(key=lambda variable: variable["name"])
    canary = obj.get("spec", {}).get("strategy", {}).get("canary", {})
    for analysis in [
        canary.get("analysis") or {},
        *(step.get("analysis") or {} for step in canary.get("steps", [])),
    ]:
        for link in LINKS:
            analysis.get("analysisRunMetadata", {}).get("annotations", {}).pop(link, None)
    return {
        **obj,
        "metadata": {
            **metadata,
            **({"labels": labels} if labels else {}),
            **({"annotations": annotations} if annotations else {}),
        },
    }


def _containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    pod = obj.get("spec", {}).get("template", {}).get("spec", {})
    containers: list[dict[str, Any]] = pod.get("containers", []) + pod.get("initContainers", [])
    return containers


def images(obj: dict[str, Any]) -> list[str]:
    return [c["image"] for c in _containers(obj)]


@pytest.fixture
def clone(remote: Path, tmp_path: Path) -> Path:
    release(str(remote), "dev", "code-analysis", f"{image_repository('code-analysis')}@{digest('contract')}")
    path = tmp_path / "clone"
    git_out(tmp_path, "clone", "--quiet", str(remote), str(path))
    return path


def test_each_env_folder_renders_the_platform_overlay_but_for_the_pinned_image(clone: Path) -> None:
    """The example platform file generates what this platform's own overlays say, link bases aside:
    it fails if the file and rollouts/envs disagree, or base/ was vendored wrong."""
    for env in ENVIRONMENTS:
        for name in AGENTS:
            ours = rendered(clone / layout.env_folder(env, name))
            platform = rendered(REPO_ROOT / layout.PLATFORM_ENVS / env / name)
            assert ours.keys() == platform.keys(), f"{env}/{name}"
            for key, obj in ours.items():
                assert obj["metadata"].get("labels", {}).get(ENV_LABEL) == env
                theirs = platform[key]
                if name == "code-analysis" and env == "dev" and images(obj):
                    pinned = f"{image_repository(name)}@{digest('contract')}"
                    assert pinned in images(obj) and pinned not in images(theirs)
                    assert len(images(obj)) == len(images(theirs))
                    # Put the platform's images back: nothing else may differ.
                    obj = copy.deepcopy(obj)
                    for ours_c, theirs_c in zip(_containers(obj), _containers(theirs), strict=True):
                        ours_c["image"] = theirs_c["image"]
                assert without_variant(obj) == without_variant(theirs), f"{env}/{name}: {key}"


def _crd_schemas() -> dict[str, dict[str, Any]]:
    return {
        crd["spec"]["names"]["kind"]: strict_crd_schema(version["schema"]["openAPIV3Schema"])
        for crd in crd_documents(default_crd_dir() / "argo-cd")
        for version in crd["spec"]["versions"]
        if version["name"] == "v1alpha1"
    }


def test_argocd_objects_validate_against_the_argo_cd_crds(clone: Path) -> None:
    schemas = _crd_schemas()
    documents = [
        doc
        for path in sorted((clone / layout.ARGOCD_DIR).glob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text())
    ]
    assert {doc["kind"] for doc in documents} == {"AppProject", "ApplicationSet", "Application"}
    for doc in documents:
        errors = [
            f"{'.'.join(map(str, e.path))}: {e.message}"
            for e in jsonschema.Draft7Validator(schemas[doc["kind"]]).iter_errors(doc)
        ]
        assert not errors, f"{doc['kind']}/{doc['metadata']['name']}: {errors}"

    appsets = {
        doc["metadata"]["name"].rsplit("-", 1)[-1]: doc["spec"]
        for doc in documents
        if doc["kind"] == "ApplicationSet"
    }
    assert sorted(appsets) == sorted(ENVIRONMENTS)
    for env, spec in appsets.items():
        assert spec["goTemplate"] is True and spec["goTemplateOptions"] == ["missingkey=error"]
        assert spec["generators"][0]["git"]["directories"] == [{"path": f"envs/{env}/*"}]
        policy = spec["template"]["spec"]["syncPolicy"]
        assert spec["syncPolicy"] == {"preserveResourcesOnDeletion": True}
        assert spec["template"]["spec"]["destination"] == {
            "server": EXAMPLE.environment(env).cluster,
            "namespace": EXAMPLE.environment(env).namespace,
        }
        if EXAMPLE.environment(env).automated:
            assert policy["automated"] == {"prune": True, "selfHeal": True}
        else:
            assert "automated" not in policy
        assert {"RespectIgnoreDifferences=true", "ApplyOutOfSyncOnly=true"} <= set(policy["syncOptions"])
        annotations = spec["template"]["metadata"]["annotations"]
        assert "/reports" in annotations["link.argocd.argoproj.io/judge-report"]
        assert any(key.startswith("notifications.argoproj.io/subscribe.on-") for key in annotations)

    [platform] = [doc for doc in documents if doc["kind"] == "Application"]  # one cluster: one owner
    assert platform["spec"]["source"]["path"] == "clusters/kubernetes-default-svc"
    assert "automated" not in platform["spec"]["syncPolicy"]  # prod shares the cluster and syncs manually

    project = next(doc for doc in documents if doc["kind"] == "AppProject")
    roles = {role["name"]: "\n".join(role["policies"]) for role in project["spec"]["roles"]}
    for action in OPERATOR_ACTIONS:
        assert f"applications, action/argoproj.io/Rollout/{action}," in roles["release-operator"]
    for action in OPERATOR_ACTIONS + OVERRIDE_ACTIONS:
        assert f"applications, action/argoproj.io/Rollout/{action}," in roles["release-override"]
    assert "promote-full" not in roles["release-operator"]
    assert {"agents-" + env for env in ENVIRONMENTS} <= {
        d["namespace"] for d in project["spec"]["destinations"]
    }


def test_generated_folders_all_explain_themselves(clone: Path) -> None:
    folders = {path.parent for path in clone.rglob("*") if path.is_file() and ".git" not in path.parts}
    folders = {
        f
        for f in folders
        if layout.BASE_DIR not in f.relative_to(clone).parts[:1] or f == clone / layout.BASE_DIR
    }
    # generated/README.md explains every folder below it; .github/ holds only the CI workflow.
    below = {(layout.GENERATED_DIR,), (".github",)}
    folders = {f for f in folders if f.relative_to(clone).parts[:1] not in below} | {
        clone / layout.GENERATED_DIR
    }
    assert [str(f.relative_to(clone)) for f in sorted(folders) if not (f / "README.md").is_file()] == []


def test_grafana_links_open_the_dashboard_the_platform_ships() -> None:
    from gitops.generate import GRAFANA_DASHBOARD_PATH

    configmap = yaml.safe_load(
        (REPO_ROOT / "rollouts/monitoring/grafana-dashboard-configmap.yaml").read_text()
    )
    [dashboard_json] = configmap["data"].values()
    uid = json.loads(dashboard_json)["uid"]
    assert GRAFANA_DASHBOARD_PATH.startswith(f"/d/{uid}/")


def test_rollouts_notify_only_on_what_needs_a_person(clone: Path) -> None:
    rollout = rendered(clone / layout.env_folder("prod", "code-analysis"))[("Rollout", "code-analysis-agent")]
    subscribed = {
        key.removeprefix("notifications.argoproj.io/subscribe.").split(".")[0]
        for key in rollout["metadata"]["annotations"]
        if key.startswith("notifications.argoproj.io/subscribe.")
    }
    assert subscribed == set(ROLLOUT_TRIGGERS)
    assert "on-analysis-run-error" in subscribed
    configmap = rendered(clone / layout.cluster_folder("kubernetes-default-svc"))[
        ("ConfigMap", "argo-rollouts-notification-configmap")
    ]
    assert {f"trigger.{trigger}" for trigger in ROLLOUT_TRIGGERS} <= set(configmap["data"])
    # A timed pause sends nothing: the paused trigger has a condition (only `pause: {}` passes it).
    assert "pause.duration == nil" in configmap["data"]["trigger.on-rollout-paused"]


def test_the_generated_ci_workflow_validates_every_pull_request(clone: Path, require_tool) -> None:
    workflow = clone / layout.CI_WORKFLOW
    linted = subprocess.run([require_tool("actionlint"), str(workflow)], capture_output=True, text=True)
    assert linted.returncode == 0, linted.stdout + linted.stderr
    spec = yaml.safe_load(workflow.read_text())
    assert "pull_request" in spec[True]  # YAML 1.1 reads the key `on` as a boolean
    steps = "\n".join(step.get("run", "") for step in spec["jobs"]["validate"]["steps"])
    assert "agent-rollouts crds" in steps and "agent-rollouts validate --crd-dir" in steps
