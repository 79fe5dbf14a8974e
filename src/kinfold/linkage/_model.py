"""The Fellegi-Sunter classifier, with its weights estimated from the data by EM.

For each comparison level, ``m`` is the chance of seeing it in a true match and ``u`` in a
non-match; a pair's match weight is the sum of ``log2(m / u)`` over its levels (a missing level
adds nothing), plus the prior log-odds that two random records match. No training labels:

- ``u`` is measured on random pairs (nearly all non-matches);
- ``m`` is estimated by expectation maximisation, once per blocking pass on the pairs sharing that
  pass's key, leaving out the fields the key is made of (:func:`fit_session`), then averaged;
- the chance that two random records match is the fixed point of :func:`global_match_share`.

Agreement on a value also gets a term-frequency adjustment (in ``_link``): agreeing on a common
surname says less than agreeing on a rare one. Every estimate carries a small prior (the generic
guesses :func:`prior_m` and :func:`prior_u`) so small files give sensible weights.
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
#: The same for reference numbers (see _strength).
REFERENCE_PRIOR_PAIRS = 300.0


@dataclass(frozen=True)
class Interaction:
    """Bits added when several comparisons sit at given levels together: their evidence overlaps
    (people who live together share a surname and an address; twins a date of birth too)."""

    name: str
    conditions: tuple[tuple[int, tuple[int, ...]], ...]  # (comparison column, levels)
    bits: float

    def applies(self, patterns: NDArray[np.uint8]) -> NDArray[np.bool_]:
        """Which rows of a level matrix it applies to."""
        found = np.ones(len(patterns), dtype=np.bool_)
        for column, wanted in self.conditions:
            found &= np.isin(patterns[:, column], wanted)
        return found

    def columns(self) -> set[int]:
        """The comparisons it reads."""
        return {column for column, _ in self.conditions}


@dataclass
class FellegiSunter:
    """Estimated parameters: per comparison, ``m`` and ``u`` per level (level 0 unused)."""

    design: tuple[Comparison, ...]
    m: list[Floats]
    u: list[Floats]
    match_share: float
    iterations: int = 0
    interactions: tuple[Interaction, ...] = ()

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
        for interaction in self.interactions:
            total[interaction.applies(patterns)] += interaction.bits
        return total

    def describe(self) -> list[str]:
        """One line per comparison level: m, u and weight, for reports and docs."""
        lines = [
            (
                f"chance two random records match: {self.match_share:.3g} "
                f"(m from {self.iterations} blocking-pass sessions)"
            )
        ]
        for comparison, m, u, w in zip(
            self.design, self.m, self.u, self.level_weights(), strict=True
        ):
            for level, name in enumerate(comparison.level_names()):
                if level:
                    lines.append(
                        f"{comparison.name:>12} {name:<14} m={m[level]:.4f} u={u[level]:.6f}"
                        f" weight={w[level]:+.2f}"
                    )
        lines.extend(f"{i.name}: {i.bits:+.2f} bits" for i in self.interactions)
        return lines


def normalised(u: Floats) -> Floats:
    """Level shares from counts: level 0 (missing) set aside, the rest summing to 1."""
    u = u.astype(np.float64).copy()
    u[0] = 0.0
    u[1:] = np.maximum(u[1:], _FLOOR)
    shares: Floats = u / u[1:].sum()
    return shares


def _strength(comparison: Comparison) -> float:
    """How many pairs' worth the prior ``m`` counts for: reference numbers lean on it harder (a
    few misread identifiers must not teach EM that identifiers often disagree)."""
    return REFERENCE_PRIOR_PAIRS if comparison.kind == "reference" else PRIOR_PAIRS


def level_shares(
    levels: NDArray[np.uint8],
    weights: Floats,
    size: int,
    prior: Floats | None = None,
    strength: float = 0.0,
) -> Floats:
    """Weighted share of each level among pairs where the comparison is not missing.

    ``prior`` shares count as PRIOR_PAIRS extra pairs, so a small file cannot drive an estimate
    to an extreme (on large files they make no difference).
    """
    sums = np.bincount(levels, weights=weights, minlength=size).astype(np.float64)
    sums[0] = 0.0
    if prior is not None:
        sums = sums + (strength or PRIOR_PAIRS) * prior
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

    Identical 80% (agree 99% for a reference number, which is meant to identify), different 4%,
    and the levels between sharing the rest, more to the closer ones.
    """
    levels = comparison.levels
    m = np.zeros(levels, dtype=np.float64)
    if comparison.kind == "reference":
        m[1:] = [0.99, 0.01]
        return m
    m[1], m[-1] = 0.80, 0.01
    middle = levels - 3
    if middle:
        steps = 0.5 ** np.arange(middle)
        m[2:-1] = 0.19 * steps / steps.sum()
    else:
        m[1] += 0.19
    return m


