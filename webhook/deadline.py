"""One judgement's time budget: a total deadline over every backend query and the decision, and
query threads of its own.

Argo's web provider gives up after 10 s, so a judgement that cannot finish in its budget answers
503 naming what was slow, never a verdict from a partial read. Each judgement runs its queries on
a few threads of its own that end by its deadline: a blackholed backend holds up only the
judgements waiting on it, never a shared pool that every other judgement queues behind.
"""

import time
from collections.abc import Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TypeVar

from webhook.backends import DeadlineExceeded, MetricsBackend, Series

# A judgement reads in rounds of up to 14 queries (docs/judge.md): all of a round at once keeps its
# wall time near one round trip per round. 16 concurrent judgements then open at most 256
# connections, which Prometheus queues behind its --query.max-concurrency (20 by default).
QUERY_THREADS = 16

Key = TypeVar("Key")


class JudgementTimedOut(DeadlineExceeded):
    """No verdict in time: a query or the decision outlasted the judgement's deadline (503, exit 5)."""


@dataclass(frozen=True)
class Deadline:
    """The time.monotonic() by which a judgement must be decided."""

    seconds: float
    at: float

    @classmethod
    def after(cls, seconds: float) -> "Deadline":
        return cls(seconds, time.monotonic() + seconds)

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def check(self, doing: str) -> None:
        """JudgementTimedOut once the deadline has passed, saying what was still to do."""
        if self.remaining() <= 0:
            raise self.spent(f"it passed before {doing}")

    def spent(self, detail: str) -> JudgementTimedOut:
        return JudgementTimedOut(f"no verdict within the judgement's {self.seconds:g} s deadline: {detail}")


def query_all(
    backend: MetricsBackend, queries: Mapping[Key, str], at: float, deadline: Deadline
) -> dict[Key, list[Series]]:
    """Every query's answer, evaluated at `at` (see `answers_as_they_come`)."""
    return dict(answers_as_they_come(backend, queries, at, deadline))


def answers_as_they_come(
    backend: MetricsBackend, queries: Mapping[Key, str], at: float, deadline: Deadline
) -> Iterator[tuple[Key, list[Series]]]:
    """Each query's answer, evaluated at `at`, as soon as it arrives; the first failure is raised,
    and JudgementTimedOut naming a slow query when the deadline passes first."""
    pool = ThreadPoolExecutor(max(1, min(QUERY_THREADS, len(queries))), thread_name_prefix="promql")
    try:
        keys: dict[Future[list[Series]], Key] = {
            pool.submit(backend.query, promql, at, deadline=deadline.at): key
            for key, promql in queries.items()
        }
        pending: set[Future[list[Series]]] = set(keys)
        while pending:
            done, pending = wait(pending, timeout=max(0.0, deadline.remaining()), return_when=FIRST_COMPLETED)
            if not done:
                slow = queries[keys[next(iter(pending))]]
                raise deadline.spent(
                    f"{len(pending)} of {len(queries)} queries to the metrics backend unanswered, e.g. {slow!r}"
                )
            for future in done:
                error = future.exception()
                if isinstance(error, DeadlineExceeded):
                    slow = f"the metrics backend was too slow on {queries[keys[future]]!r}: {error}"
                    # the query's own timeout, or this deadline (whose timer may fire just before wait's)
                    raise (
                        deadline.spent(slow)
                        if deadline.remaining() <= 0
                        else JudgementTimedOut(f"no verdict: {slow}")
                    )
                if error is not None:
                    raise error
                yield keys[future], future.result()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)  # running queries end by the deadline themselves
