"""Schema validation with kubeconform -strict against the offline schemas (no schema = failure)."""

import json
import re
import subprocess

from ci.checks import Problem, Rendered
from ci.schemas import SchemaLocations
from kernel.toolpaths import find_tool

CHECK = "kubeconform"
# kubeconform folds nested schema errors into `msg` as "- at '/json/pointer': reason".
NESTED_ERROR = re.compile(r"at '([^']*)': (.*?)(?=\s+- at '|$)")


def field_path(pointer: str) -> str:
    """`/spec/strategy/canary/steps/3` -> `spec.strategy.canary.steps[3]`."""
    path = ""
    for part in pointer.strip("/").split("/"):
        path += f"[{part}]" if part.isdigit() else f".{part}"
    return path.lstrip(".") or "(root)"


def errors_of(resource: dict[str, object]) -> list[tuple[str, str]]:
    """(field, reason) pairs, the most specific kubeconform reports."""
    message = str(resource.get("msg", ""))
    nested = [(field_path(p), reason) for p, reason in NESTED_ERROR.findall(message)]
    specific = [(f, reason) for f, reason in nested if reason.strip() != "validation failed"]
    if specific:
        return specific
    listed = resource.get("validationErrors")
    if isinstance(listed, list) and listed:
        return [(field_path(e["path"]), e["msg"]) for e in listed]
    return [("(schema)", message)]


def check(rendered: list[Rendered], schemas: SchemaLocations) -> list[Problem]:
    by_file = {str(r.file): r.location for r in rendered}
    result = subprocess.run(
        [find_tool("kubeconform"), "-strict", "-output", "json", "-n", "2", *schemas.kubeconform_flags()]
        + list(by_file),
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        resources = json.loads(result.stdout)["resources"]
    except (json.JSONDecodeError, KeyError) as exc:
        detail = (result.stderr or result.stdout).strip()
        return [Problem("kubeconform", "-", "-", f"unreadable output ({exc}): {detail}", CHECK)]
    problems = []
    for resource in resources:
        if resource.get("status") not in ("statusInvalid", "statusError"):
            continue
        location = by_file.get(resource.get("filename", ""), resource.get("filename", "?"))
        obj = f"{resource.get('kind') or '?'}/{resource.get('name') or '?'}"
        for field, reason in errors_of(resource):
            problems.append(Problem(location, obj, field, reason, CHECK))
    return problems
