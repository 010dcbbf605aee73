"""Rotate an agent's LLM API key: patch its Secret, then let the Rollout replace its pods.

The restart is the Rollout's own (`spec.restartAt`): Argo replaces pods older than that time within
the strategy's availability rules (`maxUnavailable`), instead of deleting every pod at once.
"""

import base64
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from kube.cluster import Cluster
from kube.errors import KubeError

SECRET_KEY = "api-key"
POLL_SECONDS = 1.0


def credentials_secret(agent: str) -> str:
    """The Secret the agent's manifests read its LLM key from (`secretKeyRef`)."""
    return f"{agent}-llm-credentials"


@dataclass(frozen=True)
class Rotation:
    secret: str
    rollout: str
    namespace: str
    replaced: int  # pods the restart replaced
    seconds: float


def rotate_key(
    cluster: Cluster,
    namespace: str,
    agent: str,
    rollout: str,
    key: str,
    timeout: float = 600.0,
    progress: Callable[[str], None] = lambda _: None,
) -> Rotation:
    """Patch `<agent>-llm-credentials` key `api-key`, restart the Rollout and wait until it is Healthy."""
    secret = credentials_secret(agent)
    cluster.secret_keys(namespace, secret)  # a missing Secret is an error naming it, before anything changes
    state = cluster.rollout(namespace, rollout)  # so is a missing Rollout
    selector = state["spec"].get("selector", {}).get("matchLabels") or {}
    if not selector:
        raise KubeError(f"Rollout {namespace}/{rollout} has no spec.selector.matchLabels")
    before = cluster.pods(namespace, selector)
    started = time.monotonic()
    cluster.patch_secret(namespace, secret, {SECRET_KEY: base64.b64encode(key.encode()).decode()})
    progress(f"patched Secret {namespace}/{secret} key {SECRET_KEY}")
    at = datetime.now(UTC).replace(microsecond=0)
    # Argo restarts pods created before restartAt; one second later makes sure that includes every pod now.
    restart_at = datetime.fromtimestamp(at.timestamp() + 1, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    time.sleep(max(0.0, at.timestamp() + 1 - time.time()))
    cluster.patch_rollout(namespace, rollout, {"spec": {"restartAt": restart_at}})
    progress(f"restarting Rollout {namespace}/{rollout} (spec.restartAt {restart_at})")
    deadline = started + timeout
    while time.monotonic() < deadline:
        current = cluster.rollout(namespace, rollout)
        status = current.get("status", {})
        pods = cluster.pods(namespace, selector)
        done = (
            status.get("restartedAt") == restart_at
            and status.get("phase") == "Healthy"
            and str(status.get("observedGeneration")) == str(current["metadata"].get("generation"))
            and not set(before) & set(pods)
            and len(pods) >= int(current["spec"].get("replicas", 1))
        )
        if done:
            return Rotation(secret, rollout, namespace, len(before), time.monotonic() - started)
        time.sleep(POLL_SECONDS)
    raise KubeError(
        f"Rollout {namespace}/{rollout} not Healthy with every pod replaced {timeout:.0f}s after the restart"
        f" (the Secret holds the new key; pods that restart read it)"
    )
