"""What the rendered manifests tell the rehearsal to do: canary steps, analyses, resolved args."""

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

# Argo Rollouts names ReplicaSets by a pod-template hash spelled in this alphabet (no vowels).
_HASH_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)?\Z")
_ARG_REFERENCE = re.compile(r"\{\{\s*args\.([A-Za-z0-9_.-]+)\s*\}\}")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


class PlanError(ValueError):
    """The rendered manifests do not describe a rollout the rehearsal can walk."""


def pod_template_hash(image: str) -> str:
    """A stable, Argo-looking pod-template hash for an image reference."""
    digest = hashlib.sha256(image.encode()).digest()
    return "".join(_HASH_ALPHABET[b % len(_HASH_ALPHABET)] for b in digest[:10])


def duration_seconds(value: str | int | float) -> float:
    """Argo durations: `30s`, `5m`, `1h`, or a bare number of seconds."""
    match = _DURATION.match(str(value).strip())
    if match is None:
        raise PlanError(f"cannot read duration {value!r}")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


@dataclass(frozen=True)
class AnalysisRef:
    """An analysis block of a Rollout: templates plus the args the Rollout passes."""

    templates: tuple[str, ...]
    args: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class Step:
    kind: str  # setWeight | pause | analysis
    weight: int | None = None
    pause_seconds: float | None = None  # None with kind == "pause" is a manual gate
    analysis: AnalysisRef | None = None

    def describe(self) -> str:
        if self.kind == "setWeight":
            return f"setWeight {self.weight}"
        if self.kind == "pause":
            return "pause until promoted" if self.pause_seconds is None else f"pause {self.pause_seconds:g}s"
        assert self.analysis is not None
        return "analysis " + ", ".join(self.analysis.templates)


@dataclass(frozen=True)
class RolloutPlan:
    name: str
    namespace: str
    labels: dict[str, str]
    image: str
    steps: tuple[Step, ...]
    background: AnalysisRef | None
    background_starting_step: int
    templates: dict[str, dict[str, Any]] = field(repr=False)


def _analysis_ref(block: dict[str, Any], where: str) -> AnalysisRef:
    names = []
    for template in block.get("templates") or []:
        if "templateName" not in template:
            raise PlanError(f"{where}: a template entry has no templateName")
        names.append(template["templateName"])
    if not names:
        raise PlanError(f"{where}: no templates")
    return AnalysisRef(templates=tuple(names), args=tuple(block.get("args") or []))


def _step(raw: dict[str, Any], index: int) -> Step:
    if "setWeight" in raw:
        return Step("setWeight", weight=int(raw["setWeight"]))
    if "pause" in raw:
        duration = (raw["pause"] or {}).get("duration")
        return Step("pause", pause_seconds=None if duration is None else duration_seconds(duration))
    if "analysis" in raw:
        return Step("analysis", analysis=_analysis_ref(raw["analysis"], f"steps[{index}].analysis"))
    raise PlanError(f"steps[{index}]: unsupported step {sorted(raw)}")


def read_plan(rendered: str) -> RolloutPlan:
    """Read the one canary Rollout and the AnalysisTemplates of a rendered overlay."""
    documents = [d for d in yaml.safe_load_all(rendered) if d]
    rollouts = [d for d in documents if d.get("kind") == "Rollout"]
    if len(rollouts) != 1:
        raise PlanError(f"expected one Rollout in the rendered overlay, found {len(rollouts)}")
    rollout = rollouts[0]
    name = rollout["metadata"]["name"]
    canary = rollout["spec"].get("strategy", {}).get("canary")
    if canary is None:
        raise PlanError(f"Rollout {name}: spec.strategy.canary is missing (the rehearsal walks canary steps)")
    templates = {
        d["metadata"]["name"]: d
        for d in documents
        if d.get("kind") in ("AnalysisTemplate", "ClusterAnalysisTemplate")
    }
    background = canary.get("analysis")
    plan = RolloutPlan(
        name=name,
        namespace=rollout["metadata"].get("namespace", "default"),
        labels=dict(rollout["metadata"].get("labels") or {}),
        image=rollout["spec"]["template"]["spec"]["containers"][0]["image"],
        steps=tuple(_step(s, i) for i, s in enumerate(canary.get("steps") or [])),
        background=_analysis_ref(background, "strategy.canary.analysis") if background else None,
        background_starting_step=int((background or {}).get("startingStep", 0)),
        templates=templates,
    )
    for ref in [plan.background, *(s.analysis for s in plan.steps)]:
        for template in ref.templates if ref else ():
            if template not in templates:
                raise PlanError(
                    f"Rollout {name} names AnalysisTemplate {template!r}, which the overlay lacks"
                )
    return plan


