"""The platform file agent-rollouts.yaml: every mistake is one line naming the file, line and field."""

import pytest

from kernel.platform import FILE_NAME, PlatformFileError, cluster_name, example, example_text, parse_platform

GOOD = """\
apiVersion: agent-rollouts/v1
agents:
  - name: support-bot
    image: ghcr.io/acme/support-bot
environments:
  - name: qa
    cluster: https://qa.k8s.example.com
  - name: live
    cluster: https://live.k8s.example.com
    sync: manual
    gate: manual
promotion: [qa, live]
"""


def test_defaults_fill_what_the_file_leaves_out() -> None:
    platform = parse_platform(GOOD)
    [agent] = platform.agents
    assert (agent.port, agent.tolerances, agent.command) == (8080, {}, ())
    qa, live = platform.environments
    assert (qa.namespace, qa.sync, qa.gate, qa.pauses) == ("agents-qa", "auto", "auto", ("5m", "10m", "15m"))
    assert (live.automated, live.gate) == (False, "manual")
    # A manual gate means a person approves: by default they review the release's pull request too.
    assert (qa.review, live.review) == ("direct", "pr")
    assert qa.context is None and live.context is None  # the kubeconfig's current context
    assert platform.next_environment("qa") == "live" and platform.next_environment("live") is None
    assert platform.monitoring_labels == {"release": "kube-prometheus-stack"}
    assert set(platform.clusters()) == {"qa-k8s-example-com", "live-k8s-example-com"}


def test_review_and_context_are_read_per_environment() -> None:
    text = GOOD.replace(
        "    cluster: https://qa.k8s.example.com\n",
        "    cluster: https://qa.k8s.example.com\n    review: pr\n    context: gke_acme_europe-west1_qa\n",
    ).replace(
        "    gate: manual\n",
        "    gate: manual\n    review: direct\n    context: arn:aws:eks:us-east-1:1:cluster/live\n",
    )
    qa, live = parse_platform(text).environments
    assert (qa.review, qa.context) == ("pr", "gke_acme_europe-west1_qa")
    assert (live.review, live.context) == ("direct", "arn:aws:eks:us-east-1:1:cluster/live")


