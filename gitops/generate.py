"""The environments repo's generated files, from its `agent-rollouts.yaml` and the Jinja2 templates.

- `base/`: the platform's `rollouts/` and `analysis/`, vendored verbatim.
- `generated/agents/<agent>/`: the agent-neutral base named, imaged and labelled for one agent.
- `generated/envs/<env>/`: a Component with the environment's replicas, canary steps (pauses, gate)
  and links, derived from the platform's own step list so the gates are written once.
- `envs/<env>/<agent>/`: one Application each, pinning the image (kept across refreshes).
- `clusters/<cluster>/`: one Application per destination cluster for the judge and monitoring, which
  exist once per cluster however many environments share it.
"""

import json
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import jinja2
import yaml

from gitops import layout
from gitops.errors import GitopsError
from gitops.files import existing_pin, load_yaml, write_file
from gitops.images import ImageRef, MalformedReference, image_entry, parse_image
from gitops.pinfile import refresh
from gitops.validation import render_folder
from kernel import __version__
from kernel.contract import TOLERANCE_ARG_PREFIX
from kernel.platform import Agent, Environment, Platform
from kernel.toolpaths import REPO_ROOT, is_clone, manifests_root

PROJECT = "agent-rollouts"
ARGOCD_NAMESPACE = "argocd"
ENV_LABEL = "agent-rollouts.io/environment"
CLUSTER_LABEL = "agent-rollouts.io/cluster"
# release-operator moves a canary along its gates; promote-full skips every remaining gate, so it
# belongs to a role of its own (release-override) that few people hold.
OPERATOR_ACTIONS = ("resume", "abort", "retry")
OVERRIDE_ACTIONS = ("promote-full",)
# Argo CD notifications: only what needs a human (a failed sync, a degraded app).
APP_TRIGGERS = ("on-sync-failed", "on-health-degraded")
# Argo Rollouts notifications (rollouts/monitoring): the manual gate (on-rollout-paused's condition
# skips timed pauses), aborts, failed and errored analyses.
ROLLOUT_TRIGGERS = (
    "on-rollout-paused",
    "on-rollout-aborted",
    "on-analysis-run-failed",
    "on-analysis-run-error",
)
GENERATED_NOTE = (
    f"Generated from {layout.PLATFORM_FILE} by `agent-rollouts bootstrap`: edit that file, not this one."
)
PROJECT_PLATFORM_APP = "platform-{cluster}"  # the Application owning a cluster's shared services
# Numbered: `kubectl apply -f argocd/` applies files in name order, and an ApplicationSet applied
# before its AppProject exists makes no Applications until its retry three minutes later.
ARGOCD_FILES = (
    PurePosixPath(layout.ARGOCD_DIR) / "1-project.yaml",
    PurePosixPath(layout.ARGOCD_DIR) / "2-applicationsets.yaml",
    PurePosixPath(layout.ARGOCD_DIR) / "3-platform.yaml",
)
# The uid of the dashboard rollouts/monitoring ships.
GRAFANA_DASHBOARD_PATH = "/d/agent-rollouts-canary/agent-rollouts-canary"
LINK_ANNOTATIONS = ("link.argocd.argoproj.io/judge-report", "link.argocd.argoproj.io/grafana")
# The step list every environment's canary is derived from: the platform's, with the manual gate.
CANARY_STEPS = PurePosixPath("rollouts") / "components" / "prod" / "canary-rollout-steps.yaml"
ISTIO_COMPONENT = PurePosixPath("rollouts") / "components" / "istio"
# The image the judge's Deployment (rollouts/judge) names; a cluster folder pins a digest of it.
JUDGE_MANIFEST_IMAGE = "ghcr.io/agent-rollouts/agent-rollouts"
JUDGE_DEPLOYMENT = PurePosixPath("rollouts") / "judge" / "judge-deployment.yaml"
# Kinds without a namespace that the AppProject must allow explicitly (group, kind).
CLUSTER_SCOPED = {
    ("", "Namespace"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("argoproj.io", "ClusterAnalysisTemplate"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("scheduling.k8s.io", "PriorityClass"),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
}
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")

_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    autoescape=False,  # YAML and Markdown, not HTML
)
_templates.filters["quote"] = json.dumps  # a YAML-safe double-quoted string (JSON is YAML)


@dataclass(frozen=True)
class BootstrapSettings:
    """What bootstrap was told, kept in the repo so a refresh needs no flags."""

    repo_url: str
    branch: str = "main"
    notify_channel: str = "agent-rollouts"

    @classmethod
    def stored(cls, checkout: Path) -> dict[str, str]:
        relative = PurePosixPath(layout.SETTINGS_FILE)
        if not (checkout / relative).is_file():
            return {}
        return {key: str(value) for key, value in load_yaml(checkout, relative).items()}


@dataclass(frozen=True)
class PlatformManifests:
    """The platform manifests that are vendored (a clone's, or the installed package's), and their version."""

    root: Path
    version: str
    commit: str

    @classmethod
    def current(cls, root: Path | None = None) -> "PlatformManifests":
        root = root or manifests_root()
        if not (root == REPO_ROOT and is_clone()):
            return cls(root, __version__, f"agent-rollouts {__version__} package")
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True)
        commit = head.stdout.strip() if head.returncode == 0 else "unknown"
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", *layout.VENDORED_DIRS],
            cwd=root,
            capture_output=True,
            text=True,
        )
        if dirty.stdout.strip():
            commit += " (with uncommitted changes)"
        return cls(root, __version__, commit)


