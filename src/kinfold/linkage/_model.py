"""The Fellegi-Sunter classifier, with its weights estimated from the data by EM.

For each comparison level, ``m`` is the chance of seeing it in a true match and ``u`` in a
non-match; a pair's match weight is the sum of ``log2(m / u)`` over its levels (a missing level
adds nothing). Expectation maximisation estimates ``m``, ``u`` and the share of matches among the
compared pairs from the compared pairs themselves, starting from ``u`` measured on random pairs:
no training labels. Agreement on a value gets a term-frequency adjustment: agreeing on a common
surname says less than agreeing on a rare one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from kinfold.linkage._compare import Comparison

Floats = NDArray[np.float64]
_FLOOR = 1e-6
#: How many pairs' worth of weight the starting guesses carry in every EM estimate.
PRIOR_PAIRS = 30.0


@dataclass
class FellegiSunter:
    """Estimated parameters: per comparison, ``m`` and ``u`` per level (level 0 unused)."""

    design: tuple[Comparison, ...]
    m: list[Floats]
    u: list[Floats]
    match_share: float
    iterations: int = 0
    m_prior: list[Floats] | None = None
    u_prior: list[Floats] | None = None
    share_prior: float | None = None

    @classmethod
    def initial(
        cls, design: tuple[Comparison, ...], u_random: list[Floats], match_share: float
    ) -> FellegiSunter:
        """Starting values and priors: ``m`` from :func:`prior_m`, ``u`` from random pairs."""
        m = [prior_m(c) for c in design]
        u = [_normalised(found) for found in u_random]
        return cls(design, m, u, match_share, m_prior=m, u_prior=u, share_prior=match_share)

    def level_weights(self) -> list[Floats]:
        """``log2(m / u)`` per comparison per level (0 for the missing level)."""
        out = []
        for m, u in zip(self.m, self.u, strict=True):
            w = np.log2(np.maximum(m, _FLOOR) / np.maximum(u, _FLOOR))
            w[0] = 0.0
            out.append(w)
        return out

    def pattern_weights(self, patterns: NDArray[np.uint8]) -> Floats:
        """Match weight of each row of a (patterns, comparisons) level matrix."""
        total = np.zeros(len(patterns), dtype=np.float64)
        for column, w in enumerate(self.level_weights()):
            total += w[patterns[:, column]]
        return total

    def fit(self, patterns: NDArray[np.uint8], counts: Floats, iterations: int) -> None:
        """Run EM over distinct comparison patterns and how often each occurs."""
        total = counts.sum()
        if total == 0:
            return
        for step in range(1, iterations + 1):
            share = min(max(self.match_share, _FLOOR), 1 - _FLOOR)
            prior = np.log2(share / (1 - share))
            posterior = _probability(prior + self.pattern_weights(patterns))
            matched, unmatched = counts * posterior, counts * (1 - posterior)
            new_m = [
                _level_shares(patterns[:, c], matched, len(m), _prior(self.m_prior, c))
                for c, m in enumerate(self.m)
            ]
            new_u = [
                _level_shares(patterns[:, c], unmatched, len(u), _prior(self.u_prior, c))
                for c, u in enumerate(self.u)
            ]
            pairs = [*zip(new_m, self.m, strict=True), *zip(new_u, self.u, strict=True)]
            moved = max(float(np.abs(a - b).max()) for a, b in pairs)
            self.m, self.u = new_m, new_u
            prior_share = self.share_prior if self.share_prior is not None else share
            self.match_share = float(
                (matched.sum() + PRIOR_PAIRS * prior_share) / (total + PRIOR_PAIRS)
            )
            self.iterations = step
            if moved < 1e-6:
                break

    def describe(self) -> list[str]:
        """One line per comparison level: m, u and weight, for reports and docs."""
        lines = [f"share of compared pairs that match: {self.match_share:.4f}"]
        for comparison, m, u, w in zip(
            self.design, self.m, self.u, self.level_weights(), strict=True
        ):
            for level, name in enumerate(comparison.level_names()):
                if level:
                    lines.append(
                        f"{comparison.name:>12} {name:<14} m={m[level]:.4f} u={u[level]:.6f}"
                        f" weight={w[level]:+.2f}"
                    )
        return lines


def _normalised(u: Floats) -> Floats:
    u = u.astype(np.float64).copy()
    u[0] = 0.0
    u[1:] = np.maximum(u[1:], _FLOOR)
    shares: Floats = u / u[1:].sum()
    return shares


def _prior(priors: list[Floats] | None, column: int) -> Floats | None:
    return None if priors is None else priors[column]


def _level_shares(
    levels: NDArray[np.uint8], weights: Floats, size: int, prior: Floats | None = None
) -> Floats:
    """Weighted share of each level among pairs where the comparison is not missing.

    ``prior`` shares count as PRIOR_PAIRS extra pairs, so a small file cannot drive an estimate
    to an extreme (on large files they make no difference).
    """
    sums = np.bincount(levels, weights=weights, minlength=size).astype(np.float64)
    sums[0] = 0.0
    if prior is not None:
        sums = sums + PRIOR_PAIRS * prior
        sums[0] = 0.0
    denominator = sums.sum()
    if denominator <= 0:
        even: Floats = np.full(size, 1.0 / max(size - 1, 1)) * (np.arange(size) > 0)
        return even
    shares: Floats = np.maximum(sums / denominator, _FLOOR * (np.arange(size) > 0))
    return shares


def prior_u(comparison: Comparison) -> Floats:
    """What two different people's records usually look like, before random pairs are measured.

    Identical 1% (agree 0.1% for a reference number; half of all pairs for a two-valued field such
    as sex), each closer level twice as rare as the next, different for the rest. Only small files
    lean on this: random pairs outweigh it as soon as there are more than a few hundred.
    """
    levels = comparison.levels
    u = np.zeros(levels, dtype=np.float64)
    if comparison.kind == "reference":
        u[1:] = [0.001, 0.999]
        return u
    if levels == 3:
        u[1:] = [0.5, 0.5]
        return u
    u[1] = 0.01
    middle = levels - 3
    u[2:-1] = 0.02 * 2.0 ** np.arange(middle)
    u[-1] = 1.0 - u[1:-1].sum()
    return u


def prior_m(comparison: Comparison) -> Floats:
    """What a true match usually looks like before the data say otherwise.

    Identical 80% (agree 90% for a reference number), different 4%, and the levels between sharing
    the rest, more to the closer ones.
    """
    levels = comparison.levels
    m = np.zeros(levels, dtype=np.float64)
    if comparison.kind == "reference":
        m[1:] = [0.9, 0.1]
        return m
    m[1], m[-1] = 0.80, 0.04
    middle = levels - 3
    if middle:
        steps = 0.5 ** np.arange(middle)
        m[2:-1] = 0.16 * steps / steps.sum()
    else:
        m[1] += 0.16
    return m


def _probability(log2_odds: Floats) -> Floats:
    chance: Floats = 1.0 / (1.0 + np.exp2(-np.clip(log2_odds, -200, 200)))
    return chance


def probability(log2_odds: Floats) -> Floats:
    """Match probability from log2 odds."""
    return _probability(log2_odds)
