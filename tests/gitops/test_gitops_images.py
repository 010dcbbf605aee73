"""Image references and the one-entry-per-image pin."""

import pytest

from gitops.images import ImageRef, MalformedReference, parse_image, pinned_image, set_pin
from kernel.catalog import image_repository

DIGEST = "sha256:" + "ab" * 32
REPO = image_repository("code-analysis")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"{REPO}@{DIGEST}", ImageRef(REPO, None, DIGEST)),
        (f"{REPO}:v1.2@{DIGEST}", ImageRef(REPO, "v1.2", DIGEST)),
        (f"{REPO}:v1.2", ImageRef(REPO, "v1.2", None)),
        (
            f"localhost:5000/team/code-analysis@{DIGEST}",
            ImageRef("localhost:5000/team/code-analysis", None, DIGEST),
        ),
    ],
)
def test_parse_round_trips(text: str, expected: ImageRef) -> None:
    assert parse_image(text) == expected
    assert str(parse_image(text)) == text


@pytest.mark.parametrize(
    ("text", "names"),
    [
        (f"{REPO}@sha256:abc", "digest"),
        (f"{REPO}@md5:{'a' * 32}", "digest"),
        (f"Ghcr.io/UPPER/code-analysis@{DIGEST}", "repository"),
        (f"{REPO}:-bad@{DIGEST}", "tag"),
        (REPO, "neither a tag nor a digest"),
        ("", "repository"),
        # `$` matches before a final newline; every part must match whole.
        (f"{REPO}@{DIGEST}\n", "digest"),
        (f"{REPO}:v1\n", "tag"),
        (f"{REPO}\n:v1", "repository"),
    ],
)
def test_malformed_references_name_the_faulty_part(text: str, names: str) -> None:
    with pytest.raises(MalformedReference, match=names):
        parse_image(text)


def test_set_pin_collapses_duplicates_and_keeps_other_images() -> None:
    kustomization = {
        "resources": ["../base"],
        "images": [
            {"name": "busybox", "newTag": "1.36"},
            {"name": REPO, "newTag": "old"},
            {"name": "other-alias", "newName": REPO, "newTag": "older"},  # the Image Updater duplicate
        ],
    }
    image = ImageRef(REPO, "v2", DIGEST)
    updated = set_pin(REPO, kustomization, image)
    assert updated["images"] == [
        {"name": REPO, "newTag": "v2", "digest": DIGEST},
        {"name": "busybox", "newTag": "1.36"},
    ]
    assert pinned_image(REPO, updated) == image
    assert set_pin(REPO, updated, image) == updated  # idempotent


def test_a_mirror_sets_new_name_under_the_canonical_name() -> None:
    mirror = ImageRef("registry.internal:5000/mirror/code-analysis", None, DIGEST)
    updated = set_pin(REPO, {}, mirror)
    assert updated["images"] == [{"name": REPO, "newName": mirror.repository, "digest": DIGEST}]
    assert pinned_image(REPO, updated) == mirror
