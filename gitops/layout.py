"""Folder names of the environments repo, defined once (Codefresh model, argocd-autopilot habit)."""

from pathlib import Path, PurePosixPath

from kernel.platform import FILE_NAME, Platform

PLATFORM_FILE = PurePosixPath(FILE_NAME)  # the team's agents and environments: the source of truth
BASE_DIR = "base"  # the platform's manifests, vendored verbatim at a pinned version
GENERATED_DIR = "generated"  # what the platform file says, as kustomize folders; rewritten by bootstrap
VARIANTS_DIR = "variants"  # per-environment settings that are never promoted
ENVS_DIR = "envs"  # one folder per environment and agent: the image pins
CLUSTERS_DIR = "clusters"  # one folder per destination cluster: its shared services and the judge pin
ARGOCD_DIR = "argocd"  # AppProject, ApplicationSets and Applications that point Argo CD here
PLATFORM_DIR = "platform"  # the name of a cluster's shared services (judge, monitoring) in Argo CD
VENDORED_DIRS = ("rollouts", "analysis")  # platform folders copied into base/
PLATFORM_ENVS = PurePosixPath("rollouts") / "envs"  # the platform's own overlays, inside rollouts/
KUSTOMIZATION = "kustomization.yaml"
VERSION_FILE = PurePosixPath(BASE_DIR) / "VERSION"
SETTINGS_FILE = ".agent-rollouts.yaml"  # what bootstrap was told (repo URL, branch), reused on refresh
CI_WORKFLOW = PurePosixPath(".github") / "workflows" / "validate.yaml"


def env_folder(env: str, name: str) -> PurePosixPath:
    """`envs/<env>/<agent>`: the folder Argo CD syncs as one Application."""
    return PurePosixPath(ENVS_DIR) / env / name


def cluster_folder(cluster: str) -> PurePosixPath:
    """`clusters/<cluster>`: a cluster's shared services, synced as the Application `platform-<cluster>`."""
    return PurePosixPath(CLUSTERS_DIR) / cluster


def pin_file(env: str, agent: str) -> PurePosixPath:
    """The one file a release or promotion changes."""
    return env_folder(env, agent) / KUSTOMIZATION


def all_env_folders(platform: Platform) -> list[PurePosixPath]:
    """Every folder Argo CD may sync: each environment's agents, then each cluster's shared services."""
    return [
        env_folder(env, agent) for env in platform.environment_names for agent in platform.agent_names
    ] + [cluster_folder(cluster) for cluster in platform.clusters()]


def synced_folders(checkout: Path, platform: Platform) -> list[PurePosixPath]:
    """The folders that exist: an agent's folder appears in an environment with its first release there."""
    return [folder for folder in all_env_folders(platform) if (checkout / folder / KUSTOMIZATION).is_file()]
