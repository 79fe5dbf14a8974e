"""Identification runs: form the quarter's families from household data and evaluate the
framework on flags only; record, for each eligible family, the problems it met and the flag
(code, organisation, date, whose) behind each — never partner detail.

A run reads, in set-based queries that leave objecting persons out inside the query:
household members of the look-back quarters (with years of birth), parent links, and the flags
of the framework's codes that approved agreements share for identification. It computes with
`kinfold.programme.rules` and writes everything in one transaction: families identified for the
first time (a new pseudonymous family, and its journey), every identified family's membership
and status this quarter (`FamilyQuarter`), the run's results, the journeys' computed outcomes, and
the audit entries. Re-running a quarter gives the same answer and duplicates nothing: families
keep their ids (matched on this quarter's membership first), statuses are replaced, and the
earlier run of the same quarter and framework is marked superseded and its results removed.

Family formation rule (docs/programme.md): a family is a household with at least one dependent
child, all its members, plus a parent living elsewhere in the borough whom partner data names as
a child's parent or carer. A quarter's family continues an earlier one when they share someone who
was an adult in it (most shared members first, one to one); it then keeps the earlier one's id.
A family that would be new but holds children of a family identified before is that family again;
and a child is in one programme family at a time.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from kinfold.access import programme as access_programme
from kinfold.agreements.models import DataCategory, Organisation
from kinfold.audit import services as audit
from kinfold.audit.actors import Actor, new_run_id
from kinfold.audit.events import Event
from kinfold.errors import ConfigError, KinfoldError
from kinfold.ingest.models import Indicator
from kinfold.people import services as people
from kinfold.people.models import Family, FamilyMember, HouseholdMember, ParentLink, Person
from kinfold.programme import outcomes, rules
from kinfold.programme.codes import AGE_LIMITS
from kinfold.programme.frameworks import Framework, load_framework
from kinfold.programme.models import (
    EligibleFamily,
    FamilyQuarter,
    IdentificationRun,
    Journey,
    JourneyStep,
    ProblemEvidence,
    RunStatus,
    State,
)
from kinfold.programme.objections import objecting_persons
from kinfold.quarters import Quarter
from kinfold.staff.models import User

Progress = Callable[[int, str], None]
JOB = "quarter-identify"
DEFAULT_FRAMEWORK = "national-2015"
_CHUNK = 2000
#: Partners send records about people something happened to, so most people are unseen in most
#: quarters. Two presumptions fill the gaps (settings, since they describe the data, not the
#: framework; 0 and 0 for data that holds every resident every quarter):
#: someone unseen this quarter still lives where they were last seen, for up to
#: KINFOLD_UNSEEN_AT_HOME_QUARTERS quarters; and a family identified earlier that nobody sent
#: anything about this quarter, none of whose members turned up elsewhere, still exists (with no
#: flags) for up to KINFOLD_UNSEEN_FAMILY_QUARTERS. That one is 0 by default: the schools census,
#: post-16 participation and the health visiting caseload send every dependent child every
#: quarter, so a family nobody sent anything about has most likely gone (where a council's
#: extracts do not cover its children so, an improving family can send nothing and it is 2).
STAY_QUARTERS = 4
CARRY_QUARTERS = 0


def stay_quarters() -> int:
    return int(getattr(settings, "KINFOLD_UNSEEN_AT_HOME_QUARTERS", STAY_QUARTERS))


def carry_quarters() -> int:
    return int(getattr(settings, "KINFOLD_UNSEEN_FAMILY_QUARTERS", CARRY_QUARTERS))


# ---------------------------------------------------------------------------- frameworks


def frameworks_dir() -> Path:
    return Path(settings.CONFIG_DIR) / "frameworks"


def framework_path(name: str | Path | None = None) -> Path:
    """The file of framework `name` (a path, or a name in config/frameworks/); default: the
    KINFOLD_FRAMEWORK setting, else the national 2015 framework."""
    chosen = str(
        name
        or getattr(settings, "KINFOLD_FRAMEWORK", "")
        or os.environ.get("KINFOLD_FRAMEWORK", "")
        or DEFAULT_FRAMEWORK
    )
    if chosen.endswith(".toml") or "/" in chosen:
        return Path(chosen)
    return frameworks_dir() / f"{chosen}.toml"


def active_framework(name: str | Path | None = None) -> Framework:
    """Load and validate the framework to use (see `framework_path`)."""
    path = framework_path(name)
    if not path.exists():
        raise ConfigError("no such framework file", file=path, field="KINFOLD_FRAMEWORK")
    return load_framework(path)


def available_frameworks() -> list[Framework]:
    """The valid framework files in config/frameworks/, by name."""
    found = []
    for path in sorted(frameworks_dir().glob("*.toml")):
        try:
            found.append(load_framework(path))
        except ConfigError:
            continue
    return found


# ---------------------------------------------------------------------------- runs


def council_organisation(user: User | None = None) -> Organisation:
    """The council running the programme: the user's organisation, or the one council."""
    if user is not None and user.organisation.kind == "council":
        return user.organisation
    councils = list(Organisation.objects.filter(kind="council")[:2])
    if len(councils) != 1:
        raise ConfigError(
            "identification needs exactly one organisation of kind 'council' in the agreements",
            field="organisations",
        )
    return councils[0]


