"""Change detection for CI: which agents a diff affects, as JSON for a GitHub Actions matrix.

An agent's own files affect that agent; shared code, bases, analysis or the judge affect every
agent; documentation affects none.
"""

import subprocess
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from kernel.catalog import AGENTS
from kernel.errors import AgentRolloutsError

DOC_SUFFIXES = {".md", ".rst", ".txt"}
DOC_FOLDERS = ("docs/",)


class AffectedError(AgentRolloutsError):
    """git could not diff the two revisions."""


@dataclass(frozen=True)
class Affected:
    agents: list[str]
    all: bool
    files: list[str]


def module(agent: str) -> str:
    """`code-analysis` -> `code_analysis`, the agent's module under `agents/`."""
    return agent.replace("-", "_")


def owner(path: str) -> str | None:
    """The agent a file belongs to alone, or None for shared files."""
    parts = PurePosixPath(path).parts
    for agent in AGENTS:
        mine = (
            parts[:2] in {("agents", f"{module(agent)}.py"), ("agents", module(agent))}
            or parts[:3] == ("rollouts", "agents", agent)
            or (len(parts) > 3 and parts[:2] == ("rollouts", "envs") and parts[3] == agent)
            or (parts[:2] == ("tests", "agents") and module(agent) in parts[-1])
            or (parts[:2] == ("tests", "golden") and parts[-1] == f"{agent}.yaml")
        )
        if mine:
            return agent
    return None


def is_doc(path: str) -> bool:
    return PurePosixPath(path).suffix in DOC_SUFFIXES or path.startswith(DOC_FOLDERS)


def classify(files: list[str]) -> Affected:
    """Map changed files to agents: own files -> that agent, docs -> none, anything else -> all."""
    agents: set[str] = set()
    shared = False
    for path in files:
        agent = owner(path)
        if agent:
            agents.add(agent)
        elif not is_doc(path):
            shared = True
    chosen = list(AGENTS) if shared else [agent for agent in AGENTS if agent in agents]
    return Affected(agents=chosen, all=shared, files=sorted(files))


def changed_files(base: str, head: str = "HEAD", repo: Path = Path()) -> list[str]:
    """Files changed on head since it forked from base (`git diff base...head`)."""
    result = subprocess.run(
        ["git", "diff", "--name-only", "--no-renames", f"{base}...{head}"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise AffectedError(f"git diff {base}...{head}: {result.stderr.strip()}")
    return [line for line in result.stdout.splitlines() if line]


def affected(base: str, head: str = "HEAD", repo: Path = Path()) -> Affected:
    return classify(changed_files(base, head, repo))
