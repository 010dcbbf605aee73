"""Our rendered AnalysisTemplates, run by Argo Rollouts' own providers and evaluator.

The Go harness (tests/conformance/argo, built by `make tools`) builds the AnalysisRuns that a
rendered Rollout would create and measures every metric once with Argo v1.9.1's `web` and
`prometheus` providers. Here it runs against the real judge service and a real Prometheus
holding backfilled traffic: one canary pod-template hash per scenario, all against one stable.
"""

import copy
import json
import math
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from ci.render import EXAMPLES, kustomize_build, overlays
from kernel.catalog import AGENTS, ENVIRONMENTS, namespace
from kernel.toolpaths import REPO_ROOT
from tools.local_prometheus import backfill, run_prometheus
from tools.procs import LOOPBACK, free_port, spawn
from tools.traffic import Behaviour, TrafficArm, beta, lognormal, mixture, openmetrics, openmetrics_document

AGENT = "code-analysis"
ENV = "dev"
STABLE = "5table0001"
HEALTHY_FAILURE_RATE = 0.005  # agent-scale: 0.5 % failures on both sides
# Scenario -> canary arm. The stable gets twice the canary's traffic over three pods.
CANARIES = {
    "no-change": TrafficArm("nochange01", 3.0, Behaviour(failure_rate=HEALTHY_FAILURE_RATE)),
    "confidence-drop": TrafficArm(
        "confdrop01", 3.0, Behaviour(failure_rate=HEALTHY_FAILURE_RATE, confidence=beta(5, 3))
    ),
    "cost-increase": TrafficArm(
        "costup0001", 3.0, Behaviour(failure_rate=HEALTHY_FAILURE_RATE, cost=lognormal(0.003, 0.5))
    ),
    "error-increase": TrafficArm("errorup001", 3.0, Behaviour(failure_rate=0.06)),
    "latency-tail": TrafficArm(
        "latency001",
        3.0,
        Behaviour(
            failure_rate=HEALTHY_FAILURE_RATE,
            duration=mixture((0.85, lognormal(0.3, 0.4)), (0.15, lognormal(1.2, 0.4))),
        ),
    ),
    "low-traffic": TrafficArm("lowtraff01", 0.01, Behaviour(failure_rate=HEALTHY_FAILURE_RATE)),
}
STABLE_ARM = TrafficArm(STABLE, 6.0, Behaviour(failure_rate=HEALTHY_FAILURE_RATE), pods=3)
DURATION = 1800  # seconds of traffic
FUTURE = 600  # of which this many lie after the test's start
TOKEN = "conformance-token-0123456789"
# The AnalysisTemplates the stack ships, as analysis/kustomization.yaml lists them.
SHIPPED = sorted(
    Path(resource).stem
    for resource in yaml.safe_load((REPO_ROOT / "analysis" / "kustomization.yaml").read_text())["resources"]
)

Phases = dict[str, str]  # shipped template name -> measurement phase


@dataclass(frozen=True)
class Stack:
    prometheus_url: str
    judge_url: str
    token_file: Path
    manifests: Path
    workdir: Path
    harness: str


@pytest.fixture(scope="module")
def harness(require_tool: Callable[[str], str]) -> str:
    """The Go harness `make tools` builds."""
    return require_tool("argo-conformance")


