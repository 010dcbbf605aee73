"""The day-two writes: comment-keeping pin edits, rollback, pull-request mode, promote's check, bad input."""

import os
import re
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from forge_standin import Forge, running_forge
from gitops_support import digest, error_line, git_out, head, run, show, trailers

from agent_rollouts.exit_codes import ExitStatus
from gitops import layout
from gitops.writer import Options, bootstrap, init
from kernel.catalog import image_repository

AGENT = "code-analysis"
REPO = image_repository(AGENT)
PIN = str(layout.pin_file("dev", AGENT))


def release(remote: Path, env: str, image: str, *extra: str) -> tuple[int, str, str]:
    return run("release", "--repo", str(remote), "--env", env, "--agent", AGENT, "--image", image, *extra)


def hand_edit(remote: Path, tmp_path: Path, path: str, text: str) -> None:
    clone = tmp_path / "hand"
    git_out(tmp_path, "clone", "--quiet", str(remote), str(clone))
    (clone / path).write_text(text)
    git_out(clone, "commit", "--quiet", "-am", "hand edit")
    git_out(clone, "push", "--quiet", "origin", "main")


def test_a_release_keeps_the_comments_a_person_wrote_in_the_pin_file(remote: Path, tmp_path: Path) -> None:
    assert release(remote, "dev", f"{REPO}@{digest(1)}")[0] == 0
    text = show(remote, PIN)
    assert "digest: " in text
    commented = text.replace(
        "images:\n", "images:\n# hotfix INC-123: pinned by hand until the parser fix ships\n"
    )
    commented = commented.replace(f"digest: {digest(1)}", f"digest: {digest(1)}  # the INC-123 build")
    commented += "# keep: reviewed by the on-call\n"
    hand_edit(remote, tmp_path, PIN, commented)

    code, out, err = release(remote, "dev", f"{REPO}@{digest(2)}")
    assert code == 0, err
    assert show(remote, PIN) == commented.replace(digest(1), digest(2))
    assert git_out(remote, "diff", "--numstat", "main~1", "main").split()[:2] == [
        "1",
        "1",
    ]  # one line changed


def test_bootstrap_keeps_the_comments_a_person_wrote_in_pin_files(remote: Path, tmp_path: Path) -> None:
    assert release(remote, "dev", f"{REPO}@{digest(1)}")[0] == 0
    judge = "clusters/kubernetes-default-svc/kustomization.yaml"
    pinned = show(remote, PIN).replace("images:\n", "images:\n# hotfix INC-123: pinned by hand\n")
    pinned = pinned.replace("\napiVersion:", "\n# owned by the payments team\napiVersion:", 1)
    pinned += "# keep: reviewed by the on-call\n"
    judged = show(remote, judge).replace("images:\n", "images:\n# judge held back: INC-124\n")
    platform = re.sub(
        r"\n    # namespace: agents-dev .*\n",
        "\n    namespace: agents-dev-2\n",
        show(remote, str(layout.PLATFORM_FILE)),
    )
    assert "agents-dev-2" in platform
    clone = tmp_path / "hand"
    git_out(tmp_path, "clone", "--quiet", str(remote), str(clone))
    for path, text in ((PIN, pinned), (judge, judged), (str(layout.PLATFORM_FILE), platform)):
        (clone / path).write_text(text)
    git_out(clone, "commit", "--quiet", "-am", "comments, and dev moves to another namespace")
    git_out(clone, "push", "--quiet", "origin", "main")

    code, out, err = run("bootstrap", "--repo", str(remote))
    assert code == 0, err
    # What bootstrap generates is refreshed (the namespace), and every comment stays where it was.
    assert show(remote, PIN) == pinned.replace("namespace: agents-dev\n", "namespace: agents-dev-2\n")
    assert show(remote, judge) == judged
    again = run("bootstrap", "--repo", str(remote))
    assert again[0] == 0 and "nothing to commit" in again[1]


def test_rollback_pins_the_previous_image_with_its_trailers(remote: Path) -> None:
    first, second = f"{REPO}@{digest('a')}", f"{REPO}:v2@{digest('b')}"
    assert release(remote, "dev", first)[0] == 0
    assert release(remote, "dev", second)[0] == 0

    code, out, err = run("rollback", "--repo", str(remote), "--env", "dev", "--agent", AGENT)
    assert code == 0, err
    assert f"dev/{AGENT} now runs {first}" in out
    short = digest("a").removeprefix("sha256:")[:12]
    assert git_out(remote, "log", "-1", "--format=%s", "main").strip() == (
        f"rollback(dev): {AGENT} {short} (was v2)".replace("(was v2)", f"(was {digest('b')[7:19]})")
    )
    assert trailers(remote, "Image")[0] == first
    assert trailers(remote, "Previous-Image")[0] == second
    assert trailers(remote, "Rolled-Back-From")[0] == second
    assert yaml.safe_load(show(remote, PIN))["images"][0] == {"name": REPO, "digest": digest("a")}


