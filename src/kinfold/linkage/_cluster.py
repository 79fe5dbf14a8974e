"""One-to-one assignment and clustering of scored links, vectorised.

One-to-one is greedy by score: the best remaining link whose two records are both still free is
kept, until none is left. It is computed in rounds of "mutual best" links (a link that is the best
for both of its records is exactly one the greedy order keeps), with ties broken by row numbers so
the result never depends on input order. Clusters are connected components.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray

Index = NDArray[np.intp]
Floats = NDArray[np.float64]
#: Asked before two groups that each hold a watched node are joined: may they be (their watched
#: nodes given)?
MayJoin = Callable[[Sequence[int], Sequence[int]], bool]
#: No year given (a node's year of birth unknown, or no latest year for it).
NO_YEAR = 0
NO_LATEST = 1 << 30


def one_to_one(left: Index, right: Index, score: Floats) -> Index:
    """Positions of the links kept so each left and each right row is used at most once."""
    if len(left) == 0:
        return np.zeros(0, dtype=np.intp)
    # rank every link once: best score first, then lower left row, then lower right row
    order = np.lexsort((right, left, -score))
    rank = np.empty(len(order), dtype=np.intp)
    rank[order] = np.arange(len(order))
    alive = np.ones(len(left), dtype=np.bool_)
    chosen: list[Index] = []
    size_left, size_right = int(left.max()) + 1, int(right.max()) + 1
    while alive.any():
        live = np.flatnonzero(alive)
        best_left = np.full(size_left, len(order), dtype=np.intp)
        best_right = np.full(size_right, len(order), dtype=np.intp)
        np.minimum.at(best_left, left[live], rank[live])
        np.minimum.at(best_right, right[live], rank[live])
        mutual = live[
            (best_left[left[live]] == rank[live]) & (best_right[right[live]] == rank[live])
        ]
        chosen.append(mutual)
        used_left = np.zeros(size_left, dtype=np.bool_)
        used_right = np.zeros(size_right, dtype=np.bool_)
        used_left[left[mutual]] = True
        used_right[right[mutual]] = True
        alive &= ~(used_left[left] | used_right[right])
    return np.sort(np.concatenate(chosen))


def components(size: int, left: Index, right: Index) -> Index:
    """Connected-component label of each of ``size`` nodes: the smallest node number in it."""
    label = np.arange(size, dtype=np.intp)
    if len(left) == 0:
        return label
    while True:
        low = np.minimum(label[left], label[right])
        before = label.copy()
        np.minimum.at(label, left, low)
        np.minimum.at(label, right, low)
        label = label[label]  # pointer jumping: follow labels to their own labels
        while True:
            jumped = label[label]
            if np.array_equal(jumped, label):
                break
            label = jumped
        if np.array_equal(label, before):
            return label


def constrained_clusters(
    size: int,
    left: Index,
    right: Index,
    score: Floats,
    apart_left: Index,
    apart_right: Index,
    may_join: MayJoin | None = None,
    watched_from: int | None = None,
    born: tuple[Index, Index] | None = None,
    spread: int | None = None,
) -> Index:
    """Clusters from links, best first, never joining two groups a "kept apart" pair spans.

    A link joins its two records' groups unless some pair (``apart_left``, ``apart_right``) would
    end up inside the joined group: such pairs were compared and judged different people, so a
    third record that looks like both (a name-only record between two children with the same
    name) joins the likelier one instead of merging all three. Links with an infinite score are
    taken first (known to be the same person). With ``may_join``, two groups that each hold a
    node numbered ``watched_from`` or above (a known person) are joined only if it says they may
    be. With ``born`` (per node: a year of birth, ``NO_YEAR`` if none; the latest year of birth
    the node allows, ``NO_LATEST`` if none), a scored link does not join a group holding a year
    to one whose latest year is earlier: a parent named on a child's row is not the child's
    younger sister of the same name; with ``spread`` too, nor two groups holding years of birth
    more than ``spread`` apart. Returns each node's label: the smallest node in its cluster.
    Deterministic: links are taken by score, then by node numbers.
    """
    parent = list(range(size))
    members: dict[int, list[int]] = {}
    watched: dict[int, list[int]] = {}
    if may_join is not None and watched_from is not None:
        watched = {node: [node] for node in range(watched_from, size)}
    apart: dict[int, set[int]] = {}
    for a, b in zip(apart_left.tolist(), apart_right.tolist(), strict=True):
        apart.setdefault(a, set()).add(b)
        apart.setdefault(b, set()).add(a)

    def find(node: int) -> int:
        root = node
        while parent[root] != root:
            root = parent[root]
        while parent[node] != root:
            parent[node], node = root, parent[node]
        return root

    births = _Births(born, spread)
    order = np.lexsort((right, left, -score))
    for a, b, known in zip(
        left[order].tolist(), right[order].tolist(), np.isinf(score[order]).tolist(), strict=True
    ):
        root_a, root_b = find(a), find(b)
        if root_a == root_b:
            continue
        if not known and not births.may_join(root_a, root_b):
            continue
        group_a = members.get(root_a, [root_a])
        group_b = members.get(root_b, [root_b])
        if len(group_a) < len(group_b):
            root_a, root_b, group_a, group_b = root_b, root_a, group_b, group_a
        if any(find(other) == root_a for node in group_b for other in apart.get(node, ())):
            continue
        if (
            may_join is not None
            and root_a in watched
            and root_b in watched
            and not may_join(watched[root_a], watched[root_b])
        ):
            continue
        parent[root_b] = root_a
        members[root_a] = group_a + group_b
        members.pop(root_b, None)
        births.join(root_a, root_b)
        if root_b in watched:
            watched[root_a] = watched.get(root_a, []) + watched.pop(root_b)
    roots = np.fromiter((find(node) for node in range(size)), dtype=np.intp, count=size)
    smallest = np.full(size, size, dtype=np.intp)
    np.minimum.at(smallest, roots, np.arange(size))
    labels: Index = smallest[roots]
    return labels


class _Births:
    """Per group (by its root node): the earliest and latest years of birth its nodes give and
    the earliest of the latest years they allow — all a join needs to be checked against."""

    def __init__(self, born: tuple[Index, Index] | None, spread: int | None) -> None:
        self.spread = spread
        self.earliest: dict[int, int] = {}
        self.latest_year: dict[int, int] = {}
        self.allowed: dict[int, int] = {}
        if born is not None:
            self.earliest = {n: y for n, y in enumerate(born[0].tolist()) if y != NO_YEAR}
            self.latest_year = dict(self.earliest)
            self.allowed = {n: y for n, y in enumerate(born[1].tolist()) if y != NO_LATEST}

    def may_join(self, a: int, b: int) -> bool:
        """Whether nothing in one group contradicts the other's years (only across the two:
        a group that holds a contradiction already is judged on the other's years alone)."""
        if self.latest_year.get(a, NO_YEAR) > self.allowed.get(b, NO_LATEST):
            return False
        if self.latest_year.get(b, NO_YEAR) > self.allowed.get(a, NO_LATEST):
            return False
        if self.spread is None or a not in self.earliest or b not in self.earliest:
            return True
        return (
            self.latest_year[a] - self.earliest[b] <= self.spread
            and self.latest_year[b] - self.earliest[a] <= self.spread
        )

    def join(self, into: int, other: int) -> None:
        """Group ``other`` joins group ``into``."""
        if other in self.earliest:
            self.earliest[into] = min(self.earliest.get(into, NO_LATEST), self.earliest.pop(other))
            self.latest_year[into] = max(
                self.latest_year.get(into, NO_YEAR), self.latest_year.pop(other)
            )
        if other in self.allowed:
            self.allowed[into] = min(self.allowed.get(into, NO_LATEST), self.allowed.pop(other))
