"""A table as named numpy columns of equal length: how the borough keeps people, homes and households."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray


class Table:
    """Equal-length numpy columns addressed by name; rows are positions, `key` is a sorted id column.

    Rows are only ever appended with larger keys and removed by `keep`, so keys stay unique and
    `positions` can find rows by id through a dense index (rebuilt when rows change), which is much
    faster than a binary search for the millions of look-ups a quarter makes.
    """

    def __init__(self, key: str, columns: Mapping[str, NDArray[Any]]) -> None:
        self.key = key
        self.columns: dict[str, NDArray[Any]] = dict(columns)
        lengths = {len(c) for c in self.columns.values()}
        if len(lengths) > 1:
            raise ValueError(f"columns of different lengths: {lengths}")
        self._index: NDArray[np.int64] | None = None

    def __len__(self) -> int:
        return len(self.columns[self.key])

    def __getitem__(self, name: str) -> NDArray[Any]:
        return self.columns[name]

    def __setitem__(self, name: str, values: NDArray[Any]) -> None:
        self.columns[name] = values

    def append(self, rows: Mapping[str, NDArray[Any]]) -> NDArray[np.int64]:
        """Add rows (every column must be given); returns their positions."""
        start = len(self)
        missing = set(self.columns) - set(rows)
        if missing:
            raise ValueError(f"new rows lack columns {sorted(missing)}")
        for name, column in self.columns.items():
            self.columns[name] = np.concatenate([column, np.asarray(rows[name], column.dtype)])
        self._index = None
        return np.arange(start, len(self), dtype=np.int64)

    def keep(self, mask: NDArray[np.bool_]) -> None:
        """Drop the rows where `mask` is False."""
        for name, column in self.columns.items():
            self.columns[name] = column[mask]
        self._index = None

    def positions(self, ids: NDArray[np.int64]) -> NDArray[np.int64]:
        """Row positions of `ids`; -1 for ids not in the table (or negative ids)."""
        index = self._dense_index()
        ids = np.asarray(ids, dtype=np.int64)
        known = (ids >= 0) & (ids < len(index))
        found = index[np.where(known, ids, 0)] if len(index) else np.zeros(len(ids), np.int64)
        result: NDArray[np.int64] = np.where(known, found, -1)
        return result

    def _dense_index(self) -> NDArray[np.int64]:
        if self._index is None:
            keys = self.columns[self.key].astype(np.int64)
            index = np.full(int(keys.max()) + 1 if len(keys) else 0, -1, dtype=np.int64)
            index[keys] = np.arange(len(keys), dtype=np.int64)
            self._index = index
        return self._index