def test_rollback_to_a_named_digest(remote: Path) -> None:
    assert release(remote, "dev", f"{REPO}@{digest('x')}")[0] == 0
    code, out, err = run(
        "rollback", "--repo", str(remote), "--env", "dev", "--agent", AGENT, "--to", digest("y")
    )
    assert code == 0, err
    assert trailers(remote, "Image")[0] == f"{REPO}@{digest('y')}"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            (),
            "nothing to roll back to: no release commit records what ran before",
        ),  # only bootstrap pinned it
        (("--to", "sha256:123"), "--image: digest 'sha256:123' is not sha256:<64 lowercase hex digits>"),
    ],
)
def test_rollback_refuses_when_there_is_nothing_to_roll_back_to(
    remote: Path, extra: tuple[str, ...], message: str
) -> None:
    before = head(remote)
    code, _, err = run("rollback", "--repo", str(remote), "--env", "staging", "--agent", AGENT, *extra)
    assert code == ExitStatus.ERROR
    assert message in error_line(err)
    assert head(remote) == before


def test_rollback_of_the_current_pin_is_refused(remote: Path) -> None:
    assert release(remote, "dev", f"{REPO}@{digest('same')}")[0] == 0
    before = head(remote)
    code, _, err = run(
        "rollback", "--repo", str(remote), "--env", "dev", "--agent", AGENT, "--to", digest("same")
    )
    assert code == ExitStatus.ERROR and "already runs" in error_line(err)
    assert head(remote) == before


# --- pull-request mode ---------------------------------------------------------------------------


@pytest.fixture
def forge(remote: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Forge]:
    token = secrets.token_hex(16)
    monkeypatch.setenv("GITHUB_TOKEN", token)
    with running_forge("acme/envs", remote, token) as running:
        yield running


def test_a_prod_release_opens_a_pull_request_and_leaves_main_alone(remote: Path, forge: Forge) -> None:
    before = head(remote)
    image = f"{REPO}@{digest('pr')}"
    flags = ("--forge-api-url", forge.url, "--forge-repo", forge.repository)
    code, out, err = release(remote, "prod", image, *flags)
    assert code == 0, err
    assert head(remote) == before  # main moves only when a person merges the pull request
    short = digest("pr").removeprefix("sha256:")[:12]
    branch = f"agent-rollouts/prod/{AGENT}/{short}"
    assert f"opened pull request {forge.url}/acme/envs/pull/1" in out
    (pull,) = forge.pulls
    assert (pull["head"], pull["base"], pull["title"]) == (branch, "main", f"release(prod): {AGENT} {short}")
    assert f"Image: {image}" in pull["body"] and "Previous-Image: " in pull["body"]
    assert f"+  digest: {digest('pr')}" in pull["body"] or f"+- digest: {digest('pr')}" in pull["body"]
    assert trailers(remote, "Image", branch)[0] == image

    again = release(remote, "prod", image, *flags)
    assert again[0] == 0 and f"already open: {forge.url}/acme/envs/pull/1" in again[1]
    assert len(forge.pulls) == 1


def test_a_bad_forge_token_is_unavailable_and_takes_its_branch_back(
    remote: Path, forge: Forge, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "not-the-token")
    refs = git_out(remote, "for-each-ref")
    flags = ("--forge-api-url", forge.url, "--forge-repo", forge.repository)
    code, _, err = release(remote, "prod", f"{REPO}@{digest('t')}", *flags)
    assert code == ExitStatus.UNAVAILABLE
    branch = f"agent-rollouts/prod/{AGENT}/{digest('t')[7:19]}"
    assert error_line(err).endswith(
        f"refused the token (401) for acme/envs; deleted branch {branch}, nothing released"
    )
    assert "not-the-token" not in err and not forge.pulls
    assert git_out(remote, "for-each-ref") == refs  # no review branch left behind


