"""Release, promote and bootstrap: one edit of the environments repo, validated, committed and pushed.

Each command is an `Edit` applied to a fresh checkout of the remote's tip. When the push is rejected
because someone else pushed first, the checkout moves to the new tip and the edit is applied again
(re-reading the previous pin there), re-validated and pushed, with exponential backoff and jitter.
Re-applying beats rebasing: a pin edit never conflicts, and the trailers stay true on the new tip.
"""

import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from gitops import layout
from gitops.errors import GitopsError
from gitops.files import load_yaml
from gitops.forge import PullRequests, push_branch
from gitops.generate import ARGOCD_FILES, BootstrapSettings, Platform, generate
from gitops.git import Checkout, check_branch, git, local_path
from gitops.images import ImageRef, MalformedReference, parse_image, pinned_image
from gitops.pinfile import set_image
from gitops.scratch import scratch_dir
from gitops.validation import Validator
from kernel.catalog import AGENTS, ENVIRONMENTS, image_repository

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


@dataclass(frozen=True)
class Change:
    """What an edit did, for the commit message and the user."""

    subject: str
    trailers: dict[str, str]
    targets: list[str]  # env folders (rendered) and YAML files to validate before committing
    summary: str  # one line saying what landed
    unchanged: str  # one line saying why nothing had to change
    topic: str = ""  # `<env>/<agent>/<image>`: names the review branch in pull-request mode


Edit = Callable[[Path], Change]


@dataclass(frozen=True)
class Result:
    commit: str | None  # None: nothing committed (already up to date, or a dry run)
    summary: str
    diff: str = ""
    attempts: int = 1


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 25
    base_delay: float = 0.05  # seconds before the first retry, doubling each time
    max_delay: float = 2.0


@dataclass
class Options:
    branch: str = "main"
    dry_run: bool = False
    message: str | None = None  # a free-text body below the subject
    progress: Progress = _quiet
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    pull_request: PullRequests | None = None  # set: push a review branch and open a pull request


