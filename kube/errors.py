"""Errors of the Kubernetes side, each one line naming the context or the object."""

from kernel.errors import AgentRolloutsError, Unavailable


class KubeError(AgentRolloutsError):
    """A refusal or failure reported by the cluster: a missing object, a rejected patch."""


class ClusterUnavailable(KubeError, Unavailable):
    """The cluster of a kubeconfig context could not be reached, or the context does not exist."""


class ObjectMissing(KubeError):
    """A Rollout, Secret or other object the command needs does not exist."""


class NotVerified(KubeError):
    """A digest the source environment has not verified: not its Healthy stable with passed analyses."""
