"""One-sided e-processes: what the judge compares against 1/alpha at every look.

Two kinds, both nonnegative supermartingales under their null, so Ville's inequality bounds the
chance that they *ever* reach 1/alpha, however often and whenever Argo asks:

- `RateRatio`, the fail side of counts (failures, low-confidence answers, slow requests,
  requests beyond the last cost bucket). Per stratum k the canary has n_c requests with x_c events, the baseline n_b
  with x_b. If the canary's event rate is r times the baseline's in every stratum (the baseline's
  own rate may change from stratum to stratum: a brownout hits both builds), then with
  theta_k(r) = n_c r / (n_c r + n_b) the likelihood ratio of r1 against r0,
  prod_k (theta_k(r1)/theta_k(r0))^x_c ((1 - theta_k(r1))/(1 - theta_k(r0)))^x_b,
  has expectation exactly 1 when events are Poisson and at most 1 when each request is a
  Bernoulli trial ((1 + p(u - 1))^n <= exp(np(u - 1))); when the true ratio is on the null's side
  of r0 the expectation only shrinks. So a mixture over worse ratios r1 > r0, divided by the
  likelihood at r0 (the closest ratio that does not fail), is an exact e-process for any traffic
  split, any change of the baseline's rate between strata and any number of events.
- `ShareDifference`, the pass side of counts: an exact universal-inference e-process for the
  difference of the two rates (see the class).
- `MeanDifference`, for means (confidence, winsorised cost): the one-sided normal mixture,
  mixing exp(lam S - lam^2 I / 2) over a half-normal lam ~ N+(0, tau^2), where S = I (d - d0)
  and I = 1/Var(d): M = 2 (1 + tau^2 I)^(-1/2) exp(tau^2 S^2 / (2 (1 + tau^2 I))) Phi(tau S / sqrt(1 + tau^2 I)).
  It is valid as the estimate's normal approximation is (Howard et al. 2021; Johari et al. 2017).
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

# (canary requests, canary events, baseline requests, baseline events) in one stratum.
Stratum = tuple[float, float, float, float]

# A failing canary may be worse than the tolerance by any amount: its mixture spreads over
# ratios (of the boundary rate ratio, or multiples of the tolerance for means) up to 16x.
FAIL_MULTIPLES = (1.4, 2.0, 4.0, 8.0, 16.0)
MEAN_FAIL_TAUS = (1.0, 2.0, 4.0, 8.0)
BISECTIONS = 24  # about 1e-5 of the bracket, far below what the reasons print


def _log_average(logs: Sequence[float], weights: Sequence[float]) -> float:
    top = max(logs)
    if top == -math.inf:
        return -math.inf
    return top + math.log(sum(w * math.exp(x - top) for x, w in zip(logs, weights, strict=True)))


def _scale_to_reach(log_e: Callable[[float], float], threshold: float) -> float | None:
    """The smallest factor f >= 1 on the information with log_e(f) >= threshold, None if none below 1e4."""
    if log_e(1.0) >= threshold:
        return 1.0
    low, high = 1.0, 2.0
    while log_e(high) < threshold:
        low, high = high, high * 2
        if high > 1e4:
            return None
    for _ in range(BISECTIONS):
        middle = math.sqrt(low * high)
        low, high = (low, middle) if log_e(middle) >= threshold else (middle, high)
    return high


@dataclass(frozen=True)
class RateRatio:
    """The canary's event rate relative to the baseline's, from stratified counts."""

    strata: tuple[Stratum, ...]
    # The largest possible ratio, 1 / the baseline's reference rate: a worse one would put the
    # canary's rate above 1, so the mixture spends nothing on it.
    max_ratio: float = math.inf

    @classmethod
    def of(cls, strata: Sequence[Stratum], max_ratio: float = math.inf) -> "RateRatio":
        # Strata where an arm saw no request or nobody saw an event carry no evidence.
        kept = tuple(s for s in strata if s[0] > 0 and s[2] > 0 and s[1] + s[3] > 0)
        return cls(kept, max_ratio)

    def estimate(self) -> float:
        """Mantel-Haenszel estimate of the common rate ratio (inf when the baseline saw nothing)."""
        top = sum(x_c * n_b / (n_c + n_b) for n_c, x_c, n_b, _ in self.strata)
        bottom = sum(x_b * n_c / (n_c + n_b) for n_c, _, n_b, x_b in self.strata)
        if bottom == 0:
            return math.inf if top > 0 else 1.0
        return top / bottom

    def log_ratio(self, alternative: float, null: float) -> float:
        """log of the likelihood ratio of rate ratio `alternative` against `null`."""
        total = 0.0
        for n_c, x_c, n_b, x_b in self.strata:
            t1 = n_c * alternative / (n_c * alternative + n_b)
            t0 = n_c * null / (n_c * null + n_b)
            if x_c:
                total += x_c * (math.log(t1 / t0) if t1 > 0 else -math.inf)
            if x_b:
                total += x_b * math.log1p((t0 - t1) / (1 - t0))
        return total

    def log_e(self, null: float) -> float:
        """log e-value against rate ratio `null`, mixing over worse ratios (the fail side)."""
        possible = [m for m in FAIL_MULTIPLES if null * m <= self.max_ratio] or [FAIL_MULTIPLES[0]]
        return _log_average(
            [self.log_ratio(null * m, null) for m in possible], [1 / len(possible)] * len(possible)
        )

    def lower_bound(self, threshold: float) -> float:
        """The largest rate ratio the data reject towards worse ones: an anytime-valid lower bound."""
        low, high = math.log(1e-4), math.log(1e4)
        if self.log_e(math.exp(low)) < threshold:
            return 0.0
        for _ in range(BISECTIONS):
            middle = (low + high) / 2
            low, high = (middle, high) if self.log_e(math.exp(middle)) >= threshold else (low, middle)
        return math.exp(low)


@dataclass(frozen=True)
class RateExcess:
    """The fail side of a count the baseline rarely sees: does the canary exceed the baseline's
    rate plus `tolerance`, in every stratum?

    A rate ratio says nothing when the baseline sees almost no events (its null ratio
    (reference + tolerance) / reference is huge, so an event is the canary's under both
    hypotheses). This tests the difference itself, still per stratum: with the baseline's unknown
    rate p there, the canary's boundary rate is p0 = p + tolerance and an alternative
    q = p0 + delta (1 - p0). For any fixed p the stratum's factor
    Bin(x_c; q) Bin(x_b; p_ref) / (Bin(x_c; p0) Bin(x_b; p)) has expectation at most 1 under the
    null (the baseline's factor is a likelihood ratio, the canary's one against its boundary);
    taking the infimum over p (a convex minimisation) makes it smaller still, whatever the
    baseline did in that stratum (a brownout), so the product over strata, mixed over delta, is
    an e-process for any traffic split and any change of the baseline's rate between strata.
    """

    strata: tuple[tuple[Stratum, int], ...]  # each distinct stratum and how often it occurred
    prior_rate: float  # the baseline's reference rate, fixed before the canary's run
    # The alternatives' excesses over the boundary, as shares of what is left up to 1: multiples
    # of the configured tolerance, fixed whatever null `log_e` is asked about.
    deltas: tuple[float, ...]

    @classmethod
    def of(cls, strata: Sequence[Stratum], prior_rate: float, tolerance: float) -> "RateExcess":
        counted: dict[Stratum, int] = {}
        for s in strata:
            if s[0] > 0:  # a stratum without canary requests says nothing about the canary
                counted[s] = counted.get(s, 0) + 1
        deltas = tuple(min(tolerance * (m - 1), MAX_EXCESS) for m in FAIL_MULTIPLES)
        return cls(tuple(counted.items()), prior_rate, deltas)

    def log_e(self, tolerance: float) -> float:
        """log e-value against the canary exceeding the baseline by at most `tolerance`."""
        logs = [
            sum(
                times * _least_excess_log_ratio(s, tolerance, delta, self.prior_rate)
                for s, times in self.strata
            )
            for delta in self.deltas
        ]
        return _log_average(logs, [1 / len(logs)] * len(logs))

    def lower_bound(self, threshold: float) -> float:
        """The largest tolerance the data reject: an anytime-valid lower bound on p_c - p_b."""
        low, high = 0.0, 1.0 - 1e-6
        if self.log_e(1e-9) < threshold:
            return 0.0
        for _ in range(BISECTIONS):
            middle = (low + high) / 2
            low, high = (middle, high) if self.log_e(middle) >= threshold else (low, middle)
        return low


MAX_EXCESS = 0.9  # the largest alternative: 90 % of the way from the boundary to always


def _least_excess_log_ratio(stratum: Stratum, tolerance: float, delta: float, prior_rate: float) -> float:
    """min over the baseline's rate p of one stratum's log factor (see RateExcess); it is convex in p."""
    n_c, x_c, n_b, x_b = stratum
    keep = math.log1p(-delta)

    def slope(p: float) -> float:
        p0 = p + tolerance
        q = p0 + delta * (1 - p0)
        canary = -x_c * delta / (p0 * q)
        return canary - (x_b / p if x_b else 0.0) + (n_b - x_b) / (1 - p)

    def value(p: float) -> float:
        p0 = p + tolerance
        out = x_c * (math.log(delta + (1 - delta) * p0) - math.log(p0)) + (n_c - x_c) * keep
        if x_b:
            out += x_b * (math.log(prior_rate) - math.log(p))
        return out + (n_b - x_b) * (math.log1p(-prior_rate) - math.log1p(-p))

    high = 1 - tolerance - 1e-9
    if high <= 0:
        return 0.0
    if not x_b and slope(0.0) >= 0:
        return value(0.0)
    low = 1e-12
    if slope(high) <= 0:
        return value(high)
    for _ in range(40):
        middle = (low + high) / 2
        low, high = (middle, high) if slope(middle) < 0 else (low, middle)
    return value((low + high) / 2)


@dataclass(frozen=True)
class ShareDifference:
    """The pass side of a count: is the canary's event rate below the baseline's plus `tolerance`?

    Stratifying by rate ratio cannot prove this when events are rare (no events in either arm say
    nothing about a ratio), so the pass side tests the difference itself, pooled over the window:
    the null is p_c >= p_b + tolerance with p_b unknown. The e-value is a Beta-Bernoulli mixture
    likelihood of both arms (priors centred on the baseline's reference rate, fixed before the
    canary's run) over the null's largest likelihood; dividing by the supremum over the null keeps
    it below the mixture's likelihood ratio against the true parameters, a martingale, so it is an
    exact e-process (universal inference, Wasserman, Ramdas and Balakrishnan, PNAS 2020).
    """

    n_c: float
    x_c: float
    n_b: float
    x_b: float
    prior_rate: float  # the baseline's reference rate
    prior_strength: float  # the reference's requests: how sure the prior is

    def log_e(self, tolerance: float, scale: float = 1.0) -> float:
        n_c, x_c, n_b, x_b = (v * scale for v in (self.n_c, self.x_c, self.n_b, self.x_b))
        rate, strength = self.prior_rate, self.prior_strength
        # The canary may equal the baseline (the sharp prior) or differ within tolerance (a vague one).
        canary = _log_average(
            [
                _log_beta_bernoulli(x_c, n_c, rate, strength),
                _log_beta_bernoulli(x_c, n_c, rate, VAGUE_STRENGTH),
            ],
            [0.8, 0.2],
        )
        baseline = _log_beta_bernoulli(x_b, n_b, rate, strength)
        return canary + baseline - _sup_null(x_c, n_c, x_b, n_b, tolerance)

    def scale_needed(self, tolerance: float, threshold: float) -> float | None:
        return _scale_to_reach(lambda f: self.log_e(tolerance, f), threshold)

    def bound(self, threshold: float) -> float:
        """The smallest tolerance this data would pass: an anytime-valid upper bound on p_c - p_b."""
        low, high = 0.0, 1.0 - 1e-9
        if self.log_e(low) >= threshold:
            return max(0.0, self.x_c / self.n_c - self.x_b / self.n_b) if self.n_c and self.n_b else 0.0
        if self.log_e(high) < threshold:
            return math.inf
        for _ in range(BISECTIONS):
            middle = (low + high) / 2
            low, high = (low, middle) if self.log_e(middle) >= threshold else (middle, high)
        return high


VAGUE_STRENGTH = 20.0


def _log_beta_bernoulli(x: float, n: float, rate: float, strength: float) -> float:
    a, b = rate * strength, (1 - rate) * strength
    return (
        math.lgamma(a + x)
        + math.lgamma(b + n - x)
        - math.lgamma(a + b + n)
        - (math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b))
    )


def _log_binomial_kernel(x: float, n: float, p: float) -> float:
    out = x * math.log(p) if x else 0.0
    return out + ((n - x) * math.log1p(-p) if n - x else 0.0)


def _sup_null(x_c: float, n_c: float, x_b: float, n_b: float, tolerance: float) -> float:
    """max over p_b of the likelihood with p_c = p_b + tolerance (the null's boundary binds)."""

    def slope(p: float) -> float:
        return x_c / (p + tolerance) - (n_c - x_c) / (1 - p - tolerance) + x_b / p - (n_b - x_b) / (1 - p)

    if n_c and n_b and x_c / n_c - x_b / n_b >= tolerance:  # the estimate itself is in the null
        return _log_binomial_kernel(x_c, n_c, x_c / n_c) + _log_binomial_kernel(x_b, n_b, x_b / n_b)
    low, high = 1e-12, 1 - tolerance - 1e-12
    if high <= low:
        return -math.inf
    if slope(low) <= 0:
        p = low
    elif slope(high) >= 0:
        p = high
    else:
        for _ in range(60):
            middle = (low + high) / 2
            low, high = (middle, high) if slope(middle) > 0 else (low, middle)
        p = (low + high) / 2
    return _log_binomial_kernel(x_c, n_c, p + tolerance) + _log_binomial_kernel(x_b, n_b, p)


def _log_scaled_phi(x: float) -> float:
    """x^2 / 2 + log Phi(x), stable where Phi(x) underflows (far on the wrong side)."""
    if x > -8:
        return x * x / 2 + math.log(0.5 * math.erfc(-x / math.sqrt(2)))
    inverse = 1 / (x * x)  # Mills' ratio: Phi(x) ~ phi(x) / -x (1 - 1/x^2 + 3/x^4 - 15/x^6)
    return (
        -math.log(-x) - 0.5 * math.log(2 * math.pi) + math.log1p(-inverse + 3 * inverse**2 - 15 * inverse**3)
    )


def _log_half_normal_mixture(s: float, information: float, tau: float) -> float:
    spread = tau * tau * information
    return math.log(2) - 0.5 * math.log1p(spread) + _log_scaled_phi(tau * s / math.sqrt(1 + spread))


@dataclass(frozen=True)
class MeanDifference:
    """An estimate `d` of a difference (larger is worse) with variance `variance`."""

    d: float
    variance: float

    @property
    def information(self) -> float:
        return 1 / self.variance if self.variance > 0 else math.inf

    def log_e(self, null: float, side: str, tau: float, scale: float = 1.0) -> float:
        """log e-value against `null`; `scale` multiplies the information (for projections)."""
        information = self.information * scale
        if math.isinf(information):
            worse = self.d > null if side == "fail" else self.d < null
            return math.inf if worse else -math.inf
        s = information * ((self.d - null) if side == "fail" else (null - self.d))
        taus = [tau * m for m in MEAN_FAIL_TAUS] if side == "fail" else [tau]
        return _log_average(
            [_log_half_normal_mixture(s, information, t) for t in taus], [1 / len(taus)] * len(taus)
        )

    def scale_needed(self, null: float, side: str, tau: float, threshold: float) -> float | None:
        return _scale_to_reach(lambda f: self.log_e(null, side, tau, f), threshold)

    def bound(self, side: str, tau: float, threshold: float) -> float:
        """Lower ("fail") or upper ("pass") anytime-valid bound on the difference."""
        if math.isinf(self.information):
            return self.d
        width = 2 * math.sqrt(self.variance) * (4 + threshold) + 4 * tau
        low, high = self.d - width, self.d + width
        for _ in range(BISECTIONS):
            middle = (low + high) / 2
            rejected = self.log_e(middle, side, tau) >= threshold
            if side == "fail":
                low, high = (middle, high) if rejected else (low, middle)
            else:
                low, high = (low, middle) if rejected else (middle, high)
        return low if side == "fail" else high
