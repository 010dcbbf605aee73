"""Fixtures for the GitOps writer: real git, a bare remote on disk bootstrapped from this platform."""

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitops.generate import PlatformManifests
from gitops.writer import Options, bootstrap, init
from kernel.platform import example_text


@pytest.fixture(scope="session")
def manifests() -> PlatformManifests:
    return PlatformManifests.current()


def seed(remote: str, manifests: PlatformManifests) -> None:
    """An environments repo of the project's own agents: the example platform file, bootstrapped."""
    init(remote, example_text())
    bootstrap(remote, options=Options(), manifests=manifests)


@pytest.fixture(scope="session")
def seed_remote(tmp_path_factory: pytest.TempPathFactory, manifests: PlatformManifests) -> Path:
    """A bare environments repo bootstrapped once per session; tests copy it."""
    remote = tmp_path_factory.mktemp("seed") / "envs.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(remote)], check=True)
    seed(str(remote), manifests)
    return remote


@pytest.fixture
def remote(tmp_path: Path, seed_remote: Path) -> Iterator[Path]:
    copy = tmp_path / "envs.git"
    shutil.copytree(seed_remote, copy, symlinks=True)
    yield copy