def test_a_failed_re_run_leaves_the_open_pull_request_as_it_was(
    remote: Path, forge: Forge, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = f"{REPO}@{digest('again')}"
    flags = ("--forge-api-url", forge.url, "--forge-repo", forge.repository)
    assert release(remote, "prod", image, *flags)[0] == 0
    branch = f"agent-rollouts/prod/{AGENT}/{digest('again')[7:19]}"
    reviewed = git_out(remote, "rev-parse", branch).strip()

    monkeypatch.setenv("GITHUB_TOKEN", "not-the-token")
    code, _, err = release(remote, "prod", image, *flags)
    assert code == ExitStatus.UNAVAILABLE
    assert error_line(err).endswith(f"; put branch {branch} back at {reviewed[:12]}, nothing released")
    assert git_out(remote, "rev-parse", branch).strip() == reviewed  # deleting it would close the PR
    assert len(forge.pulls) == 1


def test_pull_request_mode_needs_a_token(remote: Path, forge: Forge, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_TOKEN")
    before = git_out(remote, "for-each-ref")
    code, _, err = release(
        remote,
        "prod",
        f"{REPO}@{digest('n')}",
        "--forge-api-url",
        forge.url,
        "--forge-repo",
        forge.repository,
    )
    assert code == ExitStatus.ERROR and "needs a forge token: set GITHUB_TOKEN" in error_line(err)
    assert git_out(remote, "for-each-ref") == before  # no branch pushed


def test_a_local_repo_without_a_forge_gets_the_branch_and_the_compare_command(remote: Path) -> None:
    before = head(remote)
    code, out, err = release(remote, "prod", f"{REPO}@{digest('local')}")
    assert code == 0, err
    short = digest("local").removeprefix("sha256:")[:12]
    assert head(remote) == before
    assert f"pushed branch agent-rollouts/prod/{AGENT}/{short} for review" in out
    assert "git diff main...FETCH_HEAD" in out
    assert git_out(remote, "rev-parse", "--verify", f"agent-rollouts/prod/{AGENT}/{short}").strip()


# --- promote's check and bad input that never reaches a cluster ----------------------------------


@pytest.fixture
def kubeconfig(tmp_path: Path) -> Path:
    """A kubeconfig whose contexts `down` (the current one) and `qa-admin` name a server nobody listens
    on (a port the OS freed)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "down",
                "cluster": {"server": f"https://127.0.0.1:{port}", "insecure-skip-tls-verify": True},
            }
        ],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [
            {"name": name, "context": {"cluster": "down", "user": "u"}} for name in ("down", "qa-admin")
        ],
        "current-context": "down",
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.mark.parametrize(
    ("context", "message"),
    [("down", "cannot reach the cluster of context down"), ("nowhere", "context nowhere")],
)
def test_promote_without_its_cluster_is_unavailable_and_commits_nothing(
    remote: Path, kubeconfig: Path, context: str, message: str
) -> None:
    assert release(remote, "dev", f"{REPO}@{digest('p')}")[0] == 0
    before = head(remote)
    code, _, err = run(
        "promote", "--repo", str(remote), "--agent", AGENT, "--from", "dev", "--to", "staging",
        "--kubeconfig", str(kubeconfig), "--context", f"dev={context}",
    )  # fmt: skip
    assert code == ExitStatus.UNAVAILABLE
    assert message in error_line(err)
    assert head(remote) == before


@pytest.mark.parametrize("command", ["status", "rotate-key"])
def test_the_day_two_commands_name_an_unreachable_context(
    remote: Path, kubeconfig: Path, tmp_path: Path, command: str
) -> None:
    key = tmp_path / "key"
    key.write_text(secrets.token_hex(8))
    extra = () if command == "status" else ("--from-file", str(key))
    code, out, err = run(
        command,
        "--repo",
        str(remote),
        "--env",
        "dev",
        "--agent",
        AGENT,
        "--kubeconfig",
        str(kubeconfig),
        *extra,
    )
    assert code == ExitStatus.UNAVAILABLE, err
    assert "cannot reach the cluster of the current context of" in error_line(err) and out == ""


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("empty", "is empty; nothing patched"),
        ("missing", "cannot read"),
        ("env-unset", "--from-env: $AGENT_ROLLOUTS_TEST_KEY is unset or empty; nothing patched"),
    ],
)
def test_rotate_key_refuses_an_empty_or_unreadable_key_before_touching_the_cluster(
    remote: Path, kubeconfig: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, message: str
) -> None:
    monkeypatch.delenv("AGENT_ROLLOUTS_TEST_KEY", raising=False)
    (tmp_path / "empty").write_text("  \n")
    flag = (
        ("--from-env", "AGENT_ROLLOUTS_TEST_KEY")
        if source == "env-unset"
        else ("--from-file", str(tmp_path / source))
    )
    code, out, err = run(
        "rotate-key", "--repo", str(remote), "--env", "dev", "--agent", AGENT, "--kubeconfig", str(kubeconfig), *flag
    )  # fmt: skip
    assert code == ExitStatus.ERROR  # not 5: the (unreachable) cluster was never asked
    assert message in error_line(err) and out == ""


def test_forge_token_file_is_read_not_echoed(
    remote: Path, forge: Forge, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(forge.token + "\n")
    monkeypatch.delenv("GITHUB_TOKEN")
    code, out, err = release(
        remote, "prod", f"{REPO}@{digest('f')}", "--forge-api-url", forge.url, "--forge-repo", forge.repository,
        "--forge-token-file", str(token_file),
    )  # fmt: skip
    assert code == 0, err
    assert forge.token not in out + err and len(forge.pulls) == 1
    assert os.environ.get("GITHUB_TOKEN") is None


# --- a team's own platform file: its agents, its review modes, its clusters' contexts -------------

OWN_PLATFORM = """\
apiVersion: agent-rollouts/v1
agents:
  - name: support-bot
    image: ghcr.io/acme/support-bot
environments:
  - name: qa
    cluster: https://qa.k8s.example.com
    review: pr
    context: qa-admin
  - name: live
    cluster: https://live.k8s.example.com
    sync: manual
    gate: manual
    review: direct
"""
OWN_IMAGE = "ghcr.io/acme/support-bot"


@pytest.fixture(scope="module")
def own_seed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("own") / "envs.git"
    git_out(path.parent, "init", "--quiet", "--bare", str(path))
    init(str(path), OWN_PLATFORM)
    bootstrap(str(path), options=Options())
    return path


@pytest.fixture
def own(tmp_path: Path, own_seed: Path) -> Path:
    copy = tmp_path / "own.git"
    shutil.copytree(own_seed, copy, symlinks=True)
    return copy


def own_release(remote: Path, env: str, seed: str, *extra: str) -> tuple[int, str, str]:
    image = f"{OWN_IMAGE}@{digest(seed)}"
    return run(
        "release", "--repo", str(remote), "--env", env, "--agent", "support-bot", "--image", image, *extra
    )


def test_the_platform_files_review_decides_and_review_flag_overrides(own: Path) -> None:
    before = head(own)
    code, out, err = own_release(own, "qa", "q")  # review: pr, though qa's gate is automatic
    assert code == 0, err
    assert f"pushed branch agent-rollouts/qa/support-bot/{digest('q')[7:19]} for review" in out
    assert head(own) == before

    code, out, err = own_release(own, "live", "l")  # review: direct, though live's gate is manual
    assert code == 0, err
    assert trailers(own, "Image")[0] == f"{OWN_IMAGE}@{digest('l')}"

    code, out, err = own_release(own, "qa", "d", "--review", "direct")
    assert code == 0, err
    assert trailers(own, "Image")[0] == f"{OWN_IMAGE}@{digest('d')}"


@pytest.mark.parametrize(
    ("extra", "context"),
    [
        (("--env", "qa"), "context qa-admin"),  # the platform file's context: for qa
        (("--env", "live"), "the current context"),  # live names none
        (("--env", "qa", "--context", "qa=down"), "context down"),  # the flag wins
        ((), "context qa-admin"),  # every environment of the file, qa first
    ],
)
def test_status_reads_the_repos_own_agents_and_each_environments_context(
    own: Path, kubeconfig: Path, extra: tuple[str, ...], context: str
) -> None:
    code, out, err = run(
        "status", "--repo", str(own), "--agent", "support-bot", "--kubeconfig", str(kubeconfig), *extra
    )
    assert code == ExitStatus.UNAVAILABLE, err
    assert f"cannot reach the cluster of {context} of {kubeconfig}" in error_line(err) and out == ""


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ("status", "--agent", AGENT),
            f"--agent: unknown agent {AGENT!r} (agent-rollouts.yaml names support-bot)",
        ),
        (
            ("status", "--env", "prod"),
            "--env: unknown environment 'prod' (agent-rollouts.yaml names qa, live)",
        ),
        (("status", "--context", "prod=down"), "--context: unknown environment 'prod'"),
        (("rollback", "--env", "prod", "--agent", "support-bot"), "--env: unknown environment 'prod'"),
    ],
)
def test_day_two_names_are_the_repos_not_the_projects(
    own: Path, kubeconfig: Path, argv: tuple[str, ...], message: str
) -> None:
    before = head(own)
    code, out, err = run(
        *argv, "--repo", str(own), *(("--kubeconfig", str(kubeconfig)) if argv[0] == "status" else ())
    )
    assert code == ExitStatus.ERROR, err
    assert message in error_line(err) and out == ""
    assert head(own) == before


def test_rotate_key_reaches_the_context_the_platform_file_names(
    own: Path, kubeconfig: Path, tmp_path: Path
) -> None:
    key = tmp_path / "key"
    key.write_text(secrets.token_hex(8))
    code, out, err = run(
        "rotate-key", "--repo", str(own), "--env", "qa", "--agent", "support-bot", "--from-file", str(key),
        "--kubeconfig", str(kubeconfig),
    )  # fmt: skip
    assert code == ExitStatus.UNAVAILABLE, err
    assert "cannot reach the cluster of context qa-admin" in error_line(err)
    assert key.read_text() not in out + err