def render_template(template: str, **values: Any) -> str:
    return _templates.get_template(template).render(layout=layout, **values)


class _Dumper(yaml.SafeDumper):
    """Writes multi-line strings (inline kustomize patches) as literal blocks, readable in a diff."""


_Dumper.add_representer(
    str,
    lambda dumper, text: dumper.represent_scalar(
        "tag:yaml.org,2002:str", text, style="|" if "\n" in text else None
    ),
)


def header_comment(header: str) -> str:
    return "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())


def dump(header: str, data: Any) -> str:
    """A generated YAML file: a comment saying what it is, then the data."""
    return header_comment(header) + yaml.dump(data, Dumper=_Dumper, sort_keys=False)


def stale_folders(checkout: Path, platform: Platform) -> list[str]:
    """Folders under envs/ and clusters/ the platform file no longer names (a renamed or removed agent)."""
    wanted = set(map(str, layout.all_env_folders(platform)))
    found = [
        folder.relative_to(checkout).as_posix()
        for pattern in (f"{layout.ENVS_DIR}/*/*", f"{layout.CLUSTERS_DIR}/*")
        for folder in sorted(checkout.glob(pattern))
        if folder.is_dir()
    ]
    return [folder for folder in found if folder not in wanted]


def generate(
    checkout: Path,
    manifests: PlatformManifests,
    platform: Platform,
    settings: BootstrapSettings,
    prune: bool = False,
) -> None:
    """Create or refresh every generated file, keeping image pins and existing variant files."""
    stale = stale_folders(checkout, platform)
    if stale and not prune:
        raise GitopsError(
            f"{', '.join(stale)}: no longer in {layout.PLATFORM_FILE}; their Applications keep running. "
            "Pass --prune to delete these folders (Argo CD then deletes the Applications, keeping their "
            "workloads: preserveResourcesOnDeletion)"
        )
    for folder in stale:
        shutil.rmtree(checkout / folder)
    pins = {
        (env, agent.name): existing_pin(checkout, layout.pin_file(env, agent.name), agent.image)
        for env in platform.environment_names
        for agent in platform.agents
    }
    _vendor(checkout, manifests)
    for agent in platform.agents:
        _write_agent(checkout, platform, agent)
    for env in platform.environments:
        _write_env_component(checkout, platform, env)
        _write_variant(checkout, platform, env, settings)
        for agent in platform.agents:
            pin = pins[(env.name, agent.name)] or _example_pin(checkout, env.name, agent)
            if pin or (checkout / layout.pin_file(env.name, agent.name)).is_file():
                write_env_folder(checkout, env, agent, pin)
        write_file(
            checkout / layout.ENVS_DIR / env.name / "README.md",
            render_template("env-README.md.j2", env=env, names=platform.agent_names),
        )
    for cluster, envs in platform.clusters().items():
        _write_cluster(checkout, platform, cluster, envs)
    _write_argocd(checkout, platform, settings)
    common = _common(platform, settings)
    write_file(checkout / "README.md", render_template("README.md.j2", **common, manifests=manifests))
    write_file(
        checkout / layout.GENERATED_DIR / "README.md", render_template("generated-README.md.j2", **common)
    )
    write_file(checkout / layout.CI_WORKFLOW, render_template("validate-workflow.yaml.j2", **common))
    write_file(checkout / layout.SETTINGS_FILE, yaml.safe_dump(asdict(settings), sort_keys=False))


