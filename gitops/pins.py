"""Read what the environments repo pins, without writing: for `status`."""

from gitops import layout
from gitops.files import load_yaml
from gitops.git import Checkout
from gitops.images import ImageRef, pinned_image
from gitops.scratch import scratch_dir


def read_pins(
    remote: str, branch: str, pairs: list[tuple[str, str]]
) -> dict[tuple[str, str], ImageRef | None]:
    """(env, agent) -> the image its pin file pins on the branch's tip (None: no pin or no file)."""
    with scratch_dir("read") as tmp:
        checkout = Checkout.open(remote, branch, tmp)
        pins: dict[tuple[str, str], ImageRef | None] = {}
        for env, agent in pairs:
            relative = layout.pin_file(env, agent)
            found = (checkout.path / relative).is_file() and checkout.has_commits
            pins[(env, agent)] = pinned_image(agent, load_yaml(checkout.path, relative)) if found else None
        return pins
