"""The local rehearsal of an agent release through the rendered canary steps (`agent-rollouts demo`)."""

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import TextIO

from kernel.errors import AgentRolloutsError
from kernel.toolpaths import REPO_ROOT

DEFAULT_CANARIES = ("low-confidence", "baseline")  # a regressed build, then a good one
# Time is compressed (the Rollout's pauses and analysis intervals shrink by this factor), so the
# request rate is raised far above an LLM agent's 1-2 per second to give each gate the evidence of
# a longer rollout. Every build fails 0.5 % of its calls, so what a good build needs is the errors
# check's pass: within one point of the stable, which takes several thousand canary requests when
# the canary's own failures run high by chance (the default seeds' canary fails 0.8 % of its
# first 5,000). Both settings send ~60 requests per Rollout-second: ~9,000 canary requests by the
# last gate's third look in dev.
TIME_SCALE, RPS = 0.35, 180.0  # about four minutes
FAST_TIME_SCALE, FAST_RPS = 0.25, 250.0  # --fast, for CI: about three minutes

NOTE = (
    "This is a local rehearsal: real agent processes, a real Prometheus and the real judge on loopback "
    "walk the rendered Rollout's canary steps, with time compressed. In a cluster, Argo Rollouts "
    "executes the same manifests: the same steps, AnalysisTemplates, conditions and limits."
)


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


class RehearsalError(AgentRolloutsError):
    """The rehearsal could not run: an unreadable Rollout, a busy work dir, a process that did not start."""


def run(
    *,
    agent: str,
    env: str,
    canaries: tuple[str, ...],
    fast: bool,
    rps: float | None,
    seed: int,
    workdir: Path,
    out: TextIO,
) -> None:
    """Rehearse each canary release, release the ones that pass, and write the report."""
    from ci.render import kustomize_build
    from tools.demo.plan import PlanError, read_plan
    from tools.demo.rehearsal_report import render_report, write_report
    from tools.demo.runner import DemoOptions, rehearse

    overlay = REPO_ROOT / "rollouts" / "envs" / env / agent
    options = DemoOptions(
        agent=agent,
        env=env,
        variants=canaries or DEFAULT_CANARIES,
        time_scale=FAST_TIME_SCALE if fast else TIME_SCALE,
        rps=rps or (FAST_RPS if fast else RPS),
        workdir=workdir.resolve(),
        seed=seed,
    )
    print(NOTE, file=out)
    try:
        plan = read_plan(kustomize_build(overlay))
    except PlanError as exc:
        raise RehearsalError(f"{overlay.relative_to(REPO_ROOT)}: {exc}") from exc
    print(
        f"Rollout {plan.name} in {plan.namespace}: " + " → ".join(s.describe() for s in plan.steps),
        file=out,
    )
    # `kill` stops a rehearsal the way Ctrl-C does, so every process it started is stopped too.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        rehearsal = rehearse(options, plan, out)
    except RuntimeError as exc:
        raise RehearsalError(str(exc)) from exc
    finally:
        signal.signal(signal.SIGTERM, previous)
    summary = {
        "agent": agent,
        "env": env,
        "steps": [step.describe() for step in plan.steps],
        "releases": [outcome.summary() for outcome in rehearsal.outcomes],
        "environments_repo": str(rehearsal.environments_repo),
        "endpoints": rehearsal.endpoints,
    }
    (options.workdir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    report = options.workdir / "report.html"
    heading = f"Release rehearsal: {agent} in {env}"
    repo = rehearsal.environments_repo
    write_report(report, render_report(heading, NOTE, rehearsal.sections, f"Environments repo: {repo}"))
    print("\nSummary", file=out)
    for outcome in rehearsal.outcomes:
        elapsed = outcome.ended - outcome.started
        print(
            f"  {outcome.release.variant:<15} {outcome.status.upper():<9} after {elapsed:4.0f}s  {outcome.reason}",
            file=out,
        )
    log = subprocess.run(
        ["git", "--git-dir", repo, "log", "--format=  %h %s", "-3"],
        capture_output=True,
        text=True,
        check=False,
    )
    print(f"Environments repo {repo}:\n{log.stdout.rstrip()}", file=out)
    print(
        f"Report: {report}  (started {time.strftime('%H:%M:%S', time.localtime(rehearsal.progress.start))})",
        file=out,
    )
