"""Restricted pods everywhere, and secrets only through secretKeyRef or mounted Secret files."""

import re
from collections.abc import Iterator

from manifests_render import Doc, Rendered

from kernel.catalog import AGENTS

WORKLOADS = ("Rollout", "Deployment")
SECRET_LOOKING = re.compile(r"KEY|SECRET|TOKEN|PASSWORD", re.IGNORECASE)


def pod_specs(rendered: dict[str, Rendered]) -> Iterator[tuple[str, Doc]]:
    for overlay in rendered.values():
        for kind in WORKLOADS:
            for doc in overlay.all(kind):
                yield f"{overlay.name}: {kind} {doc['metadata']['name']}", doc["spec"]["template"]["spec"]


def test_every_overlay_has_a_workload(rendered: dict[str, Rendered]) -> None:
    names = {where.split(":")[0] for where, _ in pod_specs(rendered)}
    assert names == set(rendered)


def test_every_pod_runs_restricted(rendered: dict[str, Rendered]) -> None:
    for where, pod in pod_specs(rendered):
        assert pod["automountServiceAccountToken"] is False, where
        assert pod["securityContext"]["runAsNonRoot"] is True, where
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, where
        assert pod["topologySpreadConstraints"], where
        for container in pod["containers"] + pod.get("initContainers", []):
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["runAsNonRoot"] is True, where
            assert context["capabilities"] == {"drop": ["ALL"]}, where
            assert context["seccompProfile"] == {"type": "RuntimeDefault"}, where
            assert set(container["resources"]) == {"requests", "limits"}, where
            assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", where
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", where


def test_agent_pods_probe_health_and_ready(rendered: dict[str, Rendered]) -> None:
    pod = rendered["prod/knowledge-qna"].one("Rollout")["spec"]["template"]["spec"]
    (agent,) = pod["containers"]
    assert agent["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert agent["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}


def test_secrets_come_only_from_secret_refs_or_mounted_files(rendered: dict[str, Rendered]) -> None:
    for overlay in rendered.values():
        assert not overlay.all("Secret"), f"{overlay.name}: no Secret may be rendered from this repo"
    for where, pod in pod_specs(rendered):
        for container in pod["containers"]:
            for env in container.get("env", []):
                if not SECRET_LOOKING.search(env["name"]):
                    continue
                if env["name"].endswith("_FILE"):
                    assert env["value"].startswith("/var/run/secrets/"), f"{where}: {env}"
                    continue
                assert set(env) == {"name", "valueFrom"} and set(env["valueFrom"]) == {"secretKeyRef"}, (
                    f"{where}: {env['name']} must come from a secretKeyRef"
                )


def test_the_llm_key_is_each_agents_own_secret(rendered: dict[str, Rendered]) -> None:
    for agent in AGENTS:
        (container,) = rendered[f"dev/{agent}"].one("Rollout")["spec"]["template"]["spec"]["containers"]
        env = {item["name"]: item for item in container["env"]}
        assert env["AGENT_LLM_API_KEY"]["valueFrom"]["secretKeyRef"] == {
            "name": f"{agent}-llm-credentials",
            "key": "api-key",
        }


def test_agents_have_a_disruption_budget_and_metrics_scraped_with_the_pod_template_hash(
    rendered: dict[str, Rendered],
) -> None:
    overlay = rendered["prod/code-analysis"]
    selector = overlay.one("Rollout")["spec"]["selector"]["matchLabels"]
    assert overlay.one("PodDisruptionBudget")["spec"]["selector"]["matchLabels"] == selector
    monitor = overlay.one("PodMonitor")["spec"]
    assert monitor["selector"]["matchLabels"] == selector
    relabelings = monitor["podMetricsEndpoints"][0]["relabelings"]
    assert {
        "sourceLabels": ["__meta_kubernetes_pod_label_rollouts_pod_template_hash"],
        "targetLabel": "rollouts_pod_template_hash",
    } in relabelings
