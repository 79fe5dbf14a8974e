"""Linkage commands: ``encode``, ``link``, ``link-encoded``, ``dedupe``. No Django, database or keys.

A partner runs ``kinfold encode`` after ``pip install kinfold``; an analyst scores linkage on any
two files with ``kinfold link``. Bad input stops the command with one line naming the file, row and
column; ``--skip-bad-rows`` (or ``--blank-bad-values``) carries on and lists what it left out.
"""

from __future__ import annotations

import argparse
import functools
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Final

from kinfold.errors import InputError, KinfoldError
from kinfold.linkage._api import dedupe, link
from kinfold.linkage._columns import ColumnMap
from kinfold.linkage._encode import BadValues, EncodeReport, encode
from kinfold.linkage._io import read_rows, write_csv
from kinfold.linkage._keys import new_secret, read_secret
from kinfold.linkage._link import Links, worker_count
from kinfold.linkage._settings import Settings
from kinfold.linkage._table import EncodedTable

#: Bad values listed one by one before the rest are only counted.
SHOWN_BAD_VALUES: Final = 20
MAP_HELP: Final = (
    "which column holds which field, e.g. "
    "'given_name=forename,surname=surname,dob=dob:%%Y-%%m-%%d,sex=sex,address=address,"
    "postcode=postcode,id=ref' (dates: strftime format or 'excel'; join columns with +)"
)
Handler = Callable[[argparse.Namespace], int]
#: ``kinfold link`` encodes its two files side by side, in two processes, from this much input
#: when a core is idle, and from ``PARALLEL_ENCODE_ALWAYS_BYTES`` whatever the load. FEBRL4's two
#: 5,000-row files (about 0.5 MB each) on a 2-core machine: 0.42-0.48 s side by side against
#: 0.54-0.58 s one after the other when it was quiet, but 0.63 s against 0.55 s with one core
#: busy elsewhere. The links are the same either way.
PARALLEL_ENCODE_BYTES: Final = 256_000
PARALLEL_ENCODE_ALWAYS_BYTES: Final = 8_000_000


