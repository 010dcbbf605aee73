"""Rollout-level benchmark: the rendered canary schedules replayed with every gate and the
background analysis (numbers in docs/benchmarks.md).

    python -m benchmarks.rollout_replay --seed 1 --runs 40 --good-runs 300 [--env prod dev] [--rate 1 2 10]

The steps, pauses, analysis templates, their args (policy, tolerances, the safety nets' limits),
`count`, `interval`, `initialDelay`, `failureLimit` and `inconclusiveLimit` come from
`kubectl kustomize rollouts/envs/<env>/<agent>`, read by the demo's plan reader; each measurement's
phase and each run's outcome are decided by the demo's copy of Argo's rules (`tools.demo.conditions`,
`tools.demo.analysis.assess`). What the judge would read from Prometheus is drawn per scrape
interval from the synthetic-traffic model's bucket probabilities (`benchmarks.judge_quality`), and
the judge decides with its own checks (`webhook.stats.checks`). The stable ran at the full rate for
the hour before the canary, which is the baseline's reference.
"""

import argparse
import math
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from benchmarks.judge_quality import (
    ALPHA_FAIL,
    MC_DRAWS,
    SCENARIOS,
    BucketModel,
    Judge,
    Tally,
    _p95,
    geometric_mean,
    judge_counts,
    kayenta_at,
    model_of,
    oracle,
    seed_thresholds,
)
from ci.render import kustomize_build
from kernel.contract import CHECK_NAMES, DURATION_BUCKETS, CheckName
from kernel.toolpaths import REPO_ROOT
from tools.demo.analysis import Measurement, MetricState, assess
from tools.demo.conditions import Phase, measurement_phase
from tools.demo.plan import (
    AnalysisRef,
    RolloutPlan,
    RunContext,
    build_metrics,
    duration_seconds,
    read_plan,
    rollout_fields,
)
from tools.traffic import FAILURE_RATE, HEALTHY, SCRAPE_INTERVAL
from webhook.judge import JudgeConfig
from webhook.stats.checks import Reference

RATES = (1.0, 2.0, 10.0)
ENVS = ("prod", "dev")
REFERENCE_SECONDS = JudgeConfig().reference_seconds
WINDOW_MINUTES = 5  # the safety nets' `[5m]`
LARGE = tuple(name for name in SCENARIOS if "large" in name)
GOOD = ("no-change", "improvement")


@dataclass(frozen=True)
class Gate:
    """One analysis step or the background run: its metrics as Argo would create them."""

    metrics: tuple[dict[str, Any], ...]


def _args(plan: RolloutPlan, ref: AnalysisRef) -> dict[str, str]:
    """The plain-valued args of an AnalysisRun: template defaults overridden by the Rollout's."""
    values: dict[str, str] = {}
    for name in ref.templates:
        for arg in plan.templates[name]["spec"].get("args") or []:
            if "value" in arg:
                values[arg["name"]] = str(arg["value"])
    values.update({a["name"]: str(a["value"]) for a in ref.args if "value" in a})
    return values


def _metrics(plan: RolloutPlan, ref: AnalysisRef) -> tuple[dict[str, Any], ...]:
    context = RunContext(
        stable_hash="stable",
        canary_hash="canary",
        fields=rollout_fields(plan),
        secrets={("agent-rollouts-judge-token", "token"): "benchmark"},
        overrides={},
    )
    args = _args(plan, ref)
    out = []
    for metric in build_metrics(plan, ref, context):
        out.append({**metric, "args": args})
    return tuple(out)


# --- what each provider measures, from the synthetic counts ----------------------------------------


@dataclass
class Arms:
    canary: Tally
    stable: Tally
    reference: Reference


def error_rate_net(arms: Arms, args: dict[str, str]) -> list[float]:
    """agent-error-rate's query: canary failure share minus the stable's over 5 minutes, empty
    below min-requests canary requests."""
    strata = WINDOW_MINUTES * 60 // SCRAPE_INTERVAL
    window = {
        name: (
            sum(int(i["n"]) for i in t.intervals[-strata:]),
            sum(int(i["failures"]) for i in t.intervals[-strata:]),
        )
        for name, t in (("canary", arms.canary), ("stable", arms.stable))
    }
    n_c, x_c = window["canary"]
    n_s, x_s = window["stable"]
    if n_c < float(args["min-requests"]):
        return []
    return [x_c / n_c - (x_s / n_s if n_s else 0.0)]


