"""Whether an identified family made significant and sustained progress. No Django.

Progress is computed from the quarters after identification, never typed in. Each quarter the
family continued, identification stores a `QuarterStatus`: which of the framework's problems were
present anywhere in the family (the whole-family rule: a problem counts whoever in the family has
it, including members who joined later), the values the outcome measures look at, and who started
or had the flags the alternative routes look at. `assess` reads that history.

With the national 2015 framework's defaults this is exactly `kinfold.synth.truth.assess_family`'s
reading: route (a) from some quarter R after identification none of the family's problems is
present in R and R+1 and every child who had the education problem attends at least 90% in R,
R+1 and R+2 (a quarter with no attendance is not held against the family), dated R+1 or R+2; or
route (b) an adult into work in W with no out-of-work benefit in W+1 and W+2, dated W+2. The
earliest date counts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kinfold.programme.frameworks import Framework
from kinfold.quarters import Quarter

PROBLEMS_CLEARED = "problems-cleared"


@dataclass(frozen=True)
class QuarterStatus:
    """What one quarter showed about an identified family (persons by pseudonymous id)."""

    quarter: Quarter
    present: frozenset[str] = frozenset()
    values: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    started: Mapping[str, frozenset[str]] = field(default_factory=dict)
    flagged: Mapping[str, frozenset[str]] = field(default_factory=dict)
    evidence: Mapping[str, Sequence[Mapping[str, Any]]] = field(default_factory=dict)

    @classmethod
    def from_json(cls, quarter: str, data: Mapping[str, Any]) -> QuarterStatus:
        return cls(
            quarter=Quarter.parse(quarter),
            present=frozenset(data.get("present", ())),
            values={c: dict(v) for c, v in data.get("values", {}).items()},
            started={a: frozenset(p) for a, p in data.get("started", {}).items()},
            flagged={c: frozenset(p) for c, p in data.get("flagged", {}).items()},
            evidence={p: list(e) for p, e in data.get("evidence", {}).items()},
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "present": sorted(self.present),
            "values": {c: dict(sorted(v.items())) for c, v in sorted(self.values.items())},
            "started": {a: sorted(p) for a, p in sorted(self.started.items())},
            "flagged": {c: sorted(p) for c, p in sorted(self.flagged.items())},
            "evidence": {p: list(e) for p, e in sorted(self.evidence.items())},
        }


@dataclass(frozen=True)
class Assessment:
    """The outcome so far. `sustained` is the quarter success is recognised (what a results
    claim is for); `achieved` the quarter that success began; `under_way` a run of success that
    has begun but has not yet lasted long enough."""

    sustained: Quarter | None = None
    achieved: Quarter | None = None
    route: str = ""
    under_way: Quarter | None = None
    under_way_route: str = ""
    sustain_until: Quarter | None = None

    @property
    def status(self) -> str:
        if self.sustained:
            return "sustained"
        if self.under_way:
            return "achieved"
        return "in_progress"


def consecutive(identified: Quarter, history: Sequence[QuarterStatus]) -> list[QuarterStatus]:
    """The statuses after `identified`, in order, up to the first quarter the family was not seen."""
    by_index = {s.quarter.index: s for s in history}
    found = []
    index = identified.index + 1
    while index in by_index:
        found.append(by_index[index])
        index += 1
    return found


def _cleared_from(
    framework: Framework,
    problems: Sequence[str],
    members: Mapping[str, frozenset[str]],
    history: Sequence[QuarterStatus],
    r: int,
) -> tuple[bool, int]:
    """Route (a) from history[r]: (every check seen so far passed, quarters needed)."""
    needed = max(framework.problem(p).outcome.quarters_needed for p in problems)
    for j in range(needed):
        if r + j >= len(history):
            break
        status = history[r + j]
        for problem_id in problems:
            outcome = framework.problem(problem_id).outcome
            if j < outcome.clear_quarters and problem_id in status.present:
                return False, needed
            for condition in outcome.values:
                if j >= condition.quarters:
                    continue
                seen = status.values.get(condition.code, {})
                for person in members.get(problem_id, frozenset()):
                    if person in seen and not condition.met(seen[person]):
                        return False, needed
    return True, needed


def _working_from(
    framework: Framework, history: Sequence[QuarterStatus], w: int
) -> list[tuple[str, bool, int]]:
    """Route (b) alternatives starting at history[w]: (alternative id, passed so far, quarters)."""
    found = []
    for alternative in framework.alternatives:
        for person in sorted(history[w].started.get(alternative.id, frozenset())):
            ok = all(
                person not in history[k].flagged.get(code, frozenset())
                for k in range(w + 1, min(w + alternative.quarters + 1, len(history)))
                for code in alternative.without
            )
            found.append((alternative.id, ok, alternative.quarters))
    return found


def assess(
    framework: Framework,
    identified: Quarter,
    problems: Sequence[str],
    members: Mapping[str, frozenset[str]],
    history: Sequence[QuarterStatus],
) -> Assessment:
    """The family's outcome from its quarters after `identified` (see the module doc).

    `problems` are the problems it was identified with; `members[p]` the members who had p then
    (value conditions, like attendance, apply to them).
    """
    after = consecutive(identified, history)
    candidates: list[tuple[int, int, str]] = []  # (sustained index, start index, route)
    under_way: list[tuple[int, str, int]] = []  # (start index, route, sustained index)
    last = len(after) - 1
    for r in range(len(after)):
        if problems:
            ok, needed = _cleared_from(framework, problems, members, after, r)
            if ok and r + needed - 1 <= last:
                candidates.append((r + needed - 1, r, PROBLEMS_CLEARED))
            elif ok:
                under_way.append((r, PROBLEMS_CLEARED, r + needed - 1))
        for alternative_id, ok, quarters in _working_from(framework, after, r):
            if ok and r + quarters <= last:
                candidates.append((r + quarters, r, alternative_id))
            elif ok:
                under_way.append((r, alternative_id, r + quarters))
    if candidates:
        # Earliest date; on a tie the cleared problems route, as the reference reads it.
        done, start, route = min(candidates, key=lambda c: (c[0], c[2] != PROBLEMS_CLEARED))
        return Assessment(sustained=after[done].quarter, achieved=after[start].quarter, route=route)
    if under_way:
        start, route, until = min(under_way)
        return Assessment(
            under_way=after[start].quarter,
            under_way_route=route,
            sustain_until=identified + (until + 1),
        )
    return Assessment()