@pytest.fixture(scope="module")
def rendered(require_tool: Callable[[str], str]) -> list[dict[str, Any]]:
    """The documents `agent-rollouts render` writes for one agent in dev."""
    require_tool("kubectl")
    text = kustomize_build(REPO_ROOT / "rollouts" / "envs" / ENV / AGENT)
    return [doc for doc in yaml.safe_load_all(text) if doc]


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory,
    rendered: list[dict[str, Any]],
    harness: str,
    require_tool: Callable[[str], str],
) -> Iterator[Stack]:
    """Prometheus holding every scenario up to now, and the judge service reading it."""
    require_tool("promtool")
    require_tool("prometheus")
    workdir = tmp_path_factory.mktemp("conformance")
    # Argo's providers ask about "now" (the judge's window ends now, PromQL is an instant
    # query), so the backfilled traffic runs on past the test's start: samples after "now"
    # are invisible until then, and a slow machine still finds a full 5m window.
    end = math.floor(time.time() / 15) * 15 + FUTURE
    arms = [*CANARIES.values(), STABLE_ARM]
    text = openmetrics_document(
        [openmetrics(AGENT, arms, start=end - DURATION, duration=DURATION, namespace=namespace(ENV))]
    )
    backfill(text, workdir / "data", workdir)
    token_file = workdir / "judge-token"
    token_file.write_text(TOKEN)
    manifests = write_manifests(workdir / "rendered.yaml", rendered)
    with (
        run_prometheus(workdir, data_dir=workdir / "data") as prometheus_url,
        serve_judge(prometheus_url, token_file, workdir) as judge_url,
    ):
        yield Stack(prometheus_url, judge_url, token_file, manifests, workdir, harness)


@contextmanager
def serve_judge(prometheus_url: str, token_file: Path, workdir: Path) -> Iterator[str]:
    """`agent-rollouts serve` on a free port; yields the judgements URL."""
    port = free_port()
    argv = [
        str(REPO_ROOT / ".venv" / "bin" / "agent-rollouts"),
        "serve",
        f"--prometheus-url={prometheus_url}",
        f"--token-file={token_file}",
        f"--host={LOOPBACK}",
        f"--port={port}",
    ]
    base = f"http://{LOOPBACK}:{port}"
    with spawn(argv, log=workdir / f"judge-{port}.log", ready_url=f"{base}/healthz"):
        yield f"{base}/api/v1/judgements"


def write_manifests(path: Path, docs: list[dict[str, Any]]) -> Path:
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False))
    return path


def secret_refs(docs: list[dict[str, Any]]) -> set[str]:
    """`SECRET/KEY` of every secretKeyRef arg in the AnalysisTemplates."""
    return {
        f"{arg['valueFrom']['secretKeyRef']['name']}/{arg['valueFrom']['secretKeyRef']['key']}"
        for doc in docs
        if doc["kind"] == "AnalysisTemplate"
        for arg in doc["spec"].get("args", [])
        if "secretKeyRef" in arg.get("valueFrom", {})
    }


def run_harness(
    harness: str, manifests: Path, canary: str, *, judge_url: str, prometheus_url: str, token_file: Path
) -> subprocess.CompletedProcess[str]:
    docs = list(yaml.safe_load_all(manifests.read_text()))
    argv = [
        harness,
        f"--manifests={manifests}",
        f"--canary-hash={canary}",
        f"--stable-hash={STABLE}",
        f"--arg=judge-url={judge_url}",
        f"--arg=prometheus-address={prometheus_url}",
        *(f"--secret={ref}={token_file}" for ref in sorted(secret_refs(docs))),
    ]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