def start_run(
    quarter: Quarter, framework: Framework, user: User | None = None
) -> IdentificationRun:
    """A queued identification run (what the analyst's page and the command create)."""
    run = IdentificationRun.objects.create(
        run_id=new_run_id(),
        quarter=str(quarter),
        framework_id=framework.id,
        framework_version=framework.version,
        framework_sha256=framework.sha256,
        framework_path=str(framework.path),
        framework_text=framework.text,
        started_by=user,
        stage="waiting to start",
    )
    audit.record(
        _actor(run),
        Event.IDENTIFICATION_STARTED,
        resource=f"quarter:{quarter}",
        purpose="identification",
        reason=f"identification of {quarter} under {framework.label}",
        details={"started_by": user.username if user else "command line"},
    )
    return run


def _actor(run: IdentificationRun) -> Actor:
    return Actor.system(JOB, run.run_id)


def _set_progress(run: IdentificationRun, percent: int, stage: str, hook: Progress | None) -> None:
    run.progress, run.stage = percent, stage
    IdentificationRun.objects.filter(pk=run.pk).update(progress=percent, stage=stage)
    if hook is not None:
        hook(percent, stage)


def execute_run(run: IdentificationRun, progress: Progress | None = None) -> IdentificationRun:
    """Carry out a queued run. On a user error the run is marked failed and the error re-raised."""
    framework = _run_framework(run)
    quarter = Quarter.parse(run.quarter)
    IdentificationRun.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING, started_at=timezone.now()
    )
    run.status = RunStatus.RUNNING
    try:
        _check_ready(quarter, framework)
        council = council_organisation(run.started_by)
        _set_progress(run, 5, "reading household data and flags", progress)
        loaded = load(quarter, framework, council)
        _set_progress(run, 40, "forming families and evaluating the framework", progress)
        computed = compute(framework, quarter, loaded)
        _set_progress(run, 70, "writing the results", progress)
        with transaction.atomic():
            counts = write(run, framework, quarter, loaded, computed)
    except Exception as exc:
        message = str(exc) if isinstance(exc, KinfoldError) else f"{type(exc).__name__}: {exc}"
        IdentificationRun.objects.filter(pk=run.pk).update(
            status=RunStatus.FAILED, finished_at=timezone.now(), error=message[:2000]
        )
        run.status, run.error = RunStatus.FAILED, message
        audit.record(
            _actor(run),
            Event.IDENTIFICATION_FAILED,
            resource=f"quarter:{quarter}",
            purpose="identification",
            reason=message[:500],
        )
        raise
    run.refresh_from_db()
    if progress is not None:
        progress(100, f"finished: {counts['eligible']} families eligible")
    return run


def identify(
    quarter: Quarter | str,
    framework: Framework | None = None,
    *,
    user: User | None = None,
    progress: Progress | None = None,
) -> IdentificationRun:
    """Run identification for `quarter` now (the command line's `kinfold quarter identify`)."""
    quarter = Quarter.parse(quarter) if isinstance(quarter, str) else quarter
    framework = framework or active_framework()
    return execute_run(start_run(quarter, framework, user), progress)


def _run_framework(run: IdentificationRun) -> Framework:
    """The framework exactly as it was when the run was started (its text is kept on the run)."""
    import hashlib
    import tomllib

    from kinfold.programme.frameworks import parse_framework

    data = tomllib.loads(run.framework_text)
    sha = hashlib.sha256(run.framework_text.encode("utf-8")).hexdigest()
    return parse_framework(Path(run.framework_path), data, run.framework_text, sha)


def _check_ready(quarter: Quarter, framework: Framework) -> None:
    if not HouseholdMember.objects.filter(quarter=str(quarter)).exists():
        raise KinfoldError(
            f"there is no household data for {quarter}: ingest the quarter first "
            "(kinfold quarter ingest DIR)",
            field="quarter",
        )
    previous = quarter - 1
    if (
        HouseholdMember.objects.filter(quarter=str(previous)).exists()
        and not IdentificationRun.objects.filter(
            quarter=str(previous), framework_id=framework.id, status=RunStatus.DONE
        ).exists()
    ):
        raise KinfoldError(
            f"{previous} has household data but has not been identified under {framework.id}; "
            f"identify quarters in order (kinfold quarter identify {previous}) so that families "
            "keep their ids",
            field="quarter",
        )


