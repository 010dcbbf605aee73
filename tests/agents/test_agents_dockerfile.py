"""The agent image's Dockerfile, checked statically (no Docker daemon runs here)."""

import re
from pathlib import Path

from import_graph import agent_command_packages


def instructions(repo_root: Path) -> list[tuple[str, str]]:
    text = (repo_root / "Dockerfile").read_text().replace("\\\n", " ")
    return [
        (line.split()[0].upper(), line.split(maxsplit=1)[1])
        for line in text.splitlines()
        if line.strip() and not line.startswith("#")
    ]


def test_runtime_stage_runs_as_a_numeric_non_root_user(repo_root: Path) -> None:
    steps = instructions(repo_root)
    last_from = max(i for i, (op, _) in enumerate(steps) if op == "FROM")
    users = [arg for op, arg in steps[last_from:] if op == "USER"]
    assert users, "the runtime stage sets no USER"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0


def test_healthcheck_probes_the_liveness_endpoint(repo_root: Path) -> None:
    checks = [arg for op, arg in instructions(repo_root) if op == "HEALTHCHECK"]
    assert len(checks) == 1 and "/healthz'" in checks[0] and "8080" in checks[0]
    assert ("EXPOSE", "8080") in instructions(repo_root)


def test_no_secret_is_baked_into_the_image(repo_root: Path) -> None:
    for op, arg in instructions(repo_root):
        if op in ("ENV", "ARG"):
            assert not re.search(r"(SECRET|KEY|TOKEN|PASSWORD)\w*=", arg, re.IGNORECASE), arg
    ignored = (repo_root / ".dockerignore").read_text().split()
    assert {".env", "*.key", ".git"} <= set(ignored)


def test_the_image_copies_only_what_the_agent_command_imports(repo_root: Path) -> None:
    copied = {arg.split()[0] for op, arg in instructions(repo_root) if op == "COPY" and "--from" not in arg}
    assert copied == {"pyproject.toml", "kernel", "agents", "agent_rollouts"}
    assert agent_command_packages() <= copied
