"""Payment by results: attachment and results claims per quarter, each with a frozen evidence pack.

- An *attachment* claim is due for a family once its plan is agreed (it is attached); a *results*
  claim once its outcomes are sustained (confirmed by a team manager). One of each per journey.
- A claim is prepared by an analyst with its evidence pack: the eligibility reasons (problems and
  the flags behind them, with dates), the plan, the outcome evidence quarter by quarter, the
  sustained period and the route. A results claim is invalid, with the reasons kept, if the
  computed outcome no longer holds or another member developed one of the family's problems
  during the sustained period (the whole-family rule).
- A team manager other than the preparer signs it off: the pack gains who signed off and when,
  and is then frozen — its SHA-256 is stored, `Claim.save` refuses changes, and database triggers
  refuse updates (migration 0002). `verify()` detects any change made around them.
- A seeded random 10% of a quarter's signed-off claims is drawn for internal audit and
  spot-checked by someone who neither prepared nor signed off the claim.
- The claims file for the ministry is CSV with pseudonymous ids only.
"""

from __future__ import annotations

import csv
import io
import math
import random
import secrets
import string
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from kinfold.access import services as access
from kinfold.audit import services as audit
from kinfold.audit.events import Event
from kinfold.errors import KinfoldError, NotPermitted
from kinfold.people.services import new_pseudonym
from kinfold.programme import journey as journeys
from kinfold.programme.models import (
    AuditSample,
    Claim,
    ClaimKind,
    ClaimStatus,
    EligibleFamily,
    Journey,
    RunStatus,
    SpotCheck,
    State,
    evidence_digest,
)
from kinfold.programme.progress import Progress, framework_of, progress_of
from kinfold.quarters import Quarter
from kinfold.staff.models import User

AUDIT_RATE = 0.1
VALID = (ClaimStatus.PREPARED, ClaimStatus.SIGNED_OFF, ClaimStatus.SUBMITTED)
CSV_COLUMNS = (
    "claim_id",
    "family_id",
    "claim_type",
    "quarter",
    "amount_gbp",
    "framework",
    "problems",
    "identified_quarter",
    "route",
    "sustained_from",
    "sustained_to",
    "signed_off_at",
    "evidence_sha256",
)


def _require_role(user: User, *roles: str) -> None:
    if user.role not in roles:
        who = " or ".join(r.replace("_", " ") for r in roles)
        raise NotPermitted(f"only a {who} can do this")


def _plan_agreed(journey: Journey) -> Any:
    return journey.steps.filter(to_state=State.PLAN_AGREED).order_by("at").first()


# ---------------------------------------------------------------------------- evidence


def _eligibility(journey: Journey) -> dict[str, Any]:
    row = (
        EligibleFamily.objects.filter(
            family_id=journey.family_id,
            quarter=journey.identified_quarter,
            run__framework_id=journey.framework_id,
            run__status=RunStatus.DONE,
        )
        .select_related("run")
        .first()
    )
    flags: dict[str, list[dict[str, str]]] = {}
    if row is not None:
        for e in row.evidence.select_related("person", "organisation").order_by(
            "problem", "date", "code"
        ):
            flags.setdefault(e.problem, []).append(
                {
                    "person": e.person.pid,
                    "code": e.code,
                    "organisation": e.organisation.slug,
                    "date": e.date.isoformat(),
                    "quarter": e.quarter,
                }
            )
    return {
        "quarter": journey.identified_quarter,
        "run": row.run.run_id if row else "",
        "problems": [{"problem": p, "flags": flags.get(p, [])} for p in journey.problems],
    }


def _plan(journey: Journey) -> dict[str, Any]:
    step = _plan_agreed(journey)
    return {
        "agreed_at": step.at.isoformat() if step else "",
        "agreed_by": step.actor if step else "",
        "items": [
            {"problem": i.problem, "name": i.name, "measure": i.measure}
            for i in journey.plan.order_by("id")
        ],
    }


def _outcome(progress: Progress) -> dict[str, Any]:
    a = progress.assessment
    return {
        "status": a.status,
        "route": a.route,
        "route_name": progress.route_name,
        "achieved": str(a.achieved or ""),
        "sustained": str(a.sustained or ""),
        "sustained_period": {"from": str(a.achieved or ""), "to": str(a.sustained or "")},
        "quarters": [
            {
                "quarter": q,
                "problems": {
                    p.problem: {
                        "present": cell.present,
                        "flags": cell.flags,
                        "values": cell.values,
                    }
                    for p in progress.problems
                    for cell in p.cells
                    if cell.quarter == q
                },
            }
            for q in progress.quarters
        ],
        "work_starts": [
            {"quarter": q, "route": name, "persons": who} for q, name, who in progress.starts
        ],
    }


