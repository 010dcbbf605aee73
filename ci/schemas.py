"""Offline JSON schemas for kubeconform, generated at set-up time into `.tools/schemas/`.

Kubernetes' own kinds come from the schemas bundled in the PyPI package `kubernetes-validate`,
rewritten into self-contained files; custom resources from CRD YAML, in the CRDs-catalog layout
`{group}/{kind}_{version}.json`. Run as `python -m ci.schemas` (the Makefile's `schemas` target).
"""

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import yaml

from kernel.errors import ToolMissing
from kernel.toolpaths import CRD_DIR_VARIABLE, REPO_ROOT, find_tool, is_clone, tools_dir

# The Kubernetes minor whose native schemas the rendered manifests must satisfy.
KUBERNETES_VERSION = "1.33.0"
STAMP = ".generated-from"
# Part of every stamp, so a change to this generator regenerates the schemas.
GENERATOR = Path(__file__).read_bytes()

# kubeconform `-schema-location` templates, relative to the generated directories.
KUBERNETES_TEMPLATE = "{{ .ResourceKind }}{{ .KindSuffix }}.json"
CRD_TEMPLATE = "{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json"

Schema = dict[str, Any]


@dataclass(frozen=True)
class SchemaLocations:
    kubernetes: Path
    crds: Path

    def kubeconform_flags(self) -> list[str]:
        return [
            "-schema-location",
            str(self.kubernetes / KUBERNETES_TEMPLATE),
            "-schema-location",
            str(self.crds / CRD_TEMPLATE),
        ]


def default_crd_dir() -> Path:
    """`$AGENT_ROLLOUTS_CRD_DIR`, else `../shared/crds` beside a clone, else the current cluster's CRDs."""
    configured = os.environ.get(CRD_DIR_VARIABLE)
    if configured:
        return Path(configured)
    beside = REPO_ROOT.parent / "shared" / "crds"
    return beside if is_clone() and beside.is_dir() else cluster_crd_dir()


def cluster_crd_dir() -> Path:
    """The CRDs of kubectl's current cluster (`kubectl get crd -o yaml`), kept in the tools cache."""
    try:
        kubectl = find_tool("kubectl")
    except ToolMissing as exc:
        raise ToolMissing(f"no CRD schemas: pass --crd-dir DIR or set ${CRD_DIR_VARIABLE} ({exc})") from exc
    result = subprocess.run(
        [kubectl, "get", "crd", "-o", "yaml"], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or [f"exit {result.returncode}"])[-1]
        raise ToolMissing(
            f"no CRD schemas: pass --crd-dir DIR (CRD YAML of Argo Rollouts, Argo CD, Istio and the "
            f"Prometheus operator) or set ${CRD_DIR_VARIABLE}; `kubectl get crd` failed: {reason}"
        )
    folder = tools_dir() / "crds-from-cluster"
    file = folder / "crds.yaml"
    if not file.is_file() or file.read_text() != result.stdout:  # unchanged CRDs keep their schemas
        folder.mkdir(parents=True, exist_ok=True)
        file.write_text(result.stdout)
    return folder


# --- custom resources ------------------------------------------------------------------------


def strict_crd_schema(node: Schema) -> Schema:
    """Turn a CRD's openAPIV3Schema into JSON schema that rejects unknown fields, as kubectl does."""
    out: Schema = {}
    for key, value in node.items():
        if key == "properties":
            out[key] = {name: strict_crd_schema(child) for name, child in value.items()}
        elif key in ("items", "not") or (key == "additionalProperties" and isinstance(value, dict)):
            out[key] = strict_crd_schema(value)
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = [strict_crd_schema(child) for child in value]
        else:  # enum, default, example and the like are data, not schema: copy them as they are
            out[key] = value
    if out.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out.pop("format", None)
        if "anyOf" not in out and "oneOf" not in out:
            out["oneOf"] = [{"type": "string"}, {"type": "integer"}]
    if out.get("nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def with_object_header(openapi: Schema) -> Schema:
    """Some CRDs (Istio's) leave apiVersion/kind/metadata out of the root; a strict root needs them."""
    header = {"apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"}}
    return {**openapi, "properties": {**header, **openapi.get("properties", {})}}


def crd_documents(crd_dir: Path) -> Iterator[Schema]:
    for path in sorted(crd_dir.rglob("*.y*ml")):
        for doc in yaml.safe_load_all(path.read_text()):
            # `kubectl get crd -o yaml` writes one List of them.
            items = (doc.get("items") or []) if isinstance(doc, dict) and doc.get("kind") == "List" else [doc]
            for item in items:
                if isinstance(item, dict) and item.get("kind") == "CustomResourceDefinition":
                    yield item


def write_crd_schemas(crd_dir: Path, out_dir: Path) -> list[Path]:
    """One strict schema per served CRD version, at `out_dir/{group}/{kind}_{version}.json`."""
    written = []
    for crd in crd_documents(crd_dir):
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"].lower()
        for served in crd["spec"]["versions"]:
            openapi = served.get("schema", {}).get("openAPIV3Schema")
            if openapi is None:
                continue
            path = out_dir / group / f"{kind}_{served['name']}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(strict_crd_schema(with_object_header(openapi))))
            written.append(path)
    if not written:
        raise ToolMissing(f"{crd_dir}: no CustomResourceDefinition with a schema found (set --crd-dir)")
    return written


