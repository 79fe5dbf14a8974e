"""Running the borough quarter by quarter and writing extracts, truth and the manifest."""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kinfold import __version__
from kinfold.errors import InputError
from kinfold.quarters import Quarter
from kinfold.synth._borough import Borough
from kinfold.synth._circumstances import Circumstances, PartnerRows
from kinfold.synth._dates import quarter_days
from kinfold.synth._events import RecordNumbers, events, record_ids
from kinfold.synth._families import QuarterEvents, family_quarters, membership
from kinfold.synth._output import WrittenFile
from kinfold.synth._settings import PARTNERS, Settings, load_settings
from kinfold.synth._truthfiles import TruthFiles
from kinfold.synth.names import name_bank
from kinfold.synth.truth import FamilyTracker

#: Called after each quarter with (quarters done, quarters in all).
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class GenerateResult:
    """What a run produced: counts for the terminal, tests and benchmarks."""

    out: Path
    residents: int
    quarters: int
    people: int
    families: int
    eligible_families: int
    improved_families: int
    relapsed_families: int
    rows: dict[str, int] = field(default_factory=dict)
    files: tuple[WrittenFile, ...] = ()

    @property
    def rows_written(self) -> int:
        """Rows across every file written (extracts and truth)."""
        return sum(f.rows for f in self.files)


def generate(
    out: str | Path,
    *,
    residents: int,
    seed: int = 1,
    start: str | Quarter = "2015Q2",
    quarters: int = 20,
    settings: Settings | None = None,
    extracts: bool = True,
    progress: Progress | None = None,
) -> GenerateResult:
    """Build a synthetic borough and write it to `out` (docs/synth.md describes the folder).

    `extracts=False` writes the truth only (much faster; the truth is identical either way).
    The same arguments always give byte-identical files.
    """
    settings = settings or load_settings()
    first = start if isinstance(start, Quarter) else Quarter.parse(start)
    if residents < 100:
        raise InputError("a borough needs at least 100 residents", field="residents")
    if not 1 <= quarters <= 200:
        raise InputError("quarters must be between 1 and 200", field="quarters")
    target = _check_target(Path(out))
    # Build beside the target and swap it in at the end: a failed run leaves nothing half-written.
    partial = target.parent / f".{target.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        run = _Run(partial, settings, residents, seed, first, extracts)
        for index in range(quarters):
            run.quarter(index)
            if progress is not None:
                progress(index + 1, quarters)
        result = run.finish(quarters)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    if target.exists():
        shutil.rmtree(target)
    partial.rename(target)
    return dataclasses.replace(result, out=target)


def _check_target(root: Path) -> Path:
    """The output folder: new, empty, or a previous borough (which is replaced)."""
    if root.exists():
        if not root.is_dir():
            raise InputError("exists and is not a folder", file=root)
        entries = {p.name for p in root.iterdir()}
        if entries - {"manifest.json", "extracts", "truth"}:
            raise InputError("is not empty and holds no synthetic borough; choose another folder",
                             file=root)  # fmt: skip
    root.parent.mkdir(parents=True, exist_ok=True)
    return root