def evidence_pack(
    journey: Journey, kind: str, quarter: Quarter, amount: int, preparer: User
) -> dict[str, Any]:
    """Everything a claim rests on, as JSON (pseudonymous ids only)."""
    framework = framework_of(journey)
    pack: dict[str, Any] = {
        "claim": {
            "kind": kind,
            "quarter": str(quarter),
            "amount_gbp": amount,
            "framework": framework.label,
            "framework_sha256": framework.sha256,
        },
        "family": journey.family.fid,
        "eligibility": _eligibility(journey),
        "plan": _plan(journey),
        "journey": [
            {
                "from": s.from_state,
                "to": s.to_state,
                "by": s.actor,
                "role": s.role,
                "at": s.at.isoformat(),
            }
            for s in journey.steps.order_by("at", "id")
        ],
        "prepared": {"by": preparer.username, "at": timezone.now().isoformat()},
    }
    if kind == ClaimKind.RESULTS:
        pack["outcome"] = _outcome(progress_of(journey, framework))
    return pack


# ---------------------------------------------------------------------------- validity


def whole_family_breaches(journey: Journey, progress: Progress) -> list[str]:
    """Members who did not have a problem at identification but had it in the sustained period."""
    a = progress.assessment
    if not a.sustained or not a.achieved:
        return []
    start, end = str(a.achieved), str(a.sustained)
    reasons = []
    for problem in progress.problems:
        had = set(journey.problem_members.get(problem.problem, []))
        for cell in problem.cells:
            if not start <= cell.quarter <= end:
                continue
            for flag in cell.flags:
                if flag.get("pid") and flag["pid"] not in had:
                    reasons.append(
                        f"another member ({flag['pid']}) developed the same problem "
                        f"({problem.name.lower()}) in {cell.quarter}: {flag['code']}"
                    )
    return sorted(set(reasons))


def results_problems(journey: Journey, progress: Progress, quarter: Quarter) -> list[str]:
    """Why a results claim for `quarter` would be invalid ([] if it is valid)."""
    reasons = []
    if _plan_agreed(journey) is None:
        reasons.append("the family has no agreed plan: it was never attached")
    a = progress.assessment
    if not a.sustained:
        reasons.append("the computed outcome is no longer sustained")
    elif a.sustained > quarter:
        reasons.append(f"the outcome is sustained only from {a.sustained}, after {quarter}")
    reasons += whole_family_breaches(journey, progress)
    return reasons


# ---------------------------------------------------------------------------- preparing


def due(quarter: Quarter) -> dict[str, list[Journey]]:
    """Journeys with a claim of each kind due by the end of `quarter`, not yet claimed."""
    claimed = {
        (j, k) for j, k in Claim.objects.filter(status__in=VALID).values_list("journey_id", "kind")
    }
    attached = Journey.objects.filter(
        state__in=journeys.ATTACHED, steps__to_state=State.PLAN_AGREED
    ).distinct()
    results = Journey.objects.filter(
        state=State.SUSTAINED, sustained_quarter__lte=str(quarter)
    ).exclude(sustained_quarter="")
    return {
        ClaimKind.ATTACHMENT: [
            j for j in attached.order_by("pk") if (j.pk, ClaimKind.ATTACHMENT.value) not in claimed
        ],
        ClaimKind.RESULTS: [
            j for j in results.order_by("pk") if (j.pk, ClaimKind.RESULTS.value) not in claimed
        ],
    }


def prepare_claims(analyst: User, quarter: Quarter | str) -> list[Claim]:
    """Prepare every claim due for `quarter` (see `due`); invalid ones are kept with reasons."""
    _require_role(analyst, journeys.ANALYST)
    quarter = Quarter.parse(quarter) if isinstance(quarter, str) else quarter
    made = []
    for kind, pending in due(quarter).items():
        for journey in pending:
            claim = prepare_claim(analyst, journey, kind, quarter)
            if claim is not None:
                made.append(claim)
    return made


