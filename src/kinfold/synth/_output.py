"""Writing files whose checksum and row count go into the manifest."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any


@dataclass(frozen=True)
class WrittenFile:
    """A file the generator wrote: path relative to the output folder, sha256 and data rows."""

    path: str
    sha256: str
    rows: int


class CsvFile:
    """A CSV file written in chunks, hashed as it goes. UTF-8; the header is not counted as a row."""

    def __init__(
        self,
        root: Path,
        relative: str,
        header: Sequence[str],
        *,
        line_end: str = "\n",
        bom: bool = False,
    ) -> None:
        self.relative = relative
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[bytes] = path.open("wb")
        self._hash = hashlib.sha256()
        self._line_end = line_end
        self.rows = 0
        if bom:
            self._write_bytes("\ufeff".encode())
        self._write([header], count=False)

    def _write_bytes(self, data: bytes) -> None:
        self._hash.update(data)
        self._file.write(data)

    def _write(self, rows: Iterable[Sequence[Any]], count: bool = True) -> None:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator=self._line_end)
        written = 0
        for row in rows:
            writer.writerow(row)
            written += 1
        if count:
            self.rows += written
        self._write_bytes(buffer.getvalue().encode("utf-8"))

    def write(self, rows: Iterable[Sequence[Any]]) -> None:
        """Append rows."""
        self._write(rows)

    def write_columns(self, columns: Sequence[Sequence[Any]]) -> None:
        """Append rows given as equal-length columns (faster for big batches)."""
        if not columns or not len(columns[0]):
            return
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator=self._line_end)
        writer.writerows(zip(*columns, strict=True))
        self.rows += len(columns[0])
        self._write_bytes(buffer.getvalue().encode("utf-8"))

    def close(self) -> WrittenFile:
        """Finish the file; returns what the manifest records."""
        self._file.close()
        return WrittenFile(self.relative, self._hash.hexdigest(), self.rows)


def hash_file(root: Path, relative: str, rows: int) -> WrittenFile:
    """The manifest entry for a file written some other way (the XLSX extract)."""
    digest = hashlib.sha256((root / relative).read_bytes()).hexdigest()
    return WrittenFile(relative, digest, rows)
