"""Scoring a linkage against the truth: precision, recall and F1 over record pairs."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from itertools import combinations
from typing import TypeVar

#: A record's key (an id, or a (source, id) pair): any hashable type, the same in both clusterings.
Record = TypeVar("Record", bound=Hashable)


@dataclass(frozen=True)
class Accuracy:
    """Pairwise accuracy of a linkage."""

    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        """Share of the links made that are true."""
        made = self.true_positives + self.false_positives
        return self.true_positives / made if made else 1.0

    @property
    def recall(self) -> float:
        """Share of the true links that were made."""
        true = self.true_positives + self.false_negatives
        return self.true_positives / true if true else 1.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def pair_accuracy(
    found: Iterable[tuple[Hashable, Hashable]], truth: Iterable[tuple[Hashable, Hashable]]
) -> Accuracy:
    """Compare two sets of pairs (order within a pair matters: use ``(left, right)`` for links)."""
    made, true = set(found), set(truth)
    both = len(made & true)
    return Accuracy(both, len(made) - both, len(true) - both)


def cluster_pairs(clusters: Mapping[Record, Hashable]) -> set[tuple[Record, Record]]:
    """Every unordered pair of records in the same cluster, as (smaller, larger) by ``repr``."""
    groups: dict[Hashable, list[Record]] = {}
    for record, cluster in clusters.items():
        groups.setdefault(cluster, []).append(record)
    pairs: set[tuple[Record, Record]] = set()
    for members in groups.values():
        members.sort(key=repr)
        pairs.update(combinations(members, 2))
    return pairs


def cluster_accuracy(
    found: Mapping[Record, Hashable], truth: Mapping[Record, Hashable]
) -> Accuracy:
    """Pairwise accuracy of a clustering (record → cluster) against true clusters."""
    made, true = cluster_pairs(found), cluster_pairs(truth)
    return pair_accuracy(made, true)