def prepare_claim(analyst: User, journey: Journey, kind: str, quarter: Quarter) -> Claim | None:
    """Prepare one claim (None when the framework pays nothing of this kind)."""
    _require_role(analyst, journeys.ANALYST)
    framework = framework_of(journey)
    amount = (
        framework.payments.attachment
        if kind == ClaimKind.ATTACHMENT
        else framework.payments.results
    )
    if amount == 0:
        return None
    reasons: list[str] = []
    route = ""
    if kind == ClaimKind.RESULTS:
        progress = progress_of(journey, framework)
        reasons = results_problems(journey, progress, quarter)
        route = progress.assessment.route
    pack = evidence_pack(journey, kind, quarter, amount, analyst)
    with transaction.atomic():
        Claim.objects.filter(journey=journey, kind=kind, status=ClaimStatus.INVALID).delete()
        claim = Claim.objects.create(
            claim_id=new_pseudonym("C"),
            kind=kind,
            journey=journey,
            family=journey.family,
            framework_id=journey.framework_id,
            quarter=str(quarter),
            amount=amount,
            route=route,
            status=ClaimStatus.INVALID if reasons else ClaimStatus.PREPARED,
            invalid_reasons=reasons,
            evidence=pack,
            evidence_sha256=evidence_digest(pack),
            prepared_by=analyst,
        )
        audit.record(
            access.actor_for(analyst),
            Event.CLAIM_INVALID if reasons else Event.CLAIM_PREPARED,
            resource=f"claim:{claim.claim_id}",
            subjects=[journey.family.fid],
            purpose="payment-by-results",
            reason=("; ".join(reasons) or f"{claim.get_kind_display()} for {quarter}")[:500],
            details={"kind": kind, "quarter": str(quarter), "amount_gbp": amount},
        )
    if kind == ClaimKind.RESULTS and not reasons:
        journeys.move(analyst, journey, State.CLAIMED, quarter=str(quarter), note=claim.claim_id)
    return claim


# ---------------------------------------------------------------------------- sign-off

_AS_LETTERS = str.maketrans("0123456789", "ghijklmnop")


def digits_as_letters(hex_digest: str) -> str:
    """A hex digest with its digits written as the letters g to p, for the audit log, whose
    personal-data guard would otherwise now and then read ten digits in a row as an NHS number.
    `letters_as_digits` turns it back."""
    return hex_digest.translate(_AS_LETTERS)


def letters_as_digits(text: str) -> str:
    return text.translate(str.maketrans("ghijklmnop", "0123456789"))


def sign_off(manager: User, claim: Claim) -> Claim:
    """A team manager other than the preparer signs the claim off; its pack is then frozen."""
    _require_role(manager, journeys.TEAM_MANAGER)
    if claim.prepared_by_id == manager.pk:
        raise NotPermitted("a claim is signed off by someone other than who prepared it")
    if claim.status != ClaimStatus.PREPARED:
        raise KinfoldError(f"claim {claim.claim_id} is {claim.get_status_display().lower()}")
    if not claim.verify():
        raise KinfoldError(f"claim {claim.claim_id}'s evidence changed after it was prepared")
    now = timezone.now()
    pack = dict(claim.evidence)
    pack["signed_off"] = {"by": manager.username, "at": now.isoformat()}
    with transaction.atomic():
        claim.evidence = pack
        claim.evidence_sha256 = evidence_digest(pack)
        claim.status = ClaimStatus.SIGNED_OFF
        claim.signed_off_by = manager
        claim.signed_off_at = now
        claim.save()
        audit.record(
            access.actor_for(manager),
            Event.CLAIM_SIGNED_OFF,
            resource=f"claim:{claim.claim_id}",
            subjects=[claim.family.fid],
            purpose="payment-by-results",
            reason="evidence frozen: its SHA-256 is in this entry's details",
            details={
                "sha256": digits_as_letters(claim.evidence_sha256),
                "amount_gbp": claim.amount,
            },
        )
    return claim


# ---------------------------------------------------------------------------- internal audit


def draw_sample(user: User, quarter: Quarter | str, seed: str | None = None) -> AuditSample:
    """Draw the quarter's internal-audit sample: a seeded random 10% (at least one) of its
    signed-off claims. The seed is recorded, so anyone can redraw the same sample."""
    _require_role(user, journeys.ANALYST, journeys.TEAM_MANAGER)
    quarter = str(Quarter.parse(quarter) if isinstance(quarter, str) else quarter)
    if AuditSample.objects.filter(quarter=quarter).exists():
        raise KinfoldError(f"the internal-audit sample for {quarter} has already been drawn")
    population = list(
        Claim.objects.filter(
            quarter=quarter, status__in=(ClaimStatus.SIGNED_OFF, ClaimStatus.SUBMITTED)
        ).order_by("claim_id")
    )
    if not population:
        raise KinfoldError(f"there are no signed-off claims for {quarter} to sample")
    seed = seed or "".join(secrets.choice(string.ascii_lowercase) for _ in range(26))
    chosen = sample_of([c.claim_id for c in population], seed)
    with transaction.atomic():
        sample = AuditSample.objects.create(
            quarter=quarter, seed=seed, rate=AUDIT_RATE, drawn_by=user, population=len(population)
        )
        SpotCheck.objects.bulk_create(
            [SpotCheck(sample=sample, claim=c) for c in population if c.claim_id in chosen]
        )
        audit.record(
            access.actor_for(user),
            Event.CLAIM_SAMPLE_DRAWN,
            resource=f"quarter:{quarter}:claims",
            purpose="payment-by-results",
            reason=f"{len(chosen)} of {len(population)} claims drawn for spot checks",
            details={"seed": seed, "claims": sorted(chosen)},
        )
    return sample


