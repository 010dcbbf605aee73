"""The versioned API contract of `POST /api/v1/judgements`: request and response bodies."""

from datetime import UTC, datetime
from typing import Annotated, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from kernel.contract import CheckName
from webhook.stats.checks import CHECKS, Verdict

# Kubernetes label values: they go into PromQL label matchers, so nothing that needs quoting.
LABEL_VALUE = r"^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$"
NAMESPACE = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"

# Agent canaries run now; a time outside this range is a typo or an attack, never a window to judge.
EARLIEST = datetime(2015, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)

LabelValue = Annotated[str, Field(pattern=LABEL_VALUE, max_length=63)]


class Tolerances(BaseModel):
    """Per-check tolerances overriding the defaults; see docs/judge.md for their units."""

    # Strict: JSON numbers only, never `true` or "0.1" read as one.
    model_config = ConfigDict(extra="forbid", strict=True)

    confidence: float | None = Field(
        None, ge=0, le=1, description="drop in mean confidence and rise in each low-confidence share, 0-1"
    )
    cost: float | None = Field(None, ge=0, le=100, description="relative rise in mean cost per request")
    errors: float | None = Field(None, ge=0, le=1, description="rise in failure rate, 0-1")
    latency: float | None = Field(None, ge=0, le=1, description="rise in the share of slow requests, 0-1")


class JudgementRequest(BaseModel):
    """Which canary to judge against which baseline, on what window and with which checks."""

    model_config = ConfigDict(extra="forbid")

    agent: LabelValue = Field(description="the agent_name label")
    canary: LabelValue = Field(description="rollouts_pod_template_hash of the canary pods")
    baseline: LabelValue = Field(description="rollouts_pod_template_hash of the stable pods")
    namespace: Annotated[str, Field(pattern=NAMESPACE, max_length=63)] | None = None
    checks: list[CheckName] | None = Field(None, min_length=1, max_length=len(CHECKS))
    start: AwareDatetime | None = Field(
        None, description="RFC 3339 or unix seconds; default: first canary sample"
    )
    end: AwareDatetime | None = Field(None, description="RFC 3339 or unix seconds; default: now")
    tolerances: Tolerances | None = None

    @field_validator("namespace", mode="before")
    @classmethod
    def _empty_namespace_is_none(cls, value: object) -> object:
        # Argo substitutes an unset template arg as "", which means "any namespace".
        return None if value == "" else value

    @field_validator("start", "end", mode="before")
    @classmethod
    def _no_bool_time(cls, value: object) -> object:
        if isinstance(value, bool):  # lax parsing reads `true` as the unix time 1
            raise ValueError("must be RFC 3339 or unix seconds, not a boolean")
        return value

    @field_validator("start", "end")
    @classmethod
    def _sane_time(cls, value: AwareDatetime | None) -> AwareDatetime | None:
        if value is not None and not EARLIEST <= value <= LATEST:
            raise ValueError(f"must be between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.canary == self.baseline:
            raise ValueError("canary and baseline must be different hashes")
        if self.start and self.end and self.end <= self.start:
            raise ValueError("end must be after start")
        if self.checks and len(set(self.checks)) != len(self.checks):
            raise ValueError("checks must not repeat")
        return self

    def selected_checks(self) -> list[CheckName]:
        return [c for c in CHECKS if self.checks is None or c in self.checks]


class Samples(BaseModel):
    canary: int
    baseline: int


class CheckResult(BaseModel):
    """One check's decision and the evidence behind it."""

    verdict: Verdict
    reason: str
    measure: str = Field(description="the effect being judged; larger is worse")
    evidence: str = Field(description="the statistical method and its error levels")
    canary: float | None = Field(description="the canary's estimate")
    baseline: float | None = Field(description="the baseline's estimate")
    effect: float | None = Field(description="canary compared with baseline, in the measure's units")
    interval: tuple[float | None, float | None] = Field(
        description="anytime-valid bounds of the effect: [lower at the fail level, upper at the pass level]"
    )
    tolerance: float
    samples: Samples
    promql: list[str]


class Window(BaseModel):
    start: float
    end: float


class Judgement(BaseModel):
    """The response body: Argo reads `verdict` through `jsonPath: "{$}"`."""

    verdict: Verdict
    score: int = Field(ge=0, le=100)
    reason: str
    checks: dict[str, CheckResult]
    report_url: str
    agent: str
    canary: str
    baseline: str
    namespace: str | None = None
    window: Window | None = None
