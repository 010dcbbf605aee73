"""Alerting and recording rules: `promtool check rules` and `promtool test rules` on each PrometheusRule.

Each rule's `spec` becomes `<metadata.name>.rules.yaml`; the unit tests in the rule-tests folder
whose `rule_files` name that file run beside it. Every alert needs at least one unit test.
"""

import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml

from ci.checks import Doc, Problem, Rendered, object_name
from kernel.toolpaths import find_tool

CHECK = "promtool"
# `x.rules.yaml: 11:11: group "g2", rule 2, "Bad": could not parse expression: ...`
RULE_ERROR = re.compile(r'group "(?P<group>[^"]*)", rule (?P<rule>\d+), "[^"]*": (?P<reason>.*)')
FAILED_ALERT = re.compile(r"alertname: (?P<alert>[^,]+), time: (?P<time>[^,]+),(?P<detail>.*)", re.DOTALL)


def rule_field(spec: Doc, group_name: str, rule_number: int) -> str:
    for index, group in enumerate(spec.get("groups") or []):
        if group.get("name") == group_name:
            return f"spec.groups[{index}].rules[{rule_number - 1}]"
    return f"spec.groups[name={group_name}]"


def alert_field(spec: Doc, alert: str) -> str:
    for g, group in enumerate(spec.get("groups") or []):
        for r, rule in enumerate(group.get("rules") or []):
            if rule.get("alert") == alert:
                return f"spec.groups[{g}].rules[{r}]"
    return "spec.groups"


def load_tests(tests_dir: Path | None) -> dict[Path, Doc]:
    if tests_dir is None or not tests_dir.is_dir():
        return {}
    return {path: yaml.safe_load(path.read_text()) or {} for path in sorted(tests_dir.glob("*.test.yaml"))}


def tested_alerts(test: Doc) -> set[str]:
    return {
        case["alertname"]
        for block in test.get("tests") or []
        for case in block.get("alert_rule_test") or []
        if "alertname" in case
    }


def run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)


def check_one(rule: Doc, tests: dict[Path, Doc]) -> list[tuple[str, str]]:
    """(field, reason) failures of one PrometheusRule."""
    name = rule.get("metadata", {}).get("name", "unnamed")
    spec: dict[str, Any] = rule.get("spec") or {}
    rules_file = f"{name}.rules.yaml"
    failures: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="agent-rollouts-rules-") as tmp:
        workdir = Path(tmp)
        (workdir / rules_file).write_text(yaml.safe_dump(spec, sort_keys=False))
        checked = run([find_tool("promtool"), "check", "rules", rules_file], workdir)
        if checked.returncode != 0:
            for match in RULE_ERROR.finditer(checked.stderr + checked.stdout):
                failures.append((rule_field(spec, match["group"], int(match["rule"])), match["reason"]))
            return failures or [("spec", (checked.stderr or checked.stdout).strip())]
        mine = {path: test for path, test in tests.items() if rules_file in (test.get("rule_files") or [])}
        alerts = {
            rule_item["alert"]
            for group in spec.get("groups") or []
            for rule_item in group.get("rules") or []
            if "alert" in rule_item
        }
        covered = set().union(*(tested_alerts(test) for test in mine.values())) if mine else set()
        for alert in sorted(alerts - covered):
            failures.append(
                (alert_field(spec, alert), f"alert {alert} has no promtool unit test naming {rules_file}")
            )
        for path in mine:
            shutil.copy(path, workdir / path.name)
            tested = run([find_tool("promtool"), "test", "rules", path.name], workdir)
            if tested.returncode == 0:
                continue
            output = tested.stderr + tested.stdout
            blocks = [FAILED_ALERT.search(block) for block in output.split("FAILED:")[1:]]
            for match in filter(None, blocks):
                detail = " ".join(match["detail"].split("Unit Testing:")[0].split())
                failures.append(
                    (alert_field(spec, match["alert"]), f"{path.name}: at {match['time']}: {detail}")
                )
            if not any(blocks):
                failures.append(("spec", f"{path.name}: {' '.join(output.split())}"))
    return failures


def check(rendered: list[Rendered], tests_dir: Path | None) -> list[Problem]:
    tests = load_tests(tests_dir)
    results: dict[str, list[tuple[str, str]]] = {}  # the same rule renders into many overlays: check once
    problems = []
    for overlay in rendered:
        for doc in overlay.docs:
            if doc.get("kind") != "PrometheusRule":
                continue
            key = yaml.safe_dump(doc.get("spec"), sort_keys=True) + str(doc.get("metadata", {}).get("name"))
            if key not in results:
                results[key] = check_one(doc, tests)
            problems += [
                Problem(overlay.location, object_name(doc), field, reason, CHECK)
                for field, reason in results[key]
            ]
    return problems
