"""The hub's two everyday calls: link two encoded tables; de-duplicate one into clusters."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from kinfold.linkage._cluster import constrained_clusters
from kinfold.linkage._cluster import one_to_one as _one_to_one
from kinfold.linkage._link import Links, score_dedupe, score_link
from kinfold.linkage._settings import Settings
from kinfold.linkage._table import EncodedTable


def link(
    left: EncodedTable,
    right: EncodedTable,
    settings: Settings | None = None,
    *,
    one_to_one: bool = False,
    threshold: float | None = None,
) -> Links:
    """Links between two encoded tables: pairs whose match probability reaches the threshold.

    With ``one_to_one`` each record appears in at most one link (the best, greedily), and the
    match probability knows it (a pair with no rival needs less evidence): use it when neither
    source holds more than one record per person. ``Links.rows()`` gives
    ``(left_id, right_id, probability)``. InputError if the tables were encoded with different
    secrets or settings.
    """
    found = score_link(left, right, settings, threshold=threshold, one_to_one=one_to_one)
    if one_to_one:
        found = found.select(_one_to_one(found.left_rows, found.right_rows, found.probability))
    return found


@dataclass
class Clusters:
    """A de-duplicated table: each record's cluster, and the links that made the clusters."""

    table: EncodedTable
    labels: NDArray[np.intp]  # per row: the row number of its cluster's first record
    links: Links

    def cluster_ids(self) -> list[str]:
        """Per record (in table order), its cluster's id: the record id of its first record."""
        ids: list[str] = self.table.record_ids[self.labels].tolist()
        return ids

    def rows(self) -> list[tuple[str, str]]:
        """(record id, cluster id) for every record, in table order."""
        return list(zip(self.table.record_ids.tolist(), self.cluster_ids(), strict=True))

    def count(self) -> int:
        """How many clusters (people, if the linkage is right)."""
        return len(np.unique(self.labels))


def dedupe(
    table: EncodedTable, settings: Settings | None = None, *, threshold: float | None = None
) -> Clusters:
    """Cluster one table's records into people: its links, best first, except where a link would
    join two groups that a compared pair between them says are different people."""
    found = score_dedupe(table, settings, threshold=threshold)
    labels = constrained_clusters(
        len(table), found.left_rows, found.right_rows, found.probability, *found.apart
    )
    return Clusters(table, labels, found)
