"""One backfilled Prometheus per session with an exact scenario per agent name, judged in the past."""

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from webhook_support import (
    BASELINE,
    DURATION,
    HASH_ORDER,
    HASH_ORDER_AGENT,
    LONG,
    REFERENCE,
    ROLLBACK,
    SCENARIOS,
    SHAPES,
    STEP,
)

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
    parts = []
    for agent, arms in SCENARIOS.items():
        # The baseline ran for an hour before the canary started: its reference period.
        baseline = [a for a in arms if a.pod_hash == BASELINE]
        canary = [a for a in arms if a.pod_hash != BASELINE]
        parts.append(
            openmetrics(agent, baseline, start=start - REFERENCE, duration=DURATION + REFERENCE, step=STEP)
        )
        parts.append(openmetrics(agent, canary, start=start, duration=DURATION, step=STEP, seed=2))
    for agent, arms in SHAPES.items():
        parts.append(openmetrics(agent, arms, start=start, duration=DURATION, step=STEP))
    parts.append(openmetrics("rollback", ROLLBACK, start=end - LONG, duration=LONG, step=STEP))
    for arm, namespace, offset in HASH_ORDER:
        parts.append(
            openmetrics(HASH_ORDER_AGENT, [arm], start=start + offset, duration=DURATION - offset,
                        step=STEP, namespace=namespace)
        )  # fmt: skip
    text = openmetrics_document(parts)
    backfill(text, workdir / "data", workdir)
    with run_prometheus(workdir, data_dir=workdir / "data") as url:
        yield Backfilled(url, start, end, workdir)
