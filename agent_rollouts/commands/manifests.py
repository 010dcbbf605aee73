"""Subcommands `render`, `validate` and `affected`: manifests as CI sees them."""

import argparse
import dataclasses
import json
from pathlib import Path

from agent_rollouts.console import Console
from agent_rollouts.exit_codes import ExitStatus
from kernel.errors import AgentRolloutsError
from kernel.toolpaths import CRD_DIR_VARIABLE


def _render(args: argparse.Namespace, env: Console) -> int:
    """Render overlays to files under -o, or one environment's stack to stdout."""
    from ci.render import render_overlays, render_stack
    from kernel.catalog import EXAMPLE

    try:
        if args.env is not None:
            EXAMPLE.environment(args.env)
        if args.output is None:
            stack_env = args.env or "dev"
            stack = render_stack(stack_env)
            if not stack.strip():
                env.error(f"render: no overlays for environment {stack_env}")
                return ExitStatus.ERROR
            env.stdout.write(stack)
            return ExitStatus.SUCCESS
        written = render_overlays(Path(args.output), args.env)
    except AgentRolloutsError as exc:
        env.error(f"render: {exc}")
        return ExitStatus.ERROR
    for path in written:
        print(path, file=env.stdout)
    return ExitStatus.SUCCESS


def _validate(args: argparse.Namespace, env: Console) -> int:
    """Render and check overlays; one line per problem, exit 1 on any."""
    from ci.validate import RULE_TESTS, junit_xml, validate  # imported late: keeps other commands fast
    from kernel.toolpaths import use_tool

    try:
        if args.kubeconform:
            use_tool("kubeconform", args.kubeconform)
        paths = args.paths or _environments_repo_folders(Path.cwd())
        rule_tests = args.rule_tests or RULE_TESTS
        report = validate(paths, crd_dir=args.crd_dir, policy=args.policy, rule_tests=rule_tests)
    except (AgentRolloutsError, FileNotFoundError) as exc:
        env.error(f"validate: {exc}")
        return ExitStatus.ERROR
    for problem in report.problems:
        print(problem, file=env.stdout)
    if args.junit:
        args.junit.write_text(junit_xml(report))
    checks = ", ".join(report.checks)
    if report.ok:
        print(f"{len(report.locations)} overlays valid ({checks})", file=env.stderr)
        return ExitStatus.SUCCESS
    env.error(f"validate: {len(report.problems)} problems in {len(report.locations)} overlays ({checks})")
    return ExitStatus.ERROR


def _crds(args: argparse.Namespace, env: Console) -> int:
    """Download the pinned upstream CRDs into a folder."""
    from ci.crds import DownloadFailed, download

    try:
        written = download(args.directory)
    except (DownloadFailed, OSError) as exc:
        env.error(f"crds: {exc}")
        return ExitStatus.UNAVAILABLE
    print(f"{len(written)} CRD files in {args.directory}", file=env.stderr)
    return ExitStatus.SUCCESS


def _environments_repo_folders(root: Path) -> list[Path]:
    """In an environments repo (it has agent-rollouts.yaml): every folder Argo CD syncs, relative to it.
    Elsewhere none, so `validate` checks this platform's own overlays."""
    from gitops import layout
    from kernel.platform import load_platform

    if not (root / layout.PLATFORM_FILE).is_file():
        return []
    platform = load_platform(root / layout.PLATFORM_FILE)
    return [Path(folder) for folder in layout.synced_folders(root, platform)]


def _affected(args: argparse.Namespace, env: Console) -> int:
    """Print the agents a diff affects as JSON."""
    from ci.affected import affected

    try:
        result = affected(args.base, args.head)
    except AgentRolloutsError as exc:
        env.error(f"affected: {exc}")
        return ExitStatus.ERROR
    print(json.dumps(dataclasses.asdict(result)), file=env.stdout)
    return ExitStatus.SUCCESS


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    render_parser = subparsers.add_parser(
        "render",
        help="render the kustomize overlays",
        description="Render overlays with kubectl kustomize. Without -o, print one environment's "
        "whole stack (default dev) to stdout; with -o, write DIR/<env>/<overlay>.yaml for every "
        "environment (or only --env).",
    )
    render_parser.add_argument("--env", help="only this environment")
    render_parser.add_argument("-o", "--output", metavar="DIR", help="write one file per overlay here")
    render_parser.set_defaults(handler=_render)

    validate_parser = subparsers.add_parser(
        "validate",
        help="validate rendered manifests",
        description="Render each kustomization directory (default: every overlay of this repo) and check "
        "it: kubeconform -strict with offline schemas, promtool check/test rules on every PrometheusRule, "
        "cross-references (templates, args, Services, canary weights, prod digests) and a checkov policy "
        "scan. Prints one line per problem (overlay: Kind/name: field: message) and exits 1 on any.",
    )
    validate_parser.add_argument(
        "paths",
        nargs="*",
        type=Path,
        metavar="PATH",
        help="kustomization directories or rendered YAML files (default: in an environments repo, every "
        "folder its agent-rollouts.yaml makes; elsewhere this platform's overlays)",
    )
    validate_parser.add_argument(
        "--crd-dir",
        type=Path,
        help=f"folder of CRD YAML to derive schemas from (default ${CRD_DIR_VARIABLE} or ../shared/crds)",
    )
    validate_parser.add_argument(
        "--rule-tests",
        type=Path,
        metavar="DIR",
        help="promtool unit tests (*.test.yaml) for the PrometheusRules (default rollouts/monitoring/tests)",
    )
    validate_parser.add_argument(
        "--kubeconform", metavar="PATH", help="the kubeconform binary (default: on PATH)"
    )
    validate_parser.add_argument("--junit", type=Path, metavar="FILE", help="also write a JUnit XML report")
    validate_parser.add_argument(
        "--no-policy",
        dest="policy",
        action="store_false",
        help="skip only the checkov policy scan (faster; `release` uses this, CI runs the full set)",
    )
    validate_parser.set_defaults(handler=_validate)

    crds_parser = subparsers.add_parser(
        "crds",
        help="download the upstream CRDs to validate against",
        description="Download the CRDs of the Argo Rollouts, Argo CD, Istio and Prometheus operator "
        "releases this version is tested with into DIR, for `validate --crd-dir DIR` in CI.",
    )
    crds_parser.add_argument("directory", type=Path, metavar="DIR")
    crds_parser.set_defaults(handler=_crds)

    affected_parser = subparsers.add_parser(
        "affected",
        help="which agents a change affects",
        description='Print {"agents": [...], "all": bool, "files": [...]} for the files changed on HEAD since '
        "it forked from BASE. An agent's own files affect it; shared code affects all; docs none. Use "
        "`jq -c .agents` as a GitHub Actions matrix.",
    )
    affected_parser.add_argument(
        "--base", required=True, metavar="REF", help="the branch or commit to compare with"
    )
    affected_parser.add_argument("--head", default="HEAD", metavar="REF", help="default HEAD")
    affected_parser.set_defaults(handler=_affected)
