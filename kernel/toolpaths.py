"""Where the pinned external tools live: `.tools/bin` from `make bootstrap`, then PATH."""

import os
import shutil
from pathlib import Path

from kernel.errors import ToolMissing

REPO_ROOT = Path(__file__).resolve().parent.parent
# Names the folder of CRD YAML that schemas are derived from (default ../shared/crds).
CRD_DIR_VARIABLE = "AGENT_ROLLOUTS_CRD_DIR"


def tools_dir() -> Path:
    return Path(os.environ.get("AGENT_ROLLOUTS_TOOLS", REPO_ROOT / ".tools"))


def find_tool(name: str) -> str:
    """Return the path of an external tool, preferring the project's pinned copy."""
    for candidate in (tools_dir() / "bin" / name, tools_dir() / name / "bin" / name):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise ToolMissing(f"{name} is not installed; run `make bootstrap`")
    return found
