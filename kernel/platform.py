"""The platform file `agent-rollouts.yaml`: the agents, environments and promotion order a team ships.

It sits at the root of the environments repo and is the single source of truth every command reads.
`load_platform` parses it keeping line numbers, so each mistake is reported as
`agent-rollouts.yaml:LINE: field: message`.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import yaml

from kernel.contract import CHECK_NAMES
from kernel.errors import AgentRolloutsError

FILE_NAME = "agent-rollouts.yaml"
API_VERSION = "agent-rollouts/v1"
# The project's own agents and environments, as a user would write them (`init` copies it).
EXAMPLE = resources.files("kernel") / "agent-rollouts.example.yaml"

DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
# An image repository without tag or digest (the Docker reference grammar, lowercase components).
IMAGE_REPOSITORY = re.compile(
    r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?/)?"
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
)
CLUSTER_URL = re.compile(r"https://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~/-]*)?")
LINK_URL = re.compile(r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~/-]*)?")
# Argo Rollouts pause durations: a whole number of seconds, minutes or hours.
DURATION = re.compile(r"[1-9][0-9]{0,4}[smh]")
LABEL_KEY = re.compile(
    r"(?:[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
)
LABEL_VALUE = re.compile(r"(?:[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")
MODES = ("auto", "manual")
# How a release reaches an environment: pushed to its branch, or through a pull request a person merges.
REVIEWS = ("direct", "pr")
# A kubeconfig context name as kind, GKE (`gke_project_zone_name`), EKS (an ARN) and `user@cluster` spell them.
CONTEXT_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@:/+-]{0,252}")
DEFAULT_PORT = 8080
DEFAULT_PAUSES: tuple[str, ...] = ("5m", "10m", "15m")
# kube-prometheus-stack's Prometheus selects PodMonitors and PrometheusRules by its release label.
DEFAULT_MONITORING_LABELS = {"release": "kube-prometheus-stack"}
DEFAULT_LINKS = {"judge": "https://judge.example.com", "grafana": "https://grafana.example.com"}

T = TypeVar("T")


class PlatformFileError(AgentRolloutsError):
    """The platform file is missing or wrong; the message names the file, line and field."""


@dataclass(frozen=True)
class Agent:
    name: str
    image: str  # the repository CI pushes to; releases pin a digest of it
    port: int = DEFAULT_PORT
    tolerances: dict[str, float] = field(default_factory=dict)
    command: tuple[str, ...] = ()  # the container's command; empty: the agent-rollouts agent runtime


@dataclass(frozen=True)
class Environment:
    name: str
    cluster: str  # Argo CD destination server
    namespace: str
    sync: str = "auto"
    gate: str = "auto"  # manual: an indefinite pause before 100%
    pauses: tuple[str, ...] = DEFAULT_PAUSES
    replicas: int = 2
    review: str = "direct"  # pr: releases open a pull request (the default where the gate is manual)
    context: str | None = None  # the kubeconfig context of its cluster; None: the current context

    @property
    def automated(self) -> bool:
        return self.sync == "auto"


@dataclass(frozen=True)
class Platform:
    agents: tuple[Agent, ...]
    environments: tuple[Environment, ...]
    promotion: tuple[str, ...]
    links: dict[str, str]
    monitoring_labels: dict[str, str]
    judge_image: str = "ghcr.io/agent-rollouts/agent-rollouts"

    @property
    def agent_names(self) -> tuple[str, ...]:
        return tuple(agent.name for agent in self.agents)

    @property
    def environment_names(self) -> tuple[str, ...]:
        return tuple(env.name for env in self.environments)

    def agent(self, name: str, flag: str = "--agent") -> Agent:
        for agent in self.agents:
            if agent.name == name:
                return agent
        raise PlatformFileError(
            f"{flag}: unknown agent {name!r} ({FILE_NAME} names {', '.join(self.agent_names)})"
        )

    def environment(self, name: str, flag: str = "--env") -> Environment:
        for env in self.environments:
            if env.name == name:
                return env
        raise PlatformFileError(
            f"{flag}: unknown environment {name!r} ({FILE_NAME} names {', '.join(self.environment_names)})"
        )

    def next_environment(self, name: str) -> str | None:
        """The environment `promote` moves a digest to from `name`, if any."""
        order = self.promotion
        return order[order.index(name) + 1] if name in order and order.index(name) + 1 < len(order) else None

    def clusters(self) -> dict[str, tuple[Environment, ...]]:
        """The environments of each destination cluster, by the cluster's name (`cluster_name`)."""
        found: dict[str, list[Environment]] = {}
        for env in self.environments:
            found.setdefault(cluster_name(env.cluster), []).append(env)
        return {name: tuple(envs) for name, envs in found.items()}


