"""The rehearsal: real agents, Prometheus and judge on loopback, walking the rendered Rollout's steps."""

import hashlib
import secrets
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from kernel.catalog import image_repository
from kernel.platform import example_text
from tools.demo.analysis import Measurement, RunResult, describe, run_analysis
from tools.demo.conditions import Phase
from tools.demo.plan import (
    RolloutPlan,
    RunContext,
    Step,
    build_metrics,
    pod_template_hash,
    rollout_fields,
)
from tools.demo.rehearsal_report import Marker, ReleaseSection, collect
from tools.demo.splitter import TrafficSplitter
from tools.local_prometheus import ScrapeTarget, run_prometheus
from tools.procs import LOOPBACK, free_port, spawn

JUDGE_TOKEN_SECRET = ("agent-rollouts-judge-token", "token")  # the Secret the web templates read
DEMO_CLIENTS = 20


@dataclass(frozen=True)
class Release:
    """One canary build to rehearse: which agent variant it runs, and its image digest."""

    variant: str
    image: str
    port: int
    seed: int  # each process draws its own answers, as different pods would

    @property
    def hash(self) -> str:
        return pod_template_hash(self.image)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"


def canary_image(agent: str, variant: str, seed: int) -> str:
    """A digest-pinned image reference standing for a build of `variant`."""
    digest = hashlib.sha256(f"{agent}/{variant}/{seed}".encode()).hexdigest()
    return f"{image_repository(agent)}@sha256:{digest}"


@dataclass
class Event:
    at: float
    release: int
    kind: str  # setup | release | step | traffic | measurement | decision
    text: str
    phase: str = ""


@dataclass
class ReleaseOutcome:
    release: Release
    status: str  # promoted | aborted | paused
    reason: str
    started: float
    ended: float
    step: int  # index of the step that decided it; len(steps) when every step completed

    def summary(self) -> dict[str, Any]:
        """What the release came to, for `summary.json`."""
        return {
            "variant": self.release.variant,
            "image": self.release.image,
            "pod_template_hash": self.release.hash,
            "status": self.status,
            "reason": self.reason,
            "decided_at_step": self.step,
            "seconds": round(self.ended - self.started, 1),
        }


