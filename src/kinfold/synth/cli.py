"""`kinfold synth`: build a synthetic borough, its partners' extracts and the ground truth."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kinfold.errors import InputError
from kinfold.quarters import Quarter
from kinfold.synth._generate import generate
from kinfold.synth._presets import PRESETS
from kinfold.synth._settings import default_settings_text, load_settings

DESCRIPTION = """\
Build a synthetic borough ("Northfield"): residents in households, their lives quarter by quarter,
one extract per partner per quarter in that partner's own shape (with realistic recording errors),
and the ground truth beside them. Nobody in it is real. The same seed and settings always give
byte-identical files. docs/synth.md describes the model, the settings and every file.

  DIR/manifest.json           what was made, with checksums
  DIR/extracts/<QUARTER>/     what partners would send (config/schemas/ describes each file)
  DIR/truth/                  who is who, who lives with whom, what really happened
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `synth` command to kinfold's command line."""
    parser = subparsers.add_parser(
        "synth",
        help="build a synthetic borough: partner extracts and ground truth",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", metavar="DIR", help="folder to write (created; a previous "
                        "borough there is replaced, anything else is refused)")  # fmt: skip
    parser.add_argument("--preset", choices=sorted(PRESETS), help="a ready-made size: "
                        + "; ".join(f"{k}: {p.describe()}" for k, p in sorted(PRESETS.items())))  # fmt: skip
    parser.add_argument("--residents", metavar="N", help="residents at the start (default 6000)")
    parser.add_argument("--seed", metavar="S", help="random seed (default 1)")
    parser.add_argument("--start", metavar="QUARTER", help="first quarter, like 2015Q2 (default)")
    parser.add_argument("--quarters", metavar="Q", help="how many quarters (default 8)")
    parser.add_argument("--settings", metavar="FILE", type=Path,
                        help="settings laid over the defaults (see --print-settings)")  # fmt: skip
    parser.add_argument("--truth-only", action="store_true",
                        help="write the ground truth but no extracts (much faster)")  # fmt: skip
    parser.add_argument("--print-settings", action="store_true",
                        help="print the default settings file, to copy and tune, and stop")  # fmt: skip
    parser.set_defaults(handler=run)


def _whole(text: str | None, default: int, name: str, low: int, high: int) -> int:
    if text is None:
        return default
    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise InputError(f"must be a whole number, not '{text}'", field=f"--{name}") from None
    if not low <= value <= high:
        raise InputError(f"must be between {low:,} and {high:,}", field=f"--{name}")
    return value


def run(args: argparse.Namespace) -> int:
    """Handle `kinfold synth`; returns the exit status."""
    if args.print_settings:
        sys.stdout.write(default_settings_text())
        return 0
    if not args.out:
        raise InputError("say where to write the borough with --out DIR", field="--out")
    preset = PRESETS[args.preset or "demo"]
    residents = _whole(args.residents, preset.residents, "residents", 100, 20_000_000)
    quarters = _whole(args.quarters, preset.quarters, "quarters", 1, 200)
    seed = _whole(args.seed, preset.seed, "seed", 0, 2**63 - 1)
    start = Quarter.parse(args.start or preset.start)
    settings = load_settings(args.settings)
    bar = _progress_bar(quarters)
    try:
        result = generate(
            args.out,
            residents=residents,
            seed=seed,
            start=start,
            quarters=quarters,
            settings=settings,
            extracts=not args.truth_only,
            progress=bar,
        )
    finally:
        bar.close()
    sys.stdout.write(
        f"Wrote {settings.borough.name}: {residents:,} residents, {quarters} quarters from {start}, "
        f"to {result.out}. {result.eligible_families:,} families met at least two of the six "
        f"problems; {result.improved_families:,} improved. {result.rows_written:,} rows in "
        f"{len(result.files):,} files.\n"
    )
    return 0


class _Bar:
    """A tqdm progress bar on stderr when it is a terminal; silent otherwise."""

    def __init__(self, quarters: int) -> None:
        from tqdm import tqdm

        self._bar = tqdm(
            total=quarters,
            unit="quarter",
            desc="synth",
            file=sys.stderr,
            disable=not sys.stderr.isatty(),
            leave=False,
        )

    def __call__(self, done: int, total: int) -> None:
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        self._bar.close()


def _progress_bar(quarters: int) -> _Bar:
    return _Bar(quarters)
