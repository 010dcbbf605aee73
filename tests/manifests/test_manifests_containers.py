"""The rendered containers run: each command, env and mounted Secret starts the real service here.

A stand-in for the kubelet: `$(VAR)` references are expanded from the container's env, Secret
volumes become files under a temporary root, and only `--host`/`--port` (and the judge's Prometheus
address) are changed so the processes bind free loopback ports. The AnalysisTemplate's web request
is then sent, exactly as rendered, to the judge started from the judge's manifest.
"""

import json
import re
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import requests
from manifests_render import ARG_REFERENCE, Doc, Rendered

from tools.local_prometheus import ScrapeTarget, run_prometheus
from tools.procs import LOOPBACK, free_port, spawn

SECRET_VALUES = {
    ("agent-rollouts-jwt", "secret"): "jwt-secret-for-tests-only-0123456789abcdef",
    ("code-analysis-llm-credentials", "api-key"): "llm-key-for-tests-only",
    ("agent-rollouts-judge-token", "token"): "judge-token-for-tests-only",
}
VARIABLE = re.compile(r"\$\((\w+)\)")


def pod_and_container(doc: Doc) -> tuple[Doc, Doc]:
    pod: Doc = doc["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    return pod, container


def mount_secrets(pod: Doc, container: Doc, root: Path) -> dict[str, Path]:
    """Write each mounted Secret's keys under `root`, as the kubelet would; mountPath -> local dir."""
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    mounted = {}
    for mount in container["volumeMounts"]:
        local = root / mount["mountPath"].lstrip("/")
        local.mkdir(parents=True, exist_ok=True)
        secret = volumes[mount["name"]].get("secret")
        if secret:
            for (name, key), value in SECRET_VALUES.items():
                if name == secret["secretName"]:
                    (local / key).write_text(value)
        mounted[mount["mountPath"]] = local
    return mounted


def local_path(value: str, mounted: dict[str, Path]) -> str:
    for mount_path, local in mounted.items():
        if value.startswith(mount_path + "/"):
            return str(local / value.removeprefix(mount_path + "/"))
    return value


def localize(word: str, mounted: dict[str, Path]) -> str:
    """An argument naming a file in a mounted volume, pointed at the local copy (`--flag=path` too)."""
    flag, equals, value = word.partition("=")
    if equals and flag.startswith("--"):
        return f"{flag}={local_path(value, mounted)}"
    return local_path(word, mounted)


def kubelet_env(container: Doc, mounted: dict[str, Path]) -> dict[str, str]:
    env = {}
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = local_path(item["value"], mounted)
        else:
            ref = item["valueFrom"]["secretKeyRef"]
            env[item["name"]] = SECRET_VALUES[(ref["name"], ref["key"])]
    return env


def kubelet_argv(container: Doc, env: dict[str, str], mounted: dict[str, Path], **flags: str) -> list[str]:
    """command + args with `$(VAR)` expanded; `flags` replace the values of `--flag v` / `--flag=v`."""
    words = [VARIABLE.sub(lambda m: env[m[1]], word) for word in container["command"] + container["args"]]
    words = [localize(word, mounted) for word in words]
    assert words[0] == "agent-rollouts"
    words[0] = str(Path(sys.executable).parent / "agent-rollouts")
    for flag, value in flags.items():
        option = "--" + flag.replace("_", "-")
        if option in words:
            words[words.index(option) + 1] = value
        else:
            (index,) = [i for i, word in enumerate(words) if word.startswith(option + "=")]
            words[index] = f"{option}={value}"
    return words


def probe_url(container: Doc, probe: str, port: int) -> str:
    get = container[probe]["httpGet"]
    named = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert get["port"] in named or get["port"] in named.values()
    return f"http://{LOOPBACK}:{port}{get['path']}"


@contextmanager
def run_container(doc: Doc, tmp: Path, **flags: str) -> Iterator[tuple[Doc, int]]:
    pod, container = pod_and_container(doc)
    mounted = mount_secrets(pod, container, tmp / "volumes")
    env = kubelet_env(container, mounted)
    port = free_port()
    argv = kubelet_argv(container, env, mounted, host=LOOPBACK, port=str(port), **flags)
    with spawn(
        argv, log=tmp / "container.log", env=env, ready_url=probe_url(container, "livenessProbe", port)
    ):
        yield container, port


def test_the_agent_container_starts_and_answers_its_probes(
    rendered: dict[str, Rendered], tmp_path: Path
) -> None:
    rollout = rendered["prod/code-analysis"].one("Rollout")
    with run_container(rollout, tmp_path) as (container, port):
        for probe in ("livenessProbe", "readinessProbe"):
            assert requests.get(probe_url(container, probe, port), timeout=5).ok, probe
        metrics = requests.get(f"http://{LOOPBACK}:{port}/metrics", timeout=5).text
        assert 'agent_requests_total{agent_name="code-analysis"' in metrics


def resolve(template: Doc, values: dict[str, str]) -> Any:
    """A metric with `{{args.x}}` resolved, as Argo does before measuring."""
    text = json.dumps(template["spec"]["metrics"][0])
    return json.loads(ARG_REFERENCE.sub(lambda m: json.dumps(values[m[1]])[1:-1], text))


def test_the_judge_container_accepts_the_web_templates_request_as_rendered(
    rendered: dict[str, Rendered], tmp_path: Path
) -> None:
    agent = rendered["prod/code-analysis"]
    judge = rendered["prod/platform"].named("Deployment", "agent-rollouts-judge")
    with ExitStack() as stack:
        agent_container, agent_port = stack.enter_context(
            run_container(agent.one("Rollout"), tmp_path / "agent")
        )
        target = ScrapeTarget(
            f"{LOOPBACK}:{agent_port}", {"rollouts_pod_template_hash": "stable1", "namespace": "agents-prod"}
        )
        prometheus = stack.enter_context(run_prometheus(tmp_path / "prometheus", [target]))
        container, port = stack.enter_context(
            run_container(judge, tmp_path / "judge", prometheus_url=prometheus)
        )
        assert requests.get(probe_url(container, "readinessProbe", port), timeout=5).ok
        for name in ("agent-regression",):
            template = agent.named("AnalysisTemplate", f"code-analysis-{name}")
            values = {
                **{arg["name"]: arg["value"] for arg in template["spec"]["args"] if "value" in arg},
                "agent": "code-analysis",
                "canary-hash": "canary1",
                "baseline-hash": "stable1",
                "namespace": "agents-prod",
                "judge-url": f"http://{LOOPBACK}:{port}/api/v1/judgements",
                "judge-token": SECRET_VALUES[("agent-rollouts-judge-token", "token")],
            }
            web = resolve(template, values)["provider"]["web"]
            response = requests.request(
                web["method"],
                web["url"],
                json=web["jsonBody"],
                headers={h["key"]: h["value"] for h in web["headers"]},
                timeout=web["timeoutSeconds"],
            )
            assert response.status_code == 200, response.text
            # No canary traffic at all: the judge cannot tell, and the rollout would pause.
            assert response.json()["verdict"] == "inconclusive"
            assert response.json()["report_url"].startswith("http://localhost:8080/reports?")
