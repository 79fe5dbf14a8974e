"""Reading partner extracts (CSV or XLSX) as rows of text, with errors that name file and row."""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Generator, Iterator, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from kinfold.errors import InputError
from kinfold.linkage._columns import EXCEL_EPOCH, ColumnMap

if TYPE_CHECKING:
    from _csv import Reader as CsvReader

Row = dict[str, str | None]


def read_rows(
    path: str | Path,
    column_map: ColumnMap,
    encoding: str = "utf-8",
    *,
    allow_no_rows: bool = False,
) -> Iterator[Row]:
    """The data rows of a CSV or XLSX extract; the header is checked against ``column_map`` first.

    InputError (naming the file, and the row or column) for a missing or empty file, a header
    without a mapped column, text that is not in ``encoding`` or a row with too many cells. A
    header with no rows under it is an error too unless ``allow_no_rows`` (a partner with nothing
    to send this quarter).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("file not found", file=path)
    if path.suffix.lower() in {".xlsx", ".xlsm"}:
        return _xlsx_rows(path, column_map, allow_no_rows)
    return _csv_rows(path, column_map, encoding, allow_no_rows)


def _check_header(header: Sequence[str], column_map: ColumnMap, path: Path) -> None:
    if not any(h.strip() for h in header):
        raise InputError("is empty: there is no header row", file=path, row=1)
    for column, name in column_map.columns():
        if column not in header:
            known = ", ".join(repr(h) for h in header)
            raise InputError(
                f"has no column '{column}' (mapped to {name}); its columns are: {known}",
                file=path,
                row=1,
                field=column,
            )


def _csv_rows(
    path: Path, column_map: ColumnMap, encoding: str, allow_no_rows: bool
) -> Iterator[Row]:
    codec = "utf-8-sig" if encoding.replace("_", "-").lower() in {"utf-8", "utf8"} else encoding
    handle = path.open(newline="", encoding=codec)
    try:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            raise InputError("is empty: there is no header row", file=path, row=1)
        header = [h.strip() for h in header]
        _check_header(header, column_map, path)
    except UnicodeDecodeError as exc:
        handle.close()
        raise _decode_error(path, codec, exc) from exc
    except BaseException:
        handle.close()
        raise
    return _csv_body(handle, reader, header, path, codec, allow_no_rows)


def _csv_body(
    handle: TextIO,
    reader: CsvReader,
    header: list[str],
    path: Path,
    codec: str,
    allow_no_rows: bool,
) -> Iterator[Row]:
    rows_seen = 0
    try:
        for cells in reader:
            rows_seen += 1
            if not any(c.strip() for c in cells):
                continue  # a blank line is not a record
            if len(cells) > len(header):
                raise InputError(
                    f"has {len(cells)} cells but the header has {len(header)} columns",
                    file=path,
                    row=reader.line_num,
                )
            yield dict(zip(header, cells, strict=False))
    except UnicodeDecodeError as exc:
        raise _decode_error(path, codec, exc) from exc
    except csv.Error as exc:
        raise InputError(f"is not valid CSV: {exc}", file=path, row=rows_seen + 2) from exc
    finally:
        handle.close()
    if rows_seen == 0 and not allow_no_rows:
        raise InputError("has a header but no data rows", file=path, row=2)


def _decode_error(path: Path, codec: str, exc: UnicodeDecodeError) -> InputError:
    """Find the first line that does not decode, so the message can name its row."""
    with path.open("rb") as raw:
        for number, line in enumerate(raw, start=1):
            try:
                line.decode(codec)
            except UnicodeDecodeError:
                return InputError(
                    f"is not {codec} text (byte 0x{line[exc.start % max(len(line), 1)]:02x} "
                    f"cannot be read); save it as UTF-8 or pass --encoding (e.g. cp1252)",
                    file=path,
                    row=number,
                )
    return InputError(f"is not {codec} text; save it as UTF-8 or pass --encoding", file=path)


def _xlsx_rows(path: Path, column_map: ColumnMap, allow_no_rows: bool) -> Iterator[Row]:
    from openpyxl import load_workbook  # only partners with spreadsheets need it

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise InputError(f"cannot be read as a spreadsheet: {exc}", file=path) from exc
    try:
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        first = next(rows, None)
        if first is None:
            raise InputError("is empty: there is no header row", file=path, row=1)
        header = ["" if c is None else str(c).strip() for c in first]
        _check_header(header, column_map, path)
    except BaseException:
        book.close()  # a read-only workbook holds its file open until closed
        raise
    formats = {c: s.date_format for s in column_map.fields.values() for c in s.columns}
    return _Closing(_xlsx_body(book, rows, header, formats, path, allow_no_rows), book)


class _Closing(Iterator[Row]):
    """Rows that close their workbook when closed, even before the first is read."""

    def __init__(self, rows: Generator[Row, None, None], book: Any) -> None:
        self._rows, self._book = rows, book

    def __next__(self) -> Row:
        return next(self._rows)

    def close(self) -> None:
        self._rows.close()
        self._book.close()


def _xlsx_body(
    book: Any,
    rows: Iterator[tuple[object, ...]],
    header: list[str],
    formats: dict[str, str | None],
    path: Path,
    allow_no_rows: bool,
) -> Generator[Row, None, None]:
    """The data rows; the workbook is closed when they are read or the reader stops early."""
    try:
        seen = 0
        for cells in rows:
            if all(c is None or str(c).strip() == "" for c in cells):
                continue
            seen += 1
            yield {h: _cell_text(c, formats.get(h)) for h, c in zip(header, cells, strict=False)}
        if seen == 0 and not allow_no_rows:
            raise InputError("has a header but no data rows", file=path, row=2)
    finally:
        book.close()


def _cell_text(cell: object, date_format: str | None) -> str | None:
    """A spreadsheet cell as text; a real date cell is written in the column's declared format."""
    if cell is None:
        return None
    if isinstance(cell, datetime | date):
        day = cell.date() if isinstance(cell, datetime) else cell
        if date_format == "excel":
            return str((day - EXCEL_EPOCH).days)
        return day.strftime(date_format or "%Y-%m-%d")
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell)


def write_csv(path: str | Path, header: Sequence[str], rows: Iterator[Sequence[object]]) -> int:
    """Write a CSV atomically (nothing appears under ``path`` unless all of it was written)."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise InputError("cannot be written: its folder does not exist", file=path)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    count = 0
    try:
        with os.fdopen(handle, "w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(header)
            for row in rows:
                writer.writerow(row)
                count += 1
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return count
