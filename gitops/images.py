"""Image references and the one `images:` entry of an agent folder's kustomization."""

import re
from dataclasses import dataclass
from typing import Any

# The Docker reference grammar (distribution/reference), restricted to sha256 digests.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = (
    r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?)"
)
# Matched with fullmatch: `$` would also accept a trailing newline, which splits the commit trailers.
_REPOSITORY = re.compile(rf"(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


class MalformedReference(ValueError):
    """An image reference that does not parse; the message names the faulty part."""


@dataclass(frozen=True)
class ImageRef:
    repository: str
    tag: str | None = None
    digest: str | None = None

    def __str__(self) -> str:
        text = self.repository
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text

    @property
    def short(self) -> str:
        """A short name for commit subjects: 12 hex digits of the digest, else the tag."""
        if self.digest:
            return self.digest.removeprefix("sha256:")[:12]
        return self.tag or "latest"


def parse_image(text: str) -> ImageRef:
    """Parse `repo[:tag][@sha256:<64 hex>]`, refusing anything malformed."""
    rest, _, digest = text.partition("@")
    if "@" in text and not _DIGEST.fullmatch(digest):
        raise MalformedReference(f"digest {digest!r} is not sha256:<64 lowercase hex digits>")
    # A colon after the last slash separates the tag; one before it belongs to a registry port.
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    repository, tag = (rest[:colon], rest[colon + 1 :]) if colon > slash else (rest, None)
    if not _REPOSITORY.fullmatch(repository):
        raise MalformedReference(f"repository {repository!r} is not a valid image repository")
    if tag is not None and not _TAG.fullmatch(tag):
        raise MalformedReference(f"tag {tag!r} is not a valid image tag")
    if tag is None and not digest:
        raise MalformedReference(f"{text!r} has neither a tag nor a digest")
    return ImageRef(repository, tag, digest or None)


def image_entry(repository: str, image: ImageRef) -> dict[str, str]:
    """The kustomize `images:` entry pinning `image` for containers the manifests give `repository`."""
    entry = {"name": repository}
    if image.repository != repository:
        entry["newName"] = image.repository  # a mirror: the platform's manifests name the canonical repo
    if image.tag:
        entry["newTag"] = image.tag
    if image.digest:
        entry["digest"] = image.digest
    return entry


def pinned_image(repository: str, kustomization: dict[str, Any]) -> ImageRef | None:
    """The image a kustomization pins for `repository`, or None without a pin."""
    for entry in kustomization.get("images") or []:
        if entry.get("name") == repository:
            return ImageRef(entry.get("newName") or entry["name"], entry.get("newTag"), entry.get("digest"))
    return None


def set_pin(repository: str, kustomization: dict[str, Any], image: ImageRef) -> dict[str, Any]:
    """A copy of the kustomization with exactly one `images:` entry for `repository`, first in the list."""
    others = [
        entry
        for entry in kustomization.get("images") or []
        # Drop every entry for this image however it was spelled (name or newName), so none duplicates it.
        if repository not in (entry.get("name"), entry.get("newName"))
    ]
    return {**kustomization, "images": [image_entry(repository, image), *others]}
