"""Helpers for the GitOps writer's tests: run the CLI in-process, read a bare remote with real git."""

import hashlib
import io
import subprocess
from pathlib import Path

from agent_rollouts.cli import main
from agent_rollouts.console import Console


def git_out(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout


def digest(seed: object) -> str:
    """A distinct, well-formed sha256 digest per seed."""
    return "sha256:" + hashlib.sha256(str(seed).encode()).hexdigest()


def head(remote: Path) -> str:
    return git_out(remote, "rev-parse", "main").strip()


def show(remote: Path, path: str, rev: str = "main") -> str:
    return git_out(remote, "show", f"{rev}:{path}")


def trailers(remote: Path, key: str, rev: str = "main") -> list[str]:
    """One trailer's value for every commit on `rev`, newest first ('' where absent)."""
    out = git_out(remote, "log", f"--format=%(trailers:key={key},valueonly,separator=)%x00", rev)
    return [value.strip() for value in out.split("\x00")[:-1]]


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), Console(stdout=out, stderr=err))
    return status, out.getvalue(), err.getvalue()


def error_line(err: str) -> str:
    """The one error line among the progress lines (`agent-rollouts: <step>`) on stderr."""
    progress = [
        line for line in err.splitlines() if line.startswith("agent-rollouts: ") and " error: " not in line
    ]
    errors = [line for line in err.splitlines() if line not in progress]
    assert len(errors) == 1, err
    return errors[0]
