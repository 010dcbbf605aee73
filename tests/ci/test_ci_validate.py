"""`agent-rollouts validate` end to end with the real tools (kubectl kustomize, kubeconform, promtool,
checkov) on deliberately good and broken fixtures: each failure names overlay, object and field."""

import io
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from agent_rollouts.cli import main
from agent_rollouts.console import Console
from agent_rollouts.exit_codes import ExitStatus

FIXTURES = Path(__file__).parent / "fixtures"
GOOD = FIXTURES / "good" / "rollouts"
BROKEN = "tests/ci/fixtures/broken"
RULE_TESTS = GOOD / "monitoring" / "tests"


@pytest.fixture(scope="module", autouse=True)
def tools(require_tool: Callable[[str], str]) -> None:
    """A missing tool fails these tests, never skips them."""
    for tool in ("kubectl", "kubeconform", "promtool", "checkov"):
        require_tool(tool)


def validate(*argv: str, rule_tests: Path = RULE_TESTS) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["validate", "--rule-tests", str(rule_tests), *argv], Console(stdout=out, stderr=err))
    return code, out.getvalue(), err.getvalue()


def test_good_fixture_passes_every_check(tmp_path: Path) -> None:
    junit = tmp_path / "report.xml"
    code, out, err = validate(
        str(GOOD / "envs" / "dev" / "demo-agent"),
        str(GOOD / "envs" / "prod" / "demo-agent"),
        "--junit",
        str(junit),
    )
    assert (code, out) == (ExitStatus.SUCCESS, ""), out + err
    assert "2 overlays valid (render, kubeconform, promtool, references, checkov)" in err
    suite = ET.parse(junit).getroot()
    assert (suite.get("tests"), suite.get("failures")) == ("10", "0")


# (fixture, the exact "overlay: Kind/name: field: message" start a failure must print)
BROKEN_CASES = [
    (
        "kustomize-error",
        "kustomize-error: -: kustomization.yaml: accumulating resources: accumulation err='accumulating resources from 'missing-service.yaml'",
    ),
    (
        "rollout-typo",
        "rollout-typo: Rollout/demo-agent: spec.strategy.canary.steps[3]: additional properties 'setWeigth' not allowed [kubeconform]",
    ),
    (
        "missing-template",
        "missing-template: Rollout/demo-agent: spec.strategy.canary.steps[2].analysis.templates[0].templateName: AnalysisTemplate 'agent-eror-rate' does not exist",
    ),
    (
        "missing-arg",
        "missing-arg: Rollout/demo-agent: spec.strategy.canary.steps[4].analysis.args: AnalysisTemplate 'agent-error-rate' needs arg 'canary-hash'",
    ),
    (
        "bad-alert",
        "bad-alert: PrometheusRule/demo-agent-alerts: spec.groups[0].rules[0]: could not parse expression",
    ),
    (
        "alert-never-fires",
        "alert-never-fires: PrometheusRule/demo-agent-alerts: spec.groups[0].rules[0]: demo-agent-alerts.test.yaml: at 3m: exp:",
    ),
    (
        "wrong-weights",
        "wrong-weights: Rollout/demo-agent: spec.strategy.canary.steps: setWeight steps are [10, 30, 50, 100], expected [10, 25, 50, 100]",
    ),
    (
        "ungated-increase",
        "ungated-increase: Rollout/demo-agent: spec.strategy.canary.steps[4].setWeight: no analysis step gates the increase to 50%",
    ),
    (
        "missing-service",
        "missing-service: Rollout/demo-agent: spec.strategy.canary.canaryService: Service 'demo-agent-canary' does not exist",
    ),
    (
        "prod-tag",
        "prod-tag: Rollout/demo-agent: spec.template.spec.containers[name=agent].image: prod image 'ghcr.io/agent-rollouts/demo-agent:1.0.0' is not pinned by digest",
    ),
]


@pytest.mark.parametrize(("fixture", "expected"), BROKEN_CASES, ids=[case[0] for case in BROKEN_CASES])
def test_broken_fixture_fails_naming_the_place(fixture: str, expected: str) -> None:
    code, out, err = validate("--no-policy", f"{BROKEN}/{fixture}")
    assert code == ExitStatus.ERROR, out + err
    lines = out.splitlines()
    assert any(line.startswith(f"{BROKEN}/{expected}") for line in lines), out
    assert "problems in 1 overlays" in err


def test_policy_scan_reports_the_insecure_field() -> None:
    code, out, _ = validate(f"{BROKEN}/privilege-escalation")
    assert code == ExitStatus.ERROR
    assert (
        f"{BROKEN}/privilege-escalation: Rollout/demo-agent: "
        "spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation: CKV_K8S_20"
    ) in out


def test_no_policy_skips_only_the_policy_scan() -> None:
    code, out, err = validate("--no-policy", f"{BROKEN}/privilege-escalation")
    assert (code, out) == (ExitStatus.SUCCESS, "")
    assert "(render, kubeconform, promtool, references)" in err


def test_an_alert_without_a_unit_test_fails(tmp_path: Path) -> None:
    code, out, _ = validate("--no-policy", str(GOOD / "envs" / "dev" / "demo-agent"), rule_tests=tmp_path)
    assert code == ExitStatus.ERROR
    assert (
        "Prometheus" in out
        and "alert DemoAgentDown has no promtool unit test naming demo-agent-alerts.rules.yaml" in out
    )


def test_istio_route_and_subset_names_must_exist() -> None:
    code, out, _ = validate("--no-policy", f"{BROKEN}/istio-mismatch")
    assert code == ExitStatus.ERROR
    prefix = f"{BROKEN}/istio-mismatch: Rollout/demo-agent: spec.strategy.canary.trafficRouting.istio"
    assert out.splitlines() == [
        f"{prefix}.virtualService.routes[0]: VirtualService 'demo-agent' has no http route named 'main' [references]",
        f"{prefix}.destinationRule.canarySubsetName: DestinationRule 'demo-agent' has no subset 'preview' [references]",
    ]
