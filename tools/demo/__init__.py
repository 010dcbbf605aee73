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
# Time is compressed (the Rollout's pauses and analysis intervals shrink by this factor), so traffic
# is raised to keep the evidence at each gate that of a real service: the judge passes a good build
# after ~250 canary requests on average and ~600 almost always, which the first gate (3 minutes at
# 10 %) sees at ~35 requests/s.
TIME_SCALE, RPS = 0.25, 150.0  # about three minutes
FAST_TIME_SCALE, FAST_RPS = 0.15, 250.0  # --fast, for CI: about two minutes

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
