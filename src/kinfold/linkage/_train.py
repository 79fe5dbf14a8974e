"""Estimating the Fellegi-Sunter parameters from the data, without labels.

1. ``u`` (what non-matches look like) from a large sample of random pairs, with the few true
   matches expected in that sample taken out once ``m`` and the match rate are known;
2. ``m`` (what matches look like) by one EM session per blocking pass on the pairs sharing that
   pass's key, leaving out the fields the key is made of (:func:`_model.fit_session`), each session
   trusted only for comparisons it can judge, then averaged;
3. the household correction: people who live together share a surname and an address far more
   often than independence would say, so agreeing on both counts for less than the two weights
   added up (:func:`household_bits`);
4. the chance that two random records match, as a fixed point over the compared pairs.

Steps 1-3 run twice: the second round uses the match rate the first one found.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.random  # loaded with the module, not on first use
from numpy.typing import NDArray

from kinfold.linkage._blocking import pair_source
from kinfold.linkage._compare import Comparison, levels
from kinfold.linkage._encode import HOUSEHOLD_TOKEN
from kinfold.linkage._model import (
    REFERENCE_PRIOR_PAIRS,
    FellegiSunter,
    Interaction,
    Session,
    combine_sessions,
    fit_session,
    level_shares,
    normalised,
    prior_m,
    prior_u,
)
from kinfold.linkage._settings import Settings
from kinfold.linkage._table import EncodedTable

Floats = NDArray[np.float64]
#: Random pairs measured for ``u``: 20 a record, at least 100,000 and at most 1,000,000.
RANDOM_PAIRS = 1_000_000
MIN_RANDOM_PAIRS = 100_000
RANDOM_PAIRS_PER_RECORD = 20
#: How many random pairs' worth of weight the generic non-match guess carries (small files).
U_PRIOR_PAIRS = 100.0
#: A blocking pass trains ``m`` only if it made at least this many pairs.
MIN_SESSION_PAIRS = 50
#: Fields that count as one piece of evidence when judging whether a session can estimate ``m``.
_GROUP = {"postcode": "location", "address": "location"}
#: Fields too weak on their own to tell a match from a non-match.
_UNINFORMATIVE = frozenset({"sex"})
#: Levels that count as "agree" for the household correction.
_AGREE = (1, 2)
#: Random pairs of relatives (same surname and address, other fields different) needed before the
#: household correction is believed.
MIN_HOUSEHOLD_PAIRS = 20
#: Pairs of relatives at one address needed before the twins correction is believed.
MIN_RELATIVE_PAIRS = 200
#: Pairs at the same address measured for the twins correction, and the largest address counted.
MAX_HOUSEHOLD_PAIRS = 1_000_000
MAX_HOUSEHOLD_BLOCK = 400


@dataclass
class Candidates:
    """The compared pairs as the trainer sees them: distinct (pattern, shared keys) and counts."""

    patterns: NDArray[np.uint8]  # (distinct, comparisons)
    passes: NDArray[np.int64]  # per distinct row: bit per training pass whose key is shared
    counts: Floats


class Trainer:
    """Fits a :class:`FellegiSunter` model for one linkage (see the module doc)."""

    def __init__(
        self,
        design: tuple[Comparison, ...],
        left: EncodedTable,
        right: EncodedTable,
        *,
        same: bool,
        settings: Settings,
        sessions: dict[int, set[str]],
    ) -> None:
        self.design, self.settings, self.sessions = design, settings, sessions
        self.random = _random_levels(design, left, right, same)
        self.relatives, self.relatives_scale = _household_pairs(design, left, right, same)
        n_left, n_right = len(left), len(right)
        self.total_pairs = n_left * (n_left - 1) / 2 if same else float(n_left * n_right)

    def fit(
        self,
        candidates: Candidates,
        match_share: float | None = None,
        previous: FellegiSunter | None = None,
    ) -> FellegiSunter:
        """A model; with ``match_share`` and ``previous``, ``u`` is corrected for the matches
        among the random pairs."""
        u = self._u(match_share, previous)
        overlaps = previous.interactions if previous is not None else self._interactions(None)
        found: list[Session] = []
        for bit, excluded in enumerate(self.sessions.values()):
            inside = ((candidates.passes >> bit) & 1).astype(np.bool_)
            if candidates.counts[inside].sum() < MIN_SESSION_PAIRS:
                continue
            patterns, where = np.unique(candidates.patterns[inside], axis=0, return_inverse=True)
            counts = np.bincount(where.ravel(), weights=candidates.counts[inside])
            included = [c for c, comp in enumerate(self.design) if not set(comp.fields) & excluded]
            session = fit_session(
                self.design,
                patterns,
                counts.astype(np.float64),
                u,
                included,
                self.settings.em_iterations,
                self.settings.prior_match_share,
                overlaps,
                previous.m if previous is not None else None,
            )
            found.append(self._trusted(session, included))
        m = combine_sessions(self.design, found)
        for c, m_reference in self._reference_m(candidates).items():
            m[c] = m_reference
        return FellegiSunter(
            self.design, m, u, 0.0, len(found), self._interactions(m, match_share, u)
        )

    def _reference_m(self, candidates: Candidates) -> dict[int, Floats]:
        """``m`` of each reference number, from the pairs that are surely one person on other
        grounds: given name, surname and date of birth identical, and the same address (or none).

        EM cannot be trusted with it: within one partner the pairs that look like matches on
        names and dates of birth include twins and namesakes, whose reference numbers disagree,
        so EM learnt that a pupil's UPN disagrees with itself half the time. Among these anchor
        pairs a reference that disagrees is a real recording difference (a mistyped number)."""
        names = [c.name for c in self.design]
        core = [names.index(n) for n in ("given_name", "surname", "dob") if n in names]
        if len(core) < 2:
            return {}
        sure = np.ones(len(candidates.counts), dtype=np.bool_)
        for column in core:
            sure &= candidates.patterns[:, column] == 1
        if "location" in names:
            sure &= np.isin(candidates.patterns[:, names.index("location")], (0, 1, 2))
        found = {}
        for c, comparison in enumerate(self.design):
            if comparison.kind == "reference":
                found[c] = level_shares(
                    candidates.patterns[sure, c],
                    candidates.counts[sure],
                    comparison.levels,
                    prior_m(comparison),
                    REFERENCE_PRIOR_PAIRS,
                )
        return found

    def _u(self, match_share: float | None, previous: FellegiSunter | None) -> list[Floats]:
        out = []
        for c, comparison in enumerate(self.design):
            counts = np.bincount(self.random[:, c], minlength=comparison.levels).astype(float)
            if match_share is not None and previous is not None:
                present = counts[1:].sum()
                counts = np.maximum(counts - match_share * present * previous.m[c], 0.0)
            out.append(normalised(counts + U_PRIOR_PAIRS * prior_u(comparison)))
        return out

    def _trusted(self, session: Session, included: list[int]) -> Session:
        """Keep a session's ``m`` only for comparisons it could judge: ones with another
        informative field beside them (a session left with just sex and the address cannot tell a
        person who moved from a stranger, so its ``m`` for the address would be wrong)."""
        groups = {c: _GROUP.get(self.design[c].name, self.design[c].name) for c in included}
        informative = {g for g in groups.values() if g not in _UNINFORMATIVE}
        keep = {c: m for c, m in session.m.items() if informative - {groups[c]}}
        return Session(keep, session.match_share, session.expected_matches)

    def _family_pairs(
        self, household: tuple[tuple[int, tuple[int, ...]], ...], others: list[int]
    ) -> float:
        """Pairs of different people at one address with one surname (estimated from the
        same-address pairs: those whose given name or date of birth differ completely)."""
        if len(self.relatives) == 0 or not others:
            return 0.0
        family = np.ones(len(self.relatives), dtype=np.bool_)
        for column, wanted in household:
            family &= np.isin(self.relatives[:, column], wanted)
        differ = np.zeros(len(self.relatives), dtype=np.bool_)
        for column in others:
            differ |= self.relatives[:, column] == self.design[column].levels - 1
        return float((family & differ).sum()) * self.relatives_scale

    def _interactions(
        self,
        m: list[Floats] | None,
        match_share: float | None = None,
        u: list[Floats] | None = None,
    ) -> tuple[Interaction, ...]:
        """The household correction and, within households, the twins correction."""
        names = [c.name for c in self.design]
        if "surname" not in names or "location" not in names:
            return ()
        s, loc = names.index("surname"), names.index("location")
        household = ((s, _AGREE), (loc, _AGREE))
        found = []
        m_s = m[s] if m is not None else prior_m(self.design[s])
        m_loc = m[loc] if m is not None else prior_m(self.design[loc])
        others = [names.index(n) for n in ("given_name", "dob") if n in names]
        bits = household_bits(
            self.random[:, s],
            self.random[:, loc],
            m_s,
            m_loc,
            match_share,
            self._family_pairs(household, others),
            self.total_pairs,
        )
        if bits < 0:
            found.append(Interaction("same surname and address (a household)", household, bits))
        if "dob" in names and "given_name" in names and u is not None:
            dob, given = names.index("dob"), names.index("given_name")
            # a given name "alike" within a family: the same, a nickname of it, or nearly so
            alike = (1, 2, 3) if self.design[given].nickname else (1, 2)
            for same, wanted, other, label in (
                (dob, (1,), given, "and the same date of birth (twins)"),
                (given, alike, dob, "and alike given names (namesakes, John and Jack)"),
            ):
                bits = relative_bits(
                    self.relatives, household, same, wanted, other, self.design, u[same]
                )
                if bits < 0:
                    found.append(Interaction(label, (*household, (same, wanted)), bits))
        return tuple(found)


def household_bits(
    surname: NDArray[np.uint8],
    location: NDArray[np.uint8],
    m_surname: Floats,
    m_location: Floats,
    match_share: float | None,
    family_pairs: float,
    total_pairs: float,
) -> float:
    """log2 of how much likelier "same surname and same address" is among non-matches than
    independence says (negative: agreeing on both is worth less than the two weights added).

    How often each agrees alone is measured on random pairs (less the true matches expected among
    them); how often both agree is the number of pairs of *different* people at one address with
    one surname (``family_pairs``, counted among all same-address pairs) over all possible pairs.
    Fewer than MIN_HOUSEHOLD_PAIRS such pairs say nothing (FEBRL's unrelated people have none).
    """
    both_present = (surname > 0) & (location > 0)
    total = float(both_present.sum())
    if total < 1000 or family_pairs < MIN_HOUSEHOLD_PAIRS or total_pairs <= 0:
        return 0.0
    matches = (match_share or 0.0) * total
    m_s, m_l = float(m_surname[list(_AGREE)].sum()), float(m_location[list(_AGREE)].sum())
    s_agree = float((np.isin(surname, _AGREE) & both_present).sum())
    l_agree = float((np.isin(location, _AGREE) & both_present).sum())
    p_s = max(s_agree - matches * m_s, 0.5) / total
    p_l = max(l_agree - matches * m_l, 0.5) / total
    p_both = family_pairs / total_pairs
    return min(0.0, -float(np.log2(p_both / (p_s * p_l))))


def relative_bits(
    relatives: NDArray[np.uint8],
    household: tuple[tuple[int, tuple[int, ...]], ...],
    same: int,
    wanted: tuple[int, ...],
    other: int,
    design: tuple[Comparison, ...],
    u_same: Floats,
) -> float:
    """How much likelier two people in one household agree on comparison ``same`` at the
    ``wanted`` levels (a birthday: twins; a given name: a father and son) than two random people.

    Counted on pairs of records at the same address (``relatives``: their comparison levels) that
    agree on surname and address but differ completely on comparison ``other``: relatives, not the
    same person twice. Fewer than MIN_RELATIVE_PAIRS such pairs say nothing.
    """
    if len(relatives) == 0:
        return 0.0
    family = (relatives[:, other] == design[other].levels - 1) & (relatives[:, same] > 0)
    for column, levels_agreeing in household:
        family &= np.isin(relatives[:, column], levels_agreeing)
    pairs = int(family.sum())
    if pairs < MIN_RELATIVE_PAIRS:
        return 0.0
    agree = (float(np.isin(relatives[family, same], wanted).sum()) + 0.5) / (pairs + 1.0)
    chance = max(float(u_same[list(wanted)].sum()), 1e-12)
    return min(0.0, -float(np.log2(agree / chance)))


def _household_pairs(
    design: tuple[Comparison, ...], left: EncodedTable, right: EncodedTable, same: bool
) -> tuple[NDArray[np.uint8], float]:
    """Comparison levels of up to MAX_HOUSEHOLD_PAIRS pairs of records with the same household
    token (the same address), and by how much to scale counts on them up to all such pairs."""
    keys_left = left.tokens[HOUSEHOLD_TOKEN].reshape(-1, 1)
    keys_right = None if same else right.tokens[HOUSEHOLD_TOKEN].reshape(-1, 1)
    source = pair_source(keys_left, keys_right, MAX_HOUSEHOLD_BLOCK)
    found, total = [], 0
    for li, ri in source.batches(0):
        room = MAX_HOUSEHOLD_PAIRS - total
        found.append(levels(design, left, right, li[:room], ri[:room]))
        total += len(li)
    if not found:
        return np.zeros((0, len(design)), dtype=np.uint8), 1.0
    measured = np.concatenate(found)
    return measured, total / max(len(measured), 1)


def _random_levels(
    design: tuple[Comparison, ...], left: EncodedTable, right: EncodedTable, same: bool
) -> NDArray[np.uint8]:
    n_left, n_right = len(left), len(right)
    if n_left == 0 or n_right == 0 or (same and n_left < 2):
        return np.zeros((0, len(design)), dtype=np.uint8)
    generator = np.random.default_rng(20150401)  # fixed: results must not vary run to run
    records = n_left if same else n_left + n_right  # a table linked with itself counts once
    wanted = max(MIN_RANDOM_PAIRS, RANDOM_PAIRS_PER_RECORD * records)
    size = min(RANDOM_PAIRS, wanted, n_left * n_right)
    li = generator.integers(0, n_left, size)
    ri = generator.integers(0, n_right, size)
    if same:
        keep = li != ri
        li, ri = li[keep], ri[keep]
    return levels(design, left, right, li, ri, crosswise=False)
