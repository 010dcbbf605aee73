"""The prod digest check matches the whole image reference."""

import pytest

from ci.checks.references import check_digests

DIGEST = "sha256:" + "ab" * 32


def rollout(image: str) -> dict[str, object]:
    return {"spec": {"template": {"spec": {"containers": [{"name": "agent", "image": image}]}}}}


@pytest.mark.parametrize(
    ("image", "pinned"),
    [(f"ghcr.io/a/b@{DIGEST}", True), (f"ghcr.io/a/b@{DIGEST}\n", False), ("ghcr.io/a/b:v1", False)],
)
def test_only_a_reference_ending_in_a_digest_is_pinned(image: str, pinned: bool) -> None:
    assert (list(check_digests(rollout(image))) == []) == pinned