def cluster_name(server: str) -> str:
    """A DNS label for a cluster URL: `https://qa.k8s.example.com:6443` -> `qa-k8s-example-com-6443`."""
    host = server.removeprefix("https://").split("/", 1)[0]
    return re.sub(r"[^a-z0-9]+", "-", host.lower()).strip("-")[:63].rstrip("-")


# --- reading, with line numbers -------------------------------------------------------------


class _Reader:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, node: yaml.Node, where: str, message: str) -> PlatformFileError:
        return PlatformFileError(f"{self.source}:{node.start_mark.line + 1}: {where}: {message}")

    def mapping(self, node: yaml.Node, where: str, allowed: set[str]) -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, where or "(file)", "must be a mapping")
        fields: dict[str, yaml.Node] = {}
        for key, value in node.value:
            name = str(key.value)
            if name not in allowed:
                raise self.fail(
                    key,
                    f"{where}.{name}" if where else name,
                    f"unknown field (one of {', '.join(sorted(allowed))})",
                )
            if name in fields:
                raise self.fail(key, f"{where}.{name}" if where else name, "given twice")
            fields[name] = value
        return fields

    def sequence(self, node: yaml.Node, where: str) -> list[yaml.Node]:
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, where, "must be a list")
        return list(node.value)

    def scalar(self, node: yaml.Node, where: str, kind: type[T], convert: Callable[[str], T]) -> T:
        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, where, f"must be a {kind.__name__}")
        tag = node.tag.rsplit(":", 1)[-1]
        expected = {str: "str", int: "int", float: "float"}[kind]
        if tag != expected and not (kind is float and tag == "int"):
            raise self.fail(node, where, f"must be a {expected}, got {node.value!r}")
        try:
            return convert(node.value)
        except ValueError:
            raise self.fail(node, where, f"must be a {expected}, got {node.value!r}") from None

    def string(self, node: yaml.Node, where: str, pattern: re.Pattern[str], what: str) -> str:
        value = self.scalar(node, where, str, str)
        if not pattern.fullmatch(value):
            raise self.fail(node, where, f"{value!r} is not {what}")
        return value

    def choice(self, node: yaml.Node, where: str, choices: tuple[str, ...]) -> str:
        value = self.scalar(node, where, str, str)
        if value not in choices:
            raise self.fail(node, where, f"{value!r} is not one of {', '.join(choices)}")
        return value

    def integer(self, node: yaml.Node, where: str, low: int, high: int) -> int:
        value = self.scalar(node, where, int, int)
        if not low <= value <= high:
            raise self.fail(node, where, f"{value} is not between {low} and {high}")
        return value

    def labels(self, node: yaml.Node, where: str) -> dict[str, str]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, where, "must be a mapping")
        labels = {}
        for key, value in node.value:
            name = self.string(key, where, LABEL_KEY, "a label key")
            labels[name] = self.string(value, f"{where}.{name}", LABEL_VALUE, "a label value")
        return labels