class RehearsalLog:
    """Live progress on the terminal: one line per event, elapsed time first."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.start = time.time()
        self.events: list[Event] = []
        self.release = 0

    def emit(self, kind: str, text: str, phase: str = "") -> None:
        event = Event(time.time(), self.release, kind, text, phase)
        self.events.append(event)
        elapsed = int(event.at - self.start)
        print(f"[{elapsed // 60:02d}:{elapsed % 60:02d}] {text}", file=self.out, flush=True)


def _traffic_line(traffic: TrafficSplitter, canary_url: str) -> str:
    stable, stable_failed = traffic.totals(traffic.stable_url)
    canary, canary_failed = traffic.totals(canary_url)
    return (
        f"traffic: stable {stable} req ({stable_failed} failed), "
        f"canary {canary} req ({canary_failed} failed), weight {traffic.weight}%"
    )


class Walk:
    """Argo Rollouts' canary walk for one release: steps in order, background analysis alongside."""

    def __init__(
        self,
        plan: RolloutPlan,
        context: RunContext,
        release: Release,
        traffic: TrafficSplitter,
        progress: RehearsalLog,
        time_scale: float,
    ) -> None:
        self.plan, self.context, self.release = plan, context, release
        self.traffic, self.progress, self.time_scale = traffic, progress, time_scale
        self.background: RunResult | None = None
        self.finished = threading.Event()

    def _on_measurement(self, template: str) -> Callable[[str, Measurement], None]:
        def report(metric: str, measurement: Measurement) -> None:
            self.progress.emit(
                "measurement",
                f"  {template}/{metric}: {measurement.phase} — {describe(measurement)}",
                measurement.phase,
            )

        return report

    def _run(self, step_index: int | None, stop: threading.Event) -> RunResult:
        ref = self.plan.background if step_index is None else self.plan.steps[step_index].analysis
        assert ref is not None
        label = "background" if step_index is None else f"step {step_index + 1} analysis"
        return run_analysis(
            build_metrics(self.plan, ref, self.context),
            time_scale=self.time_scale,
            stop=stop,
            on_measurement=self._on_measurement(label),
        )

    def _background(self) -> None:
        self.background = self._run(None, self.finished)
        if self.background.phase != Phase.SUCCESSFUL:
            self.finished.set()

    def _background_failed(self) -> RunResult | None:
        if self.background is not None and self.background.phase in (Phase.FAILED, Phase.ERROR):
            return self.background
        return None

    def _wait(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not self._background_failed():
            self.finished.wait(min(5.0, max(0.0, deadline - time.monotonic())))
            self.progress.emit("traffic", "  " + _traffic_line(self.traffic, self.release.url))

    def execute(self) -> ReleaseOutcome:
        started = time.time()
        thread = threading.Thread(target=self._background, daemon=True)
        outcome = self._steps(started, thread)
        self.finished.set()
        if thread.is_alive():
            thread.join(timeout=60)
        failed = self._background_failed()
        if failed and outcome.status == "promoted":  # background failure after the last step
            outcome.status, outcome.reason = "aborted", f"background analysis {failed.message()}"
        outcome.ended = time.time()
        return outcome

    def _abort(self, started: float, step: int, reason: str) -> ReleaseOutcome:
        self.traffic.route(None, 0)  # `kubectl argo rollouts abort`: all traffic back to stable
        self.progress.emit("decision", f"ABORTED: {reason.rstrip('.')}; traffic returned to stable", "Failed")
        return ReleaseOutcome(self.release, "aborted", reason, started, 0.0, step)

    def _steps(self, started: float, background: threading.Thread) -> ReleaseOutcome:
        total = len(self.plan.steps)
        for index, step in enumerate(self.plan.steps):
            if (
                self.plan.background
                and index == self.plan.background_starting_step
                and not background.is_alive()
            ):
                self.progress.emit(
                    "step", "  background analysis started: " + ", ".join(self.plan.background.templates)
                )
                background.start()
            failed = self._background_failed()
            if failed:
                return self._abort(started, index, f"background analysis {failed.message()}")
            self.progress.emit("step", f"step {index + 1}/{total}: {step.describe()}")
            result = self._do(step, index)
            if result is None:
                continue
            if result.phase in (Phase.FAILED, Phase.ERROR):
                return self._abort(started, index, result.message())
            if result.phase == Phase.INCONCLUSIVE:
                reason = f"{result.message().rstrip('.')}; paused until a person promotes or aborts"
                self.progress.emit("decision", f"PAUSED: {reason}", "Inconclusive")
                self.traffic.route(None, 0)
                return ReleaseOutcome(self.release, "paused", reason, started, 0.0, index)
        failed = self._background_failed()
        if failed:
            return self._abort(started, total, f"background analysis {failed.message()}")
        self.progress.emit(
            "decision", "PROMOTED: every gate passed; the canary is the new stable", "Successful"
        )
        return ReleaseOutcome(self.release, "promoted", "every analysis gate passed", started, 0.0, total)

    def _do(self, step: Step, index: int) -> RunResult | None:
        if step.kind == "setWeight":
            self.traffic.route(self.release.url, step.weight or 0)
        elif step.kind == "pause" and step.pause_seconds is None:
            self.progress.emit(
                "step",
                f"  manual gate: in a cluster, `kubectl argo rollouts promote {self.plan.name}` approves it; "
                "the rehearsal approves on your behalf",
            )
        elif step.kind == "pause":
            self._wait((step.pause_seconds or 0) * self.time_scale)
        else:
            return self._run(index, threading.Event())
        return None


@dataclass(frozen=True)
class DemoOptions:
    agent: str
    env: str
    variants: tuple[str, ...]  # one release per variant, in order
    time_scale: float
    rps: float
    workdir: Path
    seed: int = 1


WORKDIR_MARKER = ".agent-rollouts-demo"


def prepare_workdir(workdir: Path) -> None:
    """Empty a previous rehearsal's work dir; refuse to delete any other non-empty folder."""
    if workdir.exists() and any(workdir.iterdir()):
        if not (workdir / WORKDIR_MARKER).is_file():
            raise RuntimeError(
                f"--workdir {workdir} is not empty and was not made by `agent-rollouts demo`; "
                "choose an empty or new folder"
            )
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / WORKDIR_MARKER).write_text("made by agent-rollouts demo; emptied by the next run\n")