def sample_of(claim_ids: Iterable[str], seed: str, rate: float = AUDIT_RATE) -> set[str]:
    """The claims a seed draws: `rate` of them rounded up, at least one."""
    ids = sorted(claim_ids)
    size = min(len(ids), max(1, math.ceil(rate * len(ids))))
    return set(random.Random(seed).sample(ids, size))  # noqa: S311 - a reproducible draw, not a secret


def spot_check(user: User, check: SpotCheck, passed: bool, note: str) -> SpotCheck:
    """Record a spot check. The checker neither prepared nor signed off the claim."""
    _require_role(user, journeys.TEAM_MANAGER, "dpo")
    claim = check.claim
    if user.pk in (claim.prepared_by_id, claim.signed_off_by_id):
        raise NotPermitted(
            "a spot check is made by someone who neither prepared nor signed off the claim"
        )
    if check.result != SpotCheck.Result.PENDING:
        raise KinfoldError(f"claim {claim.claim_id} has already been spot-checked")
    intact = claim.verify()
    with transaction.atomic():
        check.result = SpotCheck.Result.PASSED if passed and intact else SpotCheck.Result.FAILED
        check.note = (note if intact else f"evidence changed after sign-off. {note}")[:500]
        check.checked_by = user
        check.checked_at = timezone.now()
        check.save()
        audit.record(
            access.actor_for(user),
            Event.CLAIM_SPOT_CHECKED,
            resource=f"claim:{claim.claim_id}",
            subjects=[claim.family.fid],
            purpose="payment-by-results",
            reason=check.get_result_display(),
            details={"intact": intact},
        )
    return check


# ---------------------------------------------------------------------------- the ministry's file


def claims_file(user: User, quarter: Quarter | str) -> str:
    """The quarter's signed-off claims as CSV for the ministry (pseudonymous ids only); marks
    them submitted. Refuses if any signed-off claim's evidence fails its digest."""
    _require_role(user, journeys.ANALYST, journeys.TEAM_MANAGER)
    quarter = str(Quarter.parse(quarter) if isinstance(quarter, str) else quarter)
    claims = list(
        Claim.objects.filter(
            quarter=quarter, status__in=(ClaimStatus.SIGNED_OFF, ClaimStatus.SUBMITTED)
        )
        .select_related("family", "journey")
        .order_by("claim_id")
    )
    broken = [c.claim_id for c in claims if not c.verify()]
    if broken:
        raise KinfoldError(f"evidence changed after sign-off: {', '.join(broken)}")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for c in claims:
        outcome = c.evidence.get("outcome", {})
        period = outcome.get("sustained_period", {})
        writer.writerow(
            [
                c.claim_id,
                c.family.fid,
                c.kind,
                c.quarter,
                c.amount,
                c.evidence["claim"]["framework"],
                ";".join(c.journey.problems),
                c.journey.identified_quarter,
                c.route,
                period.get("from", ""),
                period.get("to", ""),
                c.signed_off_at.isoformat() if c.signed_off_at else "",
                c.evidence_sha256,
            ]
        )
    now = timezone.now()
    with transaction.atomic():
        Claim.objects.filter(pk__in=[c.pk for c in claims], status=ClaimStatus.SIGNED_OFF).update(
            status=ClaimStatus.SUBMITTED, submitted_at=now
        )
        audit.record(
            access.actor_for(user),
            Event.CLAIMS_EXPORTED,
            resource=f"quarter:{quarter}:claims",
            subjects=sorted({c.family.fid for c in claims}),
            purpose="payment-by-results",
            reason=f"{len(claims)} claims in the ministry's file for {quarter}",
            details={"claims": len(claims), "amount_gbp": sum(c.amount for c in claims)},
        )
    return out.getvalue()
