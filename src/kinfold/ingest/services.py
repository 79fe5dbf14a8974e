"""Ingesting a quarter: the calls the command line, the demo and the programme use.

- :func:`ingest_quarter` takes a folder of partner extracts (``kinfold synth --out DIR`` writes
  them) and plays both sides, as a demo and test harness: each extract is encoded as its partner
  would (``kinfold.ingest.partner``, with the partners' secret from the partner-side folder), then
  the bundles are ingested at the hub (``kinfold.ingest.hub``), which never sees that secret.
- :func:`ingest_bundles` is the production path: bundles that partners sent.

Both write a quarter in one transaction and change nothing when given the same files again.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final

from django.conf import settings

from kinfold.audit.actors import Actor, new_run_id
from kinfold.errors import InputError, KinfoldError
from kinfold.ingest import bundle, hub, partner
from kinfold.ingest.models import Bundle
from kinfold.ingest.report import IngestReport, write_quarantine_report
from kinfold.ingest.schema import Schema, load_schemas
from kinfold.linkage import Settings, new_secret, read_secret
from kinfold.quarters import Quarter

#: The job name in audit entries.
JOB: Final = "quarter-ingest"

Progress = hub.Progress


def system_actor() -> Actor:
    """The actor a quarter ingest records as: this job, with a fresh run id."""
    return Actor.system(JOB, new_run_id())


def linkage_settings() -> Settings:
    """The settings the hub links with: ``KINFOLD_LINKAGE_SETTINGS`` (a linkage settings file,
    laid over linkage's defaults; its [linking] section is the hub's own choice), else the
    defaults. Partners must encode with the same [encoding], [fields] and [[blocking]]."""
    chosen = settings.KINFOLD_LINKAGE_SETTINGS
    return Settings.load(chosen) if chosen else Settings.default()


def quarter_folder(folder: str | Path, quarter: str | None) -> tuple[Path, str]:
    """The extracts folder and quarter: ``OUT/extracts/2016Q1`` (quarter from its name, or
    checked against ``quarter``), or ``OUT`` with ``quarter`` given."""
    path = Path(folder)
    if not path.is_dir():
        raise InputError("is not a folder", file=path)
    named = _quarter_name(path.name)
    if quarter is not None:
        wanted = str(Quarter.parse(quarter))
        if named is not None and named != wanted:
            raise InputError(f"holds {named}'s files, not {wanted}", file=path, field="--quarter")
        if named is None:
            for candidate in (path / "extracts" / wanted, path / wanted):
                if candidate.is_dir():
                    return candidate, wanted
            raise InputError(f"has no extracts/{wanted} folder", file=path, field="--quarter")
        return path, wanted
    if named is None:
        raise InputError(
            "is not a quarter's folder (like OUT/extracts/2016Q1); give --quarter", file=path
        )
    return path, named


def _quarter_name(name: str) -> str | None:
    try:
        return str(Quarter.parse(name))
    except KinfoldError:
        return None


def ingest_quarter(
    folder: str | Path,
    quarter: str | None = None,
    actor: Actor | None = None,
    *,
    quarantine: bool = False,
    progress: Progress | None = None,
    report_path: str | Path | None = None,
    partner_dir: str | Path | None = None,
    schemas_dir: str | Path | None = None,
) -> IngestReport:
    """Ingest a quarter's folder: partner bundles (``*.kfb``) as they are, or extracts by playing
    the partners first (see the module doc). Returns the report.

    InputError naming file, row and field for a bad file (with ``quarantine``, bad rows are set
    aside instead and listed in a report at ``report_path``, by default in the reports folder);
    nothing is written then. ConfigError for a bad schema or settings file.
    """
    path, label = quarter_folder(folder, quarter)
    actor = actor or system_actor()
    bundles = sorted(path.glob("*" + bundle.SUFFIX))
    if bundles:
        report = ingest_bundles(bundles, quarter=label, actor=actor, progress=progress)
    else:
        report = _play_both_sides(
            path, label, actor, quarantine, progress, partner_dir, schemas_dir
        )
    if report.quarantined:
        report.quarantine_report = write_quarantine_report(
            report,
            report_path
            or Path(settings.KINFOLD_INGEST_REPORTS_DIR)
            / f"{label}-{report.run_id}-quarantine.csv",
        )
    return report


def ingest_bundles(
    paths: list[Path], *, quarter: str, actor: Actor, progress: Progress | None = None
) -> IngestReport:
    """Ingest bundles partners sent (the production path)."""
    return hub.ingest_bundles(
        paths, quarter=quarter, actor=actor, progress=progress, linkage_settings=linkage_settings()
    )


def _play_both_sides(
    folder: Path,
    quarter: str,
    actor: Actor,
    quarantine: bool,
    progress: Progress | None,
    partner_dir: str | Path | None,
    schemas_dir: str | Path | None,
) -> IngestReport:
    schemas = load_schemas(schemas_dir or settings.KINFOLD_SCHEMAS_DIR)
    if not schemas:
        raise InputError(
            "no extract schemas found", file=schemas_dir or settings.KINFOLD_SCHEMAS_DIR
        )
    present = {p: s for p, s in schemas.items() if (folder / s.file).is_file()}
    if not present:
        expected = ", ".join(sorted(s.file for s in schemas.values()))
        raise InputError(f"holds no partner extract (expected some of: {expected})", file=folder)
    missing = sorted(set(schemas) - set(present))
    if _same_files_ingested(folder, quarter, present):
        return IngestReport(quarter, actor.run_id, already_ingested=True)
    started = time.perf_counter()
    workspace = PartnerSide(Path(partner_dir or settings.KINFOLD_INGEST_PARTNER_DIR))
    paths = workspace.encode_all(folder, quarter, present, quarantine, progress)
    encoded = time.perf_counter() - started
    report = ingest_bundles(paths, quarter=quarter, actor=actor, progress=progress)
    report.missing = missing
    report.seconds = {"encode": encoded, **report.seconds}
    return report


def _same_files_ingested(folder: Path, quarter: str, present: dict[str, Schema]) -> bool:
    """True when this quarter was ingested from exactly these files (so the partners would not
    send them again): no need to encode them to find that out."""
    stored = set(Bundle.objects.filter(quarter=quarter).values_list("organisation__slug", "sha256"))
    if not stored:
        return False
    offered = {(s.organisation, bundle.sha256_file(folder / s.file)) for s in present.values()}
    return offered == stored


class PartnerSide:
    """The partners' half of the harness: their shared secret and their bundles, in their own
    folder. Only this class reads the secret; the hub gets bundles."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def secret(self) -> bytes:
        """The partners' shared linkage secret, made once."""
        path = self.root / "linkage.secret"
        if not path.exists():
            self.root.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as out:
                out.write(new_secret())
        return read_secret(path)

    def encode_all(
        self,
        folder: Path,
        quarter: str,
        schemas: dict[str, Schema],
        quarantine: bool,
        progress: Progress | None,
    ) -> list[Path]:
        """Encode every partner's extract in ``folder`` into a bundle; returns the bundles."""
        secret = self.secret()
        hub_key = hub.transport_public_key()  # public: partners are given it
        out = self.root / "bundles" / quarter
        out.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, schema in sorted(schemas.items()):
            target = out / f"{name}{bundle.SUFFIX}"
            result = partner.encode_extract(
                folder / schema.file,
                schema,
                quarter=quarter,
                secret=secret,
                hub_key=hub_key,
                allowance=_published_allowance(schema),
                out=target,
                quarantine=quarantine,
                schema_sha256=bundle.sha256_file(schema.source) if schema.source else "",
                progress=_rows(progress, f"encode {name}"),
            )
            _partner_quarantine_file(target, result)
            paths.append(target)
        return paths


def _published_allowance(schema: Schema) -> partner.Allowance:
    """What the published agreement lets this partner send (the harness reads it from the hub's
    register of agreements, which is what the transparency pages publish)."""
    from kinfold.agreements.models import Organisation

    organisation = Organisation.objects.filter(slug=schema.organisation).first()
    if organisation is None:
        raise InputError(
            f"names organisation '{schema.organisation}', which no loaded agreement knows",
            file=schema.source,
            field="partner.organisation",
        )
    return hub.allowance_for(organisation)


def _rows(progress: Progress | None, stage: str) -> Callable[[int], None] | None:
    if progress is None:
        return None
    return lambda done: progress(stage, done, None)


def _partner_quarantine_file(target: Path, result: partner.EncodeResult) -> None:
    """The partner's own list of quarantined rows, with the reasons in full (it holds the data)."""
    path = target.with_name(target.stem + ".quarantine.csv")
    if not result.quarantined:
        path.unlink(missing_ok=True)
        return
    import csv

    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(("row", "field", "reason"))
        writer.writerows((q.row, q.field, q.reason) for q in result.quarantined)