@dataclass
class Rehearsal:
    """What a rehearsal leaves behind for the summary and the report."""

    progress: RehearsalLog
    environments_repo: Path
    outcomes: list[ReleaseOutcome] = field(default_factory=list)
    endpoints: list[str] = field(default_factory=list)  # every server it started, all stopped by now
    sections: list[ReleaseSection] = field(default_factory=list)


def rehearse(options: DemoOptions, plan: RolloutPlan, out: TextIO) -> Rehearsal:
    """Start every process, rehearse each release in turn, release the good ones, stop everything."""
    from agents.auth import mint_token
    from gitops import writer
    from tools.loadgen import sample_payload, send

    workdir = options.workdir
    prepare_workdir(workdir)
    progress = RehearsalLog(out)
    jwt_secret = secrets.token_urlsafe(32)
    judge_token = secrets.token_urlsafe(32)
    token_file = workdir / "judge-token"
    token_file.write_text(judge_token)
    token_file.chmod(0o600)
    agent_env = {"AGENT_JWT_SECRET": jwt_secret}
    # Many clients, as in production: each stays well under the agents' per-client rate limit.
    client_tokens = [
        mint_token(jwt_secret, f"demo-client-{n}", ttl_seconds=3600) for n in range(DEMO_CLIENTS)
    ]

    stable = Release("baseline", plan.image, free_port(), options.seed)
    releases = [
        Release(v, canary_image(options.agent, v, options.seed), free_port(), options.seed + n)
        for n, v in enumerate(options.variants, start=1)
    ]
    targets = [
        ScrapeTarget(
            f"{LOOPBACK}:{r.port}",
            {
                "rollouts_pod_template_hash": r.hash,
                "namespace": plan.namespace,
                "pod": f"{plan.name}-{r.hash}-0",
            },
        )
        for r in [stable, *releases]
    ]
    rehearsal = Rehearsal(progress, workdir / "environments.git")
    environments_repo = rehearsal.environments_repo

    def agent_process(release: Release) -> list[str]:
        return [sys.executable, "-m", "agent_rollouts", "agent", options.agent, "--host", LOOPBACK,
                "--port", str(release.port), "--variant", release.variant,
                "--seed", str(release.seed)]  # fmt: skip

    with ExitStack() as stack:
        progress.emit("setup", f"environments repo: bootstrapping {environments_repo}")
        subprocess.run(
            ["git", "init", "--quiet", "--bare", "--initial-branch=main", str(environments_repo)], check=True
        )
        # The project's own agents and environments: the example platform file, as `init` writes it.
        writer.init(str(environments_repo), example_text())
        writer.bootstrap(str(environments_repo))
        prometheus_url = stack.enter_context(run_prometheus(workdir / "prometheus", targets))
        judge_port = free_port()
        judge_url = f"http://{LOOPBACK}:{judge_port}"
        stack.enter_context(
            spawn(
                [
                    sys.executable,
                    "-m",
                    "agent_rollouts",
                    "serve",
                    "--prometheus-url",
                    prometheus_url,
                    "--token-file",
                    str(token_file),
                    "--host",
                    LOOPBACK,
                    "--port",
                    str(judge_port),
                ],  # fmt: skip
                log=workdir / "judge.log",
                ready_url=f"{judge_url}/healthz",
            )
        )
        progress.emit("setup", f"Prometheus {prometheus_url}, judge {judge_url}")
        rehearsal.endpoints = [prometheus_url, judge_url, stable.url, *(r.url for r in releases)]
        stack.enter_context(
            spawn(
                agent_process(stable),
                log=workdir / "stable.log",
                ready_url=f"{stable.url}/ready",
                env=agent_env,
            )
        )
        progress.emit("setup", f"stable {plan.name} ({stable.hash}) serving {stable.url}")

        def send_one(url: str, index: int) -> int:
            token = client_tokens[index % DEMO_CLIENTS]
            return int(send(url, options.agent, token, sample_payload(options.agent, index)))

        traffic = stack.enter_context(
            TrafficSplitter(stable.url, send_one, rps=options.rps, seed=options.seed)
        )
        context_for = {
            r.hash: RunContext(
                stable_hash=stable.hash,
                canary_hash=r.hash,
                fields=rollout_fields(plan),
                secrets={JUDGE_TOKEN_SECRET: judge_token},
                overrides=local_overrides(plan, judge_url, prometheus_url),
            )
            for r in releases
        }
        for number, release in enumerate(releases, start=1):
            progress.release = number
            progress.emit(
                "release", f"=== release {number}/{len(releases)}: {release.image} ({release.variant})"
            )
            with spawn(
                agent_process(release),
                log=workdir / f"canary-{number}.log",
                ready_url=f"{release.url}/ready",
                env=agent_env,
            ):
                progress.emit("setup", f"canary {release.hash} serving {release.url}")
                walk = Walk(plan, context_for[release.hash], release, traffic, progress, options.time_scale)
                outcome = walk.execute()
                traffic.route(None, 0)
            rehearsal.outcomes.append(outcome)
            if outcome.status == "promoted":
                progress.emit(
                    "release", f"agent-rollouts release --env {options.env} --agent {options.agent}"
                )
                result = writer.release(str(environments_repo), options.env, options.agent, release.image)
                progress.emit("release", f"  {result.summary}")
        rehearsal.sections = release_sections(
            prometheus_url, options.agent, stable, rehearsal.outcomes, progress
        )
    return rehearsal


