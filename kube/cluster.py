"""One cluster, reached through a kubeconfig context with the `kubernetes` client."""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import urllib3
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from kube.errors import ClusterUnavailable, KubeError, ObjectMissing

ROLLOUTS_GROUP, ROLLOUTS_VERSION = "argoproj.io", "v1alpha1"
MERGE_PATCH = "application/merge-patch+json"
REQUEST_TIMEOUT = 15.0  # seconds for one API call; the API server answers in milliseconds when up

T = TypeVar("T")


@dataclass(frozen=True)
class Target:
    """Which cluster: a kubeconfig file (default: $KUBECONFIG, else ~/.kube/config) and a context."""

    context: str | None = None
    kubeconfig: Path | None = None

    def __str__(self) -> str:
        name = f"context {self.context}" if self.context else "the current context"
        return f"{name} of {self.kubeconfig}" if self.kubeconfig else name


class Cluster:
    """The few reads and patches a release needs, with API errors turned into `kube.errors`."""

    def __init__(self, target: Target) -> None:
        self.target = target
        try:
            api = config.new_client_from_config(  # type: ignore[no-untyped-call]
                config_file=str(target.kubeconfig) if target.kubeconfig else None,
                context=target.context,
                persist_config=False,
            )
        except (ConfigException, OSError) as exc:
            raise ClusterUnavailable(f"kubeconfig {target}: {exc}") from None
        api.configuration.retries = 1  # a cluster that is down fails fast instead of retrying for minutes
        self.server = str(api.configuration.host)
        self._custom = client.CustomObjectsApi(api)
        self._core = client.CoreV1Api(api)
        self._apps = client.AppsV1Api(api)

    def _call(self, what: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except ApiException as exc:
            if exc.status == 404:
                raise ObjectMissing(f"{what} not found ({self.target})") from None
            raise KubeError(f"{what}: the API server answered {exc.status} {exc.reason}") from None
        except urllib3.exceptions.HTTPError as exc:
            raise ClusterUnavailable(
                f"cannot reach the cluster of {self.target} at {self.server}: {type(exc).__name__}"
            ) from None

    def rollout(self, namespace: str, name: str) -> dict[str, Any]:
        found: Any = self._call(
            f"Rollout {namespace}/{name}",
            lambda: self._custom.get_namespaced_custom_object(
                ROLLOUTS_GROUP,
                ROLLOUTS_VERSION,
                namespace,
                "rollouts",
                name,
                _request_timeout=REQUEST_TIMEOUT,
            ),
        )
        return dict(found)

    def analysis_runs(self, namespace: str, pod_hash: str) -> list[dict[str, Any]]:
        """The AnalysisRuns created for one pod-template hash (the label Argo puts on them)."""
        found: Any = self._call(
            f"AnalysisRuns in {namespace}",
            lambda: self._custom.list_namespaced_custom_object(
                ROLLOUTS_GROUP,
                ROLLOUTS_VERSION,
                namespace,
                "analysisruns",
                label_selector=f"rollouts-pod-template-hash={pod_hash}",
                _request_timeout=REQUEST_TIMEOUT,
            ),
        )
        items: list[dict[str, Any]] = found.get("items", [])
        return items

    def replica_set_images(self, namespace: str, name: str) -> list[str]:
        """The container images of a ReplicaSet's pod template."""
        replica_set = self._call(
            f"ReplicaSet {namespace}/{name}",
            lambda: self._apps.read_namespaced_replica_set(name, namespace, _request_timeout=REQUEST_TIMEOUT),
        )
        template = replica_set.spec.template.spec if replica_set.spec and replica_set.spec.template else None
        return [str(c.image) for c in (template.containers if template else [])]

    def pods(self, namespace: str, selector: dict[str, str]) -> dict[str, str]:
        """uid -> name of the pods matching a label selector (those not yet being deleted)."""
        text = ",".join(f"{key}={value}" for key, value in sorted(selector.items()))
        found = self._call(
            f"pods {text} in {namespace}",
            lambda: self._core.list_namespaced_pod(
                namespace, label_selector=text, _request_timeout=REQUEST_TIMEOUT
            ),
        )
        return {
            str(pod.metadata.uid): str(pod.metadata.name)
            for pod in found.items
            if pod.metadata and not pod.metadata.deletion_timestamp
        }

    def secret_keys(self, namespace: str, name: str) -> list[str]:
        """The keys of a Secret (never its values)."""
        secret = self._call(
            f"Secret {namespace}/{name}",
            lambda: self._core.read_namespaced_secret(name, namespace, _request_timeout=REQUEST_TIMEOUT),
        )
        return sorted(secret.data or {})

    def patch_secret(self, namespace: str, name: str, data: dict[str, str]) -> None:
        """Merge base64 `data` into a Secret."""
        self._call(
            f"Secret {namespace}/{name}",
            lambda: self._core.patch_namespaced_secret(
                name, namespace, {"data": data}, _content_type=MERGE_PATCH, _request_timeout=REQUEST_TIMEOUT
            ),
        )

    def patch_rollout(self, namespace: str, name: str, patch: dict[str, Any]) -> None:
        self._call(
            f"Rollout {namespace}/{name}",
            lambda: self._custom.patch_namespaced_custom_object(
                ROLLOUTS_GROUP,
                ROLLOUTS_VERSION,
                namespace,
                "rollouts",
                name,
                patch,
                _content_type=MERGE_PATCH,
                _request_timeout=REQUEST_TIMEOUT,
            ),
        )