def _common(platform: Platform, settings: BootstrapSettings) -> dict[str, Any]:
    first = platform.agents[0]
    return {
        "settings": settings,
        "platform": platform,
        "project": PROJECT,
        "argocd_namespace": ARGOCD_NAMESPACE,
        "env_label": ENV_LABEL,
        "operator_actions": OPERATOR_ACTIONS,
        "override_actions": OVERRIDE_ACTIONS,
        "app_triggers": APP_TRIGGERS,
        "auto_envs": [env.name for env in platform.environments if env.automated],
        "manual_envs": [env.name for env in platform.environments if not env.automated],
        "example_agent": first.name,
        "example_image": first.image,
        "version": __version__,
    }


def _vendor(checkout: Path, manifests: PlatformManifests) -> None:
    """Replace base/ with the platform's folders, so files deleted upstream disappear too."""
    if not all((manifests.root / name).is_dir() for name in layout.VENDORED_DIRS):
        raise GitopsError(
            f"{manifests.root}: the platform manifests (rollouts/, analysis/) are missing; "
            "reinstall agent-rollouts from a wheel or run from a clone"
        )
    base = checkout / layout.BASE_DIR
    for name in layout.VENDORED_DIRS:
        shutil.rmtree(base / name, ignore_errors=True)
        shutil.copytree(manifests.root / name, base / name, ignore=_IGNORED)
    write_file(checkout / layout.VERSION_FILE, render_template("VERSION.j2", manifests=manifests))
    write_file(base / "README.md", render_template("base-README.md.j2", manifests=manifests))


def _up(folder: PurePosixPath) -> str:
    """The relative path from `folder` back to the repo root."""
    return "/".join([".."] * len(folder.parts))


def _example_pin(checkout: Path, env: str, agent: Agent) -> ImageRef | None:
    """The project's own agents start from their platform overlay's example digest; any other agent's
    folder appears with its first `release` (or `promote`) to the environment, so nothing unreleased runs."""
    overlay = PurePosixPath(layout.BASE_DIR) / layout.PLATFORM_ENVS / env / agent.name
    if not (checkout / overlay).is_dir():
        return None
    for document in yaml.safe_load_all(render_folder(checkout / overlay, str(overlay))):
        pod = ((document or {}).get("spec") or {}).get("template", {}).get("spec") or {}
        for container in pod.get("containers", []):
            try:
                image = parse_image(str(container.get("image", "")))
            except MalformedReference:
                continue
            if image.repository == agent.image:
                return image
    return None


