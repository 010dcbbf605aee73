"""Reliability with real git: racing writers, killed writers, and what the remote holds afterwards."""

import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from gitops_support import digest, git_out, head, show, trailers

from ci.validate import validate
from gitops import layout
from gitops.errors import GitopsError
from gitops.images import parse_image, pinned_image
from gitops.validation import Validator
from gitops.writer import Options, Result, RetryPolicy, release
from kernel.catalog import AGENTS, ENVIRONMENTS, EXAMPLE, image_repository

PATIENT = Options(retry=RetryPolicy(attempts=60))
DIRECT = Options(review="direct")  # prod's `review: pr` would push a review branch instead of main


def race(remote: Path, env: str, jobs: list[tuple[str, str]]) -> list[Result]:
    """Start every release at the same instant from the same tip, so most pushes are overtaken."""
    barrier = threading.Barrier(len(jobs))

    def one(job: tuple[str, str]) -> Result:
        barrier.wait()
        return release(str(remote), env, job[0], job[1], PATIENT)

    with ThreadPoolExecutor(len(jobs)) as pool:
        return list(pool.map(one, jobs))


def test_twenty_concurrent_releases_all_land_in_a_linear_history(remote: Path) -> None:
    start = head(remote)
    jobs = [
        (AGENTS[i % len(AGENTS)], f"{image_repository(AGENTS[i % len(AGENTS)])}@{digest(i)}")
        for i in range(20)
    ]

    results = race(remote, "dev", jobs)

    assert all(result.commit for result in results)
    assert max(result.attempts for result in results) > 1  # the writers really raced
    assert git_out(remote, "rev-list", "--merges", f"{start}..main") == ""  # linear
    assert len(git_out(remote, "rev-list", f"{start}..main").split()) == 20
    assert sorted(trailers(remote, "Image")[:20]) == sorted(image for _, image in jobs)  # none lost
    # No lost update: each release saw the pin the release before it left (read on the new tip).
    agents = trailers(remote, "Agent")[:20][::-1]
    images = trailers(remote, "Image")[:20][::-1]
    previous = trailers(remote, "Previous-Image")[:20][::-1]
    for agent in AGENTS:
        chain = [
            (image, prev) for who, image, prev in zip(agents, images, previous, strict=True) if who == agent
        ]
        assert [prev for _, prev in chain[1:]] == [image for image, _ in chain[:-1]]
        pinned = pinned_image(
            image_repository(agent), yaml.safe_load(show(remote, str(layout.pin_file("dev", agent))))
        )
        assert str(pinned) == chain[-1][0]


def test_concurrent_releases_of_one_agent_end_on_one_of_them(remote: Path) -> None:
    start = head(remote)
    repo = image_repository("knowledge-qna")
    distinct = [f"{repo}@{digest(('same-agent', i))}" for i in range(4)]
    jobs = [("knowledge-qna", image) for image in [*distinct, distinct[0]]]  # one image released twice

    results = race(remote, "staging", jobs)

    # Each release is a commit in the history or a clear skip. The duplicate skips when its twin is the
    # tip it re-applies on, and commits again when another image landed in between (last writer wins).
    # Twins committing on the same tip in the same second make the same commit: both report it.
    commits = git_out(remote, "rev-list", f"{start}..main").split()
    committed = [result for result in results if result.commit]
    assert {result.commit for result in committed} == set(commits)
    assert all("already runs" in result.summary for result in results if not result.commit)
    assert len(commits) in (len(distinct), len(distinct) + 1)
    landed = trailers(remote, "Image")[: len(commits)]
    assert set(landed) == set(distinct)
    final = pinned_image(
        image_repository("knowledge-qna"),
        yaml.safe_load(show(remote, str(layout.pin_file("staging", "knowledge-qna")))),
    )
    assert str(final) == landed[0]  # the pin is the newest commit's image


def _release_process(remote: Path, image: str, tmpdir: Path | None = None) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "agent_rollouts", "release", "--repo", str(remote), "--env", "prod"]
    argv += ["--review", "direct"]
    return subprocess.Popen(
        [*argv, "--agent", "code-analysis", "--image", image],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the kill takes git and the hook with it
        env={**os.environ, "TMPDIR": str(tmpdir)} if tmpdir else None,
    )


def _assert_remote_intact(remote: Path, allowed: set[str]) -> None:
    subprocess.run(
        ["git", "fsck", "--no-dangling", "--no-progress"], cwd=remote, check=True, capture_output=True
    )
    pinned = pinned_image(
        image_repository("code-analysis"),
        yaml.safe_load(show(remote, str(layout.pin_file("prod", "code-analysis")))),
    )
    assert str(pinned) in allowed


def test_a_release_killed_mid_push_leaves_the_remote_valid(remote: Path, tmp_path: Path) -> None:
    before = head(remote)
    old = str(
        pinned_image(
            image_repository("code-analysis"),
            yaml.safe_load(show(remote, str(layout.pin_file("prod", "code-analysis")))),
        )
    )
    marker = tmp_path / "receiving"
    hook = remote / "hooks" / "pre-receive"
    hook.write_text(f"#!/bin/sh\ntouch '{marker}'\nsleep 30\n")
    hook.chmod(0o755)
    image = f"{image_repository('code-analysis')}@{digest('killed')}"
    proc = _release_process(remote, image)
    deadline = time.monotonic() + 60
    while not marker.exists():  # the objects are on the remote, the ref update is not
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()

    assert head(remote) == before
    _assert_remote_intact(remote, {old})
    hook.unlink()
    result = release(str(remote), "prod", "code-analysis", image, DIRECT)
    assert result.commit is not None and head(remote) == result.commit


