"""Rendering helpers for the manifest tests: what users deploy is what these tests read."""

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ci.render import kustomize_build, output_name

Doc = dict[str, Any]
# `{{args.name}}` in an AnalysisTemplate, which Argo replaces with the arg's value.
ARG_REFERENCE = re.compile(r"\{\{\s*args\.([\w-]+)\s*\}\}")


@dataclass(frozen=True)
class Rendered:
    """One overlay's `kubectl kustomize` output, as text and as parsed objects."""

    name: str  # `dev/code-analysis`, `examples/bluegreen`
    text: str
    docs: list[Doc]

    def all(self, kind: str) -> list[Doc]:
        return [doc for doc in self.docs if doc["kind"] == kind]

    def one(self, kind: str) -> Doc:
        found = self.all(kind)
        assert len(found) == 1, f"{self.name}: expected one {kind}, found {len(found)}"
        return found[0]

    def named(self, kind: str, name: str) -> Doc:
        found = [doc for doc in self.all(kind) if doc["metadata"]["name"] == name]
        assert found, f"{self.name}: no {kind} named {name!r}"
        return found[0]


def build(path: Path) -> Rendered:
    text = kustomize_build(path)
    name = output_name(path).with_suffix("").as_posix()
    return Rendered(name, text, [doc for doc in yaml.safe_load_all(text) if doc])
