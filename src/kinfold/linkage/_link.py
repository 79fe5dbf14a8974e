"""Linking and de-duplicating encoded tables: block, compare, classify, assign.

The hub runs this on encodings only. Pairs come from the keyed blocking keys; each batch is turned
into comparison levels and kept as a compact pattern code; EM estimates the Fellegi-Sunter weights
from the distinct patterns; each pair's match probability adds term-frequency adjustments; links are
the pairs at or above the threshold, made one-to-one on request.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from kinfold.errors import InputError
from kinfold.linkage._blocking import BlockingStats, PairSource, pair_source
from kinfold.linkage._compare import (
    Comparison,
    comparisons,
    dice,
    levels,
    present_fields,
    value_frequencies,
)
from kinfold.linkage._model import FellegiSunter, global_match_share, probability
from kinfold.linkage._settings import Settings
from kinfold.linkage._table import EncodedTable
from kinfold.linkage._train import Candidates, Trainer
from kinfold.linkage.fields import REFERENCE_FIELDS

Index = NDArray[np.intp]
Floats = NDArray[np.float64]
#: Term-frequency adjustments are kept within this many bits either way.
TF_LIMIT = 6.0
#: A disagreement on a field a person keeps that the data show in fewer than this share of true
#: matches, and at least FIXED_DISAGREEMENT_BITS against, almost never happens to one person: a
#: pair not linked with it is kept apart in clustering.
FIXED_DISAGREEMENT_M = 0.02
FIXED_DISAGREEMENT_BITS = -5.0
FIXED_FIELDS = frozenset({"dob", "sex"})


@dataclass
class Links:
    """Scored links between rows of two tables (for a de-duplication, the same table twice)."""

    left: EncodedTable
    right: EncodedTable
    left_rows: Index
    right_rows: Index
    probability: Floats
    weight: Floats
    pairs_compared: int = 0
    blocking: BlockingStats | None = None
    model: FellegiSunter | None = None
    extra: dict[str, float] = field(default_factory=dict)
    #: Compared pairs judged different people (probability below ``keep_apart_below``) among
    #: linked records of a de-duplication; clustering never joins across one.
    apart: tuple[Index, Index] = (np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp))

    def __len__(self) -> int:
        return len(self.left_rows)

    def rows(self) -> list[tuple[str, str, float]]:
        """(left record id, right record id, match probability), best first."""
        order = np.lexsort((self.right_rows, self.left_rows, -self.probability))
        left_ids = self.left.record_ids[self.left_rows[order]].tolist()
        right_ids = self.right.record_ids[self.right_rows[order]].tolist()
        return list(zip(left_ids, right_ids, self.probability[order].tolist(), strict=True))

    def select(self, keep: NDArray[np.bool_] | Index) -> Links:
        """The links at ``keep`` (a mask or positions)."""
        return Links(
            self.left,
            self.right,
            self.left_rows[keep],
            self.right_rows[keep],
            self.probability[keep],
            self.weight[keep],
            self.pairs_compared,
            self.blocking,
            self.model,
            dict(self.extra),
            self.apart,
        )


def check_comparable(left: EncodedTable, right: EncodedTable) -> None:
    """InputError unless the two tables were encoded with the same secret and settings."""
    reason = left.header.comparable_with(right.header)
    if reason:
        raise InputError(
            f"cannot link {left.source or 'left'!r} with {right.source or 'right'!r}: {reason}"
        )


def score_link(
    left: EncodedTable,
    right: EncodedTable,
    settings: Settings | None = None,
    *,
    threshold: float | None = None,
    one_to_one: bool = False,
) -> Links:
    """Every compared pair of ``left`` x ``right`` at or above the threshold, scored.

    ``one_to_one`` scores each pair as the one match of both its records (one_to_one_log_odds).
    """
    check_comparable(left, right)
    settings = settings or Settings.default()
    source = pair_source(left.blocking, right.blocking, settings.max_block_pairs)
    return _Scorer(left, right, settings, same=False).run(source, threshold, one_to_one)


def score_dedupe(
    table: EncodedTable,
    settings: Settings | None = None,
    *,
    threshold: float | None = None,
    compare: Compare | None = None,
    groups: NDArray[np.intp] | None = None,
) -> Links:
    """Every compared pair within ``table`` at or above the threshold, scored.

    ``compare``, if given, says which of the blocked pairs to compare at all (a mask per batch).
    ``groups``, if given, numbers each row's source (0, 1, …): the chance that two records are one
    person is then measured for each pair of sources (see :func:`group_log_odds`).
    """
    settings = settings or Settings.default()
    source = pair_source(table.blocking, None, settings.max_block_pairs)
    scorer = _Scorer(table, table, settings, same=True, groups=groups)
    return scorer.run(source, threshold, compare=compare)


#: Which blocked pairs to compare (a mask per batch of left rows and right rows).
Compare = Callable[[Index, Index], NDArray[np.bool_]]
#: One pass's compared pairs: left rows, right rows, comparison pattern codes, shared-key bits.
PassResult = tuple[NDArray[np.int32], NDArray[np.int32], NDArray[np.int64], NDArray[np.int64]]
#: The job forked worker processes read (set just before the pool starts; fork shares it).
_JOB: dict[str, tuple[_Scorer, PairSource, Compare | None]] = {}
#: Below this many records, workers cost more than they save.
PARALLEL_FROM_RECORDS = 20_000


def _score_pass(p: int) -> PassResult:
    scorer, source, compare = _JOB["job"]
    return scorer.score_pass(source, p, compare)


class _Scorer:
    def __init__(
        self,
        left: EncodedTable,
        right: EncodedTable,
        settings: Settings,
        *,
        same: bool,
        groups: NDArray[np.intp] | None = None,
    ):
        self.left, self.right, self.settings, self.same = left, right, settings, same
        self.groups = groups
        tables = (left,) if same else (left, right)
        self.design = comparisons(settings, present_fields(*tables))
        self.radix = np.array([c.levels for c in self.design], dtype=np.int64)
        self.tf = self._term_frequencies(tables)
        self.sessions = training_passes(left, self.design)

    def run(
        self,
        source: PairSource,
        threshold: float | None,
        one_to_one: bool = False,
        compare: Compare | None = None,
    ) -> Links:
        threshold = self.settings.threshold if threshold is None else threshold
        if self.settings.classifier == "weighted-dice":
            found = self._weighted_dice(source, threshold, compare)
            found.blocking = source.stats
            return found
        results = self._score_passes(source, compare)
        for p, result in enumerate(results):
            source.stats.pairs[p] = len(result[0])
        left_rows = np.concatenate([r[0] for r in results])
        right_rows = np.concatenate([r[1] for r in results])
        code = np.concatenate([r[2] for r in results])
        mask = np.concatenate([r[3] for r in results])
        del results
        model, bayes = self._train(code, mask, left_rows, right_rows)
        share = model.match_share
        if one_to_one:
            weight = self._one_to_one_weights(bayes, left_rows, right_rows, share)
        elif self.groups is not None:
            weight = group_log_odds(bayes, self.groups, left_rows, right_rows, share) + bayes
        else:
            weight = np.log2(share / (1 - share)) + bayes
        chance = probability(weight)
        keep = chance >= threshold
        found = Links(
            self.left,
            self.right,
            left_rows[keep].astype(np.intp),
            right_rows[keep].astype(np.intp),
            chance[keep],
            weight[keep],
            pairs_compared=len(code),
            blocking=source.stats,
            model=model,
        )
        if self.same:
            found.apart = self._kept_apart(left_rows, right_rows, chance, keep, code, model)
        return found

    def _score_passes(self, source: PairSource, compare: Compare | None) -> list[PassResult]:
        """Every pass's compared pairs, in pass order; in worker processes when it pays."""
        workers = min(worker_count(self.settings.workers), source.passes)
        records = len(self.left) + (0 if self.same else len(self.right))
        fork = "fork" in multiprocessing.get_all_start_methods()
        if workers < 2 or records < PARALLEL_FROM_RECORDS or not fork:
            return [self.score_pass(source, p, compare) for p in range(source.passes)]
        _JOB["job"] = (self, source, compare)
        try:
            context = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(workers, mp_context=context) as pool:
                return list(pool.map(_score_pass, range(source.passes)))
        finally:
            _JOB.clear()

    def score_pass(self, source: PairSource, p: int, compare: Compare | None) -> PassResult:
        """Pass ``p``'s new pairs with their comparison pattern codes and shared-key bits."""
        lefts: list[NDArray[np.int32]] = [np.zeros(0, np.int32)]
        rights: list[NDArray[np.int32]] = [np.zeros(0, np.int32)]
        codes: list[NDArray[np.int64]] = [np.zeros(0, np.int64)]
        masks: list[NDArray[np.int64]] = [np.zeros(0, np.int64)]
        for li, ri in source.batches(p):
            if compare is not None:
                keep = compare(li, ri)
                li, ri = li[keep], ri[keep]
            lefts.append(li.astype(np.int32))
            rights.append(ri.astype(np.int32))
            codes.append(self._encode_levels(levels(self.design, self.left, self.right, li, ri)))
            masks.append(self._shared_keys(li, ri))
        return (
            np.concatenate(lefts),
            np.concatenate(rights),
            np.concatenate(codes),
            np.concatenate(masks),
        )

    def _kept_apart(
        self,
        left_rows: NDArray[np.int32],
        right_rows: NDArray[np.int32],
        chance: Floats,
        keep: NDArray[np.bool_],
        code: NDArray[np.int64],
        model: FellegiSunter,
    ) -> tuple[Index, Index]:
        """Compared pairs judged different people, among records that have links (the only ones
        a clustering could wrongly join): scored below ``keep_apart_below``, or not a link and
        disagreeing on something a person does not change — the date of birth (completely
        different, not a swap or a typo) or a reference number. A mother and a daughter of
        one name at one address are not one person just because a record without a date of
        birth looks like both."""
        linked = np.zeros(len(self.left), dtype=np.bool_)
        linked[left_rows[keep]] = True
        linked[right_rows[keep]] = True
        apart = chance < self.settings.keep_apart_below
        fixed = self._fixed_disagreement(model, code)
        apart |= fixed & ~keep
        apart &= linked[left_rows] & linked[right_rows]
        return left_rows[apart].astype(np.intp), right_rows[apart].astype(np.intp)

    def _fixed_disagreement(
        self, model: FellegiSunter, code: NDArray[np.int64]
    ) -> NDArray[np.bool_]:
        """Per pair: it disagrees on something a person keeps — date of birth, sex, a reference
        number — at a level the data say almost never happens to one person (in under
        FIXED_DISAGREEMENT_M of true matches: a completely different date of birth or another
        UPN in a borough's extracts, but not in FEBRL's, whose duplicates often carry a garbled
        date of birth or social security number)."""
        weights = model.level_weights()
        strong = {
            c: np.flatnonzero(
                (weights[c] <= FIXED_DISAGREEMENT_BITS) & (model.m[c] < FIXED_DISAGREEMENT_M)
            )
            for c, comparison in enumerate(self.design)
            if comparison.name in FIXED_FIELDS or comparison.kind == "reference"
        }
        found = np.zeros(len(code), dtype=np.bool_)
        wanted = {c for c, levels_found in strong.items() if len(levels_found)}
        for column, level in self._decode_columns(code, wanted).items():
            found |= np.isin(level, strong[column][strong[column] > 0])
        return found

    def _one_to_one_weights(
        self, bayes: Floats, li: NDArray[np.int32], ri: NDArray[np.int32], share: float
    ) -> Floats:
        """Log-odds that each pair is *the* match of both its records, when each record has at most
        one (see one_to_one_log_odds); the smaller of the two records' views."""
        n_left, n_right = len(self.left), len(self.right)
        matches = share * n_left * n_right
        missed = self.settings.missed_match_share
        from_left = one_to_one_log_odds(bayes, li, n_left, n_right, matches / n_left, missed)
        from_right = one_to_one_log_odds(bayes, ri, n_right, n_left, matches / n_right, missed)
        return np.minimum(from_left, from_right)

    def _shared_keys(self, li: Index, ri: Index) -> NDArray[np.int64]:
        """Per pair, a bit for each training pass whose blocking key the two records share."""
        found = np.zeros(len(li), dtype=np.int64)
        for bit, column in enumerate(self.sessions):
            key = self.left.blocking[li, column]
            found |= (
                ((key == self.right.blocking[ri, column]) & (key != 0)).astype(np.int64)
            ) << bit
        return found

    def _train(
        self,
        code: NDArray[np.int64],
        mask: NDArray[np.int64],
        left_rows: NDArray[np.int32],
        right_rows: NDArray[np.int32],
    ) -> tuple[FellegiSunter, Floats]:
        """The fitted model and each compared pair's Bayes factor in bits (see _train)."""
        trainer = Trainer(
            self.design,
            self.left,
            self.right,
            same=self.same,
            settings=self.settings,
            sessions=self.sessions,
        )
        width = max(len(self.sessions), 1)
        combo, counts = np.unique((code << width) | mask, return_counts=True)
        candidates = Candidates(
            self._decode(combo >> width), combo & ((1 << width) - 1), counts.astype(np.float64)
        )
        distinct, inverse = np.unique(code, return_inverse=True)
        patterns = self._decode(distinct)
        model: FellegiSunter | None = None
        bayes = np.zeros(0)
        for _ in range(2):
            share = None if model is None else model.match_share
            model = trainer.fit(candidates, share, model)
            bayes = model.pattern_weights(patterns)[inverse]
            bayes += self._tf_adjustment(model, code, left_rows, right_rows)
            model.match_share = self._global_share(bayes)
        assert model is not None
        return model, bayes

    def _global_share(self, bayes: Floats) -> float:
        """The chance that two random records match (fixed point over the compared pairs)."""
        if len(bayes) == 0:
            return 1e-9
        total = (
            len(self.left) * (len(self.left) - 1) / 2
            if self.same
            else len(self.left) * len(self.right)
        )
        binned, counts = np.unique(np.round(bayes, 2), return_counts=True)
        start = min(len(self.left), len(self.right)) / max(total, 1.0)
        return global_match_share(binned, counts.astype(np.float64), max(total, 1.0), start)

    def _encode_levels(self, matrix: NDArray[np.uint8]) -> NDArray[np.int64]:
        code = np.zeros(len(matrix), dtype=np.int64)
        for column in range(matrix.shape[1]):
            code = code * self.radix[column] + matrix[:, column]
        return code

    def _decode(self, code: NDArray[np.int64]) -> NDArray[np.uint8]:
        out = np.zeros((len(code), len(self.design)), dtype=np.uint8)
        rest = code.copy()
        for column in range(len(self.design) - 1, -1, -1):
            out[:, column] = rest % self.radix[column]
            rest //= self.radix[column]
        return out

    def _term_frequencies(self, tables: tuple[EncodedTable, ...]) -> dict[int, list[Floats]]:
        """Per comparison with term frequencies on, each side's per-record adjustment in bits."""
        found: dict[int, list[Floats]] = {}
        for column, comparison in enumerate(self.design):
            field = "address" if comparison.kind == "location" else comparison.name
            if comparison.kind == "reference" or not self.settings.fields[field].term_frequency:
                continue
            shares = value_frequencies(field, *tables)
            present = np.concatenate([s[s > 0] for s in shares])
            if len(present) == 0:
                continue
            average = float(present.mean())  # = chance two random records share a value
            found[column] = [
                np.where(
                    s > 0,
                    np.clip(np.log2(average / np.maximum(s, 1e-12)), -TF_LIMIT, TF_LIMIT),
                    0.0,
                )
                for s in shares
            ]
        return found

    def _tf_adjustment(
        self,
        model: FellegiSunter,
        code: NDArray[np.int64],
        li: NDArray[np.int32],
        ri: NDArray[np.int32],
    ) -> Floats:
        """Per pair, the term-frequency adjustments of the values it agrees on — except where a
        family correction applies: people at one address share a surname because they are a
        family, not by chance, so how common the surname is says nothing there (and the same for
        a given name shared within a family)."""
        total = np.zeros(len(code), dtype=np.float64)
        if not self.tf:
            return total
        wanted = set(self.tf) | {c for i in model.interactions for c in i.columns()}
        columns = self._decode_columns(code, wanted)
        family = {column: np.zeros(len(code), dtype=np.bool_) for column in self.tf}
        for interaction in model.interactions:
            applies = np.ones(len(code), dtype=np.bool_)
            for column, levels_wanted in interaction.conditions:
                applies &= np.isin(columns[column], levels_wanted)
            for column in interaction.columns() & set(self.tf):
                family[column] |= applies
        for column, sides in self.tf.items():
            identical = (columns[column] == 1) & ~family[column]
            total[identical] += sides[0][li[identical]]
        return total

    def _decode_columns(
        self, code: NDArray[np.int64], wanted: set[int]
    ) -> dict[int, NDArray[np.int64]]:
        out: dict[int, NDArray[np.int64]] = {}
        rest = code.copy()
        for column in range(len(self.design) - 1, -1, -1):
            if column in wanted:
                out[column] = rest % self.radix[column]
            rest //= self.radix[column]
        return out

    def _weighted_dice(
        self, source: PairSource, threshold: float, compare: Compare | None
    ) -> Links:
        lefts, rights, scores, compared = [], [], [], 0
        fuzzy = [f for c in self.design if c.kind != "reference" for f in c.fields]
        for p in range(source.passes):
            for li, ri in source.batches(p):
                if compare is not None:
                    keep = compare(li, ri)
                    li, ri = li[keep], ri[keep]
                source.stats.pairs[p] += len(li)
                compared += len(li)
                top = np.zeros(len(li))
                bottom = np.zeros(len(li))
                for name in fuzzy:
                    weight = self.settings.fields[name].weight
                    similarity, _, missing = dice(self.left, self.right, name, li, ri)
                    top += np.where(missing, 0.0, weight * similarity)
                    bottom += np.where(missing, 0.0, weight)
                score = top / np.maximum(bottom, 1e-9)
                keep = score >= threshold
                lefts.append(li[keep])
                rights.append(ri[keep])
                scores.append(score[keep])
        empty = np.zeros(0, dtype=np.intp)
        score = np.concatenate(scores) if scores else np.zeros(0)
        return Links(
            self.left,
            self.right,
            np.concatenate(lefts) if lefts else empty,
            np.concatenate(rights) if rights else empty,
            score,
            score,
            pairs_compared=compared,
        )