# ---------------------------------------------------------------------------- reading


@dataclass
class Loaded:
    """What a run read from the database, as arrays."""

    residents: list[rules.Residents]  # [k] = k quarters before the run's quarter
    persons: rules.Persons
    flags: rules.Flags
    links: rules.ParentLinks
    organisations: dict[str, int]
    sources: dict[tuple[str, str], str]
    persisted: dict[int, dict[int, list[tuple[int, int]]]] = field(default_factory=dict)
    #: child → the programme family whose latest stored membership before the run's quarter has
    #: them as a child
    children: dict[int, int] = field(default_factory=dict)
    #: flags left out because their person's age rules them out (`rules.within_ages`)
    outside_ages: int = 0


def _quarters_needed(framework: Framework) -> int:
    # At least two, so a family can be matched to the quarter before.
    return max(framework.lookback_quarters, 2)


def load(quarter: Quarter, framework: Framework, council: Organisation) -> Loaded:
    """Read the run's inputs; objecting persons are excluded inside every query."""
    objectors = objecting_persons()
    wanted = [quarter - k for k in range(_quarters_needed(framework))]
    stay = stay_quarters()
    read = [quarter - k for k in range(_quarters_needed(framework) + stay)]
    rows = list(
        HouseholdMember.objects.filter(quarter__in=[str(q) for q in read])
        .exclude(person_id__in=objectors)
        .values_list(
            "quarter",
            "person_id",
            "household_id",
            "person__year_of_birth",
            "person__month_of_birth",
        )
    )
    born: dict[int, tuple[int, int]] = {}
    table = np.zeros((len(rows), 3), dtype=np.int64)
    for i, (label, person, household, year, month) in enumerate(rows):
        table[i] = (Quarter.parse(label).index, person, household)
        born[person] = (year or 0, month or 0)
    persons = rules.Persons.of(
        list(born), [y for y, _ in born.values()], [m for _, m in born.values()]
    )
    residents = [rules.residents_at(q, table, stay, persons) for q in wanted]
    organisations = dict(Organisation.objects.values_list("slug", "pk"))
    sources = access_programme.identification_sources(council)
    read_flags = _load_flags(quarter, framework, sources, organisations, objectors)
    flags = read_flags.take(rules.within_ages(read_flags, persons, AGE_LIMITS))
    links = list(
        ParentLink.objects.filter(quarter__lte=str(quarter))
        .exclude(child_id__in=objectors)
        .exclude(parent_id__in=objectors)
        .values_list("child_id", "parent_id", "quarter")
        .distinct()
    )
    link_array = np.array(
        [(c, p, Quarter.parse(q).index) for c, p, q in links], dtype=np.int64
    ).reshape(-1, 3)
    return Loaded(
        residents=residents,
        persons=persons,
        flags=flags,
        links=rules.ParentLinks(
            link_array[:, 0].copy(), link_array[:, 1].copy(), link_array[:, 2].copy()
        ),
        organisations=organisations,
        sources=sources,
        persisted={k: _persisted(quarter - k, objectors) for k in range(len(wanted))},
        children=_latest_children(quarter, objectors),
        outside_ages=len(read_flags) - len(flags),
    )