@dataclass(frozen=True)
class RunContext:
    """What Argo knows when it creates an AnalysisRun: hashes, the Rollout's metadata, secrets."""

    stable_hash: str
    canary_hash: str
    fields: dict[str, str]  # fieldRef paths of the Rollout: metadata.name, metadata.labels['x'], ...
    secrets: dict[tuple[str, str], str]
    overrides: dict[str, str]  # local addresses that replace in-cluster URLs, by arg name


def rollout_fields(plan: RolloutPlan) -> dict[str, str]:
    """The fieldRef paths an AnalysisRun arg may read from the Rollout's metadata."""
    fields = {"metadata.name": plan.name, "metadata.namespace": plan.namespace}
    fields.update({f"metadata.labels['{key}']": value for key, value in plan.labels.items()})
    return fields


def _resolve_value(arg: dict[str, Any], context: RunContext, where: str) -> str:
    name = arg["name"]
    if name in context.overrides:
        return context.overrides[name]
    if "value" in arg:
        return str(arg["value"])
    source = arg.get("valueFrom") or {}
    if "podTemplateHashValue" in source:
        return context.canary_hash if source["podTemplateHashValue"] == "Latest" else context.stable_hash
    if "secretKeyRef" in source:
        ref = source["secretKeyRef"]
        key = (ref["name"], ref["key"])
        if key not in context.secrets:
            raise PlanError(
                f"{where}: arg {name!r} needs Secret {ref['name']}/{ref['key']}, which is not set"
            )
        return context.secrets[key]
    if "fieldRef" in source:
        path = source["fieldRef"]["fieldPath"]
        if path not in context.fields:
            raise PlanError(f"{where}: arg {name!r} reads {path}, which the Rollout does not have")
        return context.fields[path]
    raise PlanError(f"{where}: arg {name!r} has no value")


def build_metrics(plan: RolloutPlan, ref: AnalysisRef, context: RunContext) -> list[dict[str, Any]]:
    """The metrics of an AnalysisRun, with every `{{args.x}}` resolved the way Argo resolves it."""
    declared: dict[str, dict[str, Any]] = {}
    for template_name in ref.templates:
        for arg in plan.templates[template_name]["spec"].get("args") or []:
            declared[arg["name"]] = arg
    for arg in ref.args:  # the Rollout's values override template defaults
        declared[arg["name"]] = arg
    values = {name: _resolve_value(arg, context, f"Rollout {plan.name}") for name, arg in declared.items()}
    metrics = []
    for template_name in ref.templates:
        for metric in plan.templates[template_name]["spec"]["metrics"]:
            text = json.dumps(metric)
            for missing in set(_ARG_REFERENCE.findall(text)) - set(values):
                raise PlanError(f"AnalysisTemplate {template_name}: args.{missing} is used but never set")
            # json.dumps keeps the substitution inside JSON strings valid for values with quotes.
            text = _ARG_REFERENCE.sub(lambda m: json.dumps(values[m.group(1)])[1:-1], text)
            metrics.append({"template": template_name, **json.loads(text)})
    return metrics
