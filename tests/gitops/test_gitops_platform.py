"""The environments repo follows its agent-rollouts.yaml: edits to the file, bad files, the judge's pin."""

import io
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from gitops_support import digest, git_out, head, show

from agent_rollouts.cli import main
from agent_rollouts.console import Console
from agent_rollouts.exit_codes import ExitStatus
from ci.render import kustomize_build
from gitops.errors import GitopsError
from gitops.generate import JUDGE_MANIFEST_IMAGE, PlatformManifests
from gitops.writer import bootstrap

CLUSTER = "clusters/kubernetes-default-svc"


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), Console(stdout=out, stderr=err))
    return status, out.getvalue(), err.getvalue()


def edit_platform_file(remote: Path, tmp_path: Path, change: Callable[[str], str]) -> None:
    """A hand edit of agent-rollouts.yaml, pushed as a user would."""
    clone = tmp_path / "edit"
    git_out(tmp_path, "clone", "--quiet", str(remote), str(clone))
    path = clone / "agent-rollouts.yaml"
    path.write_text(change(path.read_text()))
    git_out(clone, "commit", "--quiet", "-am", "edit agent-rollouts.yaml")
    git_out(clone, "push", "--quiet", "origin", "main")


def errors(err: str) -> list[str]:
    return [line for line in err.splitlines() if " error: " in line]


def test_a_broken_platform_file_stops_every_command_with_its_line(remote: Path, tmp_path: Path) -> None:
    edit_platform_file(
        remote, tmp_path, lambda text: text.replace("  - name: staging\n", "  - name: Staging\n")
    )
    before = head(remote)
    for argv in (
        ("bootstrap", "--repo", str(remote)),
        ("release", "--repo", str(remote), "--env", "dev", "--agent", "code-analysis", "--image", "x:v1"),
        ("promote", "--repo", str(remote), "--agent", "code-analysis", "--from", "dev", "--to", "staging"),
    ):
        code, _, err = run(*argv)
        assert code == ExitStatus.ERROR
        [line] = errors(err)
        assert line.startswith("agent-rollouts: error: agent-rollouts.yaml:"), line
        assert "environments[1].name: 'Staging' is not a DNS label" in line
    assert head(remote) == before


def test_removing_an_agent_keeps_its_folders_until_prune(remote: Path, tmp_path: Path) -> None:
    edit_platform_file(
        remote,
        tmp_path,
        lambda text: text.replace(
            "  - name: knowledge-qna\n    image: ghcr.io/agent-rollouts/knowledge-qna\n",
            "  - name: qna\n    image: ghcr.io/agent-rollouts/knowledge-qna\n",
        ),
    )
    before = head(remote)
    code, _, err = run("bootstrap", "--repo", str(remote))
    assert code == ExitStatus.ERROR
    [line] = errors(err)
    assert "envs/dev/knowledge-qna, envs/prod/knowledge-qna, envs/staging/knowledge-qna: no longer in" in line
    assert "Pass --prune" in line
    assert head(remote) == before

    code, _, err = run("bootstrap", "--repo", str(remote), "--prune")
    assert code == ExitStatus.SUCCESS, err
    files = git_out(remote, "ls-tree", "-r", "--name-only", "main").split()
    assert "generated/agents/qna/kustomization.yaml" in files
    assert "envs/dev/qna/kustomization.yaml" not in files  # appears with qna's first release
    assert not [name for name in files if name.startswith("envs/") and "/knowledge-qna/" in name]
    # Argo CD then deletes the Application knowledge-qna-<env> but not what it deployed.
    appsets = list(yaml.safe_load_all(show(remote, "argocd/2-applicationsets.yaml")))
    assert all(appset["spec"]["syncPolicy"]["preserveResourcesOnDeletion"] for appset in appsets)