def latency_net(arms: Arms, args: dict[str, str]) -> list[float]:
    """agent-latency-p95's query: canary p95 over the stable's over 5 minutes, empty below
    min-requests on either side."""
    strata = WINDOW_MINUTES * 60 // SCRAPE_INTERVAL
    counts, sizes = [], []
    for tally in (arms.canary, arms.stable):
        recent = tally.intervals[-strata:]
        sizes.append(sum(int(i["n"]) for i in recent))
        counts.append(
            sum((np.asarray(i["duration"]) for i in recent), start=np.zeros(len(DURATION_BUCKETS) + 1))
        )
    if min(sizes) < float(args["min-requests"]):
        return []
    return [_p95(counts[0], DURATION_BUCKETS) / _p95(counts[1], DURATION_BUCKETS)]


NETS: dict[str, Callable[[Arms, dict[str, str]], list[float]]] = {
    "agent-error-rate": error_rate_net,
    "agent-latency-p95": latency_net,
}

# A gate's judge: the canary and stable tallies (per scrape interval) and the baseline's reference
# -> pass, fail or wait (inconclusive).
GateJudge = Callable[[Arms, dict[str, Any]], str]


def ours(arms: Arms, body: dict[str, Any]) -> str:
    """The judge on the canary's run so far, with the checks and tolerances the template sends."""
    c, b = arms.canary.counts(), arms.stable.counts()
    checks: list[CheckName] = [c_ for c_ in body["checks"] if c_ in CHECK_NAMES]
    tolerances = {name: float(body["tolerances"][name]) for name in checks}
    minutes = len(c.requests) * SCRAPE_INTERVAL / 60
    return judge_counts(c, b, arms.reference, range(len(c.requests)), minutes, tolerances, checks)


def per_minute(tally: Tally) -> Tally:
    """The same counts in one-minute intervals, as the fixed-window judges read them."""
    merged = Tally(tally.arm)
    merged.requests, merged.failures, merged.hist, merged.cost_sum = (
        tally.requests,
        tally.failures,
        tally.hist,
        tally.cost_sum,
    )
    group = 60 // SCRAPE_INTERVAL
    for k in range(0, len(tally.intervals), group):
        chunk = tally.intervals[k : k + group]
        merged.intervals.append(
            {key: sum((i[key] for i in chunk[1:]), start=chunk[0][key]) for key in chunk[0]}
        )
        merged.cost_sums.append(sum(tally.cost_sums[k : k + group]))
    return merged


def minute_judge(judge: Judge) -> GateJudge:
    def decide(arms: Arms, _body: dict[str, Any]) -> str:
        return judge(per_minute(arms.canary), per_minute(arms.stable))

    return decide


def oracle_judge(truth: BucketModel, stable: BucketModel) -> GateJudge:
    sprt = oracle(truth, stable)
    return lambda arms, _body: sprt(arms.canary, arms.stable)


def judges(
    truth: BucketModel, stable: BucketModel, judge_looks: int, regression: bool
) -> dict[str, GateJudge]:
    """Every judge where the rendered templates ask ours: the gates and the background judge; the
    safety nets stay as rendered."""
    out: dict[str, GateJudge] = {
        "ours": ours,
        "seed thresholds": minute_judge(seed_thresholds),
        "kayenta-style (p < 0.01 per look)": minute_judge(kayenta_at(0.01)),
        # Held to our false-abort budget: 1 % over 4 metrics and every look a judge gets in a rollout.
        "kayenta-style, Bonferroni over looks": minute_judge(kayenta_at(ALPHA_FAIL / (4 * judge_looks))),
    }
    if regression:  # the oracle knows when there is nothing to find
        out["oracle SPRT (same looks)"] = oracle_judge(truth, stable)
    return out


# --- one rollout ---------------------------------------------------------------------------------


@dataclass
class Outcome:
    status: str  # promoted | aborted | paused
    by: str  # what decided it: "gate N", "background <metric>", or ""
    weight: int  # the canary's weight when it was decided
    canary_requests: int
    minutes: float
    first_oracle_fail: int | None  # canary requests when the oracle, asked every scrape, would fail


