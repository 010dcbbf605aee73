"""Alerts, recording rules, dashboard: each alert's unit tests run in promtool and can fail."""

import copy
import json
import re

from manifests_render import Doc, Rendered

from ci.checks.promtool import check_one, load_tests
from ci.validate import RULE_TESTS, validate
from kernel.toolpaths import REPO_ROOT

ALERTS = {"HighAgentErrorRate", "HighAgentLatency", "HighLLMCost", "AgentDown"}
RECORDING_NAME = re.compile(r"^[a-z_]+:[a-z0-9_]+:[a-z0-9_]+$")  # level:metric:operations
RUNBOOKS = REPO_ROOT / "rollouts" / "monitoring" / "runbooks.md"


def prometheus_rule(rendered: dict[str, Rendered]) -> Doc:
    return rendered["prod/platform"].named("PrometheusRule", "agent-rollouts-rules")


def rules(rule: Doc) -> list[Doc]:
    return [item for group in rule["spec"]["groups"] for item in group["rules"]]


def test_every_alert_is_unit_tested_and_passes_promtool(rendered: dict[str, Rendered]) -> None:
    rule = prometheus_rule(rendered)
    assert {item["alert"] for item in rules(rule) if "alert" in item} == ALERTS
    assert check_one(rule, load_tests(RULE_TESTS)) == []


def test_an_alert_that_never_fires_fails_its_unit_test(rendered: dict[str, Rendered]) -> None:
    """The unit tests are not vacuous: silencing any one alert makes promtool report it."""
    tests = load_tests(RULE_TESTS)
    for alert in sorted(ALERTS):
        broken = copy.deepcopy(prometheus_rule(rendered))
        for item in rules(broken):
            if item.get("alert") == alert:
                item["expr"] = "vector(0) > 1"
        failures = check_one(broken, tests)
        assert failures and all(alert in reason for _, reason in failures), (alert, failures)


def test_an_alert_that_always_fires_fails_its_unit_test(rendered: dict[str, Rendered]) -> None:
    """... and so does firing for every series, including those that must stay silent."""
    tests = load_tests(RULE_TESTS)
    broken = copy.deepcopy(prometheus_rule(rendered))
    for item in rules(broken):
        if item.get("alert") == "HighAgentErrorRate":
            item["expr"] = "namespace_agent_name:agent_requests:rate5m >= 0"
    assert check_one(broken, tests), "a HighAgentErrorRate firing for healthy agents went unnoticed"


def test_alerts_carry_severity_summary_description_and_a_runbook_that_exists(
    rendered: dict[str, Rendered],
) -> None:
    anchors = {
        "#" + line.removeprefix("## ").strip().lower()
        for line in RUNBOOKS.read_text().splitlines()
        if line.startswith("## ")
    }
    for item in rules(prometheus_rule(rendered)):
        if "record" in item:
            assert RECORDING_NAME.match(item["record"]), item["record"]
            continue
        assert item["labels"]["severity"] in {"critical", "warning", "info"}
        assert item["annotations"]["summary"] and item["annotations"]["description"]
        url = item["annotations"]["runbook_url"]
        assert url.split("#")[0].endswith("rollouts/monitoring/runbooks.md")
        assert "#" + url.split("#")[1] in anchors, url


def test_the_dashboard_splits_every_panel_by_replica_set(rendered: dict[str, Rendered]) -> None:
    config = rendered["dev/platform"].named("ConfigMap", "agent-rollouts-dashboard")
    assert config["metadata"]["labels"]["grafana_dashboard"] == "1"
    (text,) = config["data"].values()
    dashboard = json.loads(text)
    panels = {panel["title"].split(" (")[0]: panel for panel in dashboard["panels"]}
    assert set(panels) == {"Request rate", "Error rate", "p95 latency", "Hourly LLM cost", "Confidence"}
    assert panels["Confidence"]["type"] == "heatmap"
    for panel in panels.values():
        (target,) = panel["targets"]
        assert "rollouts_pod_template_hash" in target["expr"], panel["title"]
    # The AnalysisRuns' Grafana link opens this dashboard.
    annotations = rendered["dev/code-analysis"].one("Rollout")["spec"]["strategy"]["canary"]["analysis"]
    link = annotations["analysisRunMetadata"]["annotations"]["link.argocd.argoproj.io/grafana"]
    assert f"/d/{dashboard['uid']}/" in link


def test_the_repos_overlays_pass_agent_rollouts_validate(rendered: dict[str, Rendered]) -> None:
    """kubeconform strict, promtool, cross-references and checkov over every overlay of this repo."""
    report = validate()
    assert report.ok, "\n".join(str(problem) for problem in report.problems)
    assert len(report.locations) == len(rendered)
