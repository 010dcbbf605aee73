"""A small load generator for agent services: weighted targets, fixed seed, threads."""

import random
import threading
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import requests

# Status recorded when no HTTP answer came back (refused, reset, timed out).
NO_RESPONSE = 0

_RECORDS = (
    {"First Name": "ada", "Last Name": "lovelace", "E-Mail": "Ada@Example.org", "Country": "uk"},
    {"fname": "alan", "surname": "turing", "phone number": "+44 20 7946 0958", "DOB": "23/06/1912"},
    {"given_name": "grace", "family_name": "hopper", "zip": "10001", "nation": "USA"},
    {
        "firstname": "linus",
        "email_address": "LINUS@example.com",
        "birthdate": "1969-12-28",
        "town": "helsinki",
    },
)
_SNIPPETS = (
    "def add(a, b):\n    return a + b\n",
    "def sign(x):\n    if x > 0:\n        return 1\n    elif x < 0:\n        return -1\n    return 0\n",
    "class Stack:\n    def __init__(self):\n        self.items = []\n\n"
    "    def pop(self):\n        if not self.items:\n            raise IndexError('empty')\n"
    "        return self.items.pop()\n",
    "def evens(xs):\n    return [x for x in xs if x % 2 == 0 and x > 0]\n",
)
_QUESTIONS = (
    "What happens in a canary release when traffic weight goes up step by step?",
    "How does an abort trigger a rollback of a failed canary?",
    "Which metric provider does an analysis template use, for example the web provider?",
    "Why does LLM cost in USD depend on tokens and the price?",
    "How does Prometheus scrape the rollouts pod template hash label?",
    "How does Argo CD sync the gitops environments repo?",
)


def sample_payload(agent: str, i: int) -> dict[str, Any]:
    """A valid request body for `agent`; `i` picks one of a few realistic inputs."""
    if agent == "data-standardization":
        return {"record": _RECORDS[i % len(_RECORDS)]}
    if agent == "code-analysis":
        return {"code": _SNIPPETS[i % len(_SNIPPETS)], "language": "python"}
    if agent == "knowledge-qna":
        return {"question": _QUESTIONS[i % len(_QUESTIONS)]}
    raise ValueError(f"unknown agent {agent!r}")


def send(
    base_url: str,
    agent: str,
    token: str,
    payload: dict[str, Any],
    *,
    session: requests.Session | None = None,
    timeout: float = 10.0,
) -> int:
    """POST one execute request; the HTTP status, or NO_RESPONSE."""
    url = f"{base_url.rstrip('/')}/api/agents/{agent}/execute"
    try:
        response = (session or requests).post(
            url, json=payload, headers={"Authorization": f"Bearer {token}"}, timeout=timeout
        )
    except requests.RequestException:
        return NO_RESPONSE
    return response.status_code


@dataclass
class LoadReport:
    """HTTP statuses counted per target base URL."""

    by_target: dict[str, Counter[int]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(sum(c.values()) for c in self.by_target.values())

    def count(self, status: int, target: str | None = None) -> int:
        """Responses with `status`, for one target or all of them."""
        counters = [self.by_target.get(target, Counter())] if target else list(self.by_target.values())
        return sum(c[status] for c in counters)


def drive(
    targets: Sequence[tuple[str, float]],
    agent: str,
    token: str,
    *,
    requests: int,
    concurrency: int = 8,
    seed: int = 0,
    rate_per_second: float | None = None,
) -> LoadReport:
    """Send `requests` requests spread over weighted targets; optionally paced to a total rate."""
    if not targets or any(weight < 0 for _, weight in targets) or sum(w for _, w in targets) <= 0:
        raise ValueError("targets need at least one positive weight")
    rng = random.Random(seed)
    urls = [url for url, _ in targets]
    plan = rng.choices(urls, weights=[w for _, w in targets], k=requests)
    report = LoadReport({url: Counter() for url in urls})
    lock = threading.Lock()
    local = threading.local()
    started = time.monotonic()

    def one(i: int) -> None:
        if rate_per_second:
            delay = started + i / rate_per_second - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        if not hasattr(local, "session"):
            local.session = _session()
        status = send(plan[i], agent, token, sample_payload(agent, i), session=local.session)
        with lock:
            report.by_target[plan[i]][status] += 1

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        list(pool.map(one, range(requests)))
    return report


def _session() -> requests.Session:
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=4)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