def _probability(log2_odds: Floats) -> Floats:
    chance: Floats = 1.0 / (1.0 + np.exp2(-np.clip(log2_odds, -200, 200)))
    return chance


def probability(log2_odds: Floats) -> Floats:
    """Match probability from log2 odds."""
    return _probability(log2_odds)


@dataclass(frozen=True)
class Session:
    """One EM session's result: ``m`` for the comparisons it could see, and how many matches."""

    m: dict[int, Floats]
    match_share: float
    expected_matches: float


def fit_session(
    design: tuple[Comparison, ...],
    patterns: NDArray[np.uint8],
    counts: Floats,
    u: list[Floats],
    included: list[int],
    iterations: int,
    share_prior: float,
    interactions: tuple[Interaction, ...] = (),
    start: list[Floats] | None = None,
) -> Session:
    """EM for ``m`` (of the ``included`` comparisons) and the match share, with ``u`` held fixed.

    Run on the pairs that share one blocking key, leaving out the comparisons of the fields that
    key is made from: given that key, a non-match's other fields look like any random pair's, so
    ``u`` measured on random pairs is right for them (Splink's way of training on blocked pairs).
    ``start`` (a previous round's ``m``) is where EM starts instead of the generic guess, so a
    second round converges in a few steps.
    """
    m = {c: (start[c] if start is not None else prior_m(design[c])) for c in included}
    share = share_prior
    overlap = np.zeros(len(patterns))
    for interaction in interactions:
        if interaction.columns() <= set(included):
            overlap[interaction.applies(patterns)] += interaction.bits
    total = float(counts.sum())
    matched = counts * share
    for _ in range(iterations):
        odds = np.log2(share / (1 - share)) + overlap
        for c in included:
            odds += np.log2(np.maximum(m[c], _FLOOR) / np.maximum(u[c], _FLOOR))[patterns[:, c]]
        posterior = _probability(odds)
        matched = counts * posterior
        new = {
            c: level_shares(
                patterns[:, c], matched, design[c].levels, prior_m(design[c]), _strength(design[c])
            )
            for c in included
        }
        moved = max((float(np.abs(new[c] - m[c]).max()) for c in included), default=0.0)
        m = new
        new_share = (matched.sum() + PRIOR_PAIRS * share_prior) / (total + PRIOR_PAIRS)
        share = min(max(float(new_share), _FLOOR), 1 - _FLOOR)
        if moved < 1e-6:
            break
    return Session(m, share, float(matched.sum()))


def combine_sessions(design: tuple[Comparison, ...], sessions: list[Session]) -> list[Floats]:
    """Each comparison's ``m``: the sessions' estimates weighted by their expected matches."""
    combined = []
    for c, comparison in enumerate(design):
        seen = [(s.m[c], s.expected_matches) for s in sessions if c in s.m]
        weight = sum(w for _, w in seen)
        if not seen or weight <= 0:
            combined.append(prior_m(comparison))
            continue
        stacked = np.stack([m * w for m, w in seen])
        combined.append(stacked.sum(axis=0) / weight)
    return combined


def global_match_share(
    weights: Floats,
    counts: Floats,
    total_pairs: float,
    start: float,
    prior: tuple[float, float] | None = None,
) -> float:
    """The chance two random records match, consistent with the compared pairs' Bayes factors.

    Fixed point of share = (expected matches among compared pairs) / (all possible pairs): the
    pairs never compared are taken as non-matches. ``prior`` (share, pairs) adds that many pairs
    at that share to both counts.
    """
    share = min(max(start, 1e-15), 0.5)
    extra_matches, extra_pairs = (prior[0] * prior[1], prior[1]) if prior else (0.0, 0.0)
    for _ in range(200):
        odds = np.log2(share / (1 - share)) + weights
        expected = float((counts * _probability(odds)).sum())
        new = min(max((expected + extra_matches) / (total_pairs + extra_pairs), 1e-15), 0.5)
        if abs(new - share) <= 1e-9 * share:
            return new
        share = new
    return share
