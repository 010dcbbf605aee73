"""The rendered AnalysisTemplates: the judge through `web` (at the gates and in the background), errors
and latency through `prometheus`."""

import pytest
from manifests_render import ARG_REFERENCE, Doc, Rendered

from kernel.catalog import AGENTS

JUDGE_URL = "http://agent-rollouts-judge.agent-rollouts.svc.cluster.local:8080/api/v1/judgements"
ARGS_FROM_ROLLOUT = {"agent", "canary-hash", "baseline-hash", "namespace"}


def template(overlay: Rendered, agent: str, name: str) -> Doc:
    return overlay.named("AnalysisTemplate", f"{agent}-{name}")


def only_metric(doc: Doc) -> Doc:
    metrics: list[Doc] = doc["spec"]["metrics"]
    assert len(metrics) == 1
    return metrics[0]


def test_the_judge_template_posts_all_four_checks_with_a_bearer_token_from_a_secret(
    rendered: dict[str, Rendered],
) -> None:
    doc = template(rendered["prod/code-analysis"], "code-analysis", "agent-regression")
    args = {arg["name"]: arg for arg in doc["spec"]["args"]}
    tolerances = {f"tolerance-{check}" for check in ("confidence", "cost", "errors", "latency")}
    assert set(args) == ARGS_FROM_ROLLOUT | {"judge-url", "judge-token", "policy"} | tolerances
    assert all("value" not in args[name] and "valueFrom" not in args[name] for name in ARGS_FROM_ROLLOUT)
    assert args["policy"]["value"] == "require-pass"  # the safe default; the Rollout relaxes gates
    assert args["judge-url"]["value"] == JUDGE_URL
    assert args["judge-token"] == {
        "name": "judge-token",
        "valueFrom": {"secretKeyRef": {"name": "agent-rollouts-judge-token", "key": "token"}},
    }
    metric = only_metric(doc)
    assert metric["name"] == "agent-regression"
    web = metric["provider"]["web"]
    assert web["url"] == "{{args.judge-url}}" and web["method"] == "POST" and web["jsonPath"] == "{$}"
    assert web["headers"] == [{"key": "Authorization", "value": "Bearer {{args.judge-token}}"}]
    assert web["jsonBody"] == {
        "agent": "{{args.agent}}",
        "canary": "{{args.canary-hash}}",
        "baseline": "{{args.baseline-hash}}",
        "namespace": "{{args.namespace}}",
        "checks": ["confidence", "cost", "errors", "latency"],  # one call, one budget
        "tolerances": {
            check: f"{{{{args.tolerance-{check}}}}}" for check in ("confidence", "cost", "errors", "latency")
        },
    }
    assert "body" not in web  # Argo errors when both body and jsonBody are set
    # `inconclusive` passes only under advance-unless-fail; otherwise it matches neither and pauses.
    assert metric["successCondition"] == (
        'result.verdict == "pass" || ("{{args.policy}}" == "advance-unless-fail" && result.verdict == "inconclusive")'
    )
    assert metric["failureCondition"] == 'result.verdict == "fail"'
    assert 0 < web["timeoutSeconds"] < 10  # below Argo's fixed 10s retry after an error
    assert metric["failureLimit"] == 0
    assert metric["inconclusiveLimit"] < metric["count"]  # some looks may lack evidence, not all
    assert metric["consecutiveErrorLimit"] > 4  # rides out judge restarts longer than Argo's default


def test_the_background_judge_sends_what_the_gates_send_and_only_ever_fails(
    rendered: dict[str, Rendered],
) -> None:
    overlay = rendered["prod/code-analysis"]
    gate = template(overlay, "code-analysis", "agent-regression")
    watch = template(overlay, "code-analysis", "agent-regression-watch")
    # The same body, tolerances and judge: its looks are looks at the gates' e-processes.
    gate_args = [arg for arg in gate["spec"]["args"] if arg["name"] != "policy"]
    assert watch["spec"]["args"] == gate_args
    gate_metric, watch_metric = only_metric(gate), only_metric(watch)
    assert watch_metric["provider"] == gate_metric["provider"]
    assert watch_metric["name"] == "agent-regression-watch"  # unique among the background's metrics
    # Runs for the whole update, decides nothing but `fail`.
    assert "count" not in watch_metric and "successCondition" not in watch_metric
    assert watch_metric["failureCondition"] == gate_metric["failureCondition"]
    assert watch_metric["failureLimit"] == 0
    assert watch_metric["consecutiveErrorLimit"] > gate_metric["consecutiveErrorLimit"]


@pytest.mark.parametrize(
    ("name", "threshold_arg", "threshold"),
    [("agent-error-rate", "max-error-increase", "0.5"), ("agent-latency-p95", "max-p95-ratio", "10")],
)
def test_prometheus_safety_nets_compare_with_the_stable_and_only_ever_fail(
    rendered: dict[str, Rendered], name: str, threshold_arg: str, threshold: str
) -> None:
    doc = template(rendered["staging/knowledge-qna"], "knowledge-qna", name)
    args = {arg["name"]: arg for arg in doc["spec"]["args"]}
    assert args[threshold_arg]["value"] == threshold
    assert args["prometheus-address"]["value"].startswith("http://")
    metric = only_metric(doc)
    query = metric["provider"]["prometheus"]["query"]
    assert metric["provider"]["prometheus"]["address"] == "{{args.prometheus-address}}"
    assert 'rollouts_pod_template_hash="{{args.canary-hash}}"' in query
    assert 'rollouts_pod_template_hash="{{args.baseline-hash}}"' in query  # relative to stable
    assert 'namespace="{{args.namespace}}"' in query and 'agent_name="{{args.agent}}"' in query
    assert "or vector(" not in query  # a missing series must not turn into a number
    # A net never passes anything: only a failure condition, guarded against an empty result.
    assert "successCondition" not in metric and "inconclusiveLimit" not in metric
    assert metric["failureCondition"].startswith("len(result) > 0 && ")
    assert f"{{{{args.{threshold_arg}}}}}" in metric["failureCondition"]


@pytest.mark.parametrize("agent", AGENTS)
def test_every_arg_a_template_uses_is_declared_and_every_undefaulted_arg_is_passed(
    rendered: dict[str, Rendered], agent: str
) -> None:
    overlay = rendered[f"dev/{agent}"]
    for doc in overlay.all("AnalysisTemplate"):
        declared = {arg["name"]: arg for arg in doc["spec"]["args"]}
        used = set(ARG_REFERENCE.findall(str(doc["spec"]["metrics"])))
        assert used == set(declared), doc["metadata"]["name"]
        required = {name for name, arg in declared.items() if "value" not in arg and "valueFrom" not in arg}
        assert required <= ARGS_FROM_ROLLOUT, doc["metadata"]["name"]
