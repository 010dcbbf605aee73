"""Security policy scan with checkov (`--framework kubernetes`) on the rendered output.

checkov knows Kubernetes' workload kinds but not Argo's Rollout, so each Rollout is scanned as the
Deployment it stands in for: same metadata (so `checkov.io/skipN` annotations apply) and pod template.
Exceptions are written next to the resource as `checkov.io/skipN: CKV_ID=reason` annotations.
"""

import json
import os
import subprocess
import tempfile
from pathlib import Path

import yaml

from ci.checks import Doc, Problem, Rendered
from kernel.toolpaths import find_tool

CHECK = "checkov"


def as_scanned(doc: Doc) -> Doc:
    if doc.get("kind") != "Rollout" or "template" not in doc.get("spec", {}):
        return doc
    spec = doc["spec"]
    deployment_spec = {key: spec[key] for key in ("replicas", "selector", "template") if key in spec}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": doc.get("metadata", {}),
        "spec": deployment_spec,
    }


def object_of(resource: str, docs: list[Doc]) -> str:
    """checkov's `Kind.namespace.name[.labels]` -> `Kind/name`, naming the Rollout behind a scanned Deployment."""
    kind, _, rest = resource.partition(".")
    rollouts = {doc.get("metadata", {}).get("name") for doc in docs if doc.get("kind") == "Rollout"}
    for name in sorted(rollouts, key=len, reverse=True):
        if kind in ("Deployment", "Pod") and f".{name}." in f".{rest}.":
            return f"Rollout/{name}"
    parts = rest.split(".")
    return f"{kind}/{parts[1] if len(parts) > 1 else parts[0]}"


def check(rendered: list[Rendered]) -> list[Problem]:
    with tempfile.TemporaryDirectory(prefix="agent-rollouts-checkov-") as tmp:
        by_name: dict[str, Rendered] = {}
        for index, overlay in enumerate(rendered):
            name = f"{index:03d}-{overlay.file.stem}.yaml"
            by_name[name] = overlay
            (Path(tmp) / name).write_text(yaml.safe_dump_all([as_scanned(doc) for doc in overlay.docs]))
        result = subprocess.run(
            [
                find_tool("checkov"),
                "-d",
                tmp,
                "--framework",
                "kubernetes",
                "--output",
                "json",
                "--quiet",
                "--compact",
                "--skip-download",
            ],
            capture_output=True,
            text=True,
            check=False,
            # Offline: no calls to the vendor's platform for guidelines or policies.
            env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"},
        )
    try:
        reports = json.loads(result.stdout) if result.stdout.strip() else []
    except json.JSONDecodeError:
        return [Problem("checkov", "-", "-", f"unreadable output: {result.stderr.strip()[-500:]}", CHECK)]
    if result.returncode not in (0, 1):
        return [
            Problem("checkov", "-", "-", f"exited {result.returncode}: {result.stderr.strip()[-500:]}", CHECK)
        ]
    problems = []
    for report in reports if isinstance(reports, list) else [reports]:
        for failed in report.get("results", {}).get("failed_checks", []):
            source = by_name.get(Path(failed["file_path"]).name)
            location = source.location if source else failed["file_path"]
            # spec/containers/[0]/image -> spec.containers[0].image
            keys = [
                key.replace("/[", "[").replace("/", ".")
                for key in (failed.get("check_result") or {}).get("evaluated_keys") or []
                if key != "resource_type"
            ]
            problems.append(
                Problem(
                    location,
                    object_of(failed["resource"], source.docs if source else []),
                    ", ".join(keys) or failed["check_id"],
                    f"{failed['check_id']} {failed['check_name']}",
                    CHECK,
                )
            )
    return problems
