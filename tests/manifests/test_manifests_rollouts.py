"""The delivery intent of the rendered Rollouts: weights, gates, pauses, routing, names, images."""

import re

import pytest
from manifests_render import Doc, Rendered

from kernel.catalog import AGENTS, ENVIRONMENTS, image_repository, namespace

ENV_AGENTS = [(env, agent) for env in ENVIRONMENTS for agent in AGENTS]
JUDGE_GATE = ["agent-regression"]
BACKGROUND = ["agent-regression-watch", "agent-error-rate", "agent-latency-p95"]
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
SECONDS = {"s": 1, "m": 60, "h": 3600}


def seconds(duration: str) -> int:
    match = re.fullmatch(r"(\d+)([smh])", duration)
    assert match, f"unexpected pause duration {duration!r}"
    return int(match[1]) * SECONDS[match[2]]


def unprefixed(agent: str, templates: list[Doc]) -> list[str]:
    """Template names without the agent overlay's namePrefix."""
    prefix = f"{agent}-"
    names = [t["templateName"] for t in templates]
    assert all(name.startswith(prefix) for name in names), f"{names} do not carry the prefix {prefix!r}"
    return [name.removeprefix(prefix) for name in names]


def canary(overlay: Rendered) -> Doc:
    strategy: Doc = overlay.one("Rollout")["spec"]["strategy"]
    return strategy["canary"]


@pytest.mark.parametrize(("env", "agent"), ENV_AGENTS)
def test_weights_rise_10_25_50_100_with_the_judge_gate_before_each_increase(
    rendered: dict[str, Rendered], env: str, agent: str
) -> None:
    steps = canary(rendered[f"{env}/{agent}"])["steps"]
    weights = [step["setWeight"] for step in steps if "setWeight" in step]
    assert weights == [10, 25, 50, 100]
    weight_at = [i for i, step in enumerate(steps) if "setWeight" in step]
    for before, after in zip(weight_at, weight_at[1:], strict=False):
        between = steps[before + 1 : after]
        gates = [step["analysis"] for step in between if "analysis" in step]
        assert len(gates) == 1, f"steps {before}..{after}: expected one analysis gate, got {between}"
        assert unprefixed(agent, gates[0]["templates"]) == JUDGE_GATE
        # The pause comes first, so the judge sees traffic at the new weight.
        assert "pause" in between[0]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_pauses_per_environment_and_the_prod_manual_gate(rendered: dict[str, Rendered], env: str) -> None:
    steps = canary(rendered[f"{env}/code-analysis"])["steps"]
    timed = [seconds(step["pause"]["duration"]) for step in steps if "duration" in step.get("pause", {})]
    manual = [i for i, step in enumerate(steps) if step.get("pause") == {}]
    if env == "dev":
        assert timed == [60, 60, 60]
    else:
        assert timed == [300, 600, 900]  # the seed's 5, 10, 15 minutes
    if env == "prod":
        # Right before 100%, after the last analysis: `kubectl argo rollouts promote` is the approval.
        assert manual == [len(steps) - 2]
        assert steps[-1] == {"setWeight": 100} and "analysis" in steps[-3]
    else:
        assert manual == []


def test_dev_pauses_are_shorter_than_everywhere_else(rendered: dict[str, Rendered]) -> None:
    def total(env: str) -> int:
        steps = canary(rendered[f"{env}/knowledge-qna"])["steps"]
        return sum(
            seconds(step["pause"]["duration"]) for step in steps if "duration" in step.get("pause", {})
        )

    assert total("dev") < total("staging") == total("prod")


@pytest.mark.parametrize(("env", "agent"), ENV_AGENTS)
def test_background_analysis_watches_the_judge_errors_and_latency_from_the_first_step(
    rendered: dict[str, Rendered], env: str, agent: str
) -> None:
    background = canary(rendered[f"{env}/{agent}"])["analysis"]
    assert background["startingStep"] == 0
    assert unprefixed(agent, background["templates"]) == BACKGROUND