def _load_flags(
    quarter: Quarter,
    framework: Framework,
    sources: dict[tuple[str, str], str],
    organisations: dict[str, int],
    objectors: Any,
) -> rules.Flags:
    codes = tuple(sorted(framework.codes))
    if not sources:
        return rules.Flags.empty(codes)
    categories = dict(DataCategory.objects.values_list("slug", "pk"))
    allowed = Q(pk__in=[])
    for provider, slug in sources:
        if provider in organisations and slug in categories:
            allowed |= Q(organisation_id=organisations[provider], category_id=categories[slug])
    first = quarter - framework.history_quarters  # one quarter more: in education "the one before"
    rows = list(
        Indicator.objects.filter(code__in=codes, date__gte=first.start, date__lte=quarter.end)
        .filter(allowed)
        .exclude(person_id__in=objectors)
        .values_list("pk", "person_id", "code", "date", "value", "organisation_id", "category_id")
    )
    if not rows:
        return rules.Flags.empty(codes)
    code_index = {c: i for i, c in enumerate(codes)}
    pk, person, code_names, days, value, organisation, category = zip(*rows, strict=True)
    return rules.Flags(
        person=np.array(person, np.int64),
        code=np.array([code_index[c] for c in code_names], np.int64),
        quarter=np.array([d.year * 4 + (d.month - 1) // 3 for d in days], np.int64),
        value=np.array([np.nan if v is None else v for v in value], np.float64),
        organisation=np.array(organisation, np.int64),
        category=np.array(category, np.int64),
        day=np.array([d.toordinal() for d in days], np.int64),
        row=np.array(pk, np.int64),
        codes=codes,
    )


def _persisted(quarter: Quarter, objectors: Any) -> dict[int, list[tuple[int, int]]]:
    """Programme families' household members at `quarter`: family id → (person, role)."""
    rows = (
        FamilyMember.objects.filter(quarter=str(quarter), family__journeys__isnull=False)
        .exclude(role=FamilyMember.Role.PARENT_ELSEWHERE)
        .exclude(person_id__in=objectors)
        .values_list("family_id", "person_id", "role")
        .distinct()
    )
    found: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for family, person, role in rows:
        found[family].append((person, rules.ROLE_NAMES.index(role)))
    return found


def _latest_children(quarter: Quarter, objectors: Any) -> dict[int, int]:
    """Children of each programme family as last stored before `quarter`: person → family (the
    family seen most recently, if a child was in two)."""
    rows = (
        FamilyMember.objects.filter(
            quarter__lt=str(quarter), family__journeys__isnull=False, role=FamilyMember.Role.CHILD
        )
        .exclude(person_id__in=objectors)
        .values_list("family_id", "quarter", "person_id")
        .distinct()
    )
    latest: dict[int, str] = {}
    members: dict[tuple[int, str], list[int]] = defaultdict(list)
    for family, seen, person in rows:
        members[family, seen].append(person)
        latest[family] = max(latest.get(family, seen), seen)
    found: dict[int, tuple[str, int]] = {}
    for family, seen in latest.items():
        for person in members[family, seen]:
            if person not in found or found[person] < (seen, family):
                found[person] = (seen, family)
    return {person: family for person, (_, family) in found.items()}


# ---------------------------------------------------------------------------- computing


@dataclass
class Computed:
    groups: list[rules.Groups]  # [k] = k quarters before
    chain: list[rules.I64]
    hits: list[rules.Hits]
    eligible: rules.Eligibility
    families: dict[int, int]  # group at the quarter → existing family id
    new_groups: list[int]  # eligible groups that become new families
    carried: list[int] = field(default_factory=list)  # followed families not seen this quarter


def _in_education(flags: rules.Flags, codes: Iterable[str], quarter: Quarter) -> rules.I64:
    wanted = [flags.code_index(c) for c in codes]
    mask = np.isin(flags.code, wanted) & (
        (flags.quarter == quarter.index) | (flags.quarter == quarter.index - 1)
    )
    return np.unique(flags.person[mask])


def compute(framework: Framework, quarter: Quarter, loaded: Loaded) -> Computed:
    """Form the families of the look-back quarters, chain them, evaluate the framework."""
    groups = [
        rules.form_groups(
            residents,
            loaded.persons,
            _in_education(loaded.flags, framework.families.in_education_codes, residents.quarter),
            loaded.links,
            framework.families,
        )
        for residents in loaded.residents
    ]
    # Each earlier quarter's group is matched to this quarter's directly, so a quarter in which
    # partners sent nothing about a family does not cut its history short.
    chain = [np.arange(len(groups[0]), dtype=np.int64)] + [
        rules.match_groups(earlier, groups[0]) for earlier in groups[1:]
    ]
    evaluator = rules.Evaluator(framework, loaded.flags, loaded.persons, loaded.organisations)
    hits = [evaluator.hits(g) for g in groups[: framework.lookback_quarters]]
    eligible = rules.eligibility(framework, hits, chain)
    families = _assign_families(groups, chain, loaded.persisted)
    families.update(_returning(groups[0], eligible.groups, families, loaded.children))
    eligible = _without_followed_children(groups[0], eligible, families, loaded.children)
    new_groups = [g for g in eligible.groups.tolist() if g not in families]
    seen = set(families.values())
    carried = _carried(loaded, seen)
    return Computed(groups, chain, hits, eligible, families, new_groups, carried)


def _returning(
    groups: rules.Groups, eligible: rules.I64, families: dict[int, int], children: dict[int, int]
) -> dict[int, int]:
    """Eligible groups that would be new families but hold a child of a family identified before
    (as last stored, however long ago, and not continued by another group this quarter): that
    family again, not a second one for the same children (most shared children first)."""
    taken = set(families.values())
    counts: dict[tuple[int, int], int] = defaultdict(int)
    for group in eligible.tolist():
        if group in families:
            continue
        for person, role in groups.members(group):
            family = children.get(person)
            if role == rules.CHILD and family is not None and family not in taken:
                counts[group, family] += 1
    found: dict[int, int] = {}
    for (group, family), _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        if group not in found and family not in taken:
            found[group] = family
            taken.add(family)
    return found


def _without_followed_children(
    groups: rules.Groups,
    eligible: rules.Eligibility,
    families: dict[int, int],
    children: dict[int, int],
) -> rules.Eligibility:
    """Eligible groups that would be new families but hold a child of a family that another group
    continues this quarter are left out: a child is in one programme family at a time (a family's
    children placed apart from it — at a stale address after a move, or at one address split in
    two — are not a second family, and nobody is counted, or claimed for, twice)."""
    taken = set(families.values())
    drop = {
        group
        for group in eligible.groups.tolist()
        if group not in families
        and any(
            role == rules.CHILD and children.get(person) in taken
            for person, role in groups.members(group)
        )
    }
    if not drop:
        return eligible
    keep = [g for g in eligible.groups.tolist() if g not in drop]
    return rules.Eligibility(
        np.array(keep, np.int64),
        {g: p for g, p in eligible.problems.items() if g not in drop},
        {g: e for g, e in eligible.evidence.items() if g not in drop},
    )


def _carried(loaded: Loaded, matched: set[int]) -> list[int]:
    """Followed families not formed this quarter that still exist: seen within the last
    `carry_quarters()` quarters, and none of their members seen anywhere else this quarter (someone
    without records this quarter is presumed still at home; a family whose improvement means no
    partner has anything to send about it has not gone away)."""
    residents = loaded.residents[0]
    seen_now = set(residents.person[residents.seen_mask()].tolist())
    found: set[int] = set()
    for k in range(1, min(carry_quarters(), len(loaded.residents) - 1) + 1):
        for family, members in loaded.persisted.get(k, {}).items():
            if family in matched or family in found:
                continue
            if not any(person in seen_now for person, _ in members):
                found.add(family)
    return sorted(found)


def match_persisted(
    groups: rules.Groups, persisted: dict[int, list[tuple[int, int]]]
) -> dict[int, int]:
    """Groups of a quarter ↔ programme families' membership stored for the same quarter:
    most shared household members first, one to one."""
    if not persisted or len(groups) == 0:
        return {}
    person_family = {p: f for f, members in persisted.items() for p, _ in members}
    core_person, core_group, _ = groups.core()
    counts: dict[tuple[int, int], int] = defaultdict(int)
    for person, group in zip(core_person.tolist(), core_group.tolist(), strict=True):
        family = person_family.get(person)
        if family is not None:
            counts[group, family] += 1
    found: dict[int, int] = {}
    taken: set[int] = set()
    for (group, family), _ in sorted(
        counts.items(), key=lambda kv: (-kv[1], int(groups.keys[kv[0][0]]), kv[0][1])
    ):
        if group not in found and family not in taken:
            found[group] = family
            taken.add(family)
    return found


def _assign_families(
    groups: list[rules.Groups],
    chain: list[rules.I64],
    persisted: dict[int, dict[int, list[tuple[int, int]]]],
) -> dict[int, int]:
    """Existing family ids for this quarter's groups: this quarter's own stored membership first
    (a re-run), then the family the group continues from the most recent earlier quarter in which
    that family was seen (within the look-back)."""
    found = match_persisted(groups[0], persisted.get(0, {}))
    taken = set(found.values())
    for k in range(1, len(groups)):
        before = match_persisted(groups[k], persisted.get(k, {}))
        for group in range(len(groups[0])):
            earlier = int(chain[k][group])
            family = before.get(earlier) if earlier >= 0 else None
            if group not in found and family is not None and family not in taken:
                found[group] = family
                taken.add(family)
    return found


# ---------------------------------------------------------------------------- writing


def _pids(person_ids: Iterable[int]) -> dict[int, str]:
    ids = sorted(set(person_ids))
    found: dict[int, str] = {}
    for start in range(0, len(ids), _CHUNK):
        found.update(
            Person.objects.filter(pk__in=ids[start : start + _CHUNK]).values_list("pk", "pid")
        )
    return found


def write(
    run: IdentificationRun,
    framework: Framework,
    quarter: Quarter,
    loaded: Loaded,
    computed: Computed,
) -> dict[str, int]:
    """Write a run's results (inside the caller's transaction)."""
    groups0 = computed.groups[0]
    families = dict(computed.families)
    created = {g: people.create_family() for g in computed.new_groups}
    families.update({g: f.pk for g, f in created.items()})
    fids = (
        dict(Family.objects.filter(pk__in=list(families.values())).values_list("pk", "fid"))
        if families
        else {}
    )
    flags = loaded.flags
    needed = set(groups0.person[np.isin(groups0.group, list(families))].tolist())
    needed |= set(
        flags.person[[f for ev in computed.eligible.evidence.values() for _, f, _ in ev]].tolist()
    )
    pids = _pids(needed)
    _write_membership(quarter, computed, families, created)
    eligible_rows = _write_results(run, framework, quarter, loaded, computed, families)
    statuses = _statuses(framework, quarter, loaded, computed, families, pids)
    # A followed family partners sent nothing about this quarter had no flags in it.
    statuses.update({f: outcomes.QuarterStatus(quarter) for f in computed.carried})
    FamilyQuarter.objects.filter(
        framework_id=framework.id, quarter=str(quarter), family_id__in=list(statuses)
    ).delete()
    FamilyQuarter.objects.bulk_create(
        [
            FamilyQuarter(
                family_id=family,
                framework_id=framework.id,
                quarter=str(quarter),
                status=status.to_json(),
                run=run,
            )
            for family, status in statuses.items()
        ],
        batch_size=500,
    )
    new_journeys = _start_journeys(
        run, framework, quarter, computed, families, eligible_rows, pids, flags
    )
    Journey.objects.filter(framework_id=framework.id, family_id__in=list(families.values())).update(
        last_seen_quarter=str(quarter)
    )
    refresh_outcomes(
        framework, Journey.objects.filter(framework_id=framework.id, family_id__in=list(statuses))
    )
    superseded = _supersede(run, framework, quarter)
    counts = {
        "households": len(np.unique(loaded.residents[0].household)),
        "residents": len(loaded.residents[0].person),
        "families_formed": len(groups0),
        "flags_read": len(flags),
        "flags_outside_ages": loaded.outside_ages,
        "eligible": len(computed.eligible.groups),
        "newly_identified": len(new_journeys),
        "followed": len(families),
        "superseded_runs": superseded,
        "unseen_at_home_quarters": stay_quarters(),
        "unseen_family_quarters": carry_quarters(),
    }
    _audit(run, framework, quarter, loaded, new_journeys, families, groups0, pids, counts, fids)
    IdentificationRun.objects.filter(pk=run.pk).update(
        status=RunStatus.DONE,
        finished_at=timezone.now(),
        progress=100,
        stage="finished",
        counts=counts,
    )
    return counts


def _write_membership(
    quarter: Quarter,
    computed: Computed,
    families: dict[int, int],
    created: dict[int, Any],
) -> None:
    """This quarter's membership of every family followed; for new families also the quarters of
    the look-back window, so the evidence's members are on record as members then."""
    FamilyMember.objects.filter(quarter=str(quarter), family__journeys__isnull=False).delete()
    FamilyMember.objects.filter(
        quarter=str(quarter), family_id__in=list(families.values())
    ).delete()
    rows = []
    for k, groups in enumerate(computed.groups[: len(computed.chain)]):
        targets = families if k == 0 else {g: families[g] for g in created}
        for group, family in targets.items():
            ancestor = int(computed.chain[k][group])
            if ancestor < 0:
                continue
            for person, role in groups.members(ancestor):
                rows.append(
                    FamilyMember(
                        family_id=family,
                        person_id=person,
                        role=rules.ROLE_NAMES[role],
                        quarter=str(groups.quarter),
                    )
                )
    FamilyMember.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)


def _write_results(
    run: IdentificationRun,
    framework: Framework,
    quarter: Quarter,
    loaded: Loaded,
    computed: Computed,
    families: dict[int, int],
) -> dict[int, EligibleFamily]:
    first_quarter = dict(
        Journey.objects.filter(
            framework_id=framework.id, family_id__in=list(families.values())
        ).values_list("family_id", "identified_quarter")
    )
    eligible_rows: dict[int, EligibleFamily] = {}
    for group in computed.eligible.groups.tolist():
        family = families[group]
        eligible_rows[group] = EligibleFamily(
            run=run,
            family_id=family,
            quarter=str(quarter),
            problems=[framework.problems[p].id for p in computed.eligible.problems[group]],
            first_identified=first_quarter.get(family, str(quarter)) == str(quarter),
        )
    EligibleFamily.objects.bulk_create(list(eligible_rows.values()), batch_size=500)
    flags = loaded.flags
    evidence = []
    for group, row in eligible_rows.items():
        seen: set[tuple[int, int]] = set()
        for p, f, k in computed.eligible.evidence[group]:
            if (p, f) in seen:
                continue
            seen.add((p, f))
            evidence.append(
                ProblemEvidence(
                    eligible=row,
                    problem=framework.problems[p].id,
                    person_id=int(flags.person[f]),
                    code=flags.codes[int(flags.code[f])],
                    organisation_id=int(flags.organisation[f]),
                    category_id=int(flags.category[f]),
                    date=date.fromordinal(int(flags.day[f])),
                    quarter=str(quarter - k),
                )
            )
    ProblemEvidence.objects.bulk_create(evidence, batch_size=1000)
    return eligible_rows


def _statuses(
    framework: Framework,
    quarter: Quarter,
    loaded: Loaded,
    computed: Computed,
    families: dict[int, int],
    pids: dict[int, str],
) -> dict[int, outcomes.QuarterStatus]:
    """Each followed family's status this quarter: problems present anywhere in the family (with
    the flags behind them), the values outcome measures read, starts and flags of alternatives."""
    flags, groups = loaded.flags, computed.groups[0]
    slugs = {pk: slug for slug, pk in loaded.organisations.items()}
    categories = dict(DataCategory.objects.values_list("pk", "slug"))
    present: dict[int, set[str]] = defaultdict(set)
    evidence: dict[int, dict[str, list[dict[str, str]]]] = defaultdict(lambda: defaultdict(list))
    hits = computed.hits[0] if computed.hits else rules.Hits.empty()
    for g, p, f in zip(hits.group.tolist(), hits.problem.tolist(), hits.flag.tolist(), strict=True):
        if g not in families:
            continue
        problem = framework.problems[p].id
        present[g].add(problem)
        evidence[g][problem].append(_flag_json(flags, f, pids, slugs, categories))
    value_codes = {v.code for p in framework.problems for v in p.outcome.values}
    flag_codes = {c for a in framework.alternatives for c in a.without}
    start_codes = {a.start for a in framework.alternatives}
    wanted = [flags.code_index(c) for c in value_codes | flag_codes | start_codes]
    in_quarter = np.flatnonzero((flags.quarter == quarter.index) & np.isin(flags.code, wanted))
    rows, member_group, role = rules._expand(groups, in_quarter, flags)
    values: dict[int, dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    started: dict[int, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    flagged: dict[int, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for f, g, r in zip(rows.tolist(), member_group.tolist(), role.tolist(), strict=True):
        if g not in families:
            continue
        code = flags.codes[int(flags.code[f])]
        pid = pids.get(int(flags.person[f]), "")
        value = float(flags.value[f])
        if code in value_codes and not np.isnan(value):
            seen = values[g][code]
            seen[pid] = min(value, seen.get(pid, value))
        if code in flag_codes:
            flagged[g][code].add(pid)
        for alternative in framework.alternatives:
            if code == alternative.start and _who_ok(alternative.who, r):
                started[g][alternative.id].add(pid)
    return {
        family: outcomes.QuarterStatus(
            quarter=quarter,
            present=frozenset(present.get(g, set())),
            values={c: dict(v) for c, v in values.get(g, {}).items()},
            started={a: frozenset(p) for a, p in started.get(g, {}).items()},
            flagged={c: frozenset(p) for c, p in flagged.get(g, {}).items()},
            evidence={p: list(e) for p, e in evidence.get(g, {}).items()},
        )
        for g, family in families.items()
    }


def _who_ok(who: str, role: int) -> bool:
    if who == "child":
        return role == rules.CHILD
    if who == "adult":
        return role != rules.CHILD
    return True


def _flag_json(
    flags: rules.Flags,
    f: int,
    pids: dict[int, str],
    slugs: dict[int, str],
    categories: dict[int, str],
) -> dict[str, str]:
    return {
        "pid": pids.get(int(flags.person[f]), ""),
        "code": flags.codes[int(flags.code[f])],
        "organisation": slugs.get(int(flags.organisation[f]), ""),
        "category": categories.get(int(flags.category[f]), ""),
        "date": date.fromordinal(int(flags.day[f])).isoformat(),
    }


def _start_journeys(
    run: IdentificationRun,
    framework: Framework,
    quarter: Quarter,
    computed: Computed,
    families: dict[int, int],
    eligible_rows: dict[int, EligibleFamily],
    pids: dict[int, str],
    flags: rules.Flags,
) -> list[Journey]:
    """A journey for each family identified for the first time under this framework."""
    existing = set(
        Journey.objects.filter(
            framework_id=framework.id, family_id__in=list(families.values())
        ).values_list("family_id", flat=True)
    )
    journeys = []
    for group, row in eligible_rows.items():
        if row.family_id in existing:
            continue
        members: dict[str, set[str]] = defaultdict(set)
        for p, f, _ in computed.eligible.evidence[group]:
            members[framework.problems[p].id].add(pids.get(int(flags.person[f]), ""))
        journeys.append(
            Journey(
                family_id=row.family_id,
                framework_id=framework.id,
                identified_quarter=str(quarter),
                problems=list(row.problems),
                problem_members={p: sorted(m) for p, m in sorted(members.items())},
                state=State.IDENTIFIED,
                last_seen_quarter=str(quarter),
            )
        )
    Journey.objects.bulk_create(journeys, batch_size=500)
    made = list(
        Journey.objects.filter(
            framework_id=framework.id,
            family_id__in=[j.family_id for j in journeys],
        )
    )
    JourneyStep.objects.bulk_create(
        [
            JourneyStep(
                journey=j,
                from_state="",
                to_state=State.IDENTIFIED,
                actor=str(_actor(run)),
                role="system",
                quarter=str(quarter),
                note=f"identified by run {run.run_id} under {framework.label}",
            )
            for j in made
        ],
        batch_size=500,
    )
    return made


def refresh_outcomes(framework: Framework, journeys: Iterable[Journey]) -> int:
    """Recompute the outcome of each journey from its family's stored quarters. Returns how many
    changed."""
    journeys = list(journeys)
    by_family: dict[int, list[outcomes.QuarterStatus]] = defaultdict(list)
    for family, quarter, status in FamilyQuarter.objects.filter(
        framework_id=framework.id, family_id__in=[j.family_id for j in journeys]
    ).values_list("family_id", "quarter", "status"):
        by_family[family].append(outcomes.QuarterStatus.from_json(quarter, status))
    changed = []
    for journey in journeys:
        history = by_family.get(journey.family_id, [])
        assessment = outcomes.assess(
            framework,
            Quarter.parse(journey.identified_quarter),
            [p for p in journey.problems if _known(framework, p)],
            {p: frozenset(m) for p, m in journey.problem_members.items()},
            history,
        )
        fields = {
            "assessed_quarter": str(max((s.quarter for s in history), default=""))
            if history
            else "",
            "achieved_quarter": str(assessment.achieved or ""),
            "sustained_quarter": str(assessment.sustained or ""),
            "outcome_route": assessment.route or assessment.under_way_route,
            "under_way_quarter": str(assessment.under_way or ""),
        }
        if any(getattr(journey, k) != v for k, v in fields.items()):
            for k, v in fields.items():
                setattr(journey, k, v)
            changed.append(journey)
    Journey.objects.bulk_update(changed, list(_OUTCOME_FIELDS), batch_size=500)
    return len(changed)


_OUTCOME_FIELDS = (
    "assessed_quarter",
    "achieved_quarter",
    "sustained_quarter",
    "outcome_route",
    "under_way_quarter",
)


def _known(framework: Framework, problem_id: str) -> bool:
    return any(p.id == problem_id for p in framework.problems)


def _supersede(run: IdentificationRun, framework: Framework, quarter: Quarter) -> int:
    earlier = IdentificationRun.objects.filter(
        quarter=str(quarter), framework_id=framework.id, status=RunStatus.DONE
    ).exclude(pk=run.pk)
    EligibleFamily.objects.filter(run__in=earlier).delete()
    return earlier.update(status=RunStatus.SUPERSEDED)


def _audit(
    run: IdentificationRun,
    framework: Framework,
    quarter: Quarter,
    loaded: Loaded,
    new_journeys: list[Journey],
    families: dict[int, int],
    groups: rules.Groups,
    pids: dict[int, str],
    counts: dict[str, int],
    fids: dict[int, str],
) -> None:
    actor = _actor(run)
    access_programme.record_identification_read(
        actor,
        str(quarter),
        framework.label,
        loaded.sources,
        flags_read=len(loaded.flags),
        persons_read=len(np.unique(loaded.flags.person)),
    )
    group_of = {family: group for group, family in families.items()}
    entries = []
    for journey in new_journeys:
        fid = fids.get(journey.family_id) or journey.family.fid
        group = group_of[journey.family_id]
        members = [pids[p] for p, _ in groups.members(group) if p in pids]
        entries.append(
            audit.NewEntry(
                actor,
                Event.FAMILY_IDENTIFIED,
                resource=f"family:{fid}",
                subjects=[fid, *members],
                purpose="identification",
                reason=f"met {len(journey.problems)} problems of {framework.label} in {quarter}",
                details={"quarter": str(quarter), "problems": journey.problems},
            )
        )
        entries.append(
            audit.NewEntry(
                actor,
                Event.JOURNEY_IDENTIFIED,
                resource=f"family:{fid}",
                subjects=[fid],
                purpose="identification",
                reason="the family's journey starts: identified",
                details={"framework": framework.id, "quarter": str(quarter)},
            )
        )
    entries.append(
        audit.NewEntry(
            actor,
            Event.QUARTER_IDENTIFIED,
            resource=f"quarter:{quarter}",
            purpose="identification",
            reason=f"identification of {quarter} under {framework.label}",
            details=counts,
        )
    )
    audit.record_many(entries)
