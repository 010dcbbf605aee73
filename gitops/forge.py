"""Pull-request mode: a release lands as a branch and a pull request a person reviews and merges.

`PullRequests` is what the writer needs from a forge. `GitHub` opens them through its REST API
(github.com, GitHub Enterprise, or any API at `api_url`); `CompareOnly`, for a local repo or a host
without a known API, pushes the branch and prints the command that shows the change.
"""

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import requests

from gitops.errors import GitopsError, RemoteUnavailable
from gitops.git import Checkout, git, last_line, local_path

TOKEN_VARIABLE = "GITHUB_TOKEN"
API_URL_VARIABLE = "AGENT_ROLLOUTS_FORGE_API_URL"
GITHUB_API = "https://api.github.com"
_SLUG = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
_SCP_URL = re.compile(r"[^@/]+@(?P<host>[^:/]+):(?P<path>.+)")
TIMEOUT = 30.0
_REVIEW_BEFORE = "refs/agent-rollouts/review-before"  # where push_branch keeps the branch's previous tip


class PullRequests(Protocol):
    def open(self, branch: str, base: str, title: str, body: str) -> str:
        """Open (or find the open) pull request of `branch` into `base`; return what to tell the user."""
        ...


@dataclass(frozen=True)
class GitHub:
    api_url: str
    repository: str  # owner/name
    token: str

    def _request(self, method: str, path: str, **kwargs: object) -> requests.Response:
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }
        url = f"{self.api_url.rstrip('/')}/repos/{self.repository}{path}"
        try:
            return requests.request(method, url, headers=headers, timeout=TIMEOUT, **kwargs)  # type: ignore[arg-type]
        except requests.RequestException as exc:
            raise RemoteUnavailable(
                f"cannot reach the forge API at {self.api_url}: {type(exc).__name__}"
            ) from None

    def open(self, branch: str, base: str, title: str, body: str) -> str:
        response = self._request(
            "POST", "/pulls", json={"title": title, "head": branch, "base": base, "body": body}
        )
        if response.status_code == 422 and "already exists" in response.text:
            owner = self.repository.split("/")[0]
            found = self._request(
                "GET", "/pulls", params={"head": f"{owner}:{branch}", "base": base, "state": "open"}
            )
            if found.ok and found.json():
                return f"pull request already open: {found.json()[0]['html_url']}"
        if response.status_code in (401, 403):
            raise RemoteUnavailable(
                f"the forge API at {self.api_url} refused the token ({response.status_code}) for {self.repository}"
            )
        if not response.ok:
            raise GitopsError(
                f"opening a pull request of {branch} in {self.repository} failed: "
                f"{response.status_code} {_message(response)}"
            )
        return f"opened pull request {response.json()['html_url']}"


def _message(response: requests.Response) -> str:
    try:
        return str(response.json().get("message", ""))
    except ValueError:
        return last_line(response.text)


@dataclass(frozen=True)
class CompareOnly:
    """No forge API: the branch is pushed; a person reviews it with git and merges it."""

    remote: str

    def open(self, branch: str, base: str, title: str, body: str) -> str:
        return (
            f"pushed branch {branch} for review (no forge API for {self.remote}): "
            f"git fetch {self.remote} {branch} && git diff {base}...FETCH_HEAD"
        )


def repository_slug(remote: str) -> str | None:
    """`owner/name` of a forge URL (https://host/owner/name.git or git@host:owner/name.git)."""
    scp = _SCP_URL.fullmatch(remote)
    path = scp.group("path") if scp else urlsplit(remote).path
    slug = path.strip("/").removesuffix(".git")
    return slug if _SLUG.fullmatch(slug) else None


def _host(remote: str) -> str:
    scp = _SCP_URL.fullmatch(remote)
    return scp.group("host") if scp else (urlsplit(remote).hostname or "")


def read_token(token_file: Path | None) -> str:
    """The forge token from a file (mounted secret) or $GITHUB_TOKEN; never from argv."""
    if token_file is not None:
        try:
            token = token_file.read_text().strip()
        except OSError as exc:
            raise GitopsError(f"--forge-token-file: cannot read {token_file} ({exc.strerror})") from None
        if not token:
            raise GitopsError(f"--forge-token-file: {token_file} is empty")
        return token
    token = os.environ.get(TOKEN_VARIABLE, "").strip()
    if not token:
        raise GitopsError(
            f"pull-request mode needs a forge token: set {TOKEN_VARIABLE} or --forge-token-file"
        )
    return token


def forge_for(
    remote: str, api_url: str | None = None, repository: str | None = None, token_file: Path | None = None
) -> PullRequests:
    """The forge of `remote`: GitHub's API for github.com or an explicit API URL, else compare-only."""
    api_url = (
        api_url or os.environ.get(API_URL_VARIABLE) or (GITHUB_API if _host(remote) == "github.com" else None)
    )
    if api_url is None or (local_path(remote) is not None and repository is None):
        return CompareOnly(remote)
    slug = repository or repository_slug(remote)
    if slug is None or not _SLUG.fullmatch(slug):
        raise GitopsError(f"--forge-repo: cannot tell the repository (OWNER/NAME) of {remote}")
    return GitHub(api_url, slug, read_token(token_file))


def push_branch(checkout: Checkout, branch: str) -> str | None:
    """Push HEAD to the review branch, replacing an earlier push of the same release (ours alone).

    Returns the commit the branch pointed at before (None: the branch is new), fetched so that
    `withdraw_branch` can put it back.
    """
    fetched = git(
        checkout.path,
        "fetch",
        "--quiet",
        "--",
        "origin",
        f"+refs/heads/{branch}:{_REVIEW_BEFORE}",
        check=False,
    )
    if fetched.returncode == 0:
        before: str | None = git(checkout.path, "rev-parse", "--verify", _REVIEW_BEFORE).stdout.strip()
    elif "couldn't find remote ref" in fetched.stderr:
        before = None
    else:
        raise RemoteUnavailable(f"cannot fetch {branch} from {checkout.remote}: {last_line(fetched.stderr)}")
    result = git(
        checkout.path,
        "push",
        "--porcelain",
        "--force",
        "--",
        "origin",
        f"HEAD:refs/heads/{branch}",
        check=False,
    )
    if result.returncode != 0:
        output = result.stdout + result.stderr
        if "[remote rejected]" in output:
            raise GitopsError(f"{checkout.remote} rejected the push of {branch}: {last_line(output)}")
        raise RemoteUnavailable(f"cannot push {branch} to {checkout.remote}: {last_line(result.stderr)}")
    return before


def withdraw_branch(checkout: Checkout, branch: str, before: str | None) -> str:
    """Undo `push_branch` when no pull request came of it: delete the branch it created, or put back
    the commit it replaced (an earlier run's open pull request stays as it was). Says what it did."""
    pushed = checkout.head()
    # The lease: only while the branch is still our push, never over someone else's later one.
    lease = f"--force-with-lease=refs/heads/{branch}:{pushed}"
    if before is None:
        args, done = ["--delete", "--", "origin", f"refs/heads/{branch}"], f"deleted branch {branch}"
    else:
        args, done = (
            ["--", "origin", f"{before}:refs/heads/{branch}"],
            f"put branch {branch} back at {before[:12]}",
        )
    result = git(checkout.path, "push", "--porcelain", lease, *args, check=False)
    if result.returncode != 0:
        return f"branch {branch} is left on {checkout.remote} ({last_line(result.stderr)}): delete it by hand"
    return done
