"""The repo's overlays, rendered once per session."""

import pytest
from manifests_render import Rendered, build

from ci.render import overlays
from kernel.toolpaths import REPO_ROOT


@pytest.fixture(scope="session")
def rendered() -> dict[str, Rendered]:
    """Every overlay (`rollouts/envs/<env>/*` and `rollouts/examples/*`), keyed like `dev/code-analysis`."""
    built = [build(path) for path in overlays(REPO_ROOT)]
    return {item.name: item for item in built}