@dataclass(frozen=True)
class Schedule:
    env: str
    plan: RolloutPlan
    steps: tuple[tuple[str, Any], ...]  # (setWeight, w) | (pause, seconds or None) | (analysis, Gate)
    background: Gate | None

    @property
    def judge_looks(self) -> int:
        """How often a judge is asked over the schedule: every gate look, and the background
        judge's looks until the last gate ends."""
        gates = [m for kind, gate in self.steps if kind == "analysis" for m in gate.metrics]
        seconds = sum(float(value) for kind, value in self.steps if kind == "pause" and value is not None)
        # A gate's first look is at its start, the others `interval` apart.
        seconds += sum((int(m.get("count", 1)) - 1) * duration_seconds(m.get("interval", 0)) for m in gates)
        watching = [
            m for m in (self.background.metrics if self.background else ()) if _template_kind(m) not in NETS
        ]
        background = sum(
            int((seconds - duration_seconds(m.get("initialDelay", 0))) // duration_seconds(m["interval"])) + 1
            for m in watching
        )
        return sum(int(m.get("count", 1)) for m in gates) + background


GATES_ONLY = "ours, gates only"  # the same rollout without the background judge: the baseline


def without_background_judge(plan: Schedule) -> Schedule:
    """The schedule with only the safety nets in the background: the judge asked at gates only."""
    if plan.background is None:
        return plan
    nets = tuple(m for m in plan.background.metrics if _template_kind(m) in NETS)
    return replace(plan, background=Gate(nets))


def schedule(env: str, agent: str) -> Schedule:
    plan = read_plan(kustomize_build(REPO_ROOT / "rollouts" / "envs" / env / agent))
    steps: list[tuple[str, Any]] = []
    for step in plan.steps:
        if step.kind == "setWeight":
            steps.append(("setWeight", step.weight))
        elif step.kind == "pause":
            steps.append(("pause", step.pause_seconds))
        else:
            assert step.analysis is not None
            steps.append(("analysis", Gate(_metrics(plan, step.analysis))))
    background = Gate(_metrics(plan, plan.background)) if plan.background else None
    return Schedule(env, plan, tuple(steps), background)


def _template_kind(metric: dict[str, Any]) -> str:
    """The unprefixed template name (the overlay prefixes it with the agent's name)."""
    name = str(metric["template"])
    return next((kind for kind in (*NETS, "agent-regression") if name.endswith(kind)), name)


class Replay:
    """Argo's walk of one rollout: steps in order, the background run alongside, in scrape steps."""

    def __init__(
        self,
        plan: Schedule,
        judge: GateJudge,
        canary: BucketModel,
        stable: BucketModel,
        rate: float,
        rng: np.random.Generator,
        continuous_oracle: Judge | None,
    ) -> None:
        self.plan, self.judge, self.rate, self.rng = plan, judge, rate, rng
        reference = Tally(stable)
        reference.step(rng, int(rng.poisson(rate * REFERENCE_SECONDS)))
        self.arms = Arms(
            Tally(canary),
            Tally(stable),
            Reference(
                reference.requests,
                reference.failures,
                reference.histogram("confidence"),
                reference.histogram("duration"),
                reference.histogram("cost", cost_sum=reference.cost_sum),
            ),
        )
        self.weight = 0
        self.seconds = 0
        self.continuous_oracle = continuous_oracle
        self.oracle_fail: int | None = None
        self.background = (
            [MetricState(m, duration_seconds(m.get("initialDelay", 0))) for m in plan.background.metrics]
            if plan.background
            else []
        )

    def _measure(self, metric: dict[str, Any]) -> Phase:
        kind = _template_kind(metric)
        if kind in NETS:
            result: Any = NETS[kind](self.arms, metric["args"])
        else:
            verdict = self.judge(self.arms, metric["provider"]["web"]["jsonBody"])
            result = {"verdict": "inconclusive" if verdict == "wait" else verdict}
        return measurement_phase(result, metric.get("successCondition"), metric.get("failureCondition"))

    def _advance(self, seconds: float) -> str | None:
        """Serve traffic for `seconds`; the background metric that failed, if one did."""
        for _ in range(round(seconds / SCRAPE_INTERVAL)):
            share = self.weight / 100
            self.arms.canary.step(self.rng, int(self.rng.poisson(self.rate * share * SCRAPE_INTERVAL)))
            self.arms.stable.step(self.rng, int(self.rng.poisson(self.rate * (1 - share) * SCRAPE_INTERVAL)))
            self.seconds += SCRAPE_INTERVAL
            if self.continuous_oracle and self.oracle_fail is None and self.arms.canary.requests:
                if self.continuous_oracle(self.arms.canary, self.arms.stable) == "fail":
                    self.oracle_fail = self.arms.canary.requests
            for state in self.background:
                if state.phase is None and self.seconds >= state.due:
                    state.measurements.append(Measurement(self._measure(state.spec), None, ""))
                    state.phase = assess(state)
                    state.due += duration_seconds(state.spec.get("interval", 0))
                    if state.phase in (Phase.FAILED, Phase.ERROR):
                        return f"background {state.name}"
        return None

    def _outcome(self, status: str, by: str) -> Outcome:
        return Outcome(
            status, by, self.weight, self.arms.canary.requests, self.seconds / 60, self.oracle_fail
        )

    def _gate(self, gate: Gate) -> tuple[Phase, str | None]:
        """One AnalysisRun: every metric on its interval until each completes or one decides it."""
        states = [
            MetricState(m, self.seconds + duration_seconds(m.get("initialDelay", 0))) for m in gate.metrics
        ]
        while True:
            active = [s for s in states if s.phase is None]
            if not active or any(s.phase in (Phase.FAILED, Phase.ERROR, Phase.INCONCLUSIVE) for s in states):
                phases = [s.phase or Phase.SUCCESSFUL for s in states]
                for worst in (Phase.FAILED, Phase.ERROR, Phase.INCONCLUSIVE):
                    if worst in phases:
                        return worst, None
                return Phase.SUCCESSFUL, None
            state = min(active, key=lambda s: s.due)
            failed = self._advance(max(0.0, state.due - self.seconds))
            if failed:
                return Phase.FAILED, failed
            state.measurements.append(Measurement(self._measure(state.spec), None, ""))
            state.phase = assess(state)
            state.due = self.seconds + duration_seconds(state.spec.get("interval", 0))

    def run(self) -> Outcome:
        gate_number = 0
        for kind, value in self.plan.steps:
            if kind == "setWeight":
                self.weight = int(value)
                if self.weight == 100:
                    return self._outcome("promoted", "")
            elif kind == "pause" and value is None:
                return self._outcome("promoted", "manual gate")  # the judge's part is done
            elif kind == "pause":
                failed = self._advance(float(value))
                if failed:
                    return self._outcome("aborted", failed)
            else:
                gate_number += 1
                phase, failed = self._gate(value)
                if phase in (Phase.FAILED, Phase.ERROR):
                    return self._outcome("aborted", failed or f"gate {gate_number}")
                if phase == Phase.INCONCLUSIVE:
                    return self._outcome("paused", f"gate {gate_number}")
        return self._outcome("promoted", "")


# --- the benchmark ---------------------------------------------------------------------------------


def _median_to_abort(outcomes: Sequence[Outcome]) -> float:
    return statistics.median([o.canary_requests if o.status == "aborted" else math.inf for o in outcomes])


def _median_oracle(outcomes: Sequence[Outcome]) -> float:
    return statistics.median(
        [o.first_oracle_fail if o.first_oracle_fail is not None else math.inf for o in outcomes]
    )


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "n/a"


def benchmark(
    seed: int, runs: int, good_runs: int, envs: Sequence[str], rates: Sequence[float], agent: str
) -> str:
    import random

    model_rng = random.Random(seed)
    stable = model_of(HEALTHY, model_rng)
    arms = {name: model_of(b, model_rng, stable) for name, (_, b) in SCENARIOS.items()}
    lines = [
        f"seed {seed}; {good_runs} runs of an identical canary, {runs} of every other scenario, per schedule, "
        f"rate and judge; {FAILURE_RATE:.1%} failures on both builds; bucket probabilities from {MC_DRAWS} draws",
        "",
    ]
    summary = [
        "| schedule | req/s | judge | identical: aborted / promoted / paused | improvement promoted "
        "| regressions promoted | large regressions aborted (paused) | canary requests to abort vs oracle |",
        "|---|---|---|---|---|---|---|---|",
    ]
    detail = [
        "| schedule | req/s | scenario | ours: aborted / promoted / paused % | ours: median canary requests to abort "
        f"| {GATES_ONLY}: median canary requests to abort "
        "| oracle SPRT, same looks | oracle SPRT, every scrape | where ours aborted or paused |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for env in envs:
        plan = schedule(env, agent)
        lines.append(
            f"{env}: "
            + " → ".join(s.describe() for s in plan.plan.steps)
            + f" ({plan.judge_looks} judge looks; background: {', '.join(plan.plan.background.templates) if plan.plan.background else 'none'})"
        )
        for rate in rates:
            results: dict[tuple[str, str], list[Outcome]] = {}
            for index, name in enumerate(SCENARIOS):
                truth = arms[name] if name != "no-change" else stable
                regression = name not in GOOD
                continuous = oracle(truth, stable) if regression else None
                count = good_runs if name == "no-change" else runs
                walks = [
                    (judge_name, plan, judge)
                    for judge_name, judge in judges(truth, stable, plan.judge_looks, regression).items()
                ]
                walks.append((GATES_ONLY, without_background_judge(plan), ours))
                for judge_name, walked, judge in walks:
                    results[(name, judge_name)] = [
                        Replay(
                            walked,
                            judge,
                            truth,
                            stable,
                            rate,
                            np.random.default_rng(
                                [seed, ENVS.index(env) if env in ENVS else 9, int(rate * 10), index, r]
                            ),
                            continuous if judge_name == "ours" else None,
                        ).run()
                        for r in range(count)
                    ]
            summary += _summary_rows(env, rate, results)
            detail += _detail_rows(env, rate, results)
    return "\n".join([*lines, "", *summary, "", *detail])


def _summary_rows(env: str, rate: float, results: dict[tuple[str, str], list[Outcome]]) -> list[str]:
    rows = []
    judge_names = list(dict.fromkeys(j for _, j in results))
    regressions = [n for n in SCENARIOS if n not in GOOD]
    for judge_name in judge_names:
        same = results.get(("no-change", judge_name), [])
        status = {s: sum(o.status == s for o in same) for s in ("aborted", "promoted", "paused")}
        better = results.get(("improvement", judge_name), [])
        regressed = [o for n in regressions for o in results[(n, judge_name)]]
        large = [o for n in LARGE for o in results[(n, judge_name)]]
        ratios = []
        for name in regressions:
            mine = _median_to_abort(results[(name, judge_name)])
            theirs = _median_to_abort(results.get((name, "oracle SPRT (same looks)"), []) or [])
            if math.isfinite(mine) and math.isfinite(theirs):
                ratios.append(mine / theirs)
        ratio = geometric_mean(ratios, "scenarios")
        identical = (
            " / ".join(_pct(status[s], len(same)) for s in ("aborted", "promoted", "paused"))
            if same
            else "n/a"
        )
        rows.append(
            f"| {env} | {rate:g} | {judge_name} | {identical} "
            f"| {_pct(sum(o.status == 'promoted' for o in better), len(better))} "
            f"| {_pct(sum(o.status == 'promoted' for o in regressed), len(regressed))} "
            f"| {_pct(sum(o.status == 'aborted' for o in large), len(large))} "
            f"({_pct(sum(o.status == 'paused' for o in large), len(large))}) | {ratio} |"
        )
    return rows


def _detail_rows(env: str, rate: float, results: dict[tuple[str, str], list[Outcome]]) -> list[str]:
    rows = []
    for name in SCENARIOS:
        mine = results[(name, "ours")]
        shares = " / ".join(
            f"{100 * sum(o.status == s for o in mine) / len(mine):.0f}"
            for s in ("aborted", "promoted", "paused")
        )
        same_looks = results.get((name, "oracle SPRT (same looks)"))
        where: dict[str, int] = {}
        for o in mine:
            if o.status != "promoted":
                key = f"{o.status} {o.by} at {o.weight}%"
                where[key] = where.get(key, 0) + 1
        rows.append(
            f"| {env} | {rate:g} | {name} | {shares} | {_shown(_median_to_abort(mine))} "
            f"| {_shown(_median_to_abort(results[(name, GATES_ONLY)]))} "
            f"| {_shown(_median_to_abort(same_looks)) if same_looks else 'n/a'} "
            f"| {_shown(_median_oracle(mine)) if same_looks else 'n/a'} "
            f"| {', '.join(f'{k}: {v}' for k, v in sorted(where.items(), key=lambda kv: -kv[1])[:3]) or '–'} |"
        )
    return rows


def _shown(x: float) -> str:
    return "–" if math.isinf(x) else f"{x:.0f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.rollout_replay", description=__doc__)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=40, help="runs per regression or improvement scenario")
    parser.add_argument("--good-runs", type=int, default=300, help="runs of an identical canary")
    parser.add_argument("--env", nargs="+", default=list(ENVS), choices=("dev", "staging", "prod"))
    parser.add_argument(
        "--rate", nargs="+", type=float, default=list(RATES), help="requests per second in total"
    )
    parser.add_argument("--agent", default="knowledge-qna")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    text = benchmark(args.seed, args.runs, args.good_runs, args.env, args.rate, args.agent)
    sys.stdout.write(text + f"\n\n(ran in {time.perf_counter() - began:.0f} s)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