def _tolerance_args(checkout: Path) -> dict[str, dict[str, int]]:
    """AnalysisTemplates that pass the judge tolerances: name -> check -> index of its
    `tolerance-<check>` arg (analysis/agent-regression.yaml declares one per check, with a default)."""
    found: dict[str, dict[str, int]] = {}
    for path in sorted((checkout / layout.BASE_DIR / "analysis").glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if not isinstance(document, dict) or document.get("kind") != "AnalysisTemplate":
                continue
            for index, arg in enumerate((document.get("spec") or {}).get("args") or []):
                check = str(arg.get("name", "")).removeprefix(TOLERANCE_ARG_PREFIX)
                if str(arg.get("name", "")).startswith(TOLERANCE_ARG_PREFIX):
                    found.setdefault(document["metadata"]["name"], {})[check] = index
    return found


def _write_agent(checkout: Path, platform: Platform, agent: Agent) -> None:
    folder = PurePosixPath(layout.GENERATED_DIR) / "agents" / agent.name
    rollout_patch = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "agent"},
        "spec": {
            "template": {
                "metadata": {"annotations": {"prometheus.io/port": str(agent.port)}},
                "spec": {
                    "containers": [
                        {
                            "name": "agent",
                            "env": [
                                {"name": "AGENT_NAME", "value": agent.name},
                                {"name": "AGENT_PORT", "value": str(agent.port)},
                                {
                                    "name": "AGENT_LLM_API_KEY",
                                    "valueFrom": {
                                        "secretKeyRef": {
                                            "name": f"{agent.name}-llm-credentials",
                                            "key": "api-key",
                                        }
                                    },
                                },
                            ],
                        }
                    ]
                },
            }
        },
    }
    monitor_patch = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": {"name": "agent", "labels": platform.monitoring_labels},
    }
    port = [
        {
            "op": "replace",
            "path": "/spec/template/spec/containers/0/ports/0/containerPort",
            "value": agent.port,
        }
    ]
    patches: list[dict[str, Any]] = [
        {"path": "rollout.yaml"},
        {"target": {"kind": "Rollout"}, "patch": yaml.safe_dump(port, sort_keys=False)},
        {"target": {"kind": "PodMonitor"}, "patch": yaml.safe_dump(monitor_patch, sort_keys=False)},
    ]
    if agent.command:
        operations = [
            {"op": "add", "path": "/spec/template/spec/containers/0/command", "value": list(agent.command)},
            {"op": "remove", "path": "/spec/template/spec/containers/0/args"},
        ]
        patches.append({"target": {"kind": "Rollout"}, "patch": yaml.safe_dump(operations, sort_keys=False)})
    if agent.tolerances:
        templates = _tolerance_args(checkout)
        passed = sorted({check for args in templates.values() for check in args})
        unjudged = sorted(set(agent.tolerances) - set(passed))
        if unjudged:
            raise GitopsError(
                f"{layout.PLATFORM_FILE}: agents[{agent.name}].tolerances: no analysis template passes the "
                f"judge a tolerance for {', '.join(unjudged)} (they pass {', '.join(passed) or 'none'})"
            )
        for template, args in templates.items():
            # Argo passes arg values as strings; the template's default is replaced, per agent.
            operations = [
                {"op": "replace", "path": f"/spec/args/{index}/value", "value": str(agent.tolerances[check])}
                for check, index in args.items()
                if check in agent.tolerances
            ]
            if operations:
                patches.append(
                    {
                        "target": {"kind": "AnalysisTemplate", "name": template},
                        "patch": yaml.safe_dump(operations, sort_keys=False),
                    }
                )
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [f"{_up(folder)}/{layout.BASE_DIR}/rollouts/base"],
        "namePrefix": f"{agent.name}-",
        "labels": [
            {
                "pairs": {"app.kubernetes.io/name": agent.name},
                "includeSelectors": True,
                "includeTemplates": True,
            },
            {"pairs": {"app.kubernetes.io/part-of": PROJECT}},
        ],
        "images": [{"name": "agent-image", "newName": agent.image}],
        "patches": patches,
    }
    header = (
        f"The {agent.name} agent: the platform's agent-neutral base, named, imaged and labelled for it.\n"
        + GENERATED_NOTE
    )
    write_file(checkout / folder / layout.KUSTOMIZATION, dump(header, kustomization))
    write_file(
        checkout / folder / "rollout.yaml",
        dump(
            f"{agent.name}'s name, port and LLM key Secret (`{agent.name}-llm-credentials`, key `api-key`).",
            rollout_patch,
        ),
    )


def _links(platform: Platform, env: Environment) -> dict[str, str]:
    """The AnalysisRun links; AGENT is replaced with the Rollout's agent by the Component's replacements."""
    return {
        LINK_ANNOTATIONS[0]: f"{platform.links['judge']}/reports?agent=AGENT",
        LINK_ANNOTATIONS[
            1
        ]: f"{platform.links['grafana']}{GRAFANA_DASHBOARD_PATH}?var-namespace={env.namespace}&var-agent=AGENT",
    }


