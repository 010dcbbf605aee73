"""The metrics-backend protocol: two methods, distinct errors for each way a query can go wrong."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from kernel.errors import AgentRolloutsError, Unavailable

Point = tuple[float, float]  # (unix seconds, value)


@dataclass(frozen=True)
class Series:
    """One time series: its labels and its samples, oldest first (one sample for an instant vector)."""

    labels: Mapping[str, str]
    points: tuple[Point, ...]


class BackendError(AgentRolloutsError):
    """Base class of every backend failure."""


class BackendUnavailable(BackendError, Unavailable):
    """The backend is unreachable, timed out, or answered with an error: the judge answers 503."""


class PartialDataError(BackendError):
    """The backend answered but warned that the data may be incomplete: never a basis for `pass`."""


class MetricsBackend(Protocol):
    def query(self, promql: str, at: float, *, deadline: float | None = None) -> list[Series]:
        """Evaluate `promql` at unix time `at`; range selectors return every raw sample in the range.

        `deadline` (a time.monotonic() value) bounds the whole query; past it, BackendUnavailable.
        """
        ...

    def is_online(self, *, deadline: float | None = None) -> bool:
        """Whether the backend answers a trivial query right now (before `deadline`, if given)."""
        ...