def _agent(reader: _Reader, node: yaml.Node, where: str) -> Agent:
    fields = reader.mapping(node, where, {"name", "image", "port", "tolerances", "command"})
    for required in ("name", "image"):
        if required not in fields:
            raise reader.fail(node, f"{where}.{required}", "missing")
    tolerances = {}
    if "tolerances" in fields:
        for check, value in reader.mapping(
            fields["tolerances"], f"{where}.tolerances", set(CHECK_NAMES)
        ).items():
            tolerance = reader.scalar(value, f"{where}.tolerances.{check}", float, float)
            if not 0 <= tolerance <= 1:
                raise reader.fail(value, f"{where}.tolerances.{check}", f"{tolerance} is not between 0 and 1")
            tolerances[check] = tolerance
    command: tuple[str, ...] = ()
    if "command" in fields:
        command = tuple(
            reader.scalar(item, f"{where}.command[{index}]", str, str)
            for index, item in enumerate(reader.sequence(fields["command"], f"{where}.command"))
        )
    return Agent(
        name=reader.string(fields["name"], f"{where}.name", DNS_LABEL, "a DNS label (a-z, 0-9, -)"),
        image=reader.string(
            fields["image"], f"{where}.image", IMAGE_REPOSITORY, "an image repository (no tag or digest)"
        ),
        port=reader.integer(fields["port"], f"{where}.port", 1, 65535) if "port" in fields else DEFAULT_PORT,
        tolerances=tolerances,
        command=command,
    )


def _environment(reader: _Reader, node: yaml.Node, where: str) -> Environment:
    fields = reader.mapping(
        node,
        where,
        {"name", "cluster", "namespace", "sync", "gate", "pauses", "replicas", "review", "context"},
    )
    for required in ("name", "cluster"):
        if required not in fields:
            raise reader.fail(node, f"{where}.{required}", "missing")
    name = reader.string(fields["name"], f"{where}.name", DNS_LABEL, "a DNS label (a-z, 0-9, -)")
    pauses: tuple[str, ...] = DEFAULT_PAUSES
    if "pauses" in fields:
        items = reader.sequence(fields["pauses"], f"{where}.pauses")
        if len(items) != len(DEFAULT_PAUSES):
            raise reader.fail(
                fields["pauses"],
                f"{where}.pauses",
                f"give {len(DEFAULT_PAUSES)} durations, one per canary weight before the gates",
            )
        pauses = tuple(
            reader.string(item, f"{where}.pauses[{index}]", DURATION, "a duration like 30s, 5m or 1h")
            for index, item in enumerate(items)
        )
    gate = reader.choice(fields["gate"], f"{where}.gate", MODES) if "gate" in fields else "auto"
    return Environment(
        name=name,
        cluster=reader.string(fields["cluster"], f"{where}.cluster", CLUSTER_URL, "an https:// cluster URL"),
        namespace=reader.string(fields["namespace"], f"{where}.namespace", DNS_LABEL, "a DNS label")
        if "namespace" in fields
        else f"agents-{name}",
        sync=reader.choice(fields["sync"], f"{where}.sync", MODES) if "sync" in fields else "auto",
        gate=gate,
        pauses=pauses,
        replicas=reader.integer(fields["replicas"], f"{where}.replicas", 1, 100)
        if "replicas" in fields
        else 2,
        # A person approves the last step of a manual gate; they review what reaches it as well.
        review=reader.choice(fields["review"], f"{where}.review", REVIEWS)
        if "review" in fields
        else ("pr" if gate == "manual" else "direct"),
        context=reader.string(
            fields["context"], f"{where}.context", CONTEXT_NAME, "a kubeconfig context name"
        )
        if "context" in fields
        else None,
    )


def _unique(reader: _Reader, nodes: list[yaml.Node], names: list[str], where: str, what: str) -> None:
    seen: set[str] = set()
    for index, (node, name) in enumerate(zip(nodes, names, strict=True)):
        if name in seen:
            raise reader.fail(node, f"{where}[{index}].name", f"duplicate {what} {name!r}")
        seen.add(name)


def yaml_problem(exc: yaml.YAMLError) -> tuple[int | None, str]:
    """The line (1-based, when PyYAML knows it) and the short reason of a YAML parse error."""
    mark = getattr(exc, "problem_mark", None)
    return (mark.line + 1 if mark else None), str(getattr(exc, "problem", None) or exc)