# --- Kubernetes kinds ------------------------------------------------------------------------

# Kind files point into `_definitions.json`; definitions point at each other within it.
DEFINITION_REFS = ("/api/_definitions.json#/$defs/", "#/$defs/")


def bundled_schema_dir() -> Path:
    folder = f"v{KUBERNETES_VERSION}-local-strict"
    return Path(str(resources.files("kubernetes_validate") / "kubernetes-json-schema" / folder))


def local_refs(node: Any, found: set[str]) -> Any:
    """Point `$ref`s at the file's own `$defs` and collect the definitions they name."""
    if isinstance(node, dict):
        out = {key: local_refs(value, found) for key, value in node.items()}
        ref = out.get("$ref")
        for prefix in DEFINITION_REFS:
            if isinstance(ref, str) and ref.startswith(prefix):
                name = ref.removeprefix(prefix)
                found.add(name)
                out["$ref"] = f"#/$defs/{name}"
        return out
    if isinstance(node, list):
        return [local_refs(item, found) for item in node]
    return node


def standalone(schema: Schema, definitions: dict[str, Schema]) -> Schema:
    """A schema with every definition it reaches copied in, so kubeconform needs no other file."""
    wanted: set[str] = set()
    result: Schema = local_refs(schema, wanted)
    result.pop("$id", None)
    defs: dict[str, Schema] = {}
    while pending := wanted - defs.keys():
        for name in pending:
            defs[name] = local_refs(definitions[name], wanted)
    if defs:
        result["$defs"] = defs
    return result


def kubeconform_name(group: str, version_: str, kind: str) -> str:
    """kubeconform's `{{ .ResourceKind }}{{ .KindSuffix }}.json`, e.g. `deployment-apps-v1.json`."""
    suffix = f"-{group.split('.')[0]}-{version_}" if group else f"-{version_}"
    return f"{kind.lower()}{suffix.lower()}.json"


def write_kubernetes_schemas(out_dir: Path) -> list[Path]:
    """A standalone strict schema for every top-level Kubernetes kind of KUBERNETES_VERSION."""
    source = bundled_schema_dir()
    definitions = json.loads((source / "_definitions.json").read_text())["$defs"]
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sorted(source.glob("*.json")):
        schema = json.loads(path.read_text())
        for gvk in schema.get("x-kubernetes-group-version-kind", []):
            target = out_dir / kubeconform_name(gvk["group"], gvk["version"], gvk["kind"])
            target.write_text(json.dumps(standalone(schema, definitions)))
            written.append(target)
    return written


# --- generation, idempotent ------------------------------------------------------------------


def crd_stamp(crd_dir: Path) -> str:
    """Changes whenever a CRD file under crd_dir is added, removed or edited."""
    digest = hashlib.sha256(GENERATOR + str(crd_dir.resolve()).encode())
    for path in sorted(crd_dir.rglob("*.y*ml")):
        digest.update(f"{path.relative_to(crd_dir)}:{path.stat().st_size}:{path.stat().st_mtime_ns}".encode())
    return digest.hexdigest()


def generate_once(out_dir: Path, stamp: str, write: Callable[[Path], object]) -> Path:
    """Run write(tmp_dir) unless out_dir already holds output for this stamp; swap it in whole."""
    stamp_file = out_dir / STAMP
    if stamp_file.is_file() and stamp_file.read_text() == stamp:
        return out_dir
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}."))
    try:
        write(work)
        (work / STAMP).write_text(stamp)
        shutil.rmtree(out_dir, ignore_errors=True)
        os.replace(work, out_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out_dir


def ensure_schemas(crd_dir: Path | None = None) -> SchemaLocations:
    """Generate (or reuse) the schemas for Kubernetes KUBERNETES_VERSION and the CRDs in crd_dir."""
    crd_dir = crd_dir or default_crd_dir()
    if not crd_dir.is_dir():
        raise ToolMissing(f"{crd_dir}: CRD folder not found (set --crd-dir or ${CRD_DIR_VARIABLE})")
    root = tools_dir() / "schemas"
    try:
        source = f"kubernetes-validate {version('kubernetes-validate')}"
    except PackageNotFoundError as exc:
        raise ToolMissing("kubernetes-validate is not installed: `pip install kubernetes-validate`") from exc
    kubernetes = generate_once(
        root / f"kubernetes-v{KUBERNETES_VERSION}",
        f"{source} {hashlib.sha256(GENERATOR).hexdigest()}",
        write_kubernetes_schemas,
    )
    # One folder per CRD source, so a user's --crd-dir never overwrites the default schemas.
    key = hashlib.sha256(str(crd_dir.resolve()).encode()).hexdigest()[:12]
    crds = generate_once(
        root / f"crds-{key}", crd_stamp(crd_dir), lambda out: write_crd_schemas(crd_dir, out)
    )
    return SchemaLocations(kubernetes=kubernetes, crds=crds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--crd-dir", type=Path, help=f"CRD YAML folder (default ${CRD_DIR_VARIABLE} or ../shared/crds)"
    )
    try:
        locations = ensure_schemas(parser.parse_args().crd_dir)
    except ToolMissing as exc:  # a set-up step (`make schemas`): one line, not a traceback
        raise SystemExit(f"ci.schemas: {exc}") from None
    print(f"schemas: {locations.kubernetes} {locations.crds}")  # noqa: T201


if __name__ == "__main__":
    main()
