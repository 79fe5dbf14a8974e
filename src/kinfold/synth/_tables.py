"""A table as named numpy columns of equal length: how the borough keeps people, homes and households."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray


class Table:
    """Equal-length numpy columns addressed by name; rows are positions, `key` is a sorted id column.

    Rows are only ever appended with larger keys and removed by `keep`, so the key column stays sorted
    and `positions` can find rows by id with a binary search.
    """

    def __init__(self, key: str, columns: Mapping[str, NDArray[Any]]) -> None:
        self.key = key
        self.columns: dict[str, NDArray[Any]] = dict(columns)
        lengths = {len(c) for c in self.columns.values()}
        if len(lengths) > 1:
            raise ValueError(f"columns of different lengths: {lengths}")

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
        return np.arange(start, len(self), dtype=np.int64)

    def keep(self, mask: NDArray[np.bool_]) -> None:
        """Drop the rows where `mask` is False."""
        for name, column in self.columns.items():
            self.columns[name] = column[mask]

    def positions(self, ids: NDArray[np.int64]) -> NDArray[np.int64]:
        """Row positions of `ids`; -1 for ids not in the table (or negative ids)."""
        keys = self.columns[self.key]
        found = np.searchsorted(keys, ids)
        found = np.minimum(found, max(len(keys) - 1, 0))
        ok = (ids >= 0) & (len(keys) > 0)
        if len(keys):
            ok &= keys[found] == ids
        return np.where(ok, found, -1).astype(np.int64)