def test_the_example_is_the_projects_own_platform() -> None:
    platform = example()
    assert platform.agent_names == ("data-standardization", "code-analysis", "knowledge-qna")
    assert platform.promotion == ("dev", "staging", "prod")
    assert example_text().startswith("# agent-rollouts.yaml")  # `init` writes it with its comments


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (
            GOOD.replace("promotion: [qa, live]", "agents:\n  - name: x"),
            "agent-rollouts.yaml:12: agents: given twice",
        ),
        (
            GOOD.replace("    image: ghcr.io/acme/support-bot\n", "    image: ghcr.io/acme/support-bot\n  - name: support-bot\n    image: ghcr.io/acme/other\n"),
            "agent-rollouts.yaml:5: agents[1].name: duplicate agent 'support-bot'",
        ),
        (GOOD.replace("name: support-bot", "name: Support_Bot"), "agent-rollouts.yaml:3: agents[0].name: 'Support_Bot' is not a DNS label"),
        (GOOD.replace("name: support-bot", "name: support-bot-"), "agent-rollouts.yaml:3: agents[0].name: 'support-bot-' is not a DNS label"),
        (GOOD.replace("name: support-bot", 'name: "bot\\n"'), "agent-rollouts.yaml:3: agents[0].name: 'bot\\n' is not a DNS label"),
        (GOOD.replace("[qa, live]", "[qa, prod]"), "agent-rollouts.yaml:12: promotion[1]: unknown environment 'prod' (one of qa, live)"),
        (GOOD.replace("[qa, live]", "[qa, qa]"), "agent-rollouts.yaml:12: promotion[1]: 'qa' is listed twice"),
        (GOOD.replace("    cluster: https://qa.k8s.example.com\n", ""), "agent-rollouts.yaml:6: environments[0].cluster: missing"),
        (GOOD.replace("https://qa.k8s.example.com", "http://qa"), "agent-rollouts.yaml:7: environments[0].cluster: 'http://qa' is not an https:// cluster URL"),
        (GOOD.replace("    image: ghcr.io/acme/support-bot\n", "    image: ghcr.io/acme/support-bot\n    port: eighty\n"), "agent-rollouts.yaml:5: agents[0].port: must be a int, got 'eighty'"),
        (GOOD.replace("    image: ghcr.io/acme/support-bot\n", "    image: ghcr.io/acme/support-bot\n    port: 70000\n"), "agent-rollouts.yaml:5: agents[0].port: 70000 is not between 1 and 65535"),
        (GOOD.replace("    image: ghcr.io/acme/support-bot\n", "    image: ghcr.io/acme/support-bot:v1\n"), "agent-rollouts.yaml:4: agents[0].image: 'ghcr.io/acme/support-bot:v1' is not an image repository"),
        (GOOD.replace("    image: ghcr.io/acme/support-bot\n", "    image: ghcr.io/acme/support-bot\n    tolerances: {errors: lots}\n"), "agent-rollouts.yaml:5: agents[0].tolerances.errors: must be a float, got 'lots'"),
        (GOOD.replace("    image: ghcr.io/acme/support-bot\n", "    image: ghcr.io/acme/support-bot\n    tolerances: {speed: 0.1}\n"), "agent-rollouts.yaml:5: agents[0].tolerances.speed: unknown field (one of confidence, cost, errors, latency)"),
        (GOOD.replace("    sync: manual\n", "    sync: sometimes\n"), "agent-rollouts.yaml:10: environments[1].sync: 'sometimes' is not one of auto, manual"),
        (GOOD.replace("    gate: manual\n", "    gate: manual\n    review: yes\n"), "agent-rollouts.yaml:12: environments[1].review: must be a str, got 'yes'"),
        (GOOD.replace("    gate: manual\n", "    gate: manual\n    review: PR\n"), "agent-rollouts.yaml:12: environments[1].review: 'PR' is not one of direct, pr"),
        (GOOD.replace("    gate: manual\n", '    gate: manual\n    review: "pr\\n"\n'), "agent-rollouts.yaml:12: environments[1].review: 'pr\\n' is not one of direct, pr"),
        (GOOD.replace("    gate: manual\n", "    gate: manual\n    context: [live]\n"), "agent-rollouts.yaml:12: environments[1].context: must be a str"),
        (GOOD.replace("    gate: manual\n", "    gate: manual\n    context: live cluster\n"), "agent-rollouts.yaml:12: environments[1].context: 'live cluster' is not a kubeconfig context name"),
        (GOOD.replace("    gate: manual\n", '    gate: manual\n    context: "live\\n"\n'), "agent-rollouts.yaml:12: environments[1].context: 'live\\n' is not a kubeconfig context name"),
        (GOOD.replace("    gate: manual\n", "    gate: manual\n    pauses: [1m]\n"), "agent-rollouts.yaml:12: environments[1].pauses: give 3 durations"),
        (GOOD.replace("    gate: manual\n", "    gate: manual\n    pauses: [1m, 1m, 1d]\n"), "agent-rollouts.yaml:12: environments[1].pauses[2]: '1d' is not a duration"),
        (GOOD.replace("agents:\n  - name: support-bot\n    image: ghcr.io/acme/support-bot\n", "agents: support-bot\n"), "agent-rollouts.yaml:2: agents: must be a list"),
        (GOOD.replace("promotion:", "promotoin:"), "agent-rollouts.yaml:12: promotoin: unknown field"),
        (GOOD.replace("agent-rollouts/v1", "agent-rollouts/v2"), "agent-rollouts.yaml:1: apiVersion: must be agent-rollouts/v1"),
        (GOOD.replace("  - name: live\n    cluster: https://live.k8s.example.com\n", "  - name: live\n    cluster: https://qa.k8s.example.com\n    namespace: agents-qa\n"), "agent-rollouts.yaml:8: environments[1].namespace: agents-qa on https://qa.k8s.example.com is qa's too"),
        ("agents: [\n", "agent-rollouts.yaml:2: (file): not valid YAML"),
        ("", "agent-rollouts.yaml:1: (file): empty"),
        ("- a list\n", "agent-rollouts.yaml:1: (file): must be a mapping"),
    ],
)  # fmt: skip
def test_each_mistake_is_one_line_naming_line_and_field(text: str, error: str) -> None:
    with pytest.raises(PlatformFileError) as raised:
        parse_platform(text, FILE_NAME)
    message = str(raised.value)
    assert message.startswith(error), message
    assert "\n" not in message


def test_cluster_names_are_dns_labels() -> None:
    assert cluster_name("https://live.k8s.example.com:6443") == "live-k8s-example-com-6443"
    assert cluster_name("https://kubernetes.default.svc") == "kubernetes-default-svc"