def local_overrides(plan: RolloutPlan, judge_url: str, prometheus_url: str) -> dict[str, str]:
    """The only substitution the rehearsal makes: in-cluster addresses become the local ones."""
    overrides: dict[str, str] = {}
    for template in plan.templates.values():
        for arg in template["spec"].get("args") or []:
            default = str(arg.get("value", ""))
            if "/api/v1/judgements" in default:
                overrides[arg["name"]] = f"{judge_url}/api/v1/judgements"
            elif default.startswith("http") and "prometheus" in default:
                overrides[arg["name"]] = prometheus_url
    return overrides


def release_sections(
    prometheus_url: str, agent: str, stable: Release, outcomes: list[ReleaseOutcome], progress: RehearsalLog
) -> list[ReleaseSection]:
    """Query every chart's series for each release window while Prometheus still runs."""
    sections = []
    for number, outcome in enumerate(outcomes, start=1):
        events = [e for e in progress.events if e.release == number and e.kind != "traffic"]
        markers = [
            Marker(e.at, e.text.strip(), e.phase)
            for e in events
            if e.kind == "decision" or (e.kind == "step" and "setWeight" in e.text) or e.kind == "measurement"
        ]
        hashes = {"baseline": stable.hash, "canary": outcome.release.hash}
        sections.append(
            ReleaseSection(
                title=f"Release {number}: {outcome.release.variant} build {outcome.release.image.split('@')[-1][:19]}",
                status=outcome.status,
                reason=outcome.reason,
                start=outcome.started,
                end=outcome.ended,
                charts=collect(prometheus_url, agent, hashes, outcome.started, outcome.ended),
                markers=markers,
                timeline=[(e.at, e.text.strip()) for e in events],
            )
        )
    return sections
