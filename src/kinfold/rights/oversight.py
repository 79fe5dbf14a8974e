"""Watching the watchers: unusual access, found in the audit log, for the DPO.

Four queries over a window of entries (default: the last 30 days):

- **not their family**: a member of staff read (or tried to read) a family, or a person in it,
  that was not assigned to them at that moment. Team managers and analysts see families by
  pseudonym and flags by their role, so for them only contact details and sealed details count;
- **volume spike**: on one day, a person read at least three times their own daily average over
  the 28 days before (and at least `SPIKE_MINIMUM` reads);
- **out-of-hours bulk reads**: reads before 08:00 or from 18:00, or at a weekend, touching at least
  `BULK_MINIMUM` different families or persons in one day;
- **overrides near expiry**: approved lawful overrides ending within 7 days.

Each finding carries the entries behind it, and a link into the audit log filtered to them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.apps import apps
from django.utils import timezone

from kinfold.audit.models import AuditEntry
from kinfold.people.models import FamilyMember
from kinfold.staff.models import Assignment

READS = (
    "family:viewed",
    "family:flags:viewed",
    "family:contact:viewed",
    "family:contact:released",
    "family:exported",
    "person:viewed",
    "person:identity:released",
    "record:detail:viewed",
    "access:denied",
)
SENSITIVE_READS = {"family:contact:viewed", "record:detail:viewed", "person:identity:released"}
ROLE_SEES_FAMILIES = {"team_manager", "analyst"}
SPIKE_FACTOR = 3
SPIKE_MINIMUM = 30
BASELINE_DAYS = 28
BULK_MINIMUM = 10
WORKDAY = (8, 18)
OVERRIDE_WARNING = timedelta(days=7)
MAX_ENTRIES_SHOWN = 50


@dataclass
class Finding:
    kind: str
    title: str
    actor: str
    when: date | None
    summary: str
    entries: list[int] = field(default_factory=list)
    link: str = ""


def _link(**filters: Any) -> str:
    return "/audit/?" + urlencode({k: v for k, v in filters.items() if v})


def _reads(since: datetime, until: datetime) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(
            actor_kind="user", event__in=READS, recorded_at__gte=since, recorded_at__lt=until
        ).order_by("seq")
    )


def _families_of_persons(pids: set[str]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    rows = FamilyMember.objects.filter(person__pid__in=pids).values_list(
        "person__pid", "family__fid"
    )
    for pid, fid in rows:
        found[pid].add(fid)
    return found


def not_assigned(entries: list[AuditEntry]) -> list[Finding]:
    """Reads of families not assigned to the reader at the time (see the module doc)."""
    relevant = [
        e
        for e in entries
        if e.actor_role not in ("dpo", "admin")
        and (e.actor_role not in ROLE_SEES_FAMILIES or e.event in SENSITIVE_READS)
    ]
    pids = {s for e in relevant for s in e.subject_ids if s.startswith("P")}
    families_of = _families_of_persons(pids)
    spans: dict[tuple[str, str], list[tuple[datetime, datetime | None]]] = defaultdict(list)
    for username, fid, start, end in Assignment.objects.values_list(
        "key_worker__username", "family__fid", "started_at", "ended_at"
    ):
        spans[(username, fid)].append((start, end))
    grouped: dict[tuple[str, str], list[AuditEntry]] = defaultdict(list)
    for entry in relevant:
        fids = {s for s in entry.subject_ids if s.startswith("F")}
        for pid in (s for s in entry.subject_ids if s.startswith("P")):
            fids |= families_of.get(pid, set())
        for fid in fids:
            assigned = any(
                start <= entry.recorded_at and (end is None or entry.recorded_at < end)
                for start, end in spans.get((entry.actor_id, fid), ())
            )
            if not assigned:
                grouped[(entry.actor_id, fid)].append(entry)
    findings = []
    for (actor, fid), found in sorted(grouped.items()):
        denied = sum(1 for e in found if e.decision == "deny")
        findings.append(
            Finding(
                kind="not-assigned",
                title=f"{actor} read family {fid}, not assigned to them",
                actor=actor,
                when=timezone.localdate(found[-1].recorded_at),
                summary=f"{len(found)} read(s), {denied} refused",
                entries=[int(e.seq) for e in found][:MAX_ENTRIES_SHOWN],
                link=_link(actor=actor, subject=fid),
            )
        )
    return findings


def _daily(entries: list[AuditEntry]) -> dict[str, dict[date, list[AuditEntry]]]:
    days: dict[str, dict[date, list[AuditEntry]]] = defaultdict(lambda: defaultdict(list))
    for entry in entries:
        days[entry.actor_id][timezone.localdate(entry.recorded_at)].append(entry)
    return days


def spikes(entries: list[AuditEntry], history: list[AuditEntry], since: date) -> list[Finding]:
    """Days on which someone read far more than their own average of the 28 days before."""
    days = _daily(history + entries)
    findings = []
    for actor, by_day in sorted(days.items()):
        for day, found in sorted(by_day.items()):
            if day < since:
                continue
            window = [day - timedelta(days=n) for n in range(1, BASELINE_DAYS + 1)]
            baseline = sum(len(by_day.get(d, ())) for d in window) / BASELINE_DAYS
            if len(found) >= max(SPIKE_MINIMUM, SPIKE_FACTOR * baseline):
                findings.append(
                    Finding(
                        kind="spike",
                        title=f"{actor} read {len(found)} records on {day:%-d %B %Y}",
                        actor=actor,
                        when=day,
                        summary=f"their daily average over the 28 days before: {baseline:.1f}",
                        entries=[int(e.seq) for e in found][:MAX_ENTRIES_SHOWN],
                        link=_link(actor=actor, since=day, until=day),
                    )
                )
    return findings


def _out_of_hours(moment: datetime) -> bool:
    local = timezone.localtime(moment)
    return local.weekday() >= 5 or not WORKDAY[0] <= local.hour < WORKDAY[1]


def out_of_hours_bulk(entries: list[AuditEntry]) -> list[Finding]:
    """Days on which someone read many different families or persons out of hours."""
    late = [e for e in entries if _out_of_hours(e.recorded_at)]
    findings = []
    for actor, by_day in sorted(_daily(late).items()):
        for day, found in sorted(by_day.items()):
            subjects = {s for e in found for s in e.subject_ids}
            if len(subjects) >= BULK_MINIMUM:
                findings.append(
                    Finding(
                        kind="out-of-hours",
                        title=f"{actor} read {len(subjects)} families or persons out of hours",
                        actor=actor,
                        when=day,
                        summary=f"{len(found)} reads outside 08:00 to 18:00 on {day:%A %-d %B %Y}",
                        entries=[int(e.seq) for e in found][:MAX_ENTRIES_SHOWN],
                        link=_link(actor=actor, since=day, until=day),
                    )
                )
    return findings


def overrides_near_expiry(now: datetime | None = None) -> list[Finding]:
    """Approved overrides ending within 7 days, from the consent part's override model when it
    has one (fields `state`/`status`, `valid_until`/`expires_at`), else from audit entries."""
    now = now or timezone.now()
    horizon = now + OVERRIDE_WARNING
    try:
        model = apps.get_model("consent", "Override")
    except LookupError:
        model = None
    found: list[Finding] = []
    if model is not None:
        names = {f.name for f in model._meta.get_fields()}
        end = next((n for n in ("valid_until", "expires_at", "ends_at") if n in names), None)
        state = next((n for n in ("state", "status") if n in names), None)
        if end:
            rows = model.objects.filter(**{f"{end}__gt": now, f"{end}__lte": horizon})
            if state:
                rows = rows.filter(**{state: "approved"})
            for row in rows:
                name = f"override:{getattr(row, 'override_id', row.pk)}"
                seqs = AuditEntry.objects.filter(resource=name).values_list("seq", flat=True)
                found.append(_override_finding(name, getattr(row, end), [int(s) for s in seqs]))
        return found
    approved = AuditEntry.objects.filter(event="override:approved").order_by("seq")
    closed = set(
        AuditEntry.objects.filter(
            event__in=("override:revoked", "override:expired", "override:rejected")
        ).values_list("resource", flat=True)
    )
    for entry in approved:
        details = entry.details or {}
        raw = details.get("valid_until") or details.get("expires_at") or details.get("expires")
        if not raw or entry.resource in closed:
            continue
        try:
            ends = datetime.fromisoformat(str(raw))
        except ValueError:
            continue
        if timezone.is_naive(ends):
            ends = timezone.make_aware(ends)
        if now < ends <= horizon:
            found.append(_override_finding(entry.resource, ends, [int(entry.seq)]))
    return found


def _override_finding(name: str, ends: datetime, entries: list[int]) -> Finding:
    return Finding(
        kind="override-expiring",
        title=f"Override {name} ends on {timezone.localtime(ends):%-d %B %Y}",
        actor="",
        when=timezone.localdate(ends),
        summary="review it: renew with a fresh approval, or let it end",
        entries=entries,
        link=_link(event="override"),
    )


def findings(days: int = 30, now: datetime | None = None) -> list[Finding]:
    """Every finding over the last `days` days, most recent first within each kind."""
    now = now or timezone.now()
    since = now - timedelta(days=days)
    entries = _reads(since, now)
    history = _reads(since - timedelta(days=BASELINE_DAYS), since)
    return [
        *not_assigned(entries),
        *spikes(entries, history, timezone.localdate(since)),
        *out_of_hours_bulk(entries),
        *overrides_near_expiry(now),
    ]