def test_releases_killed_at_random_points_never_corrupt_the_remote(remote: Path) -> None:
    old = str(
        pinned_image(
            image_repository("code-analysis"),
            yaml.safe_load(show(remote, str(layout.pin_file("prod", "code-analysis")))),
        )
    )
    images = {old}
    # From interpreter start-up through clone, validation, commit and push (a release takes ~2-4 s here).
    for index, delay in enumerate((0.3, 1.0, 1.6, 2.2, 2.8, 3.5)):
        image = f"{image_repository('code-analysis')}@{digest(('random-kill', index))}"
        images.add(image)
        proc = _release_process(remote, image)
        time.sleep(delay)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        _assert_remote_intact(remote, images)
    final = f"{image_repository('code-analysis')}@{digest('after the kills')}"
    assert release(str(remote), "prod", "code-analysis", final, DIRECT).commit is not None
    _assert_remote_intact(remote, {final})


def test_every_environment_renders_valid_after_releases(remote: Path, tmp_path: Path) -> None:
    for env in ENVIRONMENTS:
        agent = AGENTS[ENVIRONMENTS.index(env)]
        release(str(remote), env, agent, f"{image_repository(agent)}:v7@{digest(('all-envs', env))}", DIRECT)
    clone = tmp_path / "clone"
    git_out(tmp_path, "clone", "--quiet", str(remote), str(clone))
    report = validate([clone / folder for folder in layout.all_env_folders(EXAMPLE)], policy=False)
    assert report.ok, [str(problem) for problem in report.problems]
    for env in ENVIRONMENTS:
        agent = AGENTS[ENVIRONMENTS.index(env)]
        rendered = subprocess.run(
            ["kubectl", "kustomize", str(clone / layout.env_folder(env, agent))],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        images = {
            parse_image(line.split("image:", 1)[1].strip())
            for line in rendered.splitlines()
            if " image:" in line
        }
        assert any(
            str(image) == f"{image_repository(agent)}:v7@{digest(('all-envs', env))}" for image in images
        )


def _compete_during_validation(
    monkeypatch: pytest.MonkeyPatch, remote: Path, clone: Path, times: int
) -> list[str]:
    """Land another writer's commit between our fetch and our push, `times` times (real pushes)."""
    landed: list[str] = []
    check = Validator.check

    def check_then_compete(self: Validator, checkout: Path, targets: list[str]) -> None:
        check(self, checkout, targets)
        if len(landed) < times:
            git_out(clone, "pull", "--quiet", "--rebase", "origin", "main")
            git_out(clone, "commit", "--quiet", "--allow-empty", "-m", f"another writer {len(landed)}")
            git_out(clone, "push", "--quiet", "origin", "HEAD:main")
            landed.append(git_out(clone, "rev-parse", "HEAD").strip())

    monkeypatch.setattr(Validator, "check", check_then_compete)
    return landed


def test_an_overtaken_release_is_reapplied_on_the_new_tip(
    remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    git_out(tmp_path, "clone", "--quiet", str(remote), str(tmp_path / "other"))
    landed = _compete_during_validation(monkeypatch, remote, tmp_path / "other", times=2)
    image = f"{image_repository('code-analysis')}@{digest('overtaken')}"
    result = release(
        str(remote), "dev", "code-analysis", image, Options(retry=RetryPolicy(attempts=3, base_delay=0))
    )
    assert result.attempts == 3 and result.commit == head(remote)
    assert git_out(remote, "rev-parse", "main~1").strip() == landed[-1]  # ours sits on top of both
    assert git_out(remote, "rev-list", "--merges", "main") == ""


def test_a_release_overtaken_every_time_gives_up_with_one_clear_error(
    remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    git_out(tmp_path, "clone", "--quiet", str(remote), str(tmp_path / "other"))
    landed = _compete_during_validation(monkeypatch, remote, tmp_path / "other", times=99)
    image = f"{image_repository('code-analysis')}@{digest('starved')}"
    with pytest.raises(GitopsError, match="gave up after 3 attempts"):
        release(
            str(remote), "dev", "code-analysis", image, Options(retry=RetryPolicy(attempts=3, base_delay=0))
        )
    assert head(remote) == landed[-1]  # only the other writer's commits landed
    assert image not in trailers(remote, "Image")


@pytest.mark.parametrize("kill", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_a_killed_release_leaves_no_clone_after_the_next_run(remote: Path, tmp_path: Path, kill: int) -> None:
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    marker = tmp_path / "receiving"
    hook = remote / "hooks" / "pre-receive"
    hook.write_text(f"#!/bin/sh\ntouch '{marker}'\nsleep 30\n")
    hook.chmod(0o755)
    proc = _release_process(remote, f"{image_repository('code-analysis')}@{digest('killed')}", tmpdir)
    deadline = time.monotonic() + 60
    while not marker.exists():  # cloned, validated, committed: blocked in the push
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    os.killpg(proc.pid, kill)
    proc.wait()
    leftovers = [p for p in tmpdir.rglob("*") if p.is_dir() and (p / ".git").is_dir()]
    assert leftovers, "the killed release had no chance to clean up: the premise of this test"
    hook.unlink()
    after = _release_process(remote, f"{image_repository('code-analysis')}@{digest('after')}", tmpdir)
    assert after.wait(timeout=120) == 0
    assert [p for p in tmpdir.rglob("*") if p.is_dir() and (p / ".git").is_dir()] == []
