"""Whole-file writes: a reader (or a killed writer) never sees half a file."""

import os
import tempfile
from pathlib import Path
from typing import Any

import yaml


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


def load_yaml(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict):
        raise ValueError(f"{path.name} is not a YAML mapping")
    return data


def rewrite_yaml(path: Path, data: dict[str, Any]) -> None:
    """Replace a YAML file's content, keeping its leading comment block (the generated explanation)."""
    lines = path.read_text().splitlines(keepends=True)
    header = "".join(line for line in _leading_comments(lines))
    write_file(path, header + yaml.safe_dump(data, sort_keys=False))


def _leading_comments(lines: list[str]) -> list[str]:
    header = []
    for line in lines:
        if not line.startswith("#"):
            break
        header.append(line)
    return header