def side_by_side(size: int, workers: int) -> bool:
    """Whether to encode the two sides of ``kinfold link`` (``size`` bytes in all) at once."""
    if workers < 2 or size < PARALLEL_ENCODE_BYTES:
        return False
    if size >= PARALLEL_ENCODE_ALWAYS_BYTES:
        return True
    try:
        load = os.getloadavg()[0]  # processes running or waiting, over the last minute
    except OSError:  # not available here: do not guess
        return False
    return load <= workers - 1  # a core free for the second process


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the linkage commands to the ``kinfold`` command line."""
    _register_encode(subparsers)
    _register_link(subparsers)
    _register_link_encoded(subparsers)
    _register_dedupe(subparsers)


def _common(parser: argparse.ArgumentParser, *, reads_csv: bool = True) -> None:
    parser.add_argument("--settings", type=Path, help="linkage settings TOML (default: shipped)")
    if reads_csv:
        parser.add_argument(
            "--encoding", default="utf-8", help="text encoding of CSV files (default utf-8)"
        )
        bad = parser.add_mutually_exclusive_group()
        bad.add_argument(
            "--skip-bad-rows",
            action="store_true",
            help="skip rows with a value that cannot be read (listed on stderr) instead of stopping",
        )
        bad.add_argument(
            "--blank-bad-values",
            action="store_true",
            help="treat a value that cannot be read as missing (listed on stderr), keep the row",
        )


def _register_encode(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "encode",
        help="encode a partner extract for privacy-preserving linkage (run at the partner)",
        description="Normalise and encode the identity columns of an extract into keyed Bloom "
        "filters and tokens. The output holds nothing readable but the record ids.",
    )
    parser.add_argument("extract", type=Path, help="the extract (CSV or XLSX)")
    parser.add_argument("--map", required=True, help=MAP_HELP)
    parser.add_argument(
        "--secret-file", required=True, type=Path, help="the linkage secret shared by partners"
    )
    parser.add_argument("--out", required=True, type=Path, help="encoded file to write (.kfe)")
    parser.add_argument("--source", default="", help="source name stored in the file (partner id)")
    _common(parser)
    parser.set_defaults(handler=_reporting(_encode_command))


def _register_link(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "link",
        help="link two extracts (encodes both with a fresh secret, links the encodings)",
        description="The one-call way to score linkage on any two files: both are encoded with "
        "a fresh random secret, then linked on the encodings only. Writes left_id,right_id,score.",
    )
    parser.add_argument("--left", required=True, type=Path, help="first file (CSV or XLSX)")
    parser.add_argument("--left-map", required=True, help=MAP_HELP)
    parser.add_argument("--right", required=True, type=Path, help="second file (CSV or XLSX)")
    parser.add_argument("--right-map", required=True, help="the same, for --right")
    _link_options(parser)
    _common(parser)
    parser.set_defaults(handler=_reporting(_link_command))


def _register_link_encoded(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "link-encoded",
        help="link two files made by `kinfold encode` (run at the hub)",
        description="Link two encoded files made with the same secret and settings.",
    )
    parser.add_argument("--left", required=True, type=Path, help="first encoded file (.kfe)")
    parser.add_argument("--right", required=True, type=Path, help="second encoded file (.kfe)")
    _link_options(parser)
    _common(parser, reads_csv=False)
    parser.set_defaults(handler=_reporting(_link_encoded_command))


def _link_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, type=Path, help="links CSV to write")
    parser.add_argument(
        "--one-to-one",
        action="store_true",
        help="each record in at most one link (when neither file repeats a person)",
    )
    parser.add_argument(
        "--threshold", type=_probability, help="lowest match probability kept (default: settings)"
    )


def _register_dedupe(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "dedupe",
        help="find the records of one file that are the same person",
        description="Cluster the records of one file (CSV/XLSX with --map, or an encoded .kfe) "
        "into people. Writes id,cluster; a cluster is named by its first record's id.",
    )
    parser.add_argument("extract", type=Path, help="the file (CSV, XLSX or .kfe)")
    parser.add_argument("--map", help=MAP_HELP + "; not needed for a .kfe file")
    parser.add_argument("--out", required=True, type=Path, help="clusters CSV to write")
    parser.add_argument(
        "--threshold", type=_probability, help="lowest match probability kept (default: settings)"
    )
    _common(parser)
    parser.set_defaults(handler=_reporting(_dedupe_command))


def _reporting(handler: Handler) -> Handler:
    """Report a user mistake as one line on stderr and return its exit status (never a traceback)."""

    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except KinfoldError as exc:
            _err(f"kinfold: error: {exc}")
            return exc.exit_status

    return run


def _out(line: str) -> None:
    sys.stdout.write(line + "\n")


def _err(line: str) -> None:
    sys.stderr.write(line + "\n")


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"'{text}' is not a probability between 0 and 1")
    return value


def _policy(args: argparse.Namespace) -> BadValues:
    if args.skip_bad_rows:
        return "skip-row"
    if args.blank_bad_values:
        return "blank"
    return "error"


def _encode_file(
    path: Path,
    map_text: str,
    secret: bytes,
    settings: Settings,
    args: argparse.Namespace,
    source: str,
    allow_no_rows: bool = False,
) -> EncodedTable:
    """Encode the one file of ``encode`` or ``dedupe`` (its columns from ``--map``) and say what
    could not be read."""
    workers = worker_count(settings.workers)
    table, report = _encode_side(
        path, map_text, secret, settings, args, source, "--map",
        allow_no_rows=allow_no_rows, workers=workers,
    )  # fmt: skip
    _tell_bad_values(path, report)
    return table


def _encode_side(
    path: Path,
    map_text: str,
    secret: bytes,
    settings: Settings,
    args: argparse.Namespace,
    source: str,
    map_option: str,
    *,
    allow_no_rows: bool = False,
    workers: int,
) -> tuple[EncodedTable, EncodeReport]:
    """Encode one file as the command's options say; the report tells what could not be read."""
    column_map = _column_map(map_text, map_option)
    report = EncodeReport()
    table = encode(
        read_rows(path, column_map, args.encoding, allow_no_rows=allow_no_rows),
        column_map,
        secret,
        settings,
        source=source,
        bad_values=_policy(args),
        file=path,
        report=report,
        workers=workers,
    )
    return table, report


def _tell_bad_values(path: Path, report: EncodeReport) -> None:
    for label, found in (
        ("skipped", report.skipped_rows),
        ("blanked (kept as missing)", report.blanked_values),
    ):
        if not found:
            continue
        what = "rows" if label == "skipped" else "values"
        _err(f"kinfold: {path}: {label} {len(found)} {what} that could not be read:")
        for bad in found[:SHOWN_BAD_VALUES]:
            _err(f"  {bad}")
        if len(found) > SHOWN_BAD_VALUES:
            _err(f"  … and {len(found) - SHOWN_BAD_VALUES} more")


