"""The environments repo's generated files, rendered from the Jinja2 templates in `templates/`."""

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
from gitops.files import load_yaml, write_file
from gitops.images import ImageRef, MalformedReference, image_entry, parse_image, pinned_image
from gitops.validation import render_folder
from kernel import __version__
from kernel.catalog import AGENTS, ENVIRONMENTS, image_repository, namespace
from kernel.toolpaths import REPO_ROOT

PROJECT = "agent-rollouts"
ARGOCD_NAMESPACE = "argocd"
CLUSTER = "https://kubernetes.default.svc"
AUTOMATED_ENVS = ("dev", "staging")  # prod syncs only when someone presses sync
ENV_LABEL = "agent-rollouts.io/environment"
ROLLOUT_ACTIONS = ("resume", "promote-full", "abort", "retry")
APP_TRIGGERS = ("on-deployed", "on-health-degraded", "on-sync-failed")
ROLLOUT_TRIGGERS = ("on-rollout-paused", "on-rollout-aborted", "on-analysis-run-failed")
# Numbered: `kubectl apply -f argocd/` applies files in name order, and an ApplicationSet applied
# before its AppProject exists makes no Applications until its retry three minutes later.
ARGOCD_FILES = (
    PurePosixPath(layout.ARGOCD_DIR) / "1-project.yaml",
    PurePosixPath(layout.ARGOCD_DIR) / "2-applicationsets.yaml",
)
# The uid of the dashboard rollouts/monitoring ships.
GRAFANA_DASHBOARD_PATH = "/d/agent-rollouts-canary/agent-rollouts-canary"
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
    grafana_url: str = "https://grafana.example.com"
    judge_url: str = "https://judge.example.com"
    notify_channel: str = "agent-rollouts"

    @classmethod
    def stored(cls, checkout: Path) -> dict[str, str]:
        relative = PurePosixPath(layout.SETTINGS_FILE)
        if not (checkout / relative).is_file():
            return {}
        return {key: str(value) for key, value in load_yaml(checkout, relative).items()}


@dataclass(frozen=True)
class Platform:
    """The platform checkout whose manifests are vendored, and its version."""

    root: Path
    version: str
    commit: str

    @classmethod
    def current(cls, root: Path = REPO_ROOT) -> "Platform":
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


def generate(checkout: Path, platform: Platform, settings: BootstrapSettings) -> None:
    """Create or refresh every generated file, keeping image pins and existing variant files."""
    pins = {(env, agent): _existing_pin(checkout, env, agent) for env in ENVIRONMENTS for agent in AGENTS}
    _vendor(checkout, platform)
    for env in ENVIRONMENTS:
        _write_variant(checkout, env, settings)
        for name in layout.ENV_DIR_NAMES:
            pin = pins.get((env, name)) or (_platform_image(checkout, env, name) if name in AGENTS else None)
            _write_env_folder(checkout, env, name, pin)
        write_file(
            checkout / layout.ENVS_DIR / env / "README.md",
            render_template(
                "env-README.md.j2",
                env=env,
                names=layout.ENV_DIR_NAMES,
                namespace=namespace(env),
                automated=env in AUTOMATED_ENVS,
            ),
        )
    _write_argocd(checkout, settings)
    write_file(
        checkout / "README.md", render_template("README.md.j2", **_common(settings), platform=platform)
    )
    write_file(checkout / layout.SETTINGS_FILE, yaml.safe_dump(asdict(settings), sort_keys=False))


def _common(settings: BootstrapSettings) -> dict[str, Any]:
    return {
        "settings": settings,
        "project": PROJECT,
        "argocd_namespace": ARGOCD_NAMESPACE,
        "cluster": CLUSTER,
        "env_label": ENV_LABEL,
        "rollout_actions": ROLLOUT_ACTIONS,
        "app_triggers": APP_TRIGGERS,
        "auto_envs": [env for env in ENVIRONMENTS if env in AUTOMATED_ENVS],
        "manual_envs": [env for env in ENVIRONMENTS if env not in AUTOMATED_ENVS],
        "example_agent": AGENTS[0],
        "example_image": image_repository(AGENTS[0]),
    }


def _existing_pin(checkout: Path, env: str, agent: str) -> ImageRef | None:
    relative = layout.pin_file(env, agent)
    return pinned_image(agent, load_yaml(checkout, relative)) if (checkout / relative).is_file() else None


def _vendor(checkout: Path, platform: Platform) -> None:
    """Replace base/ with the platform's folders, so files deleted upstream disappear too."""
    if not (platform.root / layout.PLATFORM_ENVS).is_dir():
        raise GitopsError(f"{platform.root / layout.PLATFORM_ENVS}: the platform has no overlays to vendor")
    base = checkout / layout.BASE_DIR
    for name in layout.VENDORED_DIRS:
        shutil.rmtree(base / name, ignore_errors=True)
        shutil.copytree(platform.root / name, base / name, ignore=_IGNORED)
    write_file(checkout / layout.VERSION_FILE, render_template("VERSION.j2", platform=platform))
    write_file(base / "README.md", render_template("base-README.md.j2", platform=platform))


