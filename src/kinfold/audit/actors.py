"""Who did it: every audit entry names an actor, and an actor cannot be anonymous.

No dependency on the staff app: callers build an actor from whatever they hold, e.g.
``Actor(kind="user", id=user.username, role=user.role, organisation=user.organisation_slug)``.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

ActorKind = Literal["user", "system", "family"]
ACTOR_KINDS: tuple[ActorKind, ...] = ("user", "system", "family")
_LIMITS = {"id": 150, "role": 64, "organisation": 100, "run_id": 100}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class ActorError(ValueError):
    """An actor that cannot be recorded: empty, of an unknown kind, or a job without a run id."""


@dataclass(frozen=True)
class Actor:
    """A person (``user``), a family member through the portal (``family``, by pseudonymous id),
    or a named system job (``system``, with the id of the run that acted)."""

    kind: ActorKind
    id: str
    role: str = ""
    organisation: str = ""
    run_id: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ACTOR_KINDS:
            raise ActorError(
                f"actor kind must be one of {', '.join(ACTOR_KINDS)}, not {self.kind!r}"
            )
        if not isinstance(self.id, str) or not self.id.strip():
            raise ActorError("an audit entry needs an actor: the actor's id is empty")
        if self.kind == "system" and not self.run_id.strip():
            raise ActorError(f"system job {self.id!r} needs a run id")
        for name, limit in _LIMITS.items():
            value = getattr(self, name)
            if not isinstance(value, str):
                raise ActorError(f"actor {name} must be text")
            if len(value) > limit:
                raise ActorError(f"actor {name} is longer than {limit} characters")
            if _CONTROL.search(value) or value != value.strip():
                raise ActorError(f"actor {name} has control characters or surrounding spaces")

    @classmethod
    def system(cls, job: str, run_id: str) -> Actor:
        """A named system job, e.g. ``Actor.system("quarter-ingest", run_id)``."""
        return cls(kind="system", id=job, run_id=run_id)

    @classmethod
    def family(cls, pseudonymous_id: str) -> Actor:
        """A family member acting through the portal, named by pseudonymous id only."""
        return cls(kind="family", id=pseudonymous_id)

    def __str__(self) -> str:
        if self.kind == "system":
            return f"{self.id} (run {self.run_id})"
        extra = ", ".join(p for p in (self.role, self.organisation) if p)
        return f"{self.id} ({extra})" if extra else self.id


def new_run_id() -> str:
    """A run id for a system job: UTC time to the second and a random suffix, sortable."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)
