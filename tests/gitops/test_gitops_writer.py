"""bootstrap, release and promote against a real bare remote on disk, through the CLI."""

import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from gitops_support import digest, error_line, git_out, head, run, show, trailers

from agent_rollouts.exit_codes import ExitStatus
from gitops import layout
from gitops.generate import PlatformManifests
from gitops.git import Checkout
from gitops.writer import Options, bootstrap, init
from kernel.catalog import AGENTS, ENVIRONMENTS, image_repository
from kernel.platform import example_text
from tools.procs import LOOPBACK

REPO = image_repository("code-analysis")


def pin(remote: Path, env: str, agent: str) -> list[dict[str, str]]:
    return [
        entry
        for entry in yaml.safe_load(show(remote, str(layout.pin_file(env, agent))))["images"]
        if entry["name"] == image_repository(agent)
    ]


def test_bootstrap_creates_the_layout_in_a_new_bare_repo(seed_remote: Path) -> None:
    files = set(git_out(seed_remote, "ls-tree", "-r", "--name-only", "main").split())
    for env in ENVIRONMENTS:
        for name in AGENTS:
            assert f"envs/{env}/{name}/kustomization.yaml" in files
            assert f"envs/{env}/{name}/README.md" in files
        assert f"variants/{env}/kustomization.yaml" in files
        assert f"variants/{env}/README.md" in files
        for agent in AGENTS:
            assert len(pin(seed_remote, env, agent)) == 1
    for name in (
        "README.md",
        "agent-rollouts.yaml",
        "base/README.md",
        "base/VERSION",
        "argocd/README.md",
        "argocd/1-project.yaml",
        "argocd/3-platform.yaml",
        "clusters/kubernetes-default-svc/kustomization.yaml",
        ".github/workflows/validate.yaml",
    ):
        assert name in files
    assert "base/rollouts/envs/dev/code-analysis/kustomization.yaml" in files
    assert "platform-commit: " in show(seed_remote, "base/VERSION")
    assert (
        git_out(seed_remote, "log", "--format=%s", "main").splitlines()[0].startswith("bootstrap: platform ")
    )
    assert git_out(seed_remote, "symbolic-ref", "HEAD").strip() == "refs/heads/main"


def test_bootstrap_into_an_empty_non_bare_repo_updates_its_working_tree(
    tmp_path: Path, manifests: PlatformManifests
) -> None:
    target = tmp_path / "envs"
    subprocess.run(["git", "init", "--quiet", str(target)], check=True)
    init(str(target), example_text())
    result = bootstrap(str(target), options=Options(), manifests=manifests)
    assert result.commit == git_out(target, "rev-parse", "HEAD").strip()
    assert (target / "envs" / "prod" / "code-analysis" / "kustomization.yaml").is_file()
    assert git_out(target, "status", "--porcelain") == ""

    argv = ("release", "--repo", str(target), "--env", "dev", "--agent", "code-analysis", "--image")
    assert run(*argv, f"{REPO}:v1")[0] == 0
    assert "newTag: v1\n" in (target / "envs" / "dev" / "code-analysis" / "kustomization.yaml").read_text()
    (target / "README.md").write_text("edited in place\n")  # someone's uncommitted work: never overwritten
    code, _, err = run(*argv, f"{REPO}:v2")
    assert code == ExitStatus.ERROR
    assert "rejected the push: Working directory has unstaged changes" in error_line(err)
    assert (target / "README.md").read_text() == "edited in place\n"


def test_refresh_keeps_pins_and_hand_edited_variants(
    remote: Path, tmp_path: Path, manifests: PlatformManifests
) -> None:
    image = f"{REPO}@{digest('refresh')}"
    assert (
        run("release", "--repo", str(remote), "--env", "dev", "--agent", "code-analysis", "--image", image)[0]
        == 0
    )
    clone = tmp_path / "clone"
    git_out(tmp_path, "clone", "--quiet", str(remote), str(clone))
    variant = clone / "variants" / "dev" / "kustomization.yaml"
    variant.write_text(variant.read_text() + "# tuned by hand\n")
    git_out(clone, "commit", "--quiet", "-am", "dev: hand-tuned variant")
    git_out(clone, "push", "--quiet", "origin", "main")
    before = head(remote)

    bootstrap(str(remote), options=Options(), manifests=manifests)
    # The platform may have moved since the seed was made (base/ changes); pins and variants may not.
    changed = git_out(remote, "diff", "--name-only", before, "main").split()
    assert not [
        name for name in changed if name.startswith(("variants/", "envs/")) and "kustomization" in name
    ]
    assert pin(remote, "dev", "code-analysis") == [{"name": REPO, "digest": digest("refresh")}]
    assert show(remote, "variants/dev/kustomization.yaml").endswith("# tuned by hand\n")
    again = bootstrap(str(remote), options=Options(), manifests=manifests)
    assert again.commit is None and "nothing to commit" in again.summary