def _platform_overlay(env: str, name: str) -> PurePosixPath:
    return layout.PLATFORM_ENVS / env / name


def _platform_image(checkout: Path, env: str, agent: str) -> ImageRef:
    """The image the platform's own overlay renders for an agent: the first pin of a new folder."""
    overlay = PurePosixPath(layout.BASE_DIR) / _platform_overlay(env, agent)
    for document in yaml.safe_load_all(render_folder(checkout / overlay, str(overlay))):
        pod = ((document or {}).get("spec") or {}).get("template", {}).get("spec") or {}
        for container in [*pod.get("containers", []), *pod.get("initContainers", [])]:
            try:
                image = parse_image(str(container.get("image", "")))
            except MalformedReference:
                continue
            if image.repository == image_repository(agent):
                return image
    raise GitopsError(f"{overlay}: renders no container image from {image_repository(agent)}")


def _write_env_folder(checkout: Path, env: str, name: str, pin: ImageRef | None) -> None:
    folder = checkout / layout.env_folder(env, name)
    kustomization: dict[str, Any] = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [f"../../../{layout.BASE_DIR}/{_platform_overlay(env, name)}"],
        "components": [f"../../../{layout.VARIANTS_DIR}/{env}"],
    }
    if pin:
        kustomization["images"] = [image_entry(name, pin)]
    # The same YAML dumper as release's rewrite, so the first release is a one-line diff.
    body = yaml.safe_dump(kustomization, sort_keys=False)
    values = {
        "env": env,
        "name": name,
        "platform_overlay": _platform_overlay(env, name),
        "namespace": namespace(env),
        "automated": env in AUTOMATED_ENVS,
        "repository": image_repository(name) if name in AGENTS else "",
    }
    write_file(
        folder / layout.KUSTOMIZATION,
        render_template("envs-kustomization.yaml.j2", body=body, pinned=bool(pin), **values),
    )
    write_file(folder / "README.md", render_template("envs-README.md.j2", **values))


def _grafana_link(settings: BootstrapSettings, env: str) -> str:
    """The platform's canary dashboard, filtered to the environment's namespace."""
    return f"{settings.grafana_url}{GRAFANA_DASHBOARD_PATH}?var-namespace={namespace(env)}"


def _write_variant(checkout: Path, env: str, settings: BootstrapSettings) -> None:
    """Create the variant's files that are missing; existing ones are the user's and stay as they are."""
    folder = checkout / layout.VARIANTS_DIR / env
    values = {
        "env": env,
        "settings": settings,
        "env_label": ENV_LABEL,
        "grafana_link": _grafana_link(settings, env),
        "rollout_triggers": ROLLOUT_TRIGGERS,
    }
    for file, template in (
        (layout.KUSTOMIZATION, "variant-kustomization.yaml.j2"),
        ("annotations.yaml", "variant-annotations.yaml.j2"),
        ("README.md", "variant-README.md.j2"),
    ):
        if not (folder / file).exists():
            write_file(folder / file, render_template(template, **values))


def _write_argocd(checkout: Path, settings: BootstrapSettings) -> None:
    namespaces = {namespace(env) for env in ENVIRONMENTS}
    cluster_kinds: set[tuple[str, str]] = set()
    for env_folder in layout.all_env_folders():
        for document in yaml.safe_load_all(render_folder(checkout / env_folder, str(env_folder))):
            if not document:
                continue
            group = str(document.get("apiVersion", "")).rpartition("/")[0]
            if (group, document.get("kind")) in CLUSTER_SCOPED:
                cluster_kinds.add((group, document["kind"]))
            elif document.get("metadata", {}).get("namespace"):
                namespaces.add(document["metadata"]["namespace"])
    common = _common(settings)
    folder = checkout / layout.ARGOCD_DIR
    write_file(
        checkout / ARGOCD_FILES[0],
        render_template(
            "project.yaml.j2",
            **common,
            destination_namespaces=sorted(namespaces),
            cluster_kinds=sorted(cluster_kinds),
        ),
    )
    appsets = [
        render_template(
            "applicationset.yaml.j2",
            **common,
            env=env,
            namespace=namespace(env),
            automated=env in AUTOMATED_ENVS,
            grafana_app_link=_grafana_link(settings, env) + "&var-agent={{ .path.basename }}",
            # The platform folder has no agent: link to all reports.
            judge_app_link=f"{settings.judge_url}/reports"
            '{{ if ne .path.basename "' + layout.PLATFORM_DIR + '" }}?agent={{ .path.basename }}{{ end }}',
        )
        for env in ENVIRONMENTS
    ]
    write_file(checkout / ARGOCD_FILES[1], "---\n".join(appsets))
    write_file(folder / "README.md", render_template("argocd-README.md.j2", **common))
