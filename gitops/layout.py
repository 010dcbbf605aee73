"""Folder names of the environments repo, defined once (Codefresh model, argocd-autopilot habit)."""

from pathlib import PurePosixPath

from kernel.catalog import AGENTS, ENVIRONMENTS

BASE_DIR = "base"  # the platform's manifests, vendored verbatim at a pinned version
VARIANTS_DIR = "variants"  # per-environment settings that are never promoted
ENVS_DIR = "envs"  # one folder per environment and agent: the image pins
ARGOCD_DIR = "argocd"  # AppProject, ApplicationSets and Applications that point Argo CD here
PLATFORM_DIR = "platform"  # the folder of an environment's shared services (judge, monitoring)
VENDORED_DIRS = ("rollouts", "analysis")  # platform folders copied into base/
PLATFORM_ENVS = PurePosixPath("rollouts") / "envs"  # the platform's own overlays, inside rollouts/
KUSTOMIZATION = "kustomization.yaml"
VERSION_FILE = PurePosixPath(BASE_DIR) / "VERSION"
SETTINGS_FILE = ".agent-rollouts.yaml"  # what bootstrap was told (URLs), reused on refresh


# The folders of every environment: one per agent, then the platform's.
ENV_DIR_NAMES = (*AGENTS, PLATFORM_DIR)


def env_folder(env: str, name: str) -> PurePosixPath:
    """`envs/<env>/<name>`: the folder Argo CD syncs as one Application."""
    return PurePosixPath(ENVS_DIR) / env / name


def pin_file(env: str, agent: str) -> PurePosixPath:
    """The one file a release or promotion changes."""
    return env_folder(env, agent) / KUSTOMIZATION


def all_env_folders() -> list[PurePosixPath]:
    return [env_folder(env, name) for env in ENVIRONMENTS for name in ENV_DIR_NAMES]