def released_by(checkout: Checkout) -> str:
    """The CI run that released, else the git user."""
    run = [os.environ.get(name, "") for name in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")]
    if all(run):
        return f"{run[0]}/{run[1]}/actions/runs/{run[2]}"
    return checkout.identity()


def write(remote: str, edit: Edit, options: Options, *, bootstrap: bool = False) -> Result:
    """Apply `edit` on the remote's tip, validate, commit and push; retry on a non-fast-forward."""
    progress = options.progress
    check_branch(options.branch)  # before it is printed: a newline in it would forge a progress line
    validator = Validator()
    with scratch_dir("clone") as tmp:
        progress(f"fetching {options.branch} from {remote}")
        checkout = Checkout.open(remote, options.branch, tmp)
        if not bootstrap and not checkout.has_commits:
            raise GitopsError(
                f"{remote} has no branch {options.branch}; run `agent-rollouts bootstrap` first"
            )
        for attempt in range(1, options.retry.attempts + 1):
            change = edit(checkout.path)
            if not checkout.stage():
                return Result(None, change.unchanged, attempts=attempt)
            names = (
                ", ".join(change.targets)
                if len(change.targets) <= 3
                else f"{len(change.targets)} folders and files"
            )
            progress(f"validating {names}")
            validator.check(checkout.path, change.targets)
            if options.dry_run:
                diff = checkout.staged_diff("--stat") if bootstrap else checkout.staged_diff()
                return Result(None, f"dry run, nothing pushed: {change.subject}", diff=diff, attempts=attempt)
            trailers = {**change.trailers, "Released-By": released_by(checkout)}
            body = f"{options.message.strip()}\n\n" if options.message else ""
            message = f"{change.subject}\n\n{body}" + "".join(
                f"{key}: {value}\n" for key, value in trailers.items()
            )
            diff = checkout.staged_diff()
            commit = checkout.commit(message)
            if options.pull_request is not None:
                return _review(checkout, change, message, diff, commit, options)
            progress(f"pushing {commit[:12]} to {remote}")
            if checkout.push():
                retried = f", after {attempt} attempts" if attempt > 1 else ""
                return Result(commit, f"{change.summary} ({commit[:12]}{retried})", attempts=attempt)
            if attempt == options.retry.attempts:
                break
            delay = random.uniform(
                0, min(options.retry.max_delay, options.retry.base_delay * 2 ** (attempt - 1))
            )
            progress(f"{remote} moved on; re-applying on its new tip in {delay:.2f}s (attempt {attempt + 1})")
            time.sleep(delay)
            checkout.refresh()
    raise GitopsError(
        f"gave up after {options.retry.attempts} attempts: every push to {remote} was overtaken by another"
    )


def _review(
    checkout: Checkout, change: Change, message: str, diff: str, commit: str, options: Options
) -> Result:
    """Pull-request mode: the commit goes to a review branch; merging the pull request releases it."""
    assert options.pull_request is not None
    branch = f"agent-rollouts/{change.topic}"
    options.progress(f"pushing {commit[:12]} to branch {branch} of {checkout.remote}")
    push_branch(checkout, branch)
    body = f"{message.split(chr(10), 2)[-1].strip()}\n\n```diff\n{diff}```\n"
    opened = options.pull_request.open(branch, options.branch, change.subject, body)
    return Result(commit, f"{change.summary} once merged; {opened}")


def _check_names(env: str | None = None, agent: str | None = None, flag: str = "--env") -> None:
    if env is not None and env not in ENVIRONMENTS:
        raise GitopsError(f"{flag}: unknown environment {env!r} (one of {', '.join(ENVIRONMENTS)})")
    if agent is not None and agent not in AGENTS:
        raise GitopsError(f"--agent: unknown agent {agent!r} (one of {', '.join(AGENTS)})")


def check_image(env: str, agent: str, image: str) -> ImageRef:
    """Parse `--image` and refuse what `env` may not run."""
    try:
        ref = parse_image(image)
    except MalformedReference as exc:
        raise GitopsError(f"--image: {exc}") from exc
    if ref.repository.rsplit("/", 1)[-1] != agent:
        raise GitopsError(
            f"--image: repository {ref.repository} is not {agent}'s (expected {image_repository(agent)}"
            f" or a mirror ending in /{agent})"
        )
    if env == "prod" and ref.digest is None:
        raise GitopsError(f"--image: prod runs only digests (REPO@sha256:...), got {image}")
    return ref


def _pin(
    checkout: Path, env: str, agent: str, image: ImageRef, subject: str, trailers: dict[str, str]
) -> Change:
    """Make `image` the one pin of `agent` in `env`."""
    relative = layout.pin_file(env, agent)
    path = checkout / relative
    if not path.is_file():
        raise GitopsError(f"{relative}: missing from the environments repo; run `agent-rollouts bootstrap`")
    previous = pinned_image(agent, load_yaml(checkout, relative))
    set_image(path, relative, agent, image)
    return Change(
        subject=subject,
        trailers={
            "Agent": agent,
            "Env": env,
            "Image": str(image),
            "Previous-Image": str(previous) if previous else "none",
            **trailers,
        },
        targets=[str(layout.env_folder(env, agent))],
        summary=f"{env}/{agent} now runs {image}",
        unchanged=f"{env}/{agent} already runs {image}; nothing to commit",
        topic=f"{env}/{agent}/{image.short}",
    )


def release(remote: str, env: str, agent: str, image: str, options: Options | None = None) -> Result:
    """Pin `image` for `agent` in `env`."""
    _check_names(env, agent)
    ref = check_image(env, agent, image)
    subject = f"release({env}): {agent} {ref.short}"
    return write(remote, lambda checkout: _pin(checkout, env, agent, ref, subject, {}), options or Options())


def promote(
    remote: str,
    agent: str,
    source: str,
    target: str,
    options: Options | None = None,
    verify: Callable[[ImageRef], str] | None = None,
) -> Result:
    """Copy the digest `source` pins for `agent` to `target`, the next environment.

    `verify` checks the digest against the source environment before anything is written; it returns
    the evidence for the `Verified:` trailer (`no` when skipped) or raises to refuse.
    """
    _check_names(source, agent, flag="--from")
    _check_names(target, flag="--to")
    if ENVIRONMENTS.index(target) != ENVIRONMENTS.index(source) + 1:
        raise GitopsError(
            f"--to: {target} does not follow {source} (promotion order: {' -> '.join(ENVIRONMENTS)})"
        )

    def edit(checkout: Path) -> Change:
        relative = layout.pin_file(source, agent)
        image = (
            pinned_image(agent, load_yaml(checkout, relative)) if (checkout / relative).is_file() else None
        )
        if image is None or image.digest is None:
            raise GitopsError(
                f"--from: {source}/{agent} pins no digest ({image or 'no image'}); nothing to promote"
            )
        subject = f"promote({target}): {agent} {image.short} from {source}"
        trailers = {"Promoted-From": source}
        if verify is not None:
            trailers["Verified"] = verify(image)
        return _pin(checkout, target, agent, image, subject, trailers)

    return write(remote, edit, options or Options())


def _previous_image(checkout: Path, env: str, agent: str, current: ImageRef) -> ImageRef:
    """What ran before `current`: the `Previous-Image` trailer of the commit that pinned it."""
    relative = layout.pin_file(env, agent)
    keys = ("Image", "Previous-Image")
    fields = "%x1f".join(f"%(trailers:key={key},valueonly,separator=)" for key in keys)
    log = git(checkout, "log", f"--format={fields}%x1e", "--", str(relative)).stdout
    for record in log.split("\x1e"):
        values = [value.strip() for value in record.strip().split("\x1f")]
        if len(values) == 2 and values[0] == str(current):
            if values[1] in ("", "none"):
                break
            try:
                return parse_image(values[1])
            except MalformedReference as exc:
                raise GitopsError(
                    f"{relative}: the Previous-Image trailer of {current} is malformed: {exc}"
                ) from None
    raise GitopsError(
        f"{env}/{agent}: nothing to roll back to: no release commit records what ran before {current}"
        " (name one with --to)"
    )


def rollback(
    remote: str, env: str, agent: str, to: str | None = None, options: Options | None = None
) -> Result:
    """Pin what ran before the current pin (its `Previous-Image` trailer), or the digest `to`."""
    _check_names(env, agent)

    def edit(checkout: Path) -> Change:
        relative = layout.pin_file(env, agent)
        current = (
            pinned_image(agent, load_yaml(checkout, relative)) if (checkout / relative).is_file() else None
        )
        if current is None:
            raise GitopsError(f"{relative}: pins no image for {agent}; nothing to roll back")
        if to is None:
            wanted = str(_previous_image(checkout, env, agent, current))
        else:  # a bare digest is one of the pinned repository
            wanted = f"{current.repository}@{to}" if to.startswith("sha256:") else to
        target = check_image(env, agent, wanted)
        if target == current:
            raise GitopsError(f"{env}/{agent} already runs {current}; nothing to roll back")
        subject = f"rollback({env}): {agent} {target.short} (was {current.short})"
        return _pin(checkout, env, agent, target, subject, {"Rolled-Back-From": str(current)})

    return write(remote, edit, options or Options())


def bootstrap(
    remote: str,
    settings: dict[str, str] | None = None,
    options: Options | None = None,
    platform: Platform | None = None,
) -> Result:
    """Create or refresh the environments repo from this platform checkout."""
    options = options or Options()
    platform = platform or Platform.current()
    given = {key: value for key, value in (settings or {}).items() if value}

    def edit(checkout: Path) -> Change:
        # Flags win, then what the previous bootstrap stored, then defaults.
        local = local_path(remote)
        stored = {
            key: value
            for key, value in BootstrapSettings.stored(checkout).items()
            if key in BootstrapSettings.__dataclass_fields__
        }
        merged = {"repo_url": str(local) if local else remote, **stored, **given, "branch": options.branch}
        generate(checkout, platform, BootstrapSettings(**merged))
        return Change(
            subject=f"bootstrap: platform {platform.version} ({platform.commit[:12]})",
            trailers={"Platform-Version": platform.version, "Platform-Commit": platform.commit},
            targets=[*map(str, layout.all_env_folders()), *map(str, ARGOCD_FILES)],
            summary=f"environments repo at platform {platform.version}",
            unchanged=f"environments repo already at platform {platform.version}; nothing to commit",
        )

    return write(remote, edit, options, bootstrap=True)
