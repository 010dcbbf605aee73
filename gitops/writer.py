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
from pathlib import Path, PurePosixPath

from gitops import layout
from gitops.errors import GitopsError
from gitops.files import existing_pin, load_yaml, write_file
from gitops.forge import PullRequests, forge_for, push_branch, withdraw_branch
from gitops.generate import (
    ARGOCD_FILES,
    JUDGE_MANIFEST_IMAGE,
    BootstrapSettings,
    PlatformManifests,
    generate,
    judge_pin,
    write_env_folder,
)
from gitops.git import Checkout, check_branch, git, local_path
from gitops.images import ImageRef, MalformedReference, parse_image, pinned_image
from gitops.pinfile import set_image
from gitops.scratch import scratch_dir
from gitops.validation import Validator
from kernel.platform import FILE_NAME, Environment, Platform, cluster_name, load_platform, parse_platform

JUDGE = "judge"  # `release --component judge`: the canary judge of an environment's cluster

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
    review: str = "direct"  # the environment's `review:` (pr: a pull request); bootstrap and init push


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
    crd_dir: Path | None = None  # CRD YAML to validate against (default: see ci.schemas.default_crd_dir)
    review: str | None = None  # direct or pr for every environment; None: each environment's `review:`
    forge: Callable[[str], PullRequests] = forge_for  # the forge of a remote, for pull-request mode


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
    validator = Validator(options.crd_dir)
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
            if change.targets:
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
            if change.topic and (options.review or change.review) == "pr":
                return _review(remote, checkout, change, message, diff, commit, options)
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
    remote: str, checkout: Checkout, change: Change, message: str, diff: str, commit: str, options: Options
) -> Result:
    """Pull-request mode: the commit goes to a review branch; merging the pull request releases it.
    A pull request the forge refuses takes its branch back with it: nothing is left half-done."""
    forge = options.forge(remote)  # before any push: a missing token leaves the remote untouched
    branch = f"agent-rollouts/{change.topic}"
    options.progress(f"pushing {commit[:12]} to branch {branch} of {checkout.remote}")
    before = push_branch(checkout, branch)
    body = f"{message.split(chr(10), 2)[-1].strip()}\n\n```diff\n{diff}```\n"
    try:
        opened = forge.open(branch, options.branch, change.subject, body)
    except GitopsError as exc:
        withdrawn = withdraw_branch(checkout, branch, before)
        raise type(exc)(f"{exc}; {withdrawn}, nothing released") from None
    return Result(commit, f"{change.summary} once merged; {opened}")


def platform_of(checkout: Path) -> Platform:
    """The environments repo's platform file, validated."""
    return load_platform(checkout / layout.PLATFORM_FILE)


def check_image(platform: Platform, env: str, repository: str, image: str) -> ImageRef:
    """Parse `--image` and refuse what `env` may not run."""
    try:
        ref = parse_image(image)
    except MalformedReference as exc:
        raise GitopsError(f"--image: {exc}") from exc
    basename = repository.rsplit("/", 1)[-1]
    if ref.repository != repository and ref.repository.rsplit("/", 1)[-1] != basename:
        raise GitopsError(
            f"--image: repository {ref.repository} is not {repository} (nor a mirror ending in /{basename})"
        )
    if not platform.environment(env).automated and ref.digest is None:
        raise GitopsError(
            f"--image: {env} syncs manually and runs only digests (REPO@sha256:...), got {image}"
        )
    return ref


def _pin(
    checkout: Path,
    relative: PurePosixPath,
    repository: str,
    image: ImageRef,
    subject: str,
    trailers: dict[str, str],
    where: str,
    topic: str,
    review: str,
) -> Change:
    """Make `image` the one pin of `repository` in the kustomization at `relative`."""
    path = checkout / relative
    if not path.is_file():
        raise GitopsError(f"{relative}: missing from the environments repo; run `agent-rollouts bootstrap`")
    previous = pinned_image(repository, load_yaml(checkout, relative))
    set_image(path, relative, repository, image)
    return Change(
        subject=subject,
        trailers={**trailers, "Image": str(image), "Previous-Image": str(previous) if previous else "none"},
        targets=[str(relative.parent)],
        summary=f"{where} now runs {image}",
        unchanged=f"{where} already runs {image}; nothing to commit",
        topic=f"{topic}/{image.short}",
        review=review,
    )


