"""`agent-rollouts demo`: a local rehearsal of an agent release through the rendered canary steps."""

import argparse
import json
import signal
import subprocess
import time
from pathlib import Path

from agent_rollouts.catalog import AGENTS, ENVIRONMENTS
from agent_rollouts.context import Environment
from agent_rollouts.status import ExitStatus
from agent_rollouts.tools import REPO_ROOT

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


def handle(args: argparse.Namespace, env: Environment) -> int:
    """Rehearse each canary release, release the ones that pass, and write the report."""
    from agent_rollouts.demo.plan import PlanError, read_plan
    from agent_rollouts.demo.report import render_report, write_report
    from agent_rollouts.demo.runner import DemoOptions, rehearse
    from ci.render import kustomize_build

    overlay = REPO_ROOT / "rollouts" / "envs" / args.env / args.agent
    options = DemoOptions(
        agent=args.agent,
        env=args.env,
        variants=tuple(args.canary or DEFAULT_CANARIES),
        time_scale=FAST_TIME_SCALE if args.fast else TIME_SCALE,
        rps=args.rps or (FAST_RPS if args.fast else RPS),
        workdir=args.workdir.resolve(),
        seed=args.seed,
    )
    print(NOTE, file=env.stdout)
    try:
        plan = read_plan(kustomize_build(overlay))
    except PlanError as exc:
        env.error(f"{overlay.relative_to(REPO_ROOT)}: {exc}")
        return ExitStatus.ERROR
    print(
        f"Rollout {plan.name} in {plan.namespace}: " + " → ".join(s.describe() for s in plan.steps),
        file=env.stdout,
    )
    # `kill` stops a rehearsal the way Ctrl-C does, so every process it started is stopped too.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        rehearsal = rehearse(options, plan, env.stdout)
    except RuntimeError as exc:
        env.error(str(exc))
        return ExitStatus.ERROR
    finally:
        signal.signal(signal.SIGTERM, previous)
    summary = {
        "agent": args.agent,
        "env": args.env,
        "steps": [step.describe() for step in plan.steps],
        "releases": [outcome.summary() for outcome in rehearsal.outcomes],
        "environments_repo": str(rehearsal.environments_repo),
        "endpoints": rehearsal.endpoints,
    }
    (options.workdir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    report = options.workdir / "report.html"
    heading = f"Release rehearsal: {args.agent} in {args.env}"
    repo = rehearsal.environments_repo
    write_report(report, render_report(heading, NOTE, rehearsal.sections, f"Environments repo: {repo}"))
    print("\nSummary", file=env.stdout)
    for outcome in rehearsal.outcomes:
        elapsed = outcome.ended - outcome.started
        print(
            f"  {outcome.release.variant:<15} {outcome.status.upper():<9} after {elapsed:4.0f}s  {outcome.reason}",
            file=env.stdout,
        )
    log = subprocess.run(
        ["git", "--git-dir", repo, "log", "--format=  %h %s", "-3"],
        capture_output=True,
        text=True,
        check=False,
    )
    print(f"Environments repo {repo}:\n{log.stdout.rstrip()}", file=env.stdout)
    print(
        f"Report: {report}  (started {time.strftime('%H:%M:%S', time.localtime(rehearsal.progress.start))})",
        file=env.stdout,
    )
    return ExitStatus.SUCCESS


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = subparsers.add_parser(
        "demo",
        help="rehearse an agent release locally: a regressed canary is aborted, a good one released",
        description=NOTE,
    )
    parser.add_argument("--agent", choices=AGENTS, default="knowledge-qna", help="agent to release")
    parser.add_argument(
        "--env", choices=ENVIRONMENTS, default="dev", help="environment whose Rollout is rehearsed"
    )
    parser.add_argument(
        "--canary",
        action="append",
        metavar="VARIANT",
        help="a canary build's variant; repeat for several releases (default: low-confidence, then baseline)",
    )
    parser.add_argument("--fast", action="store_true", help="compress time further (for CI)")
    parser.add_argument(
        "--rps",
        type=float,
        help=f"requests per second of demo traffic (default {RPS:g}, {FAST_RPS:g} with --fast)",
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the agents' deterministic provider")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path(".demo"),
        help="where logs, data and the report go (default .demo)",
    )
    parser.set_defaults(handler=handle)
