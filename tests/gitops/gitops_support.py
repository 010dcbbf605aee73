"""Helpers for the GitOps writer's tests: read a bare remote with real git."""

import hashlib
import subprocess
from pathlib import Path


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