@pytest.mark.parametrize(("env", "agent"), ENV_AGENTS)
def test_intermediate_gates_advance_unless_fail_and_the_last_requires_pass(
    rendered: dict[str, Rendered], env: str, agent: str
) -> None:
    steps = canary(rendered[f"{env}/{agent}"])["steps"]
    policies = [
        {arg["name"]: arg.get("value") for arg in step["analysis"]["args"]}["policy"]
        for step in steps
        if "analysis" in step
    ]
    assert policies == ["advance-unless-fail", "advance-unless-fail", "require-pass"]
    last_gate = max(i for i, step in enumerate(steps) if "analysis" in step)
    # Nothing but a manual pause lies between the last gate and 100 %.
    assert all(step == {"pause": {}} for step in steps[last_gate + 1 : -1])


@pytest.mark.parametrize(("env", "agent"), ENV_AGENTS)
def test_every_analysis_passes_the_agent_hashes_and_namespace(
    rendered: dict[str, Rendered], env: str, agent: str
) -> None:
    strategy = canary(rendered[f"{env}/{agent}"])
    blocks = [strategy["analysis"]] + [step["analysis"] for step in strategy["steps"] if "analysis" in step]
    for block in blocks:
        args = {arg["name"]: arg["valueFrom"] for arg in block["args"] if arg["name"] != "policy"}
        assert args == {
            "agent": {"fieldRef": {"fieldPath": "metadata.labels['app.kubernetes.io/name']"}},
            "canary-hash": {"podTemplateHashValue": "Latest"},
            "baseline-hash": {"podTemplateHashValue": "Stable"},
            "namespace": {"fieldRef": {"fieldPath": "metadata.namespace"}},
        }
        links = block["analysisRunMetadata"]["annotations"]
        assert links["link.argocd.argoproj.io/judge-report"].endswith(f"/reports?agent={agent}")
        assert links["link.argocd.argoproj.io/grafana"].endswith(f"var-agent={agent}")


