"""Read what the environments repo pins, without writing: for `status`."""

from gitops import layout
from gitops.files import existing_pin
from gitops.git import Checkout
from gitops.images import ImageRef
from gitops.scratch import scratch_dir
from kernel.platform import load_platform


def read_pins(
    remote: str, branch: str, pairs: list[tuple[str, str]]
) -> dict[tuple[str, str], ImageRef | None]:
    """(env, agent) -> the image its pin file pins on the branch's tip (None: no pin or no file)."""
    with scratch_dir("read") as tmp:
        checkout = Checkout.open(remote, branch, tmp)
        pins: dict[tuple[str, str], ImageRef | None] = {}
        platform = load_platform(checkout.path / layout.PLATFORM_FILE) if checkout.has_commits else None
        for env, agent in pairs:
            pins[(env, agent)] = (
                existing_pin(checkout.path, layout.pin_file(env, agent), platform.agent(agent).image)
                if platform is not None
                else None
            )
        return pins
