"""`agent-rollouts validate`: render overlays, then schema, rule, reference and policy checks.

Library API (the GitOps `release` calls it before committing):
`validate(paths, crd_dir=None, policy=True) -> Report`, with `report.ok` and `report.problems`.
"""

import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ci.checks import Problem, Rendered, kubeconform, promtool, references
from ci.checks import policy as policy_scan
from ci.render import RenderError, kustomize_build, overlays
from ci.schemas import ensure_schemas
from kernel.toolpaths import REPO_ROOT, manifests_root

RULE_TESTS = manifests_root() / "rollouts" / "monitoring" / "tests"
RENDER = "render"
CHECKS = (RENDER, kubeconform.CHECK, promtool.CHECK, references.CHECK, policy_scan.CHECK)


@dataclass
class Report:
    locations: list[str]
    checks: list[str]
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def display(path: Path) -> str:
    """A path as users wrote it: relative to the repo root when inside it."""
    try:
        return path.resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return str(path)


def build(path: Path) -> str | RenderError:
    """A kustomization directory is rendered; any other YAML file is taken as already rendered output."""
    if path.name in ("kustomization.yaml", "kustomization.yml"):
        path = path.parent
    if path.is_file():
        return path.read_text()
    try:
        return kustomize_build(path)
    except RenderError as exc:
        return exc


def validate(
    paths: Sequence[Path] = (),
    *,
    crd_dir: Path | None = None,
    policy: bool = True,
    rule_tests: Path | None = RULE_TESTS,
) -> Report:
    """Validate kustomization directories (or rendered YAML files); default: every overlay of this repo."""
    targets = list(paths) or overlays()
    checks = [c for c in CHECKS if policy or c != policy_scan.CHECK]
    report = Report(locations=[display(p) for p in targets], checks=checks)
    schemas = ensure_schemas(crd_dir)
    with tempfile.TemporaryDirectory(prefix="agent-rollouts-validate-") as tmp:
        # kustomize runs as one process per overlay; two at a time suits small CI runners.
        with ThreadPoolExecutor(max_workers=2) as pool:
            outputs = list(pool.map(build, targets))
        rendered: list[Rendered] = []
        for index, (location, output) in enumerate(zip(report.locations, outputs, strict=True)):
            if isinstance(output, RenderError):
                report.problems.append(Problem(location, "-", "kustomization.yaml", output.reason, RENDER))
                continue
            try:
                docs = [doc for doc in yaml.safe_load_all(output) if isinstance(doc, dict)]
            except yaml.YAMLError as exc:
                report.problems.append(Problem(location, "-", "-", f"not YAML: {exc}", RENDER))
                continue
            file = Path(tmp) / f"{index:03d}-{location.strip('/').replace('/', '__')}.yaml"
            file.write_text(output)
            rendered.append(Rendered(location, file, docs))
        if rendered:
            report.problems += kubeconform.check(rendered, schemas)
            report.problems += promtool.check(rendered, rule_tests)
            report.problems += references.check(rendered)
            if policy:
                report.problems += policy_scan.check(rendered)
    # Group the output by overlay, then by check, whatever order the tools reported in.
    order = {location: index for index, location in enumerate(report.locations)}
    report.problems.sort(key=lambda p: (order.get(p.location, len(order)), CHECKS.index(p.check)))
    return report


def junit_xml(report: Report) -> str:
    """One test case per location and check; each problem is a failure message."""
    suite = ET.Element("testsuite", name="agent-rollouts validate")
    for location in report.locations:
        for check in report.checks:
            case = ET.SubElement(suite, "testcase", classname=location, name=check)
            for problem in report.problems:
                if problem.location == location and problem.check == check:
                    failure = ET.SubElement(case, "failure", message=f"{problem.object}: {problem.field}")
                    failure.text = problem.message
    cases = suite.findall("testcase")
    suite.set("tests", str(len(cases)))
    suite.set("failures", str(sum(1 for case in cases if case.find("failure") is not None)))
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"
