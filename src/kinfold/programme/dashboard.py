"""The programme dashboard's figures, by quarter: counts only, never a family.

- *identified*: families identified for the first time in the quarter;
- *attached*: families whose plan was agreed in the quarter (the attachment point);
- *in progress*: families attached and working (plan agreed, progress reviewed, achieved) at the
  end of the quarter;
- *achieved*: identified families whose significant and sustained progress is recognised in the
  quarter (computed from flags, `Journey.sustained_quarter`);
- *claimed*: results claims for the quarter, and the money claimed (signed-off and submitted
  attachment and results claims).

Journey steps are counted in the programme's quarters (`JourneyStep.quarter`: the latest quarter
identified when the step was taken), so the dashboard follows the data, not the wall clock.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Sum

from kinfold.programme.models import (
    Claim,
    ClaimKind,
    ClaimStatus,
    IdentificationRun,
    Journey,
    JourneyStep,
    RunStatus,
    State,
)
from kinfold.quarters import Quarter

WORKING = {State.PLAN_AGREED, State.IN_PROGRESS, State.ACHIEVED}
PAID = (ClaimStatus.SIGNED_OFF, ClaimStatus.SUBMITTED)


@dataclass(frozen=True)
class QuarterFigures:
    quarter: str
    identified: int
    attached: int
    in_progress: int
    achieved: int
    claimed: int
    money: int
    paid_claims: int
    cumulative_attached: int
    target: int


@dataclass(frozen=True)
class Dashboard:
    quarters: list[QuarterFigures]
    target: int
    target_quarters: int
    total_identified: int
    total_attached: int
    total_achieved: int
    total_claimed: int
    total_money: int


def programme_target() -> tuple[int, int]:
    """(families, over how many quarters): the council's target, a setting."""
    families = int(getattr(settings, "KINFOLD_PROGRAMME_TARGET", 1360))
    years = int(getattr(settings, "KINFOLD_PROGRAMME_YEARS", 5))
    return families, years * 4


def _quarters() -> list[str]:
    done = set(
        IdentificationRun.objects.filter(status=RunStatus.DONE).values_list("quarter", flat=True)
    )
    if not done:
        return []
    first, last = Quarter.parse(min(done)), Quarter.parse(max(done))
    return [str(first + i) for i in range(last.index - first.index + 1)]


def _states_at_end(quarters: list[str]) -> dict[str, Counter[str]]:
    """How many journeys were in each state at the end of each quarter (steps replayed)."""
    steps = JourneyStep.objects.order_by("journey_id", "at", "id").values_list(
        "journey_id", "quarter", "to_state"
    )
    by_journey: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for journey, quarter, state in steps:
        by_journey[journey].append((quarter, state))
    found: dict[str, Counter[str]] = {q: Counter() for q in quarters}
    for history in by_journey.values():
        for q in quarters:
            state = ""
            for quarter, to_state in history:
                if quarter and quarter <= q:
                    state = to_state
            if state:
                found[q][state] += 1
    return found


def dashboard() -> Dashboard:
    """The programme's figures by quarter, with the target line."""
    quarters = _quarters()
    target, over = programme_target()
    identified = Counter(Journey.objects.values_list("identified_quarter", flat=True))
    attached = Counter(
        JourneyStep.objects.filter(to_state=State.PLAN_AGREED).values_list("quarter", flat=True)
    )
    achieved = Counter(
        Journey.objects.exclude(sustained_quarter="").values_list("sustained_quarter", flat=True)
    )
    claimed = Counter(
        Claim.objects.filter(kind=ClaimKind.RESULTS, status__in=PAID).values_list(
            "quarter", flat=True
        )
    )
    money = dict(
        Claim.objects.filter(status__in=PAID)
        .values("quarter")
        .annotate(total=Sum("amount"))
        .values_list("quarter", "total")
    )
    paid = Counter(Claim.objects.filter(status__in=PAID).values_list("quarter", flat=True))
    states = _states_at_end(quarters)
    rows = []
    running = 0
    for i, q in enumerate(quarters):
        running += attached[q]
        rows.append(
            QuarterFigures(
                quarter=q,
                identified=identified[q],
                attached=attached[q],
                in_progress=sum(states[q][s] for s in WORKING),
                achieved=achieved[q],
                claimed=claimed[q],
                money=int(money.get(q) or 0),
                paid_claims=paid[q],
                cumulative_attached=running,
                target=round(target * min(i + 1, over) / over),
            )
        )
    return Dashboard(
        quarters=rows,
        target=target,
        target_quarters=over,
        total_identified=sum(r.identified for r in rows),
        total_attached=running,
        total_achieved=sum(r.achieved for r in rows),
        total_claimed=sum(r.claimed for r in rows),
        total_money=sum(r.money for r in rows),
    )
