"""Read the environments repo without writing: its platform file and what it pins, for `status`."""

from gitops import layout
from gitops.errors import GitopsError
from gitops.files import existing_pin
from gitops.git import Checkout
from gitops.images import ImageRef
from gitops.scratch import scratch_dir
from kernel.platform import Platform, load_platform

Pins = dict[tuple[str, str], ImageRef | None]  # (env, agent) -> its pin (None: no pin or no file)


def read_repo(remote: str, branch: str) -> tuple[Platform, Pins]:
    """The platform file on the branch's tip and the image every environment pins for every agent."""
    with scratch_dir("read") as tmp:
        checkout = Checkout.open(remote, branch, tmp)
        if not checkout.has_commits:
            raise GitopsError(f"{remote} has no branch {branch}; run `agent-rollouts init` first")
        platform = load_platform(checkout.path / layout.PLATFORM_FILE)
        pins = {
            (env, agent.name): existing_pin(checkout.path, layout.pin_file(env, agent.name), agent.image)
            for env in platform.environment_names
            for agent in platform.agents
        }
        return platform, pins