def _canary_steps(checkout: Path, platform: Platform, env: Environment) -> list[dict[str, Any]]:
    """The platform's step list with this environment's pauses, gate and links."""
    source = PurePosixPath(layout.BASE_DIR) / CANARY_STEPS
    steps: list[dict[str, Any]] = load_yaml(checkout, source)["spec"]["strategy"]["canary"]["steps"]
    timed = [step for step in steps if (step.get("pause") or {}).get("duration")]
    if len(timed) != len(env.pauses):
        raise GitopsError(
            f"{source}: has {len(timed)} timed pauses, but {layout.PLATFORM_FILE} gives {env.name} {len(env.pauses)}"
        )
    result: list[dict[str, Any]] = []
    pauses = iter(env.pauses)
    for step in steps:
        if "pause" in step and not step["pause"]:
            if env.gate == "manual":
                result.append({"pause": {}})
        elif "pause" in step:
            result.append({"pause": {"duration": next(pauses)}})
        elif "analysis" in step:
            metadata: dict[str, Any] = {"annotations": _links(platform, env)}
            result.append({"analysis": {**step["analysis"], "analysisRunMetadata": metadata}})
        else:
            result.append(step)
    return result


def _write_env_component(checkout: Path, platform: Platform, env: Environment) -> None:
    folder = PurePosixPath(layout.GENERATED_DIR) / "envs" / env.name
    steps = _canary_steps(checkout, platform, env)
    steps_patch = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "agent"},
        "spec": {
            "replicas": env.replicas,
            "strategy": {
                "canary": {
                    "analysis": {"analysisRunMetadata": {"annotations": _links(platform, env)}},
                    "steps": steps,
                }
            },
        },
    }
    annotation_paths = [
        f"spec.strategy.canary.{prefix}analysisRunMetadata.annotations.[{annotation}]"
        for prefix in ("analysis.", "steps.*.analysis.")
        for annotation in LINK_ANNOTATIONS
    ]
    component = {
        "apiVersion": "kustomize.config.k8s.io/v1alpha1",
        "kind": "Component",
        "patches": [
            {
                "path": "canary-rollout.yaml",
                "target": {"kind": "Rollout", "labelSelector": "agent-rollouts.io/strategy=canary"},
            }
        ],
        # Components run after the agent's kustomization: the links take its name from the Rollout.
        # The judge link ends in `?agent=AGENT` (2nd part by `=`), Grafana's in `&var-agent=AGENT` (3rd).
        "replacements": [
            {
                "source": {"kind": "Rollout", "fieldPath": "metadata.labels.[app.kubernetes.io/name]"},
                "targets": [
                    {
                        "select": {"kind": "Rollout", "labelSelector": "agent-rollouts.io/strategy=canary"},
                        "fieldPaths": [path for path in annotation_paths if annotation in path],
                        "options": {"delimiter": "=", "index": index},
                    }
                    for annotation, index in zip(LINK_ANNOTATIONS, (1, 2), strict=True)
                ],
            }
        ],
    }
    gate = (
        "a manual gate before 100% (`kubectl argo rollouts promote`)"
        if env.gate == "manual"
        else "no manual gate"
    )
    header = (
        f"{env.name}: {env.replicas} replicas, canary pauses {', '.join(env.pauses)} before the judge's gates, {gate}.\n"
        + GENERATED_NOTE
    )
    write_file(checkout / folder / layout.KUSTOMIZATION, dump(header, component))
    write_file(
        checkout / folder / "canary-rollout.yaml",
        dump(
            f"{env.name}'s canary: the platform's steps ({CANARY_STEPS}) with {env.name}'s pauses and links.",
            steps_patch,
        ),
    )


def write_env_folder(checkout: Path, env: Environment, agent: Agent, pin: ImageRef | None) -> None:
    """`envs/<env>/<agent>`: the agent built for the environment, pinning `pin`."""
    folder = layout.env_folder(env.name, agent.name)
    up = _up(folder)
    kustomization: dict[str, Any] = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": env.namespace,
        "resources": [f"{up}/{layout.GENERATED_DIR}/agents/{agent.name}"],
        "components": [
            f"{up}/{layout.GENERATED_DIR}/envs/{env.name}",
            f"{up}/{layout.BASE_DIR}/{ISTIO_COMPONENT}",
            f"{up}/{layout.VARIANTS_DIR}/{env.name}",
        ],
    }
    values = {"env": env, "agent": agent}
    header = render_template("envs-kustomization.yaml.j2", body="", **values)
    _write_pin_file(checkout, folder / layout.KUSTOMIZATION, header, kustomization, agent.image, pin)
    write_file(checkout / folder / "README.md", render_template("envs-README.md.j2", **values))


