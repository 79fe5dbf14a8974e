"""Audit log benchmarks: appends per second, `verify` over a million entries, proof latency.

    python -m benchmarks.audit                      # 1,000,000 entries on a fresh SQLite file
    python -m benchmarks.audit --entries 100000     # quicker
    python -m benchmarks.audit --database-url postgres://postgres@127.0.0.1:5432/bench_audit

Targets (issue 7): batched appends on SQLite >= 5,000/s; `kinfold audit verify` over 1,000,000
entries < 30 s; an inclusion or consistency proof < 5 ms. Prints a table; figures go in
docs/benchmarks.md ("## Audit log").
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks import hub


def _fresh_log(folder: Path) -> None:
    """Start from an empty log (a benchmark database only: the audit tables are dropped)."""
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for table in ("audit_subject", "audit_tree_node", "audit_checkpoint", "audit_entry"):
                cursor.execute(f"DROP TABLE IF EXISTS {table} CASCADE")
            cursor.execute("SELECT to_regclass('django_migrations') IS NOT NULL")
            if cursor.fetchone()[0]:
                cursor.execute("DELETE FROM django_migrations WHERE app = 'audit'")
    else:
        connection.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{hub.sqlite_file(folder, 'audit')}{suffix}").unlink(missing_ok=True)
    call_command("migrate", "audit", verbosity=0, skip_checks=True)


def _entries(count: int, start: int) -> list[object]:
    from kinfold.audit.actors import Actor
    from kinfold.audit.events import Event
    from kinfold.audit.services import NewEntry

    worker = Actor(kind="user", id="kw.amara", role="key_worker", organisation="northfield-council")
    made = []
    for i in range(start, start + count):
        family = f"F{i % 20000:011d}X"
        made.append(
            NewEntry(
                worker,
                Event.FAMILY_VIEWED,
                resource=f"family:{family}",
                subjects=[family, f"P{i % 50000:011d}Y"],
                purpose="key-work",
                decision="allow",
                reason="assigned key worker",
                basis="consent:C12",
                details={"action": "family:view", "n": i},
            )
        )
    return made


def _append(total: int, batch: int, progress: bool) -> float:
    """Append `total` entries in batches; returns entries per second."""
    from kinfold.audit import services

    started = time.perf_counter()
    done = 0
    while done < total:
        size = min(batch, total - done)
        services.record_many(_entries(size, done))  # type: ignore[arg-type]
        done += size
        if progress and done % 100_000 == 0:
            rate = done / (time.perf_counter() - started)
            print(f"  appended {done:,} ({rate:,.0f}/s)", file=sys.stderr)
    return total / (time.perf_counter() - started)


def _single_appends(count: int) -> float:
    from kinfold.audit import services

    entries = _entries(count, 0)
    started = time.perf_counter()
    for new in entries:
        services.record_many([new])  # type: ignore[list-item]
    return count / (time.perf_counter() - started)


def _timed(action: Callable[[], object], repeat: int) -> tuple[float, float]:
    """(median, 99th percentile) milliseconds."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=5_000, help="entries per record_many call")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--proofs", type=int, default=500, help="proofs to time")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="kinfold-bench-audit-") as tmp:
        url = hub.setup(args.database_url, Path(tmp), "audit")
        from kinfold.audit import checkpoints, proofs, services
        from kinfold.audit.actors import Actor
        from kinfold.audit.verification import verify_log

        rows: list[tuple[str, str, str]] = []
        _fresh_log(Path(tmp))
        single = _single_appends(2_000)
        rows.append(("single appends (own transaction each)", f"{single:,.0f} /s", ""))
        _fresh_log(Path(tmp))
        rate = _append(args.entries, args.batch, progress=True)
        job = Actor.system("bench", "bench-run")
        checkpoints.make_checkpoint(job)
        rows.append(
            (f"batched appends ({args.batch:,} per call)", f"{rate:,.0f} /s", ">= 5,000 /s")
        )

        report = verify_log()
        assert report.ok, report.problems
        rows.append((f"verify {report.entries:,} entries", f"{report.seconds:.1f} s", "< 30 s"))

        size = services.log_size()
        rng = random.Random(7)
        median, p99 = _timed(
            lambda: services.inclusion_path(rng.randrange(size), size), args.proofs
        )
        rows.append(("inclusion proof (median / p99)", f"{median:.2f} / {p99:.2f} ms", "< 5 ms"))
        median, p99 = _timed(
            lambda: services.consistency_proof(rng.randrange(1, size), size), args.proofs
        )
        rows.append(("consistency proof (median / p99)", f"{median:.2f} / {p99:.2f} ms", "< 5 ms"))
        median, p99 = _timed(lambda: proofs.inclusion_json(rng.randrange(size)), args.proofs)
        rows.append(
            ("`prove` document, checked (median / p99)", f"{median:.2f} / {p99:.2f} ms", "")
        )

        database = "PostgreSQL" if url.startswith("postgres") else "SQLite (file, WAL)"
        print(
            f"\nkinfold audit log: {database}, Python {platform.python_version()}, "
            f"{os.cpu_count()} cores\n"
        )
        width = max(len(r[0]) for r in rows)
        print(f"| {'measure':<{width}} | {'result':>18} | {'target':>12} |")
        print(f"|{'-' * (width + 2)}|{'-' * 20}|{'-' * 14}|")
        for name, value, target in rows:
            print(f"| {name:<{width}} | {value:>18} | {target:>12} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
