"""Blocking: which pairs to compare. Two records are compared when they share a keyed blocking key.

Each pass's keys are joined by sorting (no Python loop over records), its pairs made in batches, and
a pair already produced by an earlier pass is dropped by looking at the earlier passes' keys (so no
global de-duplication is needed and batches can be scored as they come). A key shared by too many
records (more than ``max_block_pairs`` pairs) is skipped: other passes find its true pairs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Index = NDArray[np.intp]
Keys = NDArray[np.uint64]
#: Pairs made at once; bounds memory (about 40 bytes a pair while a batch is built).
BATCH = 2_000_000


@dataclass
class BlockingStats:
    """What blocking did: pairs per pass (after dropping repeats) and keys skipped as too common."""

    pairs: list[int]
    skipped_keys: list[int]

    @property
    def total(self) -> int:
        """Pairs compared in all."""
        return sum(self.pairs)


@dataclass(frozen=True)
class _Groups:
    order: Index  # record rows sorted by key
    keys: Keys  # distinct keys
    starts: Index  # first position in `order` of each key
    counts: Index


def _groups(keys: Keys) -> _Groups:
    rows = np.flatnonzero(keys != 0)
    order = rows[np.argsort(keys[rows], kind="stable")]
    distinct, starts, counts = np.unique(keys[order], return_index=True, return_counts=True)
    return _Groups(order, distinct, starts.astype(np.intp), counts.astype(np.intp))


@dataclass
class PairSource:
    """Blocking keys ready to make pairs, pass by pass; passes are independent of one another, so
    they can be made (and scored) in any order or in parallel with the same result."""

    left: Keys  # keys with those of skipped (too big) blocks zeroed
    right: Keys
    same: bool
    stats: BlockingStats

    @property
    def passes(self) -> int:
        """How many blocking passes."""
        return int(self.left.shape[1])

    def batches(self, p: int) -> Iterator[tuple[Index, Index]]:
        """Batches of the pairs pass ``p`` makes that no earlier pass made."""
        if self.same:
            yield from self._dedupe_batches(p)
        else:
            yield from self._link_batches(p)

    def _link_batches(self, p: int) -> Iterator[tuple[Index, Index]]:
        a, b = _groups(self.left[:, p]), _groups(self.right[:, p])
        _, ia, ib = np.intersect1d(a.keys, b.keys, assume_unique=True, return_indices=True)
        sizes = a.counts[ia] * b.counts[ib]
        for group in _batches(sizes):
            li, ri = _cross(a, b, ia[group], ib[group], sizes[group])
            li, ri = _drop_earlier(self.left, self.right, li, ri, p)
            if len(li):
                yield li, ri

    def _dedupe_batches(self, p: int) -> Iterator[tuple[Index, Index]]:
        g = _groups(self.left[:, p])
        chosen = np.flatnonzero(g.counts > 1)
        sizes = g.counts * g.counts
        for group in _batches(sizes[chosen]):
            picked = chosen[group]
            li, ri = _cross(g, g, picked, picked, sizes[picked])
            upper = li < ri
            li, ri = _drop_earlier(self.left, self.left, li[upper], ri[upper], p)
            if len(li):
                yield li, ri


def pair_source(left: Keys, right: Keys | None, max_block_pairs: int) -> PairSource:
    """Blocking keys of two tables (``right`` None: pairs within ``left``) with every block over
    ``max_block_pairs`` pairs dropped, so that no pass counts such a block as "already compared"."""
    same = right is None
    left = left.copy()
    right = left if right is None else right.copy()
    passes = left.shape[1]
    stats = BlockingStats([0] * passes, [0] * passes)
    for p in range(passes):
        a = _groups(left[:, p])
        if same:
            pairs = a.counts * (a.counts - 1) // 2
            usable = (a.counts > 1) & (pairs <= max_block_pairs)
            stats.skipped_keys[p] = int(((a.counts > 1) & ~usable).sum())
            left[a.order[~np.repeat(usable, a.counts)], p] = 0  # alone, or in too big a block
            continue
        b = _groups(right[:, p])
        _, ia, ib = np.intersect1d(a.keys, b.keys, assume_unique=True, return_indices=True)
        keep = a.counts[ia] * b.counts[ib] <= max_block_pairs
        stats.skipped_keys[p] = int((~keep).sum())
        for side, groups, matched in ((left, a, ia[keep]), (right, b, ib[keep])):
            usable = np.zeros(len(groups.keys), dtype=np.bool_)
            usable[matched] = True
            side[groups.order[~np.repeat(usable, groups.counts)], p] = 0
    return PairSource(left, right, same, stats)


def link_pairs(
    left: Keys, right: Keys, max_block_pairs: int, stats: BlockingStats | None = None
) -> Iterator[tuple[Index, Index]]:
    """Batches of (left row, right row) pairs sharing a key in any pass, each pair once."""
    yield from _all(pair_source(left, right, max_block_pairs), stats)


def dedupe_pairs(
    keys: Keys, max_block_pairs: int, stats: BlockingStats | None = None
) -> Iterator[tuple[Index, Index]]:
    """Batches of (row, later row) pairs within one table sharing a key in any pass, each once."""
    yield from _all(pair_source(keys, None, max_block_pairs), stats)


def _all(source: PairSource, stats: BlockingStats | None) -> Iterator[tuple[Index, Index]]:
    for p in range(source.passes):
        for li, ri in source.batches(p):
            if stats is not None:
                stats.pairs[p] += len(li)
            yield li, ri
    if stats is not None:
        stats.skipped_keys[:] = source.stats.skipped_keys


def _batches(sizes: Index) -> Iterator[Index]:
    """Slices of group positions whose pair counts add up to about BATCH each."""
    if len(sizes) == 0:
        return
    ends = np.cumsum(sizes)
    start = 0
    while start < len(sizes):
        base = ends[start - 1] if start else 0
        stop = int(np.searchsorted(ends, base + BATCH, side="right"))
        stop = max(stop, start + 1)
        yield np.arange(start, stop)
        start = stop


def _cross(a: _Groups, b: _Groups, ga: Index, gb: Index, sizes: Index) -> tuple[Index, Index]:
    """Every (a member, b member) pair of each matched group, as record rows."""
    total = int(sizes.sum())
    group = np.repeat(np.arange(len(ga)), sizes)
    offset = np.arange(total) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    width = b.counts[gb][group]
    li = a.order[a.starts[ga][group] + offset // width]
    ri = b.order[b.starts[gb][group] + offset % width]
    return li, ri


def _drop_earlier(left: Keys, right: Keys, li: Index, ri: Index, p: int) -> tuple[Index, Index]:
    """Drop pairs an earlier pass already produced (same non-zero key in pass q < p)."""
    if p == 0 or len(li) == 0:
        return li, ri
    seen = np.zeros(len(li), dtype=np.bool_)
    for q in range(p):
        kl = left[li, q]
        seen |= (kl == right[ri, q]) & (kl != 0)
    return li[~seen], ri[~seen]