def worker_count(setting: int) -> int:
    """Worker processes to use: the setting, or (0) the CPUs this process may run on, at most 8."""
    if setting > 0:
        return setting
    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        available = os.cpu_count() or 1
    return max(1, min(available, 8))


#: How many pairs' worth of weight the overall match rate carries in each pair of sources' own
#: rate: a pair of small sources leans on the overall rate, a pair of big ones on its own pairs.
GROUP_PRIOR_PAIRS = 10_000.0


def group_log_odds(
    bayes: Floats,
    groups: NDArray[np.intp],
    li: NDArray[np.int32],
    ri: NDArray[np.int32],
    overall: float,
) -> Floats:
    """Per pair, the prior log2-odds that two records of its two sources are one person.

    How often two records are one person depends on where they come from: a school census lists
    a pupil once (two of its records are one child only if a row was sent twice), a police
    extract lists a person once per incident, and a domestic-abuse service's clients are often in
    the police's records. So the match rate is measured for each pair of sources, as the fixed
    point of "expected matches among its compared pairs ÷ all its possible pairs" (never-compared
    pairs count as non-matches), drawn towards the overall rate by GROUP_PRIOR_PAIRS pairs.
    """
    out = np.empty(len(bayes), dtype=np.float64)
    if len(bayes) == 0:
        return out
    count = int(groups.max()) + 1
    sizes = np.bincount(groups, minlength=count).astype(np.float64)
    a, b = groups[li], groups[ri]
    kind = np.minimum(a, b) * count + np.maximum(a, b)
    order = np.argsort(kind, kind="stable")
    kinds, starts = np.unique(kind[order], return_index=True)
    ends = np.r_[starts[1:], len(order)]
    for k, start, end in zip(kinds.tolist(), starts.tolist(), ends.tolist(), strict=True):
        x, y = divmod(k, count)
        total = sizes[x] * sizes[y] if x != y else sizes[x] * (sizes[x] - 1) / 2
        rows = order[start:end]
        binned, counts = np.unique(np.round(bayes[rows], 2), return_counts=True)
        share = global_match_share(
            binned,
            counts.astype(np.float64),
            max(total, 1.0),
            overall,
            prior=(overall, GROUP_PRIOR_PAIRS),
        )
        out[rows] = np.log2(share / (1 - share))
    return out