def _write_pin_file(
    checkout: Path,
    relative: PurePosixPath,
    header: str,
    kustomization: dict[str, Any],
    repository: str,
    pin: ImageRef | None,
) -> None:
    """A kustomization whose `images:` entry is a pin: refreshed in place when it exists (keeping the
    comments a person wrote there), else written as the header and the data."""
    path = checkout / relative
    if path.is_file():
        refresh(path, relative, header, kustomization, repository, pin)
        return
    if pin:
        kustomization = {**kustomization, "images": [image_entry(repository, pin)]}
    # Block style, which ruamel's round trip keeps: the first release is a one-line diff.
    write_file(path, header + yaml.dump(kustomization, Dumper=_Dumper, sort_keys=False))


def _judge_image(checkout: Path) -> ImageRef:
    """The judge image the vendored Deployment names: a cluster folder's first pin."""
    for container in load_yaml(checkout, PurePosixPath(layout.BASE_DIR) / JUDGE_DEPLOYMENT)["spec"][
        "template"
    ]["spec"]["containers"]:
        image = parse_image(container["image"])
        if image.repository == JUDGE_MANIFEST_IMAGE:
            return image
    raise GitopsError(f"{JUDGE_DEPLOYMENT}: names no {JUDGE_MANIFEST_IMAGE} image")


def judge_pin(checkout: Path, cluster: str) -> ImageRef | None:
    """The judge image a cluster folder pins."""
    return existing_pin(checkout, layout.cluster_folder(cluster) / layout.KUSTOMIZATION, JUDGE_MANIFEST_IMAGE)


def _write_cluster(checkout: Path, platform: Platform, cluster: str, envs: tuple[Environment, ...]) -> None:
    folder = layout.cluster_folder(cluster)
    up = _up(folder)
    pin = judge_pin(checkout, cluster) or _judge_image(checkout)
    if pin.repository == JUDGE_MANIFEST_IMAGE and platform.judge_image != JUDGE_MANIFEST_IMAGE:
        pin = ImageRef(platform.judge_image, pin.tag, pin.digest)
    judge_patch = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "agent-rollouts-judge", "namespace": "agent-rollouts"},
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "judge",
                            "env": [{"name": "AGENT_ROLLOUTS_PUBLIC_URL", "value": platform.links["judge"]}],
                        }
                    ]
                }
            }
        },
    }
    rule_patch = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "placeholder", "labels": platform.monitoring_labels},
    }
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [
            f"{up}/{layout.BASE_DIR}/rollouts/judge",
            f"{up}/{layout.BASE_DIR}/rollouts/monitoring",
        ],
        "labels": [{"pairs": {CLUSTER_LABEL: cluster}}],
        "patches": [
            {"path": "judge-public-url.yaml"},
            # Every PrometheusRule: the labels the cluster's Prometheus selects rules by.
            {"target": {"kind": "PrometheusRule"}, "patch": yaml.safe_dump(rule_patch, sort_keys=False)},
        ],
    }
    names = ", ".join(env.name for env in envs)
    header = (
        f"{cluster}: the shared services of {names} (canary judge, alerts, dashboard, Rollouts notifications),\n"
        f"owned by the one Application {PROJECT_PLATFORM_APP.format(cluster=cluster)}. Generated by `agent-rollouts bootstrap`;\n"
        "the images entry pins the judge, written by `agent-rollouts release --component judge`."
    )
    _write_pin_file(
        checkout,
        folder / layout.KUSTOMIZATION,
        header_comment(header),
        kustomization,
        JUDGE_MANIFEST_IMAGE,
        pin,
    )
    write_file(
        checkout / folder / "README.md",
        render_template(
            "cluster-README.md.j2",
            cluster=cluster,
            server=envs[0].cluster,
            envs=envs,
            platform=platform,
            application=PROJECT_PLATFORM_APP.format(cluster=cluster),
        ),
    )
    write_file(
        checkout / folder / "judge-public-url.yaml",
        dump(
            "The base of the report links in the judge's verdicts: links.judge of the platform file.",
            judge_patch,
        ),
    )


