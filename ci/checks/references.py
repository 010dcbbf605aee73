"""Cross-reference checks Kubernetes cannot do: the names a Rollout relies on, its steps, its judge's
tolerances, its images."""

import re
from collections.abc import Iterator

from ci.checks import Doc, Problem, Rendered, object_name
from kernel.catalog import namespace
from kernel.contract import TOLERANCE_ARG_PREFIX

CHECK = "references"
CANARY_WEIGHTS = [10, 25, 50, 100]
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}\Z")
POD_TEMPLATE_KINDS = {"Rollout", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}


def analyses(rollout: Doc) -> Iterator[tuple[str, Doc]]:
    """(field path, analysis block) of every place a Rollout runs AnalysisTemplates."""
    strategy = rollout.get("spec", {}).get("strategy") or {}
    canary, blue_green = strategy.get("canary") or {}, strategy.get("blueGreen") or {}
    if canary.get("analysis"):
        yield "spec.strategy.canary.analysis", canary["analysis"]
    for index, step in enumerate(canary.get("steps") or []):
        if step.get("analysis"):
            yield f"spec.strategy.canary.steps[{index}].analysis", step["analysis"]
    for key in ("prePromotionAnalysis", "postPromotionAnalysis"):
        if blue_green.get(key):
            yield f"spec.strategy.blueGreen.{key}", blue_green[key]


def check_analyses(
    rollout: Doc, docs: list[Doc], cluster_templates: dict[str, Doc]
) -> Iterator[tuple[str, str]]:
    templates = {doc["metadata"]["name"]: doc for doc in docs if doc.get("kind") == "AnalysisTemplate"}
    for path, analysis in analyses(rollout):
        supplied = {arg.get("name") for arg in analysis.get("args") or []}
        for index, ref in enumerate(analysis.get("templates") or []):
            field = f"{path}.templates[{index}].templateName"
            name = ref.get("templateName", "")
            kind = "ClusterAnalysisTemplate" if ref.get("clusterScope") else "AnalysisTemplate"
            template = (cluster_templates if ref.get("clusterScope") else templates).get(name)
            if template is None:
                yield field, f"{kind} {name!r} does not exist in this render"
                continue
            for arg in template.get("spec", {}).get("args") or []:
                if "value" not in arg and "valueFrom" not in arg and arg.get("name") not in supplied:
                    yield (
                        f"{path}.args",
                        f"{kind} {name!r} needs arg {arg.get('name')!r}, which the Rollout does not supply",
                    )


def check_tolerances(rollout: Doc, docs: list[Doc]) -> Iterator[tuple[str, str]]:
    """Every analysis that asks the judge sends the same tolerances.

    The judge's fail e-processes depend on the tolerances; only calls with the same ones are looks at
    the same processes, which is what keeps a whole rollout inside one false-abort budget.
    """
    templates = {doc["metadata"]["name"]: doc for doc in docs if doc.get("kind") == "AnalysisTemplate"}
    first: tuple[str, dict[str, str]] | None = None
    for path, analysis in analyses(rollout):
        given = {a.get("name"): str(a["value"]) for a in analysis.get("args") or [] if "value" in a}
        sent: dict[str, str] = {}
        for ref in analysis.get("templates") or []:
            for arg in (templates.get(ref.get("templateName", "")) or {}).get("spec", {}).get("args") or []:
                name = arg.get("name", "")
                if name.startswith(TOLERANCE_ARG_PREFIX):
                    sent[name] = given.get(name, str(arg.get("value")))
        if not sent:
            continue
        if first is None:
            first = (path, sent)
            continue
        for name in sorted(sent.keys() & first[1].keys()):
            if sent[name] != first[1][name]:
                yield (
                    f"{path}.args",
                    f"{name} is {sent[name]!r} here but {first[1][name]!r} at {first[0]}: every "
                    "analysis asking the judge must send the same tolerances to share one "
                    "false-abort budget (docs/judge.md)",
                )


def named(docs: list[Doc], kind: str, name: str) -> Doc | None:
    return next(
        (d for d in docs if d.get("kind") == kind and d.get("metadata", {}).get("name") == name), None
    )