def one_to_one_log_odds(
    bayes: Floats,
    own: NDArray[np.int32],
    n_own: int,
    n_other: int,
    has_match: float,
    missed: float,
) -> Floats:
    """Log2-odds that each pair is its ``own``-side record's match, under "at most one match each".

    A record has a match on the other side with chance ``has_match`` (π), equally likely to be any of
    the ``n_other`` records before the data are seen. Given the Bayes factors of its compared pairs
    (``bayes`` in bits), the chance that pair j is the match is

        (π/n) 2^b_j / ((1 - π) + π·missed + (π/n) Σ_k 2^b_k)

    where ``missed`` is the chance that blocking never compared the true match. A pair with no
    rival therefore needs less evidence than under independent pairs, and a pair with a strong
    rival needs more.
    """
    pi = min(max(has_match, 1e-9), 1 - 1e-9)
    t = np.log2(pi / max(n_other, 1)) + bayes
    size = max(n_own, int(own.max()) + 1 if len(own) else 0)
    top = np.full(size, -np.inf)
    np.maximum.at(top, own, t)
    total = top + np.log2(np.maximum(np.bincount(own, np.exp2(t - top[own]), size), 1e-300))
    rest = np.log2((1 - pi) + pi * missed)
    log_p = t - np.logaddexp2(rest, total[own])
    p = np.clip(np.exp2(log_p), 1e-300, 1 - 1e-16)
    odds: Floats = np.log2(p / (1 - p))
    return odds