def test_release_and_promote_to_prod_leave_a_readable_history(
    remote: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/agents")
    monkeypatch.setenv("GITHUB_RUN_ID", "42")
    image = f"{REPO}:v2.0.0@{digest('v2')}"
    previous = pin(remote, "dev", "code-analysis")[0]

    status, out, _ = run(
        "release", "--repo", str(remote), "--env", "dev", "--agent", "code-analysis", "--image", image,
        "--message", "faster parser",
    )  # fmt: skip
    assert status == 0, out
    assert "dev/code-analysis now runs" in out
    for source, target in (("dev", "staging"), ("staging", "prod")):
        status, out, err = run(
            "promote", "--repo", str(remote), "--agent", "code-analysis", "--from", source, "--to", target,
            "--force", "--review", "direct",
        )  # fmt: skip
        assert status == 0, err

    subjects = git_out(remote, "log", "--format=%s", "-3", "main").splitlines()
    short = digest("v2").removeprefix("sha256:")[:12]
    assert subjects == [
        f"promote(prod): code-analysis {short} from staging",
        f"promote(staging): code-analysis {short} from dev",
        f"release(dev): code-analysis {short}",
    ]
    assert trailers(remote, "Image")[:3] == [image] * 3
    assert trailers(remote, "Env")[:3] == ["prod", "staging", "dev"]
    assert trailers(remote, "Agent")[:3] == ["code-analysis"] * 3
    assert trailers(remote, "Released-By")[0] == "https://github.com/acme/agents/actions/runs/42"
    assert trailers(remote, "Verified")[:2] == ["no", "no"]  # --force: no cluster checked the source
    assert trailers(remote, "Previous-Image")[2] == str(
        f"{previous.get('newName', previous['name'])}"
        + (f":{previous['newTag']}" if "newTag" in previous else "")
        + (f"@{previous['digest']}" if "digest" in previous else "")
    )
    assert "faster parser" in git_out(remote, "log", "--format=%b", "-1", "main~2")
    # A release is a one-file diff.
    assert git_out(remote, "diff", "--name-only", "main~1", "main").split() == [
        "envs/prod/code-analysis/kustomization.yaml"
    ]
    assert pin(remote, "prod", "code-analysis") == [
        {"name": REPO, "newTag": "v2.0.0", "digest": digest("v2")}
    ]


def test_releasing_the_pinned_image_again_commits_nothing(remote: Path) -> None:
    argv = ("release", "--repo", str(remote), "--env", "staging", "--agent", "knowledge-qna")
    image = f"{image_repository('knowledge-qna')}@{digest('same')}"
    assert run(*argv, "--image", image)[0] == 0
    before = head(remote)
    status, out, _ = run(*argv, "--image", image)
    assert status == 0
    assert "already runs" in out and "nothing to commit" in out
    assert head(remote) == before


def test_dry_run_prints_the_diff_and_pushes_nothing(remote: Path) -> None:
    before = head(remote)
    image = f"{REPO}@{digest('dry')}"
    status, out, _ = run(
        "release",
        "--repo",
        str(remote),
        "--env",
        "prod",
        "--agent",
        "code-analysis",
        "--image",
        image,
        "--dry-run",
    )
    assert status == 0
    assert f"+  digest: {digest('dry')}" in out
    assert "dry run, nothing pushed" in out
    assert head(remote) == before


@pytest.mark.parametrize(
    ("argv", "status", "names"),
    [
        (("--env", "prod", "--agent", "code-analysis", "--image", f"{REPO}:v3"), ExitStatus.ERROR, "--image: prod syncs manually and runs only digests"),
        (("--env", "dev", "--agent", "code-analysis", "--image", f"{REPO}@sha256:123"), ExitStatus.ERROR, "--image"),
        (("--env", "dev", "--agent", "code-analysis", "--image", f"{image_repository('knowledge-qna')}:v1"), ExitStatus.ERROR, "--image"),
        # Names come from the repo's agent-rollouts.yaml, not from argparse choices.
        (("--env", "qa", "--agent", "code-analysis", "--image", f"{REPO}:v1"), ExitStatus.ERROR, "--env: unknown environment 'qa' (agent-rollouts.yaml names dev, staging, prod)"),
        (("--env", "dev", "--agent", "chatbot", "--image", f"{REPO}:v1"), ExitStatus.ERROR, "--agent: unknown agent 'chatbot'"),
        (("--env", "dev", "--component", "gateway", "--image", f"{REPO}:v1"), ExitStatus.ERROR, "--component: unknown component 'gateway'"),
        (("--env", "dev", "--image", f"{REPO}:v1"), ExitStatus.USAGE, "one of the arguments --agent --component is required"),
        # A trailing newline would render `image: |` and split the commit trailers, prod included.
        (("--env", "prod", "--agent", "code-analysis", "--image", f"{REPO}@{digest('nl')}\n"), ExitStatus.ERROR, "--image"),
        (("--env", "dev", "--agent", "code-analysis", "--image", f"{REPO}:v1\n"), ExitStatus.ERROR, "--image"),
        (("--env", "dev", "--agent", "code-analysis", "--image", f"{REPO}:v1", "--branch", "main\n"), ExitStatus.ERROR, "--branch"),
        (("--env", "dev", "--agent", "code-analysis", "--image", f"{REPO}:v1", "--branch=-main"), ExitStatus.ERROR, "--branch"),
    ],
)  # fmt: skip
def test_bad_releases_are_refused_with_one_line(
    remote: Path, argv: tuple[str, ...], status: int, names: str
) -> None:
    before = head(remote)
    code, out, err = run("release", "--repo", str(remote), *argv)
    assert code == status
    assert names in error_line(err)
    assert head(remote) == before


def test_promote_refuses_a_source_without_a_digest(remote: Path) -> None:
    assert (
        run(
            "release",
            "--repo",
            str(remote),
            "--env",
            "dev",
            "--agent",
            "code-analysis",
            "--image",
            f"{REPO}:edge",
        )[0]
        == 0
    )
    before = head(remote)
    code, _, err = run(
        "promote", "--repo", str(remote), "--agent", "code-analysis", "--from", "dev", "--to", "staging"
    )
    assert code == ExitStatus.ERROR
    assert "--from: dev/code-analysis pins no digest" in error_line(err)
    assert head(remote) == before


@pytest.mark.parametrize(
    ("source", "target", "reason"),
    [
        ("dev", "prod", "--to: prod does not follow dev (promotion order: dev -> staging -> prod)"),
        ("staging", "dev", "--to: dev does not follow staging"),
        ("prod", "prod", "--from: nothing follows prod"),
        ("qa", "prod", "--from: unknown environment 'qa'"),
    ],
)
def test_promote_goes_only_to_the_next_environment(
    remote: Path, source: str, target: str, reason: str
) -> None:
    before = head(remote)
    code, _, err = run(
        "promote", "--repo", str(remote), "--agent", "code-analysis", "--from", source, "--to", target
    )
    assert code == ExitStatus.ERROR
    assert reason in error_line(err)
    assert head(remote) == before


def test_an_unreachable_remote_is_unavailable(tmp_path: Path) -> None:
    for missing in (str(tmp_path / "nowhere.git"), f"file://{tmp_path}/nowhere.git"):
        code, _, err = run(
            "release", "--repo", missing, "--env", "dev", "--agent", "code-analysis", "--image", f"{REPO}:v1"
        )
        assert code == ExitStatus.UNAVAILABLE
        assert error_line(err).startswith("agent-rollouts: error: cannot reach environments repo")


class _Unauthorized(BaseHTTPRequestHandler):
    """A git HTTP server that refuses every request, as a forge does for bad credentials."""

    def do_GET(self) -> None:
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="git"')
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def unauthorized_url() -> Iterator[str]:
    server = ThreadingHTTPServer((LOOPBACK, 0), _Unauthorized)
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://{LOOPBACK}:{port}/acme/envs.git"
    server.shutdown()
    server.server_close()


def test_an_authentication_failure_is_unavailable(unauthorized_url: str) -> None:
    code, _, err = run(
        "release",
        "--repo",
        unauthorized_url,
        "--env",
        "dev",
        "--agent",
        "code-analysis",
        "--image",
        f"{REPO}:v1",
    )
    assert code == ExitStatus.UNAVAILABLE
    assert "cannot reach environments repo" in error_line(err) and "Authentication failed" in err


def test_a_push_refused_by_the_remote_pushes_nothing(remote: Path) -> None:
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'main is protected: open a pull request' >&2\nexit 1\n")
    hook.chmod(0o755)
    before = head(remote)
    code, _, err = run(
        "release", "--repo", str(remote), "--env", "dev", "--agent", "code-analysis", "--image", f"{REPO}:v9"
    )
    assert code == ExitStatus.ERROR
    assert (
        "rejected the push: pre-receive hook declined: main is protected: open a pull request"
        in error_line(err)
    )
    assert head(remote) == before


def test_invalid_manifests_are_refused_before_committing(remote: Path, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    git_out(tmp_path, "clone", "--quiet", str(remote), str(clone))
    variant = clone / "variants" / "dev" / "kustomization.yaml"
    broken = yaml.safe_load(variant.read_text())
    broken["patches"] = [
        {"target": {"kind": "Rollout"}, "patch": '[{"op": "add", "path": "/spec/replicas", "value": "lots"}]'}
    ]
    variant.write_text(yaml.safe_dump(broken))
    git_out(clone, "commit", "--quiet", "-am", "dev: a hand edit that breaks the Rollout schema")
    git_out(clone, "push", "--quiet", "origin", "main")
    before = head(remote)
    code, _, err = run(
        "release", "--repo", str(remote), "--env", "dev", "--agent", "code-analysis", "--image", f"{REPO}:v9"
    )
    assert code == ExitStatus.ERROR
    assert "invalid manifests" in error_line(err)
    assert head(remote) == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("images: [\n", "envs/staging/code-analysis/kustomization.yaml: not valid YAML at line 2"),
        ("- a list\n", "envs/staging/code-analysis/kustomization.yaml: not a YAML mapping"),
    ],
)
def test_a_broken_pin_file_is_a_one_line_error_naming_it(
    remote: Path, tmp_path: Path, content: str, message: str
) -> None:
    clone = tmp_path / "clone"
    git_out(tmp_path, "clone", "--quiet", str(remote), str(clone))
    (clone / layout.pin_file("staging", "code-analysis")).write_text(content)
    git_out(clone, "commit", "--quiet", "-am", "staging: a hand edit that breaks the pin file")
    git_out(clone, "push", "--quiet", "origin", "main")
    before = head(remote)
    code, _, err = run(
        "promote", "--repo", str(remote), "--agent", "code-analysis", "--from", "staging", "--to", "prod"
    )
    assert code == ExitStatus.ERROR
    assert message in error_line(err)
    assert head(remote) == before


