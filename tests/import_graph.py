"""The project's imports, read from its source with `ast`: who imports whom, by top-level package."""

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
KERNEL = "kernel"
LIBRARIES = ("agents", "webhook", "gitops", "ci", "kube")
CLI = "agent_rollouts"
LOCAL_TOOLING = "tools"
BENCHMARKS = "benchmarks"
PACKAGES = (KERNEL, *LIBRARIES, CLI, LOCAL_TOOLING, BENCHMARKS)


def modules(package: str) -> Iterator[Path]:
    yield from sorted((REPO_ROOT / package).rglob("*.py"))


def imported_packages(path: Path) -> set[str]:
    """Top-level project packages a file imports, at module level or inside functions."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found |= {name.partition(".")[0] for name in names} & set(PACKAGES)
    return found


def package_graph() -> dict[str, dict[str, list[str]]]:
    """package -> imported package -> the files of `package` that import it."""
    graph: dict[str, dict[str, list[str]]] = {package: {} for package in PACKAGES}
    for package in PACKAGES:
        for path in modules(package):
            for target in imported_packages(path) - {package}:
                graph[package].setdefault(target, []).append(str(path.relative_to(REPO_ROOT)))
    return graph


def loaded_project_packages(code: str) -> set[str]:
    """Top-level project packages, and jinja2/fastapi, in sys.modules after running `code` afresh."""
    probe = (
        f"{code}\nimport json, sys\nprint(json.dumps(sorted({{m.partition('.')[0] for m in sys.modules}})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    return set(json.loads(result.stdout.splitlines()[-1])) & {*PACKAGES, "jinja2", "fastapi"}


def agent_command_packages() -> set[str]:
    """What `agent-rollouts agent` loads: the whole CLI parser, then the agent service."""
    return loaded_project_packages(
        "from agent_rollouts.cli import build_parser\nbuild_parser()\nimport agents.service"
    ) & set(PACKAGES)
