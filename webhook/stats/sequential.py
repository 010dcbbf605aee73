"""Anytime-valid confidence sequences for a difference, from the normal-mixture martingale.

For an estimate d of an effect delta with variance V, the information is I = 1/V and
S = I (d - delta) behaves like Brownian motion in information time. Mixing the likelihood
ratio exp(lam S - lam^2 I / 2) over lam ~ N(0, tau^2) gives a nonnegative martingale
M = (1 + tau^2 I)^(-1/2) exp(tau^2 S^2 / (2 (1 + tau^2 I))); by Ville's inequality
P(sup M >= 1/alpha) <= alpha, so the set {delta : M < 1/alpha} covers delta at every look at
once (Howard et al. 2021; the mSPRT of Johari et al. 2017 in interval form).
"""

import math
from dataclasses import dataclass


def half_width(information: float, tau: float, alpha: float) -> float:
    """Half-width of the (1 - alpha) confidence sequence at information `information`."""
    if information <= 0 or not math.isfinite(information):
        return math.inf
    spread = tau * tau * information
    return (
        math.sqrt((1 + spread) / (tau * tau) * (2 * math.log(1 / alpha) + math.log(1 + spread))) / information
    )


def _log_mixture(distance: float, information: float, tau: float) -> float:
    """log M for an estimate `distance` away from the hypothesised effect."""
    spread = tau * tau * information
    return -0.5 * math.log1p(spread) + spread * information * distance * distance / (2 * (1 + spread))


def grid_half_width(information: float, taus: tuple[float, ...], alpha: float) -> float:
    """Half-width of the (1 - alpha) sequence from the average of the mixtures over several `tau`.

    An average of nonnegative martingales is one, so Ville's inequality still holds; the average
    costs at most log(len(taus)) of evidence against the best `tau` for the effect at hand.
    """
    if information <= 0 or not math.isfinite(information):
        return math.inf
    threshold = math.log(1 / alpha) + math.log(len(taus))
    low = min(half_width(information, tau, alpha) for tau in taus)
    high = min(half_width(information, tau, alpha / len(taus)) for tau in taus)
    for _ in range(50):  # the average grows with the distance: bisect for where it reaches 1/alpha
        middle = (low + high) / 2
        logs = [_log_mixture(middle, information, tau) for tau in taus]
        top = max(logs)
        if top + math.log(sum(math.exp(x - top) for x in logs)) >= threshold:
            high = middle
        else:
            low = middle
    return high


@dataclass(frozen=True)
class Bounds:
    """Lower bound (at the fail level) and upper bound (at the pass level) of an effect."""

    estimate: float
    lower: float
    upper: float


# A failing canary may be worse than the tolerance by any amount, so the fail bound mixes over
# drifts up to 8x the tolerance; a passing one is about the tolerance away from it.
FAIL_TAU_MULTIPLES = (1.0, 2.0, 4.0, 8.0)


def bounds(estimate: float, variance: float, tau: float, alpha_fail: float, alpha_pass: float) -> Bounds:
    """One-sided anytime-valid bounds: `lower` for deciding fail, `upper` for deciding pass."""
    information = 1 / variance if variance > 0 else math.inf
    if math.isinf(information):
        return Bounds(estimate, estimate, estimate)
    fail_taus = tuple(tau * m for m in FAIL_TAU_MULTIPLES)
    return Bounds(
        estimate,
        estimate - grid_half_width(information, fail_taus, alpha_fail),
        estimate + half_width(information, tau, alpha_pass),
    )


def proportion_difference(
    x_canary: float, n_canary: float, x_base: float, n_base: float
) -> tuple[float, float]:
    """Difference of two proportions and its variance, with add-one smoothing in the variance.

    Smoothing keeps the variance away from zero when an arm has seen no events yet, so a few
    requests with zero errors do not look like certainty.
    """
    p_canary = x_canary / n_canary
    p_base = x_base / n_base
    s_canary = (x_canary + 1) / (n_canary + 2)
    s_base = (x_base + 1) / (n_base + 2)
    variance = s_canary * (1 - s_canary) / n_canary + s_base * (1 - s_base) / n_base
    return p_canary - p_base, variance
