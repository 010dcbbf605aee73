"""A private checkout of the environments repo, driven through the git CLI.

Every write happens in a throw-away clone and reaches the remote only by `git push`, whose ref update
is atomic: a writer killed at any point leaves the remote at the old or the new commit, never between.
"""

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from gitops.errors import GitopsError, RemoteUnavailable

# Never wait for a password prompt: CI has no terminal, and a hung release is worse than a failed one.
_GIT_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true", "SSH_ASKPASS": "true", "LC_ALL": "C"}
_FALLBACK_IDENTITY = ("agent-rollouts", "agent-rollouts@localhost")
# A conservative subset of git's ref-name rules: no leading `-` (an option to git), `.`, `..`, `@{`,
# spaces, `:` or `~^?*[\\`; matched whole, since `$` would let a trailing newline through.
_BRANCH_COMPONENT = r"[A-Za-z0-9_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*"
_BRANCH = re.compile(rf"{_BRANCH_COMPONENT}(?:/{_BRANCH_COMPONENT})*")


def check_branch(branch: str) -> str:
    """`branch` if it is a plain branch name, else a GitopsError naming `--branch`."""
    if (
        len(branch) > 200
        or not _BRANCH.fullmatch(branch)
        or any(part.endswith(".lock") for part in branch.split("/"))
    ):
        raise GitopsError(
            f"--branch: {branch!r} is not a branch name (letters, digits, `_.-/`, not starting with `-` or `.`)"
        )
    return branch


def git(
    cwd: Path, *args: str, stdin: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        ["git", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, **_GIT_ENV},
    )
    if check and result.returncode != 0:
        raise GitopsError(f"git {args[0]} failed: {last_line(result.stderr)}")
    return result


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def local_path(remote: str) -> Path | None:
    """The directory of a remote given as a local path (not a URL), if it is one."""
    if "://" in remote or (":" in remote.split("/")[0] and not os.path.exists(remote)):
        return None
    return Path(remote).resolve()


@dataclass
class Checkout:
    """A clone of one branch of the remote in `path`, with `origin` pointing at the remote."""

    path: Path
    remote: str
    branch: str
    receive_pack: str | None = None
    has_commits: bool = False

    @classmethod
    def open(cls, remote: str, branch: str, path: Path) -> "Checkout":
        """Clone `branch` of `remote` into the empty directory `path` (an unborn branch if it has none)."""
        check_branch(branch)
        local = local_path(remote)
        if local is not None and not local.is_dir():
            raise RemoteUnavailable(f"cannot reach environments repo {remote}: no such directory")
        url = str(local) if local else remote
        checkout = cls(path, url, branch)
        git(path, "init", "--quiet")
        git(path, "remote", "add", "--", "origin", url)
        if (
            local is not None
            and git(local, "rev-parse", "--is-bare-repository", check=False).stdout.strip() == "false"
        ):
            # A non-bare remote: update its working tree too, as `git push` to a checked-out branch would refuse.
            checkout.receive_pack = "git -c receive.denyCurrentBranch=updateInstead receive-pack"
        if not git(path, "config", "user.email", check=False).stdout.strip():
            git(path, "config", "user.name", _FALLBACK_IDENTITY[0])
            git(path, "config", "user.email", _FALLBACK_IDENTITY[1])
        heads = git(path, "ls-remote", "--heads", "--", "origin", check=False)
        if heads.returncode != 0:
            raise RemoteUnavailable(f"cannot reach environments repo {remote}: {last_line(heads.stderr)}")
        checkout.has_commits = f"refs/heads/{branch}" in heads.stdout.split()
        if checkout.has_commits:
            checkout.refresh()
        else:
            git(path, "symbolic-ref", "--", "HEAD", f"refs/heads/{branch}")
            if local is not None and git(local, "rev-parse", "--verify", "HEAD", check=False).returncode != 0:
                # A brand-new local repo: make its HEAD the branch we create, so plain clones check it out.
                git(local, "symbolic-ref", "--", "HEAD", f"refs/heads/{branch}")
        return checkout

    def refresh(self) -> None:
        """Move to the remote's current tip, dropping any local edit."""
        fetched = git(self.path, "fetch", "--quiet", "--", "origin", self.branch, check=False)
        if fetched.returncode != 0:
            raise RemoteUnavailable(
                f"cannot fetch {self.branch} from {self.remote}: {last_line(fetched.stderr)}"
            )
        git(self.path, "reset", "--quiet", "--hard", "FETCH_HEAD")
        git(self.path, "clean", "--quiet", "-fdx")
        self.has_commits = True

    def head(self) -> str | None:
        result = git(self.path, "rev-parse", "--verify", "--quiet", "HEAD", check=False)
        return result.stdout.strip() or None

    def stage(self) -> bool:
        """Stage every change in the working tree; True when there is something to commit."""
        git(self.path, "add", "--all")
        return git(self.path, "diff", "--cached", "--quiet", check=False).returncode != 0

    def staged_diff(self, *options: str) -> str:
        return git(self.path, "diff", "--cached", *options).stdout

    def commit(self, message: str) -> str:
        git(self.path, "commit", "--quiet", "--file", "-", stdin=message)
        head = self.head()
        assert head is not None
        return head

    def push(self) -> bool:
        """Push HEAD to the branch: True if it landed, False if the remote moved on (non-fast-forward)."""
        args = ["push", "--porcelain", "--", "origin", f"HEAD:refs/heads/{self.branch}"]
        if self.receive_pack:
            args.insert(1, f"--receive-pack={self.receive_pack}")
        result = git(self.path, *args, check=False)
        if result.returncode == 0:
            return True
        output = result.stdout + result.stderr
        if "[rejected]" in output and ("non-fast-forward" in output or "fetch first" in output):
            return False
        if "[remote rejected]" in output and "cannot lock ref" in output:
            return False  # another push updated the branch between our fast-forward check and our ref update
        if "[remote rejected]" in output:
            # Porcelain gives `!<TAB>HEAD:refs/heads/main<TAB>[remote rejected] (why)`; a hook adds `remote:` lines.
            why = re.search(r"\[remote rejected\] \((.*)\)", output)
            said = [
                line[7:].strip()
                for line in output.splitlines()
                if line.startswith("remote:") and line[7:].strip()
            ]
            detail = ": ".join(
                part for part in (why.group(1) if why else "", said[0] if said else "") if part
            )
            raise GitopsError(f"{self.remote} rejected the push: {detail or last_line(output)}")
        raise RemoteUnavailable(f"cannot push to {self.remote}: {last_line(result.stderr)}")

    def identity(self) -> str:
        name = git(self.path, "config", "user.name").stdout.strip()
        email = git(self.path, "config", "user.email").stdout.strip()
        return f"{name} <{email}>"