def training_passes(table: EncodedTable, design: tuple[Comparison, ...]) -> dict[int, set[str]]:
    """Blocking passes to train on (column → the fields its key is made from), reference passes
    and passes that leave nothing to learn left out."""
    names = {f for c in design for f in c.fields}
    found: dict[int, set[str]] = {}
    for column, name in enumerate(table.header.blocking):
        fields = {part.split(":")[0] for part in name.split("+")}
        if "names" in fields:
            fields |= {"given_name", "surname"}
        if {"surname", "postcode"} <= fields or {"surname", "address"} <= fields:
            continue  # a key on surname and address picks families, who share more than that
        for family in _TOGETHER:  # a key on postcode also selects pairs with the same address
            if fields & family:
                fields |= family
        if fields <= REFERENCE_SET or not names - fields:
            continue
        found[column] = fields
    return found


REFERENCE_SET = frozenset(REFERENCE_FIELDS)
#: Fields so bound up with each other that training on one's key biases the other's ``m``: a key
#: on the postcode picks pairs at the same address, and a key on the surname picks relatives, who
#: often live together (so neither the address nor the surname looks like a random pair's there).
_TOGETHER = (frozenset({"address", "postcode", "surname"}),)


def design_of(links: Links) -> tuple[Comparison, ...]:
    """The comparisons behind a set of links (empty for the fixed-weight classifier)."""
    return links.model.design if links.model else ()
