"""Render the repo's kustomize overlays: what users deploy is what `kubectl kustomize` prints."""

import os
import re
import subprocess
import tempfile
from pathlib import Path

from kernel.catalog import ENVIRONMENTS
from kernel.errors import AgentRolloutsError
from kernel.toolpaths import REPO_ROOT, find_tool

# Rendered outside any environment (`render -o DIR` writes them to DIR/examples/).
EXAMPLES = "examples"
# kubectl wraps kustomize's message in a log line: `E1124 ... run.go:72] "command failed" err="..."`.
KLOG_ERROR = re.compile(r'"command failed" err="(?P<err>.*)"\s*$', re.DOTALL)


class RenderError(AgentRolloutsError):
    """kustomize could not build a directory; the message names it."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.reason = reason


def kustomize_build(path: Path) -> str:
    """The YAML stream `kubectl kustomize` renders from one kustomization directory."""
    result = subprocess.run(
        [find_tool("kubectl"), "kustomize", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        message = result.stderr.strip() or f"kubectl kustomize exited {result.returncode}"
        logged = KLOG_ERROR.search(message)
        if logged:
            message = logged["err"].replace('\\"', '"')
        raise RenderError(path, message)
    return result.stdout


def overlays(root: Path = REPO_ROOT, env: str | None = None) -> list[Path]:
    """Every renderable overlay: `rollouts/envs/<env>/*` and, without an env, `rollouts/examples/*`."""
    envs = [env] if env else list(ENVIRONMENTS)
    found = [
        kustomization.parent
        for name in envs
        for kustomization in sorted((root / "rollouts" / "envs" / name).glob("*/kustomization.yaml"))
    ]
    if env is None:
        found += [k.parent for k in sorted((root / "rollouts" / EXAMPLES).glob("*/kustomization.yaml"))]
    return found


def output_name(overlay: Path) -> Path:
    """`rollouts/envs/dev/code-analysis` -> `dev/code-analysis.yaml`."""
    return Path(overlay.parent.name) / f"{overlay.name}.yaml"


def write_atomically(path: Path, text: str) -> None:
    """Write a file so readers see the old content or the new, never half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def render_overlays(out_dir: Path, env: str | None = None, root: Path = REPO_ROOT) -> list[Path]:
    """Render every overlay (of one env, or all) to `out_dir/<env>/<overlay>.yaml`; return the files."""
    # Build everything first so a broken overlay leaves no partial output behind.
    rendered = {output_name(overlay): kustomize_build(overlay) for overlay in overlays(root, env)}
    written = []
    for name, text in rendered.items():
        write_atomically(out_dir / name, text)
        written.append(out_dir / name)
    return written


def render_stack(env: str, root: Path = REPO_ROOT) -> str:
    """One environment's whole stack: the top-level kustomization for dev, else its overlays joined."""
    top_level = root / "kustomization.yaml"
    if env == "dev" and top_level.is_file():
        return kustomize_build(root)
    return "---\n".join(kustomize_build(overlay) for overlay in overlays(root, env))
