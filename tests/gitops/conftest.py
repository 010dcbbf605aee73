"""Fixtures for the GitOps writer: real git, a bare remote on disk bootstrapped from this platform."""

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitops.generate import Platform
from gitops.writer import Options, bootstrap


@pytest.fixture(scope="session")
def platform() -> Platform:
    return Platform.current()


@pytest.fixture(scope="session")
def seed_remote(tmp_path_factory: pytest.TempPathFactory, platform: Platform) -> Path:
    """A bare environments repo bootstrapped once per session; tests copy it."""
    remote = tmp_path_factory.mktemp("seed") / "envs.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(remote)], check=True)
    bootstrap(str(remote), options=Options(), platform=platform)
    return remote


@pytest.fixture
def remote(tmp_path: Path, seed_remote: Path) -> Iterator[Path]:
    copy = tmp_path / "envs.git"
    shutil.copytree(seed_remote, copy, symlinks=True)
    yield copy
