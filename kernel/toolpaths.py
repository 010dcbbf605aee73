"""Where external tools and the platform's manifests live, in a clone and in an installed package.

Tools: a path named by flag (`use_tool`), then `.tools/bin` from `make bootstrap` (or
`$AGENT_ROLLOUTS_TOOLS/bin`), then PATH. A missing tool is a one-line error saying how to install it.
"""

import os
import shutil
from importlib import resources
from pathlib import Path

from kernel.errors import ToolMissing

REPO_ROOT = Path(__file__).resolve().parent.parent
# Names the folder of CRD YAML that schemas are derived from (default ../shared/crds).
CRD_DIR_VARIABLE = "AGENT_ROLLOUTS_CRD_DIR"
# The platform's manifest folders; a built package carries them in kernel/manifests (see setup.py).
MANIFEST_DIRS = ("rollouts", "analysis")
PACKAGED_MANIFESTS = "manifests"
INSTALL_HINTS = {
    "kubectl": "install kubectl (https://kubernetes.io/docs/tasks/tools/)",
    "kubeconform": "install it with `go install github.com/yannh/kubeconform/cmd/kubeconform@v0.7.0`"
    " or name it with --kubeconform PATH",
    "promtool": "install Prometheus' promtool (`apt-get install prometheus`)",
    "checkov": "install it with `pip install checkov`, or skip the policy scan with --no-policy",
    "git": "install git",
}
_chosen: dict[str, str] = {}


def is_clone() -> bool:
    """True when running from a checkout of the agent-rollouts repository, not an installed package."""
    return (REPO_ROOT / "pyproject.toml").is_file() and (REPO_ROOT / "rollouts").is_dir()


def tools_dir() -> Path:
    """The clone's `.tools`, or a cache folder of the user's for an installed package."""
    if configured := os.environ.get("AGENT_ROLLOUTS_TOOLS"):
        return Path(configured)
    if is_clone():
        return REPO_ROOT / ".tools"
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "agent-rollouts"


def use_tool(name: str, path: str) -> None:
    """Use the executable at `path` for `name` (a --kubeconform style flag)."""
    if not (Path(path).is_file() and os.access(path, os.X_OK)):
        raise ToolMissing(f"--{name}: {path} is not an executable file")
    _chosen[name] = path


def find_tool(name: str) -> str:
    """Return the path of an external tool, preferring one named by flag, then the project's pinned copy."""
    if name in _chosen:
        return _chosen[name]
    for candidate in (tools_dir() / "bin" / name, tools_dir() / name / "bin" / name):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(name)
    if found is None:
        hint = "run `make bootstrap`" if is_clone() else INSTALL_HINTS.get(name, f"install {name}")
        raise ToolMissing(f"{name} is not installed: {hint}")
    return found


def manifests_root() -> Path:
    """The folder holding the platform's `rollouts/` and `analysis/`: the package's copy, else the clone."""
    packaged = Path(str(resources.files("kernel") / PACKAGED_MANIFESTS))
    if (packaged / MANIFEST_DIRS[0]).is_dir():
        return packaged
    return REPO_ROOT