def _encode_command(args: argparse.Namespace) -> int:
    settings = Settings.load(args.settings)
    secret = read_secret(args.secret_file)
    table = _encode_file(
        args.extract, args.map, secret, settings, args, args.source, allow_no_rows=True
    )
    table.write(args.out)
    _out(f"Encoded {len(table):,} records of {args.extract} into {args.out}")
    return 0


def _link_command(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    settings = Settings.load(args.settings)
    secret = new_secret()  # fresh per run: the encodings are useless to anyone afterwards
    jobs = [
        (args.left, args.left_map, "left", "--left-map"),
        (args.right, args.right_map, "right", "--right-map"),
    ]
    for _, map_text, _, option in jobs:  # map mistakes first, before any work
        _column_map(map_text, option)
    size = sum(path.stat().st_size for path, *_ in jobs if path.is_file())
    parallel = side_by_side(size, worker_count(settings.workers))
    if parallel and "fork" in multiprocessing.get_all_start_methods():
        _ENCODE_JOB["job"] = (secret, settings, args)
        try:
            context = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(2, mp_context=context) as pool:
                encoded = list(pool.map(_encode_job, jobs))
        finally:
            _ENCODE_JOB.clear()
    else:
        encoded = [_encode_job(job, (secret, settings, args)) for job in jobs]
    for (path, *_), (_, report) in zip(jobs, encoded, strict=True):
        _tell_bad_values(path, report)
    return _write_links(args, encoded[0][0], encoded[1][0], settings, started)


#: What forked encoding workers read (fork shares it; nothing is pickled but the results).
_ENCODE_JOB: dict[str, tuple[bytes, Settings, argparse.Namespace]] = {}


def _encode_job(
    job: tuple[Path, str, str, str],
    shared: tuple[bytes, Settings, argparse.Namespace] | None = None,
) -> tuple[EncodedTable, EncodeReport]:
    """Encode one side of ``kinfold link`` (in a worker process when there are two; here, when
    the sides take turns, each in worker processes of its own if it is big enough)."""
    secret, settings, args = shared or _ENCODE_JOB["job"]
    workers = worker_count(settings.workers) if shared is not None else 1
    path, map_text, source, option = job
    return _encode_side(path, map_text, secret, settings, args, source, option, workers=workers)


def _column_map(text: str, option: str) -> ColumnMap:
    try:
        return ColumnMap.parse(text)
    except InputError as exc:
        raise InputError(exc.message, field=option) from exc


def _link_encoded_command(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    settings = Settings.load(args.settings)
    return _write_links(
        args, EncodedTable.read(args.left), EncodedTable.read(args.right), settings, started
    )


def _write_links(
    args: argparse.Namespace,
    left: EncodedTable,
    right: EncodedTable,
    settings: Settings,
    started: float,
) -> int:
    found = link(left, right, settings, one_to_one=args.one_to_one, threshold=args.threshold)
    written = write_csv(args.out, ("left_id", "right_id", "score"), _link_rows(found))
    seconds = time.perf_counter() - started
    _out(
        f"Linked {len(left):,} x {len(right):,} records: {written:,} links from "
        f"{found.pairs_compared:,} pairs compared in {seconds:.1f}s → {args.out}"
    )
    return 0


def _link_rows(found: Links) -> Iterator[tuple[str, str, str]]:
    for left_id, right_id, score in found.rows():
        yield left_id, right_id, f"{score:.6f}"


def _dedupe_command(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    settings = Settings.load(args.settings)
    if args.extract.suffix.lower() == ".kfe":
        table = EncodedTable.read(args.extract)
    else:
        if not args.map:
            raise InputError("needs --map to say which columns to encode", file=args.extract)
        table = _encode_file(args.extract, args.map, new_secret(), settings, args, "")
    clusters = dedupe(table, settings, threshold=args.threshold)
    write_csv(args.out, ("id", "cluster"), iter(clusters.rows()))
    seconds = time.perf_counter() - started
    _out(
        f"Clustered {len(table):,} records into {clusters.count():,} clusters "
        f"({len(clusters.links):,} links from {clusters.links.pairs_compared:,} pairs compared) "
        f"in {seconds:.1f}s → {args.out}"
    )
    return 0
