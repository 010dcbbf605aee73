"""One backfilled Prometheus per session with an exact scenario per agent name, judged in the past."""

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from webhook_support import DURATION, HASH_ORDER, HASH_ORDER_AGENT, SCENARIOS, STEP

from tools.local_prometheus import backfill, run_prometheus
from tools.traffic import openmetrics, openmetrics_document


@dataclass(frozen=True)
class Backfilled:
    url: str
    start: int  # the canary's first sample
    end: int
    workdir: Path


@pytest.fixture(scope="session")
def backfilled(
    tmp_path_factory: pytest.TempPathFactory, require_tool: Callable[[str], str]
) -> Iterator[Backfilled]:
    """A real Prometheus holding every scenario, 30 minutes ending three hours ago."""
    require_tool("promtool")
    require_tool("prometheus")
    workdir = tmp_path_factory.mktemp("prometheus")
    end = math.floor((time.time() - 3 * 3600) / 60) * 60
    start = end - DURATION
    text = openmetrics_document(
        [
            *(
                openmetrics(agent, arms, start=start, duration=DURATION, step=STEP)
                for agent, arms in SCENARIOS.items()
            ),
            *(
                openmetrics(HASH_ORDER_AGENT, [arm], start=start + offset, duration=DURATION - offset,
                            step=STEP, namespace=namespace)
                for arm, namespace, offset in HASH_ORDER
            ),
        ]
    )  # fmt: skip
    backfill(text, workdir / "data", workdir)
    with run_prometheus(workdir, data_dir=workdir / "data") as url:
        yield Backfilled(url, start, end, workdir)
