"""The pin file edited in place: comments, key order and quoting a person wrote survive a release
and a `bootstrap`.

A round trip through ruamel.yaml changes only the `images:` entry of the agent: its fields are
updated where they are, so a comment beside or above the entry (`# hotfix INC-123`) stays put.
`bootstrap` refreshes an existing pin file the same way (`refresh`) instead of writing it anew.
"""

import io
import re
from pathlib import Path, PurePosixPath
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark, MarkedYAMLError
from ruamel.yaml.scalarstring import LiteralScalarString
from ruamel.yaml.tokens import CommentToken

from gitops.errors import GitopsError
from gitops.files import write_file
from gitops.images import ImageRef, image_entry

_IMAGE_FIELDS = ("newName", "newTag", "digest")
_FIRST_ITEM = re.compile(r"^( *)- ", re.MULTILINE)


def _yaml(text: str) -> YAML:
    """A round-trip YAML with the file's own list indentation (PyYAML's `- ` at the key's column, or indented)."""
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    first = _FIRST_ITEM.search(text)
    offset = len(first.group(1)) if first else 0
    yaml.indent(mapping=2, sequence=offset + 2, offset=offset)
    yaml.width = 4096  # never fold a long line the person kept on one
    return yaml


def load(path: Path, relative: PurePosixPath) -> tuple[YAML, CommentedMap]:
    text = path.read_text()
    yaml = _yaml(text)
    try:
        data = yaml.load(text)
    except MarkedYAMLError as exc:
        where = f" at line {exc.problem_mark.line + 1}" if exc.problem_mark else ""
        raise GitopsError(f"{relative}: not valid YAML{where}: {exc.problem or exc}") from None
    if not isinstance(data, CommentedMap):
        raise GitopsError(f"{relative}: not a YAML mapping")
    return yaml, data


def _set_pin(data: CommentedMap, relative: PurePosixPath, repository: str, image: ImageRef) -> None:
    """Make `image` the one `images:` entry of `repository`, updating the entry where it stands."""
    wanted = image_entry(repository, image)
    images = data.get("images")
    if images is None:
        images = data["images"] = CommentedSeq()
    if not isinstance(images, CommentedSeq):
        raise GitopsError(f"{relative}: images: not a list")
    ours = [
        index
        for index, entry in enumerate(images)
        if isinstance(entry, CommentedMap) and repository in (entry.get("name"), entry.get("newName"))
    ]
    if ours:
        entry = images[ours[0]]
        for index in reversed(ours[1:]):  # duplicates however they were spelled: one pin only
            del images[index]
        entry["name"] = wanted["name"]
        for key in _IMAGE_FIELDS:
            if key in wanted:
                entry[key] = wanted[key]
            elif key in entry:
                del entry[key]
    else:
        images.insert(0, CommentedMap(wanted))


def _literal(value: Any) -> Any:
    """Multi-line strings (inline kustomize patches) as literal blocks, as bootstrap writes them."""
    if isinstance(value, str) and "\n" in value:
        return LiteralScalarString(value)
    if isinstance(value, dict):
        return {key: _literal(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_literal(item) for item in value]
    return value


def _save(path: Path, yaml: YAML, data: CommentedMap) -> bool:
    stream = io.StringIO()
    yaml.dump(data, stream)
    if stream.getvalue() == path.read_text():
        return False
    write_file(path, stream.getvalue())
    return True


def set_image(path: Path, relative: PurePosixPath, repository: str, image: ImageRef) -> bool:
    """Make `image` the one pin of `repository` (as the manifests name it) in the kustomization at
    `path`; True if the file changed."""
    yaml, data = load(path, relative)
    _set_pin(data, relative, repository, image)
    return _save(path, yaml, data)


def refresh(
    path: Path,
    relative: PurePosixPath,
    header: str,
    fields: dict[str, Any],
    repository: str,
    image: ImageRef | None,
) -> bool:
    """`bootstrap` on a pin file that exists: its generated `fields` and its pin set in place, so the
    comments a person wrote there stay. The file's header is bootstrap's (its leading comment lines up
    to the last line `header` has too) and becomes `header`; the keys are bootstrap's (`images:` aside).
    True if the file changed."""
    yaml, data = load(path, relative)
    for key in [key for key in data if key not in fields and key != "images"]:
        del data[key]
    for position, (key, value) in enumerate(fields.items()):
        if key not in data:
            data.insert(position, key, _literal(value))
        elif data[key] != value:  # an unchanged value keeps its comments
            data[key] = _literal(value)
    if image is not None:
        _set_pin(data, relative, repository, image)
    lines = [f"{line}\n" for line in header.splitlines()]
    before = data.ca.comment[1] if data.ca.comment and data.ca.comment[1] else []
    ours = [index for index, token in enumerate(before) if token.value in lines]
    kept = before[ours[-1] + 1 :] if ours else before
    data.ca.comment = [None, [CommentToken(line, CommentMark(0), None) for line in lines] + kept]
    return _save(path, yaml, data)
