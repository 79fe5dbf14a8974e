"""`kinfold quarter ingest`, plugged into `kinfold quarter` (its QUARTER_COMMAND_MODULES)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from kinfold.ingest import services


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add `ingest` to `kinfold quarter`."""
    parser = subparsers.add_parser(
        "ingest",
        help="load a quarter's partner extracts (or bundles): link persons, households, flags",
        description="Load one quarter in one transaction. Given a folder of partner extracts "
        "(kinfold synth --out DIR writes them), play both sides: encode each extract as its "
        "partner would, then ingest the bundles at the hub, which links on encodings only and "
        "puts clear identities only in the vault. Given a folder of bundles (*.kfb) that partners "
        "sent, ingest those. A bad file is refused whole, naming file, row and field; ingesting "
        "the same files again changes nothing.",
    )
    parser.add_argument(
        "folder", metavar="DIR", help="a quarter's folder, like OUT/extracts/2016Q1 (or OUT with "
        "--quarter)"
    )  # fmt: skip
    parser.add_argument("--quarter", metavar="QUARTER", help="the quarter, like 2016Q1")
    parser.add_argument(
        "--quarantine",
        action="store_true",
        help="set bad rows aside in a report and load the rest, instead of refusing the file",
    )
    parser.add_argument(
        "--report",
        metavar="FILE",
        help="where to write the quarantine report (CSV; a .summary.txt goes beside it)",
    )
    parser.set_defaults(run=_ingest)
    key = subparsers.add_parser(
        "hub-key",
        help="write the hub's public transport key, which partners seal their bundles to",
        description="Write the public half of the hub's bundle transport key (derived from the "
        "vault master key) for partners' `python -m kinfold.ingest.cli`. It is not a secret.",
    )
    key.add_argument("--out", metavar="FILE", required=True, help="where to write it")
    key.set_defaults(run=_hub_key)


def _ingest(command: Any, options: dict[str, Any]) -> None:
    with _Bars() as bars:
        report = services.ingest_quarter(
            options["folder"],
            options.get("quarter"),
            quarantine=bool(options.get("quarantine")),
            report_path=options.get("report"),
            progress=bars.update,
        )
    for line in report.lines():
        command.stdout.write(line)


def _hub_key(command: Any, options: dict[str, Any]) -> None:
    from kinfold.ingest import hub
    from kinfold.ingest.cli import write_key

    out = Path(options["out"])
    write_key(hub.transport_public_key(), out)
    command.stdout.write(f"Wrote the hub's public transport key to {out}")


class _Bars:
    """One progress bar per stage (rows per partner), on a terminal only."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()
        self.bars: dict[str, Any] = {}

    def __enter__(self) -> _Bars:
        return self

    def __exit__(self, *exc: object) -> None:
        for bar in self.bars.values():
            bar.close()

    def update(self, stage: str, done: int, total: int | None) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        bar = self.bars.get(stage)
        if bar is None:
            bar = tqdm(total=total, desc=stage, unit=" rows", leave=False, file=sys.stderr)
            self.bars[stage] = bar
        bar.update(max(0, done - bar.n))