def upload_pack_branch(tmp_path: Path) -> tuple[str, Path]:
    """A branch name git would read as `--upload-pack=SCRIPT`, and the file SCRIPT touches if it runs."""
    marker = tmp_path / "script-ran"
    script = tmp_path / "script.sh"
    script.write_text(f"#!/bin/sh\ntouch '{marker}'\nexit 1\n")
    script.chmod(0o755)
    return f"--upload-pack={script}", marker


def test_a_branch_named_like_a_git_option_runs_nothing(remote: Path, tmp_path: Path) -> None:
    """`--branch=--upload-pack=SCRIPT` used to reach `git fetch` as an option and run SCRIPT."""
    branch, marker = upload_pack_branch(tmp_path)
    # The branch exists on the remote, so the writer would fetch it.
    git_out(remote, "update-ref", f"refs/heads/{branch}", "main")
    code, _, err = run("release", "--repo", str(remote), f"--branch={branch}", "--env", "dev",
                       "--agent", "code-analysis", "--image", f"{REPO}:v1")  # fmt: skip
    assert code == ExitStatus.ERROR and "--branch" in error_line(err)
    assert not marker.exists()


def test_git_gets_user_values_after_a_double_dash(remote: Path, tmp_path: Path) -> None:
    """Below the name check, git itself never reads a branch as an option: `--` comes first."""
    branch, marker = upload_pack_branch(tmp_path)
    git_out(remote, "update-ref", f"refs/heads/{branch}", "main")
    checkout = Checkout(tmp_path / "clone", str(remote), branch)
    checkout.path.mkdir()
    git_out(checkout.path, "init", "--quiet")
    git_out(checkout.path, "remote", "add", "origin", str(remote))
    checkout.refresh()  # fetches the oddly named branch as a ref
    assert not marker.exists()
    assert checkout.head() == head(remote)