def _pin_agent(
    checkout: Path,
    platform: Platform,
    env: str,
    agent: str,
    image: ImageRef,
    subject: str,
    trailers: dict[str, str],
) -> Change:
    generated = checkout / layout.GENERATED_DIR / "agents" / agent
    environment = platform.environment(env)
    if not (checkout / layout.pin_file(env, agent)).is_file() and generated.is_dir():
        # The agent's first release to this environment: its folder (and Application) appear now.
        write_env_folder(checkout, environment, platform.agent(agent), None)
    return _pin(
        checkout,
        layout.pin_file(env, agent),
        platform.agent(agent).image,
        image,
        subject,
        {"Agent": agent, "Env": env, **trailers},
        f"{env}/{agent}",
        f"{env}/{agent}",
        environment.review,
    )


def _pin_judge(
    checkout: Path, environment: Environment, image: ImageRef, subject: str, trailers: dict[str, str]
) -> Change:
    env, cluster = environment.name, cluster_name(environment.cluster)
    return _pin(
        checkout,
        layout.cluster_folder(cluster) / layout.KUSTOMIZATION,
        JUDGE_MANIFEST_IMAGE,
        image,
        subject,
        {"Component": JUDGE, "Env": env, "Cluster": cluster, **trailers},
        f"the judge of {cluster} ({env})",
        f"{cluster}/{JUDGE}",
        environment.review,
    )


def _check_component(agent: str | None, component: str | None) -> None:
    """Exactly one of an agent and a component (only the judge is one)."""
    if (agent is None) == (component is None):
        raise GitopsError("give one of --agent AGENT or --component judge")
    if component not in (None, JUDGE):
        raise GitopsError(f"--component: unknown component {component!r} (only {JUDGE})")


def release(
    remote: str,
    env: str,
    agent: str | None,
    image: str,
    options: Options | None = None,
    component: str | None = None,
) -> Result:
    """Pin `image` for `agent` (or the judge, `component="judge"`) in `env`."""
    _check_component(agent, component)

    def edit(checkout: Path) -> Change:
        platform = platform_of(checkout)
        environment = platform.environment(env)
        if agent is None:
            ref = check_image(platform, env, platform.judge_image, image)
            cluster = cluster_name(environment.cluster)
            subject = f"release({env}): judge {ref.short} on {cluster}"
            return _pin_judge(checkout, environment, ref, subject, {})
        ref = check_image(platform, env, platform.agent(agent).image, image)
        subject = f"release({env}): {agent} {ref.short}"
        return _pin_agent(checkout, platform, env, agent, ref, subject, {})

    return write(remote, edit, options or Options())