class _Run:
    """One generation run: the borough, its circumstances, the writers and the family tracker."""

    def __init__(
        self,
        root: Path,
        settings: Settings,
        residents: int,
        seed: int,
        start: Quarter,
        extracts: bool,
    ) -> None:
        self.root = root
        self.settings = settings
        self.seed = seed
        self.residents = residents
        self.borough = Borough(settings, name_bank(), seed, start)
        self.borough.populate(residents)
        self.circumstances = Circumstances(self.borough)
        self._warm_up()
        self.numbers = RecordNumbers()
        self.ni_offset = int(np.random.default_rng(seed).integers(1 << 30))
        self.truth = TruthFiles(root, self.borough, self.ni_offset)
        self.tracker = FamilyTracker()
        self.rows: dict[str, int] = dict.fromkeys(PARTNERS, 0)
        self.writer = None
        if extracts:
            from kinfold.synth._extracts import ExtractWriter

            self.writer = ExtractWriter(root, self.borough, settings, self.ni_offset)

    def _warm_up(self) -> None:
        """Run states and statuses for a while before the first quarter the files show."""
        borough = self.borough
        warmup = self.settings.circumstances.warmup_quarters
        borough.q = -warmup
        for _ in range(warmup):
            self.circumstances.step(produce=False)
            borough.q += 1

    def quarter(self, index: int) -> None:
        borough = self.borough
        if index > 0:
            departed = borough.advance()
            rows = borough.departed_rows()
            self.truth.write_people(rows, index - 1, departed.died)
            self.truth.close_spells(rows, index - 1)
        age = borough.ages()
        borough.update_families(age)
        members = membership(borough, age)
        self.truth.update_spells(members)
        self.truth.write_changes()
        self.truth.note_families(
            np.unique(borough.households["family"][borough.households["family"] >= 0])
        )
        partner_rows = self.circumstances.step()
        quarter_events = self._events(partner_rows)
        tracked = set(self.tracker.tracked)
        observed, problems = family_quarters(
            borough.quarter, quarter_events, members, borough.people["pid"], tracked
        )
        existing = set(np.unique(members.pair_family).tolist())
        self.tracker.update(borough.quarter, observed, existing)
        self.truth.write_problems(problems)

    def _events(self, partner_rows: dict[str, PartnerRows]) -> QuarterEvents:
        """Write each partner's true events and records (and extract); gather the events."""
        borough = self.borough
        pids = borough.people["pid"]
        quarter_end = quarter_days(borough.quarter)[1]
        people, codes, values = [], [], []
        for partner in PARTNERS:
            rows = partner_rows[partner]
            row_pids = pids[rows.person]
            ids = record_ids(rows, row_pids, borough.quarter.year, self.numbers)
            found = events(rows, quarter_end)
            self.truth.write_events(
                partner, row_pids[found.row], [ids[i] for i in found.row.tolist()],
                found.code, found.day, found.value,
            )  # fmt: skip
            if self.writer is not None:
                self.writer.write(rows, ids, self.numbers, self.truth.write_records)
            else:
                label = self.truth.quarter_label(borough.q)
                self.truth.write_records(_primary_records(label, rows, row_pids, ids, pids))
            self.rows[partner] += len(rows)
            people.append(rows.person[found.row])
            codes.append(found.code)
            values.append(found.value)
        return QuarterEvents(np.concatenate(people), np.concatenate(codes), np.concatenate(values))

    def finish(self, quarters: int) -> GenerateResult:
        borough = self.borough
        last = quarters - 1
        everyone = borough.people.columns
        self.truth.write_people(everyone, last, None)
        self.truth.close_spells(everyone, last)
        outcomes = self.tracker.outcomes()
        files = self.truth.close(outcomes)
        if self.writer is not None:
            files = self.writer.close() + files
        eligible = [o for o in outcomes.values() if o.eligible is not None]
        improved = [o for o in eligible if o.improved is not None]
        result = GenerateResult(
            out=self.root,
            residents=self.residents,
            quarters=quarters,
            people=borough.next_pid,
            families=borough.next_family,
            eligible_families=len(eligible),
            improved_families=len(improved),
            relapsed_families=sum(1 for o in improved if o.relapsed is not None),
            rows=self.rows,
            files=tuple(files),
        )
        self._manifest(result, quarters)
        return result

    def _manifest(self, result: GenerateResult, quarters: int) -> None:
        manifest = {
            "generator": f"kinfold.synth {__version__}",
            "seed": self.seed,
            "residents": self.residents,
            "start": str(self.borough.start),
            "quarters": quarters,
            "settings_sha256": self.settings.digest,
            "borough": self.settings.borough.name,
            "partners": list(PARTNERS),
            "extracts": self.writer is not None,
            "summary": {
                "people": result.people,
                "families": result.families,
                "eligible_families": result.eligible_families,
                "improved_families": result.improved_families,
                "relapsed_families": result.relapsed_families,
            },
            "files": [
                {"path": f.path, "sha256": f.sha256, "rows": f.rows}
                for f in sorted(result.files, key=lambda f: f.path)
            ],
        }
        text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
        (self.root / "manifest.json").write_text(text, encoding="utf-8")


def _primary_records(
    label: str, rows: PartnerRows, row_pids: np.ndarray, ids: list[str], pids: np.ndarray
) -> list[list[object]]:
    """records.csv columns when no extract is written: one record per row, no errors."""
    n = len(ids)
    related = rows.columns.get("carer")
    related_ids = (
        ["" if r < 0 else str(int(pids[r])) for r in related.tolist()]
        if related is not None
        else [""] * n
    )
    return [
        [label] * n,
        [rows.partner] * n,
        ids,
        row_pids.tolist(),
        related_ids,
        [""] * n,
        [""] * n,
    ]