def check_targets(rollout: Doc, docs: list[Doc]) -> Iterator[tuple[str, str]]:
    """Services, VirtualServices (and their routes), DestinationRules (and their subsets) must exist."""
    strategy = rollout.get("spec", {}).get("strategy") or {}
    canary, blue_green = strategy.get("canary") or {}, strategy.get("blueGreen") or {}
    for field, name in [
        ("spec.strategy.canary.canaryService", canary.get("canaryService")),
        ("spec.strategy.canary.stableService", canary.get("stableService")),
        ("spec.strategy.blueGreen.activeService", blue_green.get("activeService")),
        ("spec.strategy.blueGreen.previewService", blue_green.get("previewService")),
    ]:
        if name and named(docs, "Service", name) is None:
            yield field, f"Service {name!r} does not exist in this render"

    istio_field = "spec.strategy.canary.trafficRouting.istio"
    istio = (canary.get("trafficRouting") or {}).get("istio") or {}
    virtual_services = (
        [(f"{istio_field}.virtualService", istio["virtualService"])] if istio.get("virtualService") else []
    )
    virtual_services += [
        (f"{istio_field}.virtualServices[{i}]", v) for i, v in enumerate(istio.get("virtualServices") or [])
    ]
    for field, ref in virtual_services:
        service = named(docs, "VirtualService", ref.get("name", ""))
        if service is None:
            yield f"{field}.name", f"VirtualService {ref.get('name')!r} does not exist in this render"
            continue
        http_routes = {route.get("name") for route in service.get("spec", {}).get("http") or []}
        for index, route in enumerate(ref.get("routes") or []):
            if route not in http_routes:
                yield (
                    f"{field}.routes[{index}]",
                    f"VirtualService {ref['name']!r} has no http route named {route!r}",
                )

    rule_ref = istio.get("destinationRule")
    if rule_ref:
        rule = named(docs, "DestinationRule", rule_ref.get("name", ""))
        if rule is None:
            yield (
                f"{istio_field}.destinationRule.name",
                f"DestinationRule {rule_ref.get('name')!r} does not exist in this render",
            )
            return
        subsets = {subset.get("name") for subset in rule.get("spec", {}).get("subsets") or []}
        for key in ("canarySubsetName", "stableSubsetName"):
            if rule_ref.get(key) not in subsets:
                yield (
                    f"{istio_field}.destinationRule.{key}",
                    f"DestinationRule {rule_ref['name']!r} has no subset {rule_ref.get(key)!r}",
                )


def check_steps(rollout: Doc) -> Iterator[tuple[str, str]]:
    """Canary weights exactly 10/25/50/100, and an analysis step before each increase."""
    canary = (rollout.get("spec", {}).get("strategy") or {}).get("canary")
    if canary is None:
        return
    steps = canary.get("steps") or []
    weights = [(i, step["setWeight"]) for i, step in enumerate(steps) if "setWeight" in step]
    if [weight for _, weight in weights] != CANARY_WEIGHTS:
        yield (
            "spec.strategy.canary.steps",
            f"setWeight steps are {[w for _, w in weights]}, expected {CANARY_WEIGHTS}",
        )
        return
    for (previous, _), (index, weight) in zip(weights, weights[1:], strict=False):
        if not any("analysis" in step for step in steps[previous + 1 : index]):
            yield (
                f"spec.strategy.canary.steps[{index}].setWeight",
                f"no analysis step gates the increase to {weight}%",
            )


def pod_spec(doc: Doc) -> Doc:
    return doc.get("spec", {}).get("template", {}).get("spec") or {}


def check_digests(doc: Doc) -> Iterator[tuple[str, str]]:
    for key in ("initContainers", "containers"):
        for container in pod_spec(doc).get(key) or []:
            image = container.get("image", "")
            if not DIGEST.search(image):
                field = f"spec.template.spec.{key}[name={container.get('name')}].image"
                yield field, f"prod image {image!r} is not pinned by digest (@sha256:...)"


def is_prod(overlay: Rendered) -> bool:
    parts = overlay.location.replace("\\", "/").split("/")
    in_prod_folder = any(a == "envs" and b == "prod" for a, b in zip(parts, parts[1:], strict=False))
    return in_prod_folder or any(
        doc.get("metadata", {}).get("namespace") == namespace("prod") for doc in overlay.docs
    )


def check(rendered: list[Rendered]) -> list[Problem]:
    cluster_templates = {
        doc["metadata"]["name"]: doc
        for r in rendered
        for doc in r.docs
        if doc.get("kind") == "ClusterAnalysisTemplate"
    }
    problems = []
    for overlay in rendered:
        prod = is_prod(overlay)
        for doc in overlay.docs:
            found: list[tuple[str, str]] = []
            if doc.get("kind") == "Rollout":
                found += check_analyses(doc, overlay.docs, cluster_templates)
                found += check_tolerances(doc, overlay.docs)
                found += check_targets(doc, overlay.docs)
                found += check_steps(doc)
            if prod and doc.get("kind") in POD_TEMPLATE_KINDS:
                found += check_digests(doc)
            problems += [Problem(overlay.location, object_name(doc), f, m, CHECK) for f, m in found]
    return problems