def test_an_agents_tolerances_reach_the_judge(remote: Path, tmp_path: Path) -> None:
    edit_platform_file(
        remote,
        tmp_path,
        lambda text: text.replace(
            "    image: ghcr.io/agent-rollouts/code-analysis\n",
            "    image: ghcr.io/agent-rollouts/code-analysis\n    tolerances: {latency: 0.1}\n",
        ),
    )
    code, _, err = run("bootstrap", "--repo", str(remote))
    assert code == ExitStatus.SUCCESS, err
    clone = tmp_path / "after"
    git_out(tmp_path, "clone", "--quiet", str(remote), str(clone))

    def tolerances(folder: str, template_name: str = "agent-regression") -> dict[str, str]:
        [template] = [
            doc
            for doc in yaml.safe_load_all(kustomize_build(clone / folder))
            if doc
            and doc["kind"] == "AnalysisTemplate"
            and doc["metadata"]["name"].endswith(f"-{template_name}")
        ]
        return {
            arg["name"]: arg.get("value")
            for arg in template["spec"]["args"]
            if arg["name"].startswith("tolerance-")
        }

    mine, default = tolerances("envs/dev/code-analysis"), tolerances("envs/dev/knowledge-qna")
    assert mine == {**default, "tolerance-latency": "0.1"} and default["tolerance-latency"] != "0.1"
    # The background judge sends the same ones: one false-abort budget (docs/judge.md).
    assert tolerances("envs/dev/code-analysis", "agent-regression-watch") == mine


def test_a_tolerance_no_template_passes_is_refused(remote: Path, tmp_path: Path) -> None:
    # A platform version whose templates pass no latency tolerance (a team's own fork, say).
    edit_platform_file(
        remote,
        tmp_path,
        lambda text: text.replace(
            "    image: ghcr.io/agent-rollouts/code-analysis\n",
            "    image: ghcr.io/agent-rollouts/code-analysis\n    tolerances: {latency: 0.1}\n",
        ),
    )
    manifests = tmp_path / "platform"
    for name in ("rollouts", "analysis"):
        shutil.copytree(PlatformManifests.current().root / name, manifests / name)
    for name in ("agent-regression.yaml", "agent-regression-watch.yaml"):
        template = manifests / "analysis" / name
        template.write_text(template.read_text().replace("tolerance-latency", "latency-slack"))
    before = head(remote)
    with pytest.raises(GitopsError) as refused:
        bootstrap(str(remote), manifests=PlatformManifests(manifests, "test", "test"))
    assert (
        "agents[code-analysis].tolerances: no analysis template passes the judge a tolerance for latency"
        in str(refused.value)
    )
    assert head(remote) == before


def test_the_judge_is_released_and_promoted_like_an_agent(remote: Path) -> None:
    image = f"{JUDGE_MANIFEST_IMAGE}@{digest('judge')}"
    code, out, err = run(
        "release", "--repo", str(remote), "--env", "dev", "--component", "judge", "--image", image
    )
    assert code == ExitStatus.SUCCESS, err
    pinned = yaml.safe_load(show(remote, f"{CLUSTER}/kustomization.yaml"))["images"]
    assert pinned == [{"name": JUDGE_MANIFEST_IMAGE, "digest": digest("judge")}]
    message = git_out(remote, "log", "-1", "--format=%B", "main")
    assert "Component: judge\n" in message and "Cluster: kubernetes-default-svc\n" in message
    # dev, staging and prod share one cluster, so one judge: promoting it changes nothing.
    code, out, _ = run(
        "promote", "--repo", str(remote), "--component", "judge", "--from", "dev", "--to", "staging"
    )
    assert code == ExitStatus.SUCCESS
    assert "already runs" in out


def test_a_new_agents_folder_appears_with_its_first_release(remote: Path, tmp_path: Path) -> None:
    edit_platform_file(
        remote,
        tmp_path,
        lambda text: text.replace(
            "environments:\n", "  - name: triage\n    image: ghcr.io/acme/triage\n\nenvironments:\n"
        ),
    )
    assert run("bootstrap", "--repo", str(remote))[0] == ExitStatus.SUCCESS
    files = git_out(remote, "ls-tree", "-r", "--name-only", "main").split()
    assert not [name for name in files if name.startswith("envs/") and "/triage/" in name]
    image = f"ghcr.io/acme/triage@{digest('triage')}"
    code, _, err = run(
        "release", "--repo", str(remote), "--env", "dev", "--agent", "triage", "--image", image
    )
    assert code == ExitStatus.SUCCESS, err
    pin = yaml.safe_load(show(remote, "envs/dev/triage/kustomization.yaml"))
    assert pin["images"] == [{"name": "ghcr.io/acme/triage", "digest": digest("triage")}]
    assert pin["resources"] == ["../../../generated/agents/triage"]
