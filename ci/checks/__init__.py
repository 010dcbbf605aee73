"""The checks `agent-rollouts validate` runs on rendered manifests, and what they report."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

Doc = dict[str, Any]


@dataclass(frozen=True)
class Problem:
    """One failure: where (overlay or file), which object (Kind/name), which field, and why."""

    location: str
    object: str
    field: str
    message: str
    check: str

    def __str__(self) -> str:
        return f"{self.location}: {self.object}: {self.field}: {self.message} [{self.check}]"


@dataclass(frozen=True)
class Rendered:
    """One overlay's rendered output: the location users recognise, the YAML file, its objects."""

    location: str
    file: Path
    docs: list[Doc]


def object_name(doc: Doc) -> str:
    return f"{doc.get('kind', '?')}/{doc.get('metadata', {}).get('name', '?')}"
