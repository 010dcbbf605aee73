"""Whole-file writes: a reader (or a killed writer) never sees half a file."""

import os
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from gitops.errors import GitopsError
from gitops.images import ImageRef, pinned_image
from kernel.platform import yaml_problem


def write_file(path: Path, text: str) -> None:
    """Write via a temporary file in the same folder and an atomic rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as stream:
            stream.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def load_yaml(checkout: Path, relative: PurePosixPath) -> dict[str, Any]:
    """A YAML mapping from the environments repo; anything else is an error naming the file."""
    try:
        data = yaml.safe_load((checkout / relative).read_text())
    except yaml.YAMLError as exc:
        line, problem = yaml_problem(exc)
        where = f" at line {line}" if line else ""
        raise GitopsError(f"{relative}: not valid YAML{where}: {problem}") from exc
    if not isinstance(data, dict):
        raise GitopsError(f"{relative}: not a YAML mapping")
    return data


def existing_pin(checkout: Path, relative: PurePosixPath, repository: str) -> ImageRef | None:
    """The image the kustomization at `relative` pins for `repository`; None when it has no pin or no file."""
    return (
        pinned_image(repository, load_yaml(checkout, relative)) if (checkout / relative).is_file() else None
    )
