"""Draws from uniform, normal, lognormal and poisson distributions truncated to [low, high].

Every draw is by inverse CDF: one uniform number per row is mapped into the part of the
distribution that lies inside [low, high]. So no value is clipped onto a bound (the
shape inside the range is the distribution's own, renormalised), and a block always
consumes exactly ``size`` uniforms, whatever the parameters: the same block size gives the
same draws. Shared by the number, money and date types.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from typing import Literal

import numpy as np

from generators.fieldtype import FieldOptions
from generators.vectors import WeightedTable

Distribution = Literal["uniform", "normal", "lognormal", "poisson"]
# Floats are exact integers up to 2**53; shaped draws of integers stay inside it.
MAX_EXACT = 2**53
MAX_LAMBDA = 1e9


class DistributionOptions(FieldOptions, frozen=True):
    """Options that shape a numeric draw; the range itself comes from the type's min/max.

    ``distribution``: "uniform" (default), "normal" (``mean``, ``stddev``; defaults: the
    range's midpoint and a sixth of its width), "lognormal" (``mu`` and ``sigma`` of the
    logarithm, or ``median`` and ``sigma``, or the value's own ``mean`` and ``stddev``),
    "poisson" (``lam``, the mean count). Values are drawn from the distribution truncated
    to [min, max], never clipped onto a bound.
    """

    distribution: Distribution = "uniform"
    mean: float | None = None
    stddev: float | None = None
    mu: float | None = None
    sigma: float | None = None
    median: float | None = None
    lam: float | None = None

    def distribution_problems(self, low: float, high: float) -> Iterator[tuple[str, str]]:
        """Yield ``(option, detail)`` for shape options that cannot work with [low, high]."""
        for option in ("mean", "stddev", "mu", "sigma", "median", "lam"):
            value = getattr(self, option)
            if value is not None and not math.isfinite(value):
                yield option, f"{option} must be a finite number"
                return
        if self.distribution != "uniform" and max(abs(low), abs(high)) > MAX_EXACT:
            yield "distribution", f"a {self.distribution} draw needs min and max within ±2**53"
        elif self.distribution == "normal":
            if self.stddev is not None and self.stddev <= 0:
                yield "stddev", "stddev must be greater than 0"
        elif self.distribution == "lognormal":
            yield from self._lognormal_problems(high)
        elif self.distribution == "poisson":
            if self.lam is None:
                yield "lam", "a poisson distribution needs lam (the mean count)"
            elif not 0 < self.lam <= MAX_LAMBDA:
                yield "lam", f"lam must be greater than 0 and at most {MAX_LAMBDA:g}"
            elif high < 0:
                yield "max", "a poisson count is never negative; max must be >= 0"

    def _lognormal_problems(self, high: float) -> Iterator[tuple[str, str]]:
        if self.sigma is not None and self.sigma <= 0:
            yield "sigma", "sigma must be greater than 0"
        elif self.median is not None and self.median <= 0:
            yield "median", "median must be greater than 0"
        elif self.mean is not None and self.mean <= 0:
            yield "mean", "a lognormal mean must be greater than 0"
        elif self.stddev is not None and self.stddev <= 0:
            yield "stddev", "stddev must be greater than 0"
        elif self.lognormal_parameters() is None:
            yield (
                "distribution",
                "a lognormal distribution needs mu and sigma, median and sigma, or mean and stddev",
            )
        elif high <= 0:
            yield "max", "a lognormal value is always positive; max must be > 0"

    def normal_parameters(self, low: float, high: float) -> tuple[float, float]:
        """Return (mean, stddev), defaulting to the range's midpoint and a sixth of its width."""
        mean = (low + high) / 2 if self.mean is None else self.mean
        stddev = self.stddev if self.stddev is not None else max((high - low) / 6, 1e-9)
        return mean, stddev

    def lognormal_parameters(self) -> tuple[float, float] | None:
        """Return (mu, sigma) of the logarithm, from whichever pair of options was given."""
        if self.sigma is not None and self.mu is not None:
            return self.mu, self.sigma
        if self.sigma is not None and self.median is not None:
            return math.log(self.median), self.sigma
        if self.mean is not None and self.stddev is not None:
            sigma2 = math.log1p((self.stddev / self.mean) ** 2)
            return math.log(self.mean) - sigma2 / 2, math.sqrt(sigma2)
        return None


def draw_real(
    options: DistributionOptions, rng: np.random.Generator, size: int, low: float, high: float
) -> np.ndarray:
    """Return ``size`` float64 values in [low, high] shaped by ``options`` (poisson excluded)."""
    uniform = rng.random(size)
    if options.distribution == "normal":
        mean, stddev = options.normal_parameters(low, high)
        values = normal_from_uniform(uniform, mean, stddev, low, high)
    elif options.distribution == "lognormal":
        mu, sigma = options.lognormal_parameters() or (0.0, 1.0)
        log_low = math.log(low) if low > 0 else -math.inf
        values = np.exp(
            mu
            + sigma
            * _truncated_standard_normal(
                uniform, (log_low - mu) / sigma, (math.log(high) - mu) / sigma
            )
        )
    else:
        values = low + (high - low) * uniform
    # Guards only float rounding at the ends; the draw itself never leaves the range.
    clipped: np.ndarray = np.clip(values, low, high)
    return clipped


def draw_integer(
    options: DistributionOptions, rng: np.random.Generator, size: int, low: int, high: int
) -> np.ndarray:
    """Return ``size`` int64 values in [low, high] shaped by ``options``."""
    if options.distribution == "uniform":
        return rng.integers(low, high, size=size, dtype=np.int64, endpoint=True)
    if options.distribution == "poisson":
        counts, table = _poisson_table(float(options.lam or 1.0), max(low, 0), high)
        drawn: np.ndarray = counts[table.draw(rng, size)]
        return drawn
    # Each integer n owns [n - 0.5, n + 0.5), so rounding keeps the continuous shape.
    values = draw_real(options, rng, size, low - 0.5, high + 0.5)
    rounded: np.ndarray = np.clip(np.rint(values), low, high).astype(np.int64)
    return rounded


def normal_from_uniform(
    uniform: np.ndarray, mean: float, stddev: float, low: float, high: float
) -> np.ndarray:
    """Map uniforms in [0, 1) to normal(mean, stddev) values truncated to [low, high]."""
    z = _truncated_standard_normal(uniform, (low - mean) / stddev, (high - mean) / stddev)
    return np.clip(mean + stddev * z, low, high)


def _truncated_standard_normal(uniform: np.ndarray, z_low: float, z_high: float) -> np.ndarray:
    """Map uniforms in [0, 1) to standard normal values in [z_low, z_high] by inverse CDF."""
    if z_low > 0:
        # Deep in the upper tail the CDF rounds to 1; the mirror image keeps its precision.
        return -_truncated_standard_normal(uniform, -z_high, -z_low)
    p_low, p_high = _normal_cdf(z_low), _normal_cdf(z_high)
    p = p_low + (p_high - p_low) * uniform
    p = np.clip(p, np.nextafter(0.0, 1.0), np.nextafter(1.0, 0.0))
    z: np.ndarray = np.clip(normal_quantile(p), z_low, z_high)
    return z


def _normal_cdf(z: float) -> float:
    return 0.5 * math.erfc(-z / math.sqrt(2))


# Acklam's rational approximation of the normal quantile (relative error < 1.2e-9).
_A = (-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.3577518672690,
      -30.66479806614716, 2.506628277459239)  # fmt: skip
_B = (-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972,
      -13.28068155288572)  # fmt: skip
_C = (-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734,
      4.374664141464968, 2.938163982698783)  # fmt: skip
_D = (0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416)
_P_TAIL = 0.02425


def normal_quantile(p: np.ndarray) -> np.ndarray:
    """Return the standard normal quantile of each probability in (0, 1), vectorised."""
    out = np.empty_like(p)
    low_tail = p < _P_TAIL
    high_tail = p > 1 - _P_TAIL
    central = ~(low_tail | high_tail)
    q = p[central] - 0.5
    r = q * q
    numerator = ((((_A[0] * r + _A[1]) * r + _A[2]) * r + _A[3]) * r + _A[4]) * r + _A[5]
    denominator = ((((_B[0] * r + _B[1]) * r + _B[2]) * r + _B[3]) * r + _B[4]) * r + 1
    out[central] = numerator * q / denominator
    for mask, sign, tail_p in ((low_tail, 1.0, p[low_tail]), (high_tail, -1.0, 1 - p[high_tail])):
        t = np.sqrt(-2 * np.log(tail_p))
        numerator = ((((_C[0] * t + _C[1]) * t + _C[2]) * t + _C[3]) * t + _C[4]) * t + _C[5]
        denominator = (((_D[0] * t + _D[1]) * t + _D[2]) * t + _D[3]) * t + 1
        out[mask] = sign * numerator / denominator
    return out


@functools.cache
def _poisson_table(lam: float, low: int, high: int) -> tuple[np.ndarray, WeightedTable]:
    """Return the counts in reach and a table drawing them with poisson(lam) weights.

    Counts more than 12 standard deviations from lam carry no weight a float can hold, so
    the table spans only the part of [low, high] near lam (a few thousand entries).
    """
    reach = 12 * math.sqrt(lam) + 20
    first = max(low, math.floor(lam - reach))
    last = min(high, math.ceil(lam + reach))
    if first > last:  # the whole range lies in a tail: its nearest end takes all draws
        first = last = low if low > lam else high
    counts = np.arange(first, last + 1, dtype=np.int64)
    # log pmf by the recurrence p(k) = p(k - 1) * lam / k, anchored at lgamma once.
    steps = math.log(lam) - np.log(counts[1:].astype(np.float64))
    log_pmf = np.concatenate(([0.0], np.cumsum(steps)))
    log_pmf += first * math.log(lam) - lam - math.lgamma(first + 1)
    weights = np.exp(log_pmf - log_pmf.max())
    return counts, WeightedTable.from_weights(weights)
