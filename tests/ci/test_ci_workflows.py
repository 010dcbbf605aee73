"""The GitHub Actions workflows pass actionlint, and the real repo's manifests validate clean."""

import io
import subprocess
from collections.abc import Callable
from pathlib import Path

import yaml

from agent_rollouts.cli import main
from agent_rollouts.console import Console
from agent_rollouts.exit_codes import ExitStatus
from kernel.catalog import AGENTS
from kernel.toolpaths import REPO_ROOT

WORKFLOWS = REPO_ROOT / ".github" / "workflows"


def test_workflows_pass_actionlint(require_tool: Callable[[str], str]) -> None:
    files = sorted(WORKFLOWS.glob("*.yaml"))
    assert {f.name for f in files} >= {"ci.yaml", "release.yaml", "promote.yaml"}
    result = subprocess.run(
        [require_tool("actionlint"), *map(str, files)], capture_output=True, text=True, cwd=REPO_ROOT
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_prod_promotion_is_manual_and_gated_by_an_environment() -> None:
    promote = yaml.safe_load((WORKFLOWS / "promote.yaml").read_text())
    triggers = promote[True]  # YAML 1.1 reads the key `on` as a boolean
    assert list(triggers) == ["workflow_dispatch"]
    # Names are the environments repo's (its agent-rollouts.yaml), checked by the CLI, not listed here.
    assert {spec["type"] for spec in triggers["workflow_dispatch"]["inputs"].values()} == {"string"}
    assert promote["jobs"]["promote"]["environment"] == "${{ inputs.to }}"


def test_the_repo_validates_clean(tmp_path: Path, require_tool: Callable[[str], str]) -> None:
    for name in ("kubectl", "kubeconform", "promtool", "checkov"):
        require_tool(name)
    out, err = io.StringIO(), io.StringIO()
    junit = tmp_path / "junit.xml"
    code = main(["validate", "--junit", str(junit)], Console(stdout=out, stderr=err))
    assert (code, out.getvalue()) == (ExitStatus.SUCCESS, ""), out.getvalue() + err.getvalue()
    assert 'failures="0"' in junit.read_text()
    for agent in AGENTS:
        assert f"rollouts/envs/prod/{agent}" in junit.read_text()


def test_render_prints_the_dev_stack(require_tool: Callable[[str], str]) -> None:
    require_tool("kubectl")
    out, err = io.StringIO(), io.StringIO()
    assert main(["render"], Console(stdout=out, stderr=err)) == ExitStatus.SUCCESS, err.getvalue()
    rollouts = [doc for doc in yaml.safe_load_all(out.getvalue()) if doc and doc["kind"] == "Rollout"]
    assert len(rollouts) == len(AGENTS)
    assert {doc["metadata"]["namespace"] for doc in rollouts} == {"agents-dev"}