def _grafana_link(platform: Platform, env: Environment) -> str:
    """The platform's canary dashboard, filtered to the environment's namespace."""
    return f"{platform.links['grafana']}{GRAFANA_DASHBOARD_PATH}?var-namespace={env.namespace}"


def _write_variant(checkout: Path, platform: Platform, env: Environment, settings: BootstrapSettings) -> None:
    """Create the variant's files that are missing; existing ones are the user's and stay as they are."""
    folder = checkout / layout.VARIANTS_DIR / env.name
    values = {
        "env": env,
        "settings": settings,
        "env_label": ENV_LABEL,
        "grafana_link": _grafana_link(platform, env),
        "rollout_triggers": ROLLOUT_TRIGGERS,
    }
    for file, template in (
        (layout.KUSTOMIZATION, "variant-kustomization.yaml.j2"),
        ("annotations.yaml", "variant-annotations.yaml.j2"),
        ("README.md", "variant-README.md.j2"),
    ):
        if not (folder / file).exists():
            write_file(folder / file, render_template(template, **values))


def _write_argocd(checkout: Path, platform: Platform, settings: BootstrapSettings) -> None:
    clusters = platform.clusters()
    namespaces: dict[str, set[str]] = {
        cluster: {env.namespace for env in envs} for cluster, envs in clusters.items()
    }
    cluster_kinds: set[tuple[str, str]] = set()
    env_cluster = {env.name: cluster for cluster, envs in clusters.items() for env in envs}
    targets = [
        (env_cluster[folder.parts[1]] if folder.parts[0] == layout.ENVS_DIR else folder.parts[1], folder)
        for folder in layout.synced_folders(checkout, platform)
    ]
    for cluster, folder in targets:
        for document in yaml.safe_load_all(render_folder(checkout / folder, str(folder))):
            if not document:
                continue
            group = str(document.get("apiVersion", "")).rpartition("/")[0]
            if (group, document.get("kind")) in CLUSTER_SCOPED:
                cluster_kinds.add((group, document["kind"]))
            elif document.get("metadata", {}).get("namespace"):
                namespaces[cluster].add(document["metadata"]["namespace"])
    common = _common(platform, settings)
    servers = {cluster: envs[0].cluster for cluster, envs in clusters.items()}
    write_file(
        checkout / ARGOCD_FILES[0],
        render_template(
            "project.yaml.j2",
            **common,
            destinations=[(servers[cluster], sorted(names)) for cluster, names in namespaces.items()],
            cluster_kinds=sorted(cluster_kinds),
        ),
    )
    appsets = [
        render_template(
            "applicationset.yaml.j2",
            **common,
            env=env,
            grafana_app_link=_grafana_link(platform, env) + "&var-agent={{ .path.basename }}",
            judge_app_link=f"{platform.links['judge']}/reports?agent={{{{ .path.basename }}}}",
        )
        for env in platform.environments
    ]
    write_file(checkout / ARGOCD_FILES[1], "---\n".join(appsets))
    applications = [
        render_template(
            "platform-application.yaml.j2",
            **common,
            name=PROJECT_PLATFORM_APP.format(cluster=cluster),
            cluster=cluster,
            server=servers[cluster],
            envs=envs,
            automated=all(env.automated for env in envs),
            folder=layout.cluster_folder(cluster),
            judge_app_link=f"{platform.links['judge']}/reports",
            grafana_app_link=f"{platform.links['grafana']}{GRAFANA_DASHBOARD_PATH}",
        )
        for cluster, envs in clusters.items()
    ]
    write_file(checkout / ARGOCD_FILES[2], "---\n".join(applications))
    write_file(checkout / layout.ARGOCD_DIR / "README.md", render_template("argocd-README.md.j2", **common))
