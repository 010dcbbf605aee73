"""`agent-rollouts affected` against a real temporary git repository."""

import io
import json
import subprocess
from pathlib import Path

import pytest

from agent_rollouts.cli import main
from agent_rollouts.console import Console
from agent_rollouts.exit_codes import ExitStatus
from kernel.catalog import AGENTS

BASE_FILES = ["README.md", "agents/code_analysis.py", "agents/base.py", "rollouts/base/kustomization.yaml"]


def git(repo: Path, *argv: str) -> None:
    subprocess.run(["git", "-C", str(repo), *argv], check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    git(tmp_path, "init", "--quiet", "--initial-branch=main")
    git(tmp_path, "config", "user.email", "ci@example.com")
    git(tmp_path, "config", "user.name", "CI")
    for name in BASE_FILES:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("v1\n")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "--quiet", "-m", "base")
    git(tmp_path, "checkout", "--quiet", "-b", "feature")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def change(repo: Path, *names: str) -> dict[str, object]:
    for name in names:
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text("v2\n")
    git(repo, "add", ".")
    git(repo, "commit", "--quiet", "-m", "change")
    out, err = io.StringIO(), io.StringIO()
    assert main(["affected", "--base", "main"], Console(stdout=out, stderr=err)) == ExitStatus.SUCCESS, (
        err.getvalue()
    )
    result: dict[str, object] = json.loads(out.getvalue())
    return result


def test_docs_only_affect_no_agent(repo: Path) -> None:
    assert change(repo, "README.md", "docs/runbook.md") == {
        "agents": [],
        "all": False,
        "files": ["README.md", "docs/runbook.md"],
    }


def test_an_agents_own_files_affect_only_that_agent(repo: Path) -> None:
    result = change(
        repo,
        "agents/code_analysis.py",
        "rollouts/agents/knowledge-qna/canary-rollout-agent.yaml",
        "rollouts/envs/prod/knowledge-qna/kustomization.yaml",
        "tests/golden/prod/knowledge-qna.yaml",
    )
    assert result["agents"] == ["code-analysis", "knowledge-qna"]
    assert result["all"] is False


@pytest.mark.parametrize(
    "shared",
    [
        "agents/base.py",
        "rollouts/base/kustomization.yaml",
        "analysis/agent-quality.yaml",
        "webhook/app.py",
        "pyproject.toml",
    ],
)
def test_shared_code_affects_every_agent(repo: Path, shared: str) -> None:
    result = change(repo, shared, "README.md")
    assert result == {"agents": list(AGENTS), "all": True, "files": sorted([shared, "README.md"])}


def test_only_changes_since_the_fork_count(repo: Path) -> None:
    git(repo, "checkout", "--quiet", "main")
    (repo / "agents" / "base.py").write_text("main moved on\n")
    git(repo, "commit", "--quiet", "-am", "main moves")
    git(repo, "checkout", "--quiet", "feature")
    assert change(repo, "agents/data_standardization.py")["agents"] == ["data-standardization"]


def test_an_unknown_ref_is_an_error(repo: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = main(["affected", "--base", "no-such-branch"], Console(stdout=out, stderr=err))
    assert code == ExitStatus.ERROR
    assert out.getvalue() == ""
    assert "no-such-branch" in err.getvalue()
