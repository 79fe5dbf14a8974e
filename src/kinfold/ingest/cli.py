"""The partner's command: encode one extract into a bundle for the hub. Plain: no Django, no
database, no hub keys — what a partner runs on its own machine after ``pip install kinfold``.

    python -m kinfold.ingest.cli extract.csv --schema police.toml --quarter 2016Q1 \\
        --secret-file linkage.secret --hub-key hub-transport.key --agreements agreements/ \\
        --out police.kfb

`register(subparsers)` adds the same as ``kinfold bundle`` to a command line that lists this
module among its plain command modules. The hub's public transport key comes from
``kinfold quarter hub-key --out FILE``; the agreements folder is the published one.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from kinfold.errors import InputError, KinfoldError
from kinfold.ingest import bundle, partner
from kinfold.ingest.schema import load_schema
from kinfold.linkage import Settings, read_secret
from kinfold.quarters import Quarter

#: First word of a transport key file.
KEY_LABEL: Final = "kinfold-transport-key-v1"


def write_key(public_key: bytes, path: Path) -> None:
    """Write the hub's public transport key for partners (it is not a secret)."""
    path.write_text(f"{KEY_LABEL} {public_key.hex()}\n", encoding="utf-8")


def read_key(path: Path) -> bytes:
    """Read a key file written by :func:`write_key`; InputError naming the file otherwise."""
    try:
        label, value = path.read_text(encoding="utf-8").split()
        key = bytes.fromhex(value)
    except (OSError, ValueError, UnicodeDecodeError):
        raise InputError("is not a kinfold transport key file", file=path) from None
    if label != KEY_LABEL or len(key) != 32:
        raise InputError("is not a kinfold transport key file", file=path)
    return key


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``bundle`` to a command line."""
    parser = subparsers.add_parser(
        "bundle",
        help="encode a partner extract into a bundle for the hub (run at the partner)",
        description=__doc__.split("\n\n")[0],
    )
    _arguments(parser)
    parser.set_defaults(handler=run)


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("extract", type=Path, help="the extract (CSV or XLSX)")
    parser.add_argument("--schema", type=Path, required=True, help="the partner's schema (TOML)")
    parser.add_argument("--quarter", required=True, help="the quarter, like 2016Q1")
    parser.add_argument(
        "--secret-file", type=Path, required=True, help="the linkage secret partners share"
    )
    parser.add_argument(
        "--hub-key", type=Path, required=True, help="the hub's public transport key file"
    )
    parser.add_argument(
        "--agreements", type=Path, required=True, help="the published agreements folder"
    )
    parser.add_argument("--out", type=Path, required=True, help="the bundle to write (.kfb)")
    parser.add_argument(
        "--quarantine", action="store_true", help="set bad rows aside instead of stopping"
    )
    parser.add_argument("--settings", type=Path, help="linkage settings (default: shipped)")


def run(args: argparse.Namespace) -> int:
    """Encode, and say what went in; the partner's quarantine list goes beside the bundle."""
    from kinfold.agreements.documents import load_register

    schema = load_schema(args.schema)
    register_ = load_register(args.agreements)
    result = partner.encode_extract(
        args.extract,
        schema,
        quarter=str(Quarter.parse(args.quarter)),
        secret=read_secret(args.secret_file),
        hub_key=read_key(args.hub_key),
        allowance=partner.allowance_from_register(register_, schema.organisation),
        out=args.out,
        quarantine=args.quarantine,
        settings=Settings.load(args.settings),
        schema_sha256=bundle.sha256_file(args.schema),
    )
    sys.stdout.write(
        f"{result.records:,} of {result.rows_read:,} rows of {args.extract} → {args.out} "
        f"({result.indicators:,} flags, {len(result.quarantined):,} rows quarantined)\n"
    )
    for item in result.quarantined:
        sys.stderr.write(f"  row {item.row}, column '{item.field}': {item.reason}\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m kinfold.ingest.cli``."""
    parser = argparse.ArgumentParser(prog="kinfold bundle", description=__doc__.split("\n\n")[0])
    _arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except KinfoldError as exc:
        sys.stderr.write(f"kinfold bundle: error: {exc}\n")
        return exc.exit_status


if __name__ == "__main__":
    raise SystemExit(main())