@pytest.mark.parametrize(("env", "agent"), ENV_AGENTS)
def test_the_agent_arg_resolves_to_the_agent_and_names_follow_the_prefix(
    rendered: dict[str, Rendered], env: str, agent: str
) -> None:
    overlay = rendered[f"{env}/{agent}"]
    rollout = overlay.one("Rollout")
    assert rollout["metadata"]["labels"]["app.kubernetes.io/name"] == agent  # read by the `agent` arg
    assert {doc["metadata"]["namespace"] for doc in overlay.docs} == {namespace(env)}
    strategy = rollout["spec"]["strategy"]["canary"]
    services = {doc["metadata"]["name"] for doc in overlay.all("Service")}
    assert {strategy["canaryService"], strategy["stableService"], rollout["metadata"]["name"]} <= services
    templates = {doc["metadata"]["name"] for doc in overlay.all("AnalysisTemplate")}
    named = {t["templateName"] for t in strategy["analysis"]["templates"]} | {
        t["templateName"]
        for step in strategy["steps"]
        if "analysis" in step
        for t in step["analysis"]["templates"]
    }
    assert named == templates
    pod = rollout["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] in {doc["metadata"]["name"] for doc in overlay.all("ServiceAccount")}


@pytest.mark.parametrize(("env", "agent"), ENV_AGENTS)
def test_istio_routes_the_agents_own_service_through_stable_and_canary_subsets(
    rendered: dict[str, Rendered], env: str, agent: str
) -> None:
    overlay = rendered[f"{env}/{agent}"]
    rollout = overlay.one("Rollout")
    host = rollout["metadata"]["name"]
    istio = rollout["spec"]["strategy"]["canary"]["trafficRouting"]["istio"]
    service = overlay.named("VirtualService", istio["virtualService"]["name"])
    rule = overlay.named("DestinationRule", istio["destinationRule"]["name"])
    overlay.named("Service", host)
    assert service["spec"]["hosts"] == [host] and rule["spec"]["host"] == host
    routes = {route["name"]: route["route"] for route in service["spec"]["http"]}
    assert list(routes) == istio["virtualService"]["routes"]
    # Git holds 100/0; Argo Rollouts moves the weights at each step.
    weights = {r["destination"]["subset"]: r["weight"] for r in routes["primary"]}
    assert weights == {
        istio["destinationRule"]["stableSubsetName"]: 100,
        istio["destinationRule"]["canarySubsetName"]: 0,
    }
    assert all(r["destination"]["host"] == host for r in routes["primary"])
    assert {subset["name"] for subset in rule["spec"]["subsets"]} == set(weights)


@pytest.mark.parametrize(("env", "agent"), ENV_AGENTS)
def test_images_come_from_the_catalog_pinned_by_digest(
    rendered: dict[str, Rendered], env: str, agent: str
) -> None:
    containers = rendered[f"{env}/{agent}"].one("Rollout")["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["agent"]
    image = containers[0]["image"]
    assert image.startswith(image_repository(agent) + "@") and DIGEST.search(image), image


def test_the_replica_weighted_example_has_no_mesh(rendered: dict[str, Rendered]) -> None:
    example = rendered["examples/replica-weighted"]
    strategy = canary(example)
    assert "trafficRouting" not in strategy
    assert not example.all("VirtualService") and not example.all("DestinationRule")
    assert [step["setWeight"] for step in strategy["steps"] if "setWeight" in step] == [10, 25, 50, 100]
    assert strategy["analysis"]["startingStep"] == 0


def test_the_bluegreen_example_judges_the_preview_and_waits_for_promotion_in_prod(
    rendered: dict[str, Rendered],
) -> None:
    example = rendered["examples/bluegreen"]
    rollout = example.one("Rollout")
    strategy = rollout["spec"]["strategy"]
    assert set(strategy) == {"blueGreen"}
    blue_green = strategy["blueGreen"]
    assert blue_green["autoPromotionEnabled"] is False
    services = {doc["metadata"]["name"] for doc in example.all("Service")}
    assert services == {blue_green["activeService"], blue_green["previewService"]}
    preview = example.named("Service", blue_green["previewService"])
    assert preview["spec"]["selector"]["app.kubernetes.io/name"] == "knowledge-qna"
    assert unprefixed("knowledge-qna", blue_green["prePromotionAnalysis"]["templates"]) == JUDGE_GATE
    assert unprefixed("knowledge-qna", blue_green["postPromotionAnalysis"]["templates"]) == [
        "agent-error-rate"
    ]
    templates = {doc["metadata"]["name"] for doc in example.all("AnalysisTemplate")}
    for phase in ("prePromotionAnalysis", "postPromotionAnalysis"):
        assert {t["templateName"] for t in blue_green[phase]["templates"]} <= templates
        link = blue_green[phase]["analysisRunMetadata"]["annotations"]["link.argocd.argoproj.io/judge-report"]
        assert link.endswith("?agent=knowledge-qna")


def test_rollouts_subscribe_to_the_notifications_the_configmap_defines(rendered: dict[str, Rendered]) -> None:
    config = rendered["dev/platform"].named("ConfigMap", "argo-rollouts-notification-configmap")
    assert config["metadata"]["namespace"] == "argo-rollouts"
    annotations = rendered["dev/code-analysis"].one("Rollout")["metadata"]["annotations"]
    subscription = re.compile(r"notifications\.argoproj\.io/subscribe\.([\w-]+)\.slack")
    subscribed = {match[1] for key in annotations if (match := subscription.fullmatch(key))}
    assert subscribed == {
        "on-rollout-aborted",
        "on-analysis-run-failed",
        "on-analysis-run-error",
        "on-rollout-paused",
    }
    for trigger in subscribed:
        assert f"trigger.{trigger}" in config["data"]
        templates = re.findall(r"send: \[([\w-]+)\]", config["data"][f"trigger.{trigger}"])
        assert templates and all(f"template.{name}" in config["data"] for name in templates)
