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


@dataclass(frozen=True)
class Bounds:
    """Lower bound (at the fail level) and upper bound (at the pass level) of an effect."""

    estimate: float
    lower: float
    upper: float


def bounds(estimate: float, variance: float, tau: float, alpha_fail: float, alpha_pass: float) -> Bounds:
    """One-sided anytime-valid bounds: `lower` for deciding fail, `upper` for deciding pass."""
    information = 1 / variance if variance > 0 else math.inf
    if math.isinf(information):
        return Bounds(estimate, estimate, estimate)
    return Bounds(
        estimate,
        estimate - half_width(information, tau, alpha_fail),
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