def promote(
    remote: str,
    agent: str | None,
    source: str,
    target: str | None,
    options: Options | None = None,
    component: str | None = None,
    verify: Callable[[ImageRef, Environment, Platform], str] | None = None,
) -> Result:
    """Copy the digest `source` pins for `agent` (or the judge) to `target`, the next environment.

    `verify` checks an agent's digest against the source environment before anything is written; it
    returns the evidence for the `Verified:` trailer (`no` when skipped) or raises to refuse.
    """
    _check_component(agent, component)

    def edit(checkout: Path) -> Change:
        platform = platform_of(checkout)
        platform.environment(source, flag="--from")
        following = platform.next_environment(source)
        order = " -> ".join(platform.promotion)
        if following is None:
            raise GitopsError(f"--from: nothing follows {source} (promotion order: {order})")
        to = target or following
        platform.environment(to, flag="--to")
        if to != following:
            raise GitopsError(f"--to: {to} does not follow {source} (promotion order: {order})")
        if agent is None:
            source_cluster = cluster_name(platform.environment(source).cluster)
            image = judge_pin(checkout, source_cluster)
            what = f"the judge of {source_cluster}"
        else:
            repository = platform.agent(agent).image
            relative = layout.pin_file(source, agent)
            image = existing_pin(checkout, relative, repository)
            what = f"{source}/{agent}"
        if image is None or image.digest is None:
            raise GitopsError(f"--from: {what} pins no digest ({image or 'no image'}); nothing to promote")
        if agent is None:
            cluster = cluster_name(platform.environment(to).cluster)
            subject = f"promote({to}): judge {image.short} from {source} on {cluster}"
            return _pin_judge(checkout, platform.environment(to), image, subject, {"Promoted-From": source})
        subject = f"promote({to}): {agent} {image.short} from {source}"
        trailers = {"Promoted-From": source}
        if verify is not None:
            trailers["Verified"] = verify(image, platform.environment(source), platform)
        return _pin_agent(checkout, platform, to, agent, image, subject, trailers)

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

    def edit(checkout: Path) -> Change:
        platform = platform_of(checkout)
        platform.environment(env)
        repository = platform.agent(agent).image
        relative = layout.pin_file(env, agent)
        current = existing_pin(checkout, relative, repository)
        if current is None:
            raise GitopsError(f"{relative}: pins no image for {agent}; nothing to roll back")
        if to is None:
            wanted = str(_previous_image(checkout, env, agent, current))
        else:  # a bare digest is one of the pinned repository
            wanted = f"{current.repository}@{to}" if to.startswith("sha256:") else to
        target = check_image(platform, env, repository, wanted)
        if target == current:
            raise GitopsError(f"{env}/{agent} already runs {current}; nothing to roll back")
        subject = f"rollback({env}): {agent} {target.short} (was {current.short})"
        return _pin_agent(checkout, platform, env, agent, target, subject, {"Rolled-Back-From": str(current)})

    return write(remote, edit, options or Options())


def init(remote: str, text: str, options: Options | None = None) -> Result:
    """Write the platform file `text` (validated) to a new environments repo."""
    options = options or Options()
    parse_platform(text, FILE_NAME)

    def edit(checkout: Path) -> Change:
        path = checkout / layout.PLATFORM_FILE
        if path.exists():
            raise GitopsError(
                f"{FILE_NAME}: {remote} has one already; edit it, then run `agent-rollouts bootstrap`"
            )
        write_file(path, text)
        return Change(
            subject=f"init: {FILE_NAME}",
            trailers={},
            targets=[],
            summary=f"wrote {FILE_NAME}; edit it, then run `agent-rollouts bootstrap --repo {remote}`",
            unchanged="",
        )

    return write(remote, edit, options, bootstrap=True)


def bootstrap(
    remote: str,
    settings: dict[str, str] | None = None,
    options: Options | None = None,
    manifests: PlatformManifests | None = None,
    prune: bool = False,
) -> Result:
    """Create or refresh the environments repo from its platform file and the platform's manifests."""
    options = options or Options()
    manifests = manifests or PlatformManifests.current()
    given = {key: value for key, value in (settings or {}).items() if value}

    def edit(checkout: Path) -> Change:
        if not (checkout / layout.PLATFORM_FILE).is_file():
            raise GitopsError(
                f"{FILE_NAME}: not in {remote}; write it first with `agent-rollouts init --repo {remote}`"
            )
        platform = platform_of(checkout)
        # Flags win, then what the previous bootstrap stored, then defaults.
        local = local_path(remote)
        stored = {
            key: value
            for key, value in BootstrapSettings.stored(checkout).items()
            if key in BootstrapSettings.__dataclass_fields__
        }
        merged = {"repo_url": str(local) if local else remote, **stored, **given, "branch": options.branch}
        generate(checkout, manifests, platform, BootstrapSettings(**merged), prune=prune)
        folders = layout.synced_folders(checkout, platform)
        return Change(
            subject=f"bootstrap: platform {manifests.version} ({manifests.commit[:12]})",
            trailers={"Platform-Version": manifests.version, "Platform-Commit": manifests.commit},
            targets=[*map(str, folders), *map(str, ARGOCD_FILES)],
            summary=f"environments repo at platform {manifests.version}",
            unchanged=f"environments repo already at platform {manifests.version}; nothing to commit",
        )

    return write(remote, edit, options, bootstrap=True)
