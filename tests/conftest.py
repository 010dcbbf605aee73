"""Shared fixtures: external tools must exist (a missing tool fails, never skips)."""

from collections.abc import Callable
from pathlib import Path

import pytest

from kernel.errors import ToolMissing
from kernel.toolpaths import REPO_ROOT, find_tool


def require_tool(name: str) -> str:
    """The path of a pinned tool; the test fails if `make bootstrap` did not install it."""
    try:
        return find_tool(name)
    except ToolMissing as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(name="require_tool", scope="session")
def require_tool_fixture() -> Callable[[str], str]:
    """`require_tool` for tests in any folder (conftest modules are not importable by path)."""
    return require_tool