def harness_result(stack: Stack, scenario: str, manifests: Path | None = None) -> dict[str, Any]:
    done = run_harness(
        stack.harness,
        manifests or stack.manifests,
        CANARIES[scenario].pod_hash,
        judge_url=stack.judge_url,
        prometheus_url=stack.prometheus_url,
        token_file=stack.token_file,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


SEVERITY = ("Successful", "Inconclusive", "Failed", "Error")


def phases(result: dict[str, Any]) -> Phases:
    """Shipped template name -> phase of its measurement; every run must have been built.

    The judge's template runs once per gate policy (the args differ); the stricter phase counts.
    """
    out: Phases = {}
    for run in result["runs"]:
        assert not run.get("error"), run
        for metric in run["metrics"]:
            name = shipped_name(metric["template"])
            out[name] = max(out.get(name, metric["phase"]), metric["phase"], key=SEVERITY.index)
    return out


def gate_phases(result: dict[str, Any]) -> dict[str, str]:
    """The judge's phase per group of gates (`step N` sources) that share their args."""
    return {
        ", ".join(run["sources"]): metric["phase"]
        for run in result["runs"]
        for metric in run["metrics"]
        if shipped_name(metric["template"]) == "agent-regression"
    }


def messages(result: dict[str, Any]) -> dict[str, str]:
    return {
        shipped_name(metric["template"]): metric["message"]
        for run in result["runs"]
        for metric in run["metrics"]
    }


def expect(**changed: str) -> Phases:
    """Every shipped template Successful except the ones named (with `_` for `-`)."""
    changed_names = {name.replace("_", "-"): phase for name, phase in changed.items()}
    assert set(changed_names) <= set(SHIPPED)
    return {name: changed_names.get(name, "Successful") for name in SHIPPED}


def test_the_rollout_runs_every_shipped_template(stack: Stack) -> None:
    result = harness_result(stack, "no-change")
    assert result["rollout"] == f"{AGENT}-agent"
    assert sorted(phases(result)) == SHIPPED
    sources = [source for run in result["runs"] for source in run["sources"]]
    assert "background" in sources and any(source.startswith("step ") for source in sources)


@pytest.mark.parametrize(
    ("scenario", "expected"),
    [
        ("no-change", expect()),
        ("confidence-drop", expect(agent_regression="Failed", agent_regression_watch="Failed")),
        ("cost-increase", expect(agent_regression="Failed", agent_regression_watch="Failed")),
        # 6 % failures: the judge's errors check fails it; the safety net waits for a disaster.
        ("error-increase", expect(agent_regression="Failed", agent_regression_watch="Failed")),
        ("latency-tail", expect(agent_regression="Failed", agent_regression_watch="Failed")),
    ],
)
def test_scenario_phases(stack: Stack, scenario: str, expected: Phases) -> None:
    """A regression fails the judge's templates (gate and background); no change passes every one."""
    result = harness_result(stack, scenario)
    assert phases(result) == expected, json.dumps(result, indent=2)


def test_low_traffic_is_inconclusive_so_the_rollout_pauses(stack: Stack) -> None:
    """The judge cannot decide yet: inconclusive (a pause where `pass` is required); the safety
    nets see no disaster."""
    result = harness_result(stack, "low-traffic")
    assert phases(result) == expect(agent_regression="Inconclusive"), json.dumps(result, indent=2)
    # The intermediate gates (dev's steps 2 and 5) advance on `inconclusive`; the last (step 8),
    # requiring `pass`, pauses.
    assert gate_phases(result) == {"step 2, step 5": "Successful", "step 8": "Inconclusive"}


def test_prometheus_down_is_an_error_never_a_pass(stack: Stack) -> None:
    dead = f"http://{LOOPBACK}:{free_port()}"
    with serve_judge(dead, stack.token_file, stack.workdir) as judge_url:
        done = run_harness(
            stack.harness,
            stack.manifests,
            CANARIES["no-change"].pod_hash,
            judge_url=judge_url,
            prometheus_url=dead,
            token_file=stack.token_file,
        )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert phases(result) == dict.fromkeys(SHIPPED, "Error"), json.dumps(result, indent=2)
    assert TOKEN not in done.stdout + done.stderr


def test_wrong_token_is_an_error(stack: Stack, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong-token"
    wrong.write_text("not-the-token")
    done = run_harness(
        stack.harness,
        stack.manifests,
        CANARIES["no-change"].pod_hash,
        judge_url=stack.judge_url,
        prometheus_url=stack.prometheus_url,
        token_file=wrong,
    )
    result = json.loads(done.stdout)
    assert phases(result)["agent-regression"] == "Error"
    assert "401" in messages(result)["agent-regression"]


# Deliberately broken manifests: each mutation must turn the no-change (or low-traffic) verdict
# of at least one template away from what the intact manifests give, so the suite catches it.


def template(docs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(
        doc
        for doc in docs
        if doc["kind"] == "AnalysisTemplate" and doc["metadata"]["name"] == f"{AGENT}-{name}"
    )
    return found


def broken(
    stack: Stack, rendered: list[dict[str, Any]], name: str, mutate: Callable[[list[dict[str, Any]]], None]
) -> Path:
    docs = copy.deepcopy(rendered)
    mutate(docs)
    return write_manifests(stack.workdir / f"broken-{name}.yaml", docs)


def test_wrong_json_path_is_caught(stack: Stack, rendered: list[dict[str, Any]]) -> None:
    def mutate(docs: list[dict[str, Any]]) -> None:
        template(docs, "agent-regression")["spec"]["metrics"][0]["provider"]["web"]["jsonPath"] = (
            "{$.data.verdict}"
        )

    result = harness_result(stack, "no-change", broken(stack, rendered, "json-path", mutate))
    assert phases(result)["agent-regression"] == "Error"
    assert "data is not found" in messages(result)["agent-regression"]


def test_wrong_success_condition_is_caught(stack: Stack, rendered: list[dict[str, Any]]) -> None:
    def mutate(docs: list[dict[str, Any]]) -> None:
        template(docs, "agent-regression")["spec"]["metrics"][0]["successCondition"] = (
            'result.verdict == "passed"'
        )

    result = harness_result(stack, "no-change", broken(stack, rendered, "condition", mutate))
    assert phases(result)["agent-regression"] == "Inconclusive"


def test_unguarded_empty_result_is_caught(stack: Stack, rendered: list[dict[str, Any]]) -> None:
    """Without `len(result) > 0`, low traffic (an empty vector) errors instead of passing the net."""

    def mutate(docs: list[dict[str, Any]]) -> None:
        metric = template(docs, "agent-error-rate")["spec"]["metrics"][0]
        metric["failureCondition"] = metric["failureCondition"].replace("len(result) > 0 && ", "")

    result = harness_result(stack, "low-traffic", broken(stack, rendered, "unguarded", mutate))
    assert phases(result)["agent-error-rate"] == "Error"


def test_arg_the_rollout_does_not_pass_is_caught(stack: Stack, rendered: list[dict[str, Any]]) -> None:
    def mutate(docs: list[dict[str, Any]]) -> None:
        rollout = next(doc for doc in docs if doc["kind"] == "Rollout")
        for step in rollout["spec"]["strategy"]["canary"]["steps"]:
            if "analysis" in step:
                step["analysis"]["args"] = [a for a in step["analysis"]["args"] if a["name"] != "canary-hash"]

    result = harness_result(stack, "no-change", broken(stack, rendered, "rollout-arg", mutate))
    errors = [run["error"] for run in result["runs"] if run.get("error")]
    assert errors and all("args.canary-hash was not resolved" in error for error in errors)


def test_undeclared_arg_is_caught(stack: Stack, rendered: list[dict[str, Any]]) -> None:
    def mutate(docs: list[dict[str, Any]]) -> None:
        spec = template(docs, "agent-regression")["spec"]
        spec["args"] = [arg for arg in spec["args"] if arg["name"] != "baseline-hash"]

    result = harness_result(stack, "no-change", broken(stack, rendered, "template-arg", mutate))
    errors = [run["error"] for run in result["runs"] if run.get("error")]
    # Both of the judge's runs (intermediate gates, last gate) fail to resolve it.
    assert errors == ["Unable to resolve metric arguments: failed to resolve {{args.baseline-hash}}"] * 2


def test_unknown_field_fails_strict_decoding(stack: Stack, rendered: list[dict[str, Any]]) -> None:
    def mutate(docs: list[dict[str, Any]]) -> None:
        metric = template(docs, "agent-regression")["spec"]["metrics"][0]
        metric["succesCondition"] = metric.pop("successCondition")

    manifests = broken(stack, rendered, "unknown-field", mutate)
    done = run_harness(
        stack.harness,
        manifests,
        STABLE,
        judge_url=stack.judge_url,
        prometheus_url=stack.prometheus_url,
        token_file=stack.token_file,
    )
    assert done.returncode == 1
    assert f"AnalysisTemplate {AGENT}-agent-regression" in done.stderr
    assert 'unknown field "succesCondition"' in done.stderr


def test_harness_refuses_unknown_args_and_missing_secrets(stack: Stack, tmp_path: Path) -> None:
    base = [
        stack.harness,
        f"--manifests={stack.manifests}",
        f"--arg=judge-url={stack.judge_url}",
        f"--arg=prometheus-address={stack.prometheus_url}",
    ]
    typo = subprocess.run([*base, "--arg=judge-ur1=x"], capture_output=True, text=True, check=False)
    assert typo.returncode == 1
    assert "--arg judge-ur1: no AnalysisTemplate declares an arg of that name" in typo.stderr
    # Without the Secret no run that asks the judge can start: the background one included.
    done = subprocess.run(base, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    errors = [run["error"] for run in json.loads(done.stdout)["runs"] if run.get("error")]
    assert (
        errors
        == [
            "args.judge-token: secret agent-rollouts-judge-token/token not given (--secret agent-rollouts-judge-token/token=FILE)"
        ]
        * 3
    )  # the background run, the intermediate gates' run and the last gate's


def shipped_name(template_name: str) -> str:
    """`code-analysis-agent-regression` -> `agent-regression` (the overlay's namePrefix removed)."""
    matches = [name for name in SHIPPED if template_name.endswith(f"-{name}")]
    assert len(matches) == 1, f"{template_name} is not one of the shipped templates {SHIPPED}"
    return matches[0]


def unreachable_phases(harness: str, overlay: Path, workdir: Path) -> Phases:
    """Run an overlay's analyses with nothing listening at the judge's or Prometheus' address."""
    dead = f"http://{LOOPBACK}:{free_port()}"
    token_file = workdir / "token"
    token_file.write_text(TOKEN)
    manifests = workdir / f"{overlay.parent.name}-{overlay.name}.yaml"
    manifests.write_text(kustomize_build(overlay))
    done = run_harness(
        harness, manifests, "canary0001", judge_url=dead, prometheus_url=dead, token_file=token_file
    )
    assert done.returncode == 0, f"{overlay}: {done.stderr}"
    measured: Phases = {}
    for run in json.loads(done.stdout)["runs"]:
        assert not run.get("error"), f"{overlay}: {run}"
        for metric in run["metrics"]:
            measured[shipped_name(metric["template"])] = metric["phase"]
    return measured


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_agent_overlay_builds_its_analysis_runs(
    env: str, tmp_path: Path, harness: str, require_tool: Callable[[str], str]
) -> None:
    """Every agent in every environment: Argo resolves all args and runs every shipped template."""
    require_tool("kubectl")
    agent_overlays = [overlay for overlay in overlays(env=env) if overlay.name in AGENTS]
    assert sorted(overlay.name for overlay in agent_overlays) == sorted(AGENTS)
    for overlay in agent_overlays:
        # Nothing answers, so every measurement is an Error: no pass without data.
        assert unreachable_phases(harness, overlay, tmp_path) == dict.fromkeys(SHIPPED, "Error"), overlay


def test_example_overlays_build_their_analysis_runs(
    tmp_path: Path, harness: str, require_tool: Callable[[str], str]
) -> None:
    """The examples (replica-weighted canary, blue-green pre/post-promotion) resolve too."""
    require_tool("kubectl")
    examples = [overlay for overlay in overlays() if overlay.parent.name == EXAMPLES]
    assert examples
    for overlay in examples:
        measured = unreachable_phases(harness, overlay, tmp_path)
        assert measured and set(measured.values()) == {"Error"}, overlay