def parse_platform(text: str, source: str = FILE_NAME) -> Platform:
    """The platform a file's text declares; raise PlatformFileError naming the first mistake."""
    reader = _Reader(source)
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        line, problem = yaml_problem(exc)
        raise PlatformFileError(f"{source}:{line or 1}: (file): not valid YAML: {problem}") from exc
    if root is None:
        raise PlatformFileError(f"{source}:1: (file): empty; see `agent-rollouts init`")
    fields = reader.mapping(
        root, "", {"apiVersion", "agents", "environments", "promotion", "links", "monitoring", "judge"}
    )
    for required in ("apiVersion", "agents", "environments"):
        if required not in fields:
            raise reader.fail(root, required, "missing")
    if reader.scalar(fields["apiVersion"], "apiVersion", str, str) != API_VERSION:
        raise reader.fail(fields["apiVersion"], "apiVersion", f"must be {API_VERSION}")

    agent_nodes = reader.sequence(fields["agents"], "agents")
    if not agent_nodes:
        raise reader.fail(fields["agents"], "agents", "name at least one agent")
    agents = [_agent(reader, node, f"agents[{index}]") for index, node in enumerate(agent_nodes)]
    _unique(reader, agent_nodes, [a.name for a in agents], "agents", "agent")

    env_nodes = reader.sequence(fields["environments"], "environments")
    if not env_nodes:
        raise reader.fail(fields["environments"], "environments", "name at least one environment")
    environments = [
        _environment(reader, node, f"environments[{index}]") for index, node in enumerate(env_nodes)
    ]
    _unique(reader, env_nodes, [e.name for e in environments], "environments", "environment")
    namespaces: dict[tuple[str, str], str] = {}
    for index, (node, env) in enumerate(zip(env_nodes, environments, strict=True)):
        other = namespaces.setdefault((env.cluster, env.namespace), env.name)
        if other != env.name:
            raise reader.fail(
                node, f"environments[{index}].namespace", f"{env.namespace} on {env.cluster} is {other}'s too"
            )

    names = [env.name for env in environments]
    promotion = names
    if "promotion" in fields:
        promotion = []
        for index, node in enumerate(reader.sequence(fields["promotion"], "promotion")):
            name = reader.scalar(node, f"promotion[{index}]", str, str)
            if name not in names:
                raise reader.fail(
                    node, f"promotion[{index}]", f"unknown environment {name!r} (one of {', '.join(names)})"
                )
            if name in promotion:
                raise reader.fail(node, f"promotion[{index}]", f"{name!r} is listed twice")
            promotion.append(name)

    links = dict(DEFAULT_LINKS)
    if "links" in fields:
        for key, node in reader.mapping(fields["links"], "links", set(DEFAULT_LINKS)).items():
            links[key] = reader.string(node, f"links.{key}", LINK_URL, "an http(s) URL").rstrip("/")
    monitoring_labels = dict(DEFAULT_MONITORING_LABELS)
    if "monitoring" in fields:
        monitoring = reader.mapping(fields["monitoring"], "monitoring", {"labels"})
        if "labels" in monitoring:
            monitoring_labels = reader.labels(monitoring["labels"], "monitoring.labels")
    judge: dict[str, Any] = {}
    if "judge" in fields:
        judge_fields = reader.mapping(fields["judge"], "judge", {"image"})
        if "image" in judge_fields:
            judge["judge_image"] = reader.string(
                judge_fields["image"],
                "judge.image",
                IMAGE_REPOSITORY,
                "an image repository (no tag or digest)",
            )
    images = [agent.image for agent in agents] + [judge.get("judge_image", Platform.judge_image)]
    for index, (node, agent) in enumerate(zip(agent_nodes, agents, strict=True)):
        if images.count(agent.image) > 1:
            raise reader.fail(
                node, f"agents[{index}].image", f"{agent.image} is another component's image too"
            )
    return Platform(
        agents=tuple(agents),
        environments=tuple(environments),
        promotion=tuple(promotion),
        links=links,
        monitoring_labels=monitoring_labels,
        **judge,
    )


def load_platform(path: Path) -> Platform:
    """Read the platform file at `path` (an `agent-rollouts.yaml`)."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise PlatformFileError(f"{path.name}: not found; create it with `agent-rollouts init`") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PlatformFileError(f"{path.name}: unreadable: {exc}") from exc
    return parse_platform(text, path.name)


def example_text() -> str:
    return EXAMPLE.read_text()


def example() -> Platform:
    """The project's own agents and environments."""
    return parse_platform(example_text(), EXAMPLE.name)
