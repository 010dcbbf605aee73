"""The pin file edited in place: comments, key order and quoting a person wrote survive a release.

A round trip through ruamel.yaml changes only the `images:` entry of the agent: its fields are
updated where they are, so a comment beside or above the entry (`# hotfix INC-123`) stays put.
"""

import io
import re
from pathlib import Path, PurePosixPath

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

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


def set_image(path: Path, relative: PurePosixPath, repository: str, image: ImageRef) -> bool:
    """Make `image` the one pin of `repository` (as the manifests name it) in the kustomization at
    `path`; True if the file changed."""
    yaml, data = load(path, relative)
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
    stream = io.StringIO()
    yaml.dump(data, stream)
    if stream.getvalue() == path.read_text():
        return False
    write_file(path, stream.getvalue())
    return True
