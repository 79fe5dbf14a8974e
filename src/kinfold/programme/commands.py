"""`kinfold quarter identify`, plugged into `kinfold quarter` (see its QUARTER_COMMAND_MODULES)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from tqdm import tqdm

from kinfold.errors import KinfoldError
from kinfold.programme import identification
from kinfold.programme.models import IdentificationRun
from kinfold.quarters import Quarter


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the programme's subcommands to `kinfold quarter`."""
    identify = subparsers.add_parser(
        "identify",
        help="form the quarter's families and find those the outcomes framework identifies",
        description="Form families from the quarter's household data, evaluate the outcomes "
        "framework on partners' flags only, and record each eligible family with the problems "
        "it met and the flag behind each. Re-running a quarter gives the same answer. Quarters "
        "are identified in order, so that families keep their ids.",
    )
    identify.add_argument("quarter", metavar="QUARTER", help="the quarter, like 2016Q1")
    identify.add_argument(
        "--from",
        dest="first",
        metavar="QUARTER",
        help="identify every quarter from this one to QUARTER, in order",
    )
    identify.add_argument(
        "--framework",
        metavar="FILE",
        help="a framework file, or a name in config/frameworks/ (default: KINFOLD_FRAMEWORK, "
        "else national-2015)",
    )
    identify.set_defaults(run=_identify)


def _identify(command: Any, options: dict[str, Any]) -> None:
    last = Quarter.parse(options["quarter"])
    first = Quarter.parse(options["first"]) if options.get("first") else last
    if last < first:
        raise KinfoldError(f"--from {first} is after {last}", field="--from")
    framework = identification.active_framework(options.get("framework"))
    quarter = first
    while quarter <= last:
        run = _one(framework, quarter)
        command.stdout.write(summary(run))
        quarter = quarter + 1


def _one(framework: Any, quarter: Quarter) -> IdentificationRun:
    with tqdm(
        total=100,
        desc=f"identify {quarter}",
        unit="%",
        disable=not sys.stderr.isatty(),
        leave=False,
    ) as bar:

        def progress(percent: int, stage: str) -> None:
            bar.set_postfix_str(stage)
            bar.update(max(0, percent - bar.n))

        return identification.identify(quarter, framework, progress=progress)


def summary(run: IdentificationRun) -> str:
    """One line about a finished run."""
    c = run.counts
    return (
        f"{run.quarter}: {c.get('families_formed', 0):,} families formed from "
        f"{c.get('households', 0):,} households; {c.get('eligible', 0):,} eligible under "
        f"{run.framework_id} v{run.framework_version} ({c.get('newly_identified', 0):,} "
        f"identified for the first time); run {run.run_id}"
    )
