"""What an ingest did, for the terminal, the demo and the data manager. Plain Python.

Nothing here holds a clear value: rows are named by number, fields by column, problems with their
quoted values removed (the partner's own quarantine file beside its bundle has the values).
"""

from __future__ import annotations

import csv
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class PartnerReport:
    """One partner's file in one quarter."""

    partner: str
    organisation: str
    file: str
    rows: int = 0  # data rows in the source file
    records: int = 0  # rows taken in
    related: int = 0  # other persons named on rows (parents, carers)
    indicators: int = 0
    details: int = 0
    quarantined: list[dict[str, Any]] = field(default_factory=list)  # row, field, problem
    dropped_indicators: dict[str, int] = field(default_factory=dict)  # code → rows
    dropped_detail: dict[str, int] = field(default_factory=dict)  # category → rows
    ignored_columns: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line, no values."""
        parts = [f"{self.partner}: {self.records:,} of {self.rows:,} rows"]
        if self.related:
            parts.append(f"{self.related:,} related persons")
        parts.append(f"{self.indicators:,} flags, {self.details:,} sealed details")
        if self.quarantined:
            parts.append(f"{len(self.quarantined):,} rows quarantined")
        dropped = sum(self.dropped_indicators.values())
        if dropped:
            parts.append(f"{dropped:,} flags dropped (not allowed by the agreement)")
        dropped = sum(self.dropped_detail.values())
        if dropped:
            parts.append(f"{dropped:,} detail groups dropped (not allowed by the agreement)")
        if self.ignored_columns:
            parts.append(f"{len(self.ignored_columns)} columns not read")
        return "; ".join(parts)


@dataclass
class IngestReport:
    """A quarter's ingest: per partner, and what linkage made of it."""

    quarter: str
    run_id: str
    already_ingested: bool = False
    partners: list[PartnerReport] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # partners with a schema but no file
    persons: int = 0  # persons with a record this quarter
    new_persons: int = 0
    merged_persons: int = 0
    households: int = 0
    household_members: int = 0
    parent_links: int = 0
    #: parents or carers named at the child's address but linked to someone living elsewhere
    parent_links_doubtful: int = 0
    identities_new: int = 0
    identities_unchanged: int = 0
    rekeyed_persons: int = 0
    notes: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    quarantine_report: Path | None = None
    #: Every record linked this quarter → its person id (for measuring against a known truth;
    #: the rows a partner names as related are keyed (``<partner>~related``, ``<quarter>/<id>/<n>``)).
    linked: dict[tuple[str, str], str] = field(default_factory=dict, repr=False)

    @property
    def quarantined(self) -> int:
        return sum(len(p.quarantined) for p in self.partners)

    @property
    def records(self) -> int:
        return sum(p.records for p in self.partners)

    def lines(self) -> list[str]:
        """The report for a terminal: no clear values anywhere."""
        if self.already_ingested:
            return [f"{self.quarter} was already ingested from these same files: nothing changed."]
        lines = [p.summary() for p in self.partners]
        if self.missing:
            lines.append("no file this quarter from: " + ", ".join(self.missing))
        lines.append(
            f"{self.quarter}: {self.records:,} records → {self.persons:,} persons "
            f"({self.new_persons:,} new, {self.merged_persons:,} merged), "
            f"{self.households:,} households, {self.parent_links:,} parent links; vault: "
            f"{self.identities_new:,} identities sealed, {self.identities_unchanged:,} unchanged"
        )
        if self.quarantined:
            where = f" (report: {self.quarantine_report})" if self.quarantine_report else ""
            lines.append(f"{self.quarantined:,} rows quarantined{where}")
        lines.extend(f"note: {note}" for note in self.notes)
        timing = ", ".join(f"{k} {v:.1f}s" for k, v in self.seconds.items())
        lines.append(f"run {self.run_id}: {timing}")
        return lines


QUARANTINE_COLUMNS = ("quarter", "partner", "file", "row", "field", "problem")


def summary_path(path: Path) -> Path:
    """Where the summary of a quarantine report at ``path`` goes."""
    return path.with_name(path.stem + ".summary.txt")


def quarantine_summary(report: IngestReport) -> list[str]:
    """One line per partner with quarantined rows: counts only."""
    return [
        f"{report.quarter} {p.partner} ({p.file}): {len(p.quarantined):,} of {p.rows:,} rows "
        "quarantined"
        for p in report.partners
        if p.quarantined
    ]


def write_quarantine_report(report: IngestReport, path: str | Path) -> Path:
    """Write the quarantined rows as CSV (row numbers, columns, problems; never values) at
    ``path``, and the summary beside it (:func:`summary_path`). Each file appears whole or not at
    all."""
    path = Path(path)
    rows = [
        [report.quarter, p.partner, p.file, item["row"], item["field"], item["problem"]]
        for p in report.partners
        for item in p.quarantined
    ]
    _write_atomic(path, lambda out: _csv(out, rows))
    summary = "\n".join(quarantine_summary(report)) + "\n"
    _write_atomic(summary_path(path), lambda out: out.write(summary))
    return path


def _csv(out: Any, rows: list[list[Any]]) -> None:
    writer = csv.writer(out)
    writer.writerow(QUARANTINE_COLUMNS)
    writer.writerows(rows)


def _write_atomic(path: Path, write: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", newline="", encoding="utf-8") as out:
            write(out)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
