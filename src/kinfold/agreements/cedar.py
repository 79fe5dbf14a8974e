"""Compiling a data-sharing agreement into the Cedar policies that enforce it. No Django.

One `[[purposes.shares]]` block of an agreement becomes one Cedar `permit`: the recipient
organisation and roles become the principal's groups, the level becomes the action (flags or
details), the providers and categories become conditions on the resource, the purpose a condition
on the request's context, and `consent_required` / `override_required` conditions on the facts the
access point gathers (a valid consent, an approved and unexpired override). Nothing is permitted
that no policy names: Cedar denies by default.

Each policy carries `@id("<slug>@v<N>/<purpose>/<n>")`, so a decision can name the exact agreement
version and share that allowed it, and a plain-English comment saying what it permits. The same
text is stored on the agreement's row and published beside the agreement.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import cedarpy

from kinfold.agreements.documents import AgreementDoc, Register, ShareDoc
from kinfold.errors import ConfigError

#: Request vocabulary of kinfold's access decision point, as a Cedar schema. Principals are staff
#: known only by role and organisation (`key_worker@northfield-council`): that is all an
#: agreement speaks about; who they are is in the audit entry beside each decision.
SCHEMA = """\
namespace Kinfold {
  entity Role;
  entity Organisation;
  entity Purpose;
  entity Category;
  // a member of staff, as the policies see them: a role at an organisation
  entity Staff in [Role, Organisation];
  // one organisation's information in one data category (flags or the details behind them)
  entity Data = { provider: Organisation, category: Category };
  entity Family;
  entity Override;
  entity Referral;
  // the audit log, the list of families, the register of overrides, the referrals list
  entity Register;

  // the facts gathered for every request, from the database, just before the decision
  type Facts = {
    purpose: Purpose,       // what the person asking is doing this for
    assigned: Bool,         // they are the family's current key worker
    referred: Bool,         // an open referral sends this family's information to their organisation
    consent: Bool,          // a consent in force covers this person, purpose, partner and category
    override: Bool,         // an approved, unexpired override covers it
    own_proposal: Bool,     // they proposed the override they are deciding on
    contact_released: Bool, // the family's programme journey has reached "contacted"
  };

  action "family:list", "audit:view", "override:list", "referral:list"
    appliesTo { principal: Staff, resource: Register, context: Facts };
  action "family:view", "family:contact:view", "family:assign",
         "family:consent:view", "family:consent:record", "override:propose", "referral:send"
    appliesTo { principal: Staff, resource: Family, context: Facts };
  action "family:flags:view", "record:detail:view"
    appliesTo { principal: Staff, resource: Data, context: Facts };
  action "override:decide", "override:revoke"
    appliesTo { principal: Staff, resource: Override, context: Facts };
  action "referral:view", "referral:respond"
    appliesTo { principal: Staff, resource: Referral, context: Facts };
}
"""

SCHEMA_SHA256 = hashlib.sha256(SCHEMA.encode()).hexdigest()

#: The action each level of sharing permits.
LEVEL_ACTIONS = {"flags": "family:flags:view", "details": "record:detail:view"}

ROLE_WORDS = {
    "key_worker": "key workers",
    "team_manager": "team managers",
    "analyst": "programme analysts",
    "partner_practitioner": "practitioners",
    "dpo": "the data protection officer",
    "admin": "administrators",
}
_SLUG = re.compile(r"[a-z0-9][a-z0-9_-]*")


@dataclass(frozen=True)
class CompiledPolicy:
    """One share of an agreement as a Cedar policy, with what it says in words."""

    policy_id: str
    purpose: str
    level: str
    sentence: str
    text: str


@dataclass(frozen=True)
class CompiledAgreement:
    label: str  # slug@vN
    text: str  # the whole policy set, formatted
    sha256: str
    policies: tuple[CompiledPolicy, ...]


def entity(kind: str, slug: str) -> str:
    """A Cedar entity reference, e.g. `Kinfold::Category::"health"`."""
    if not _SLUG.fullmatch(slug):
        raise ConfigError(
            f"'{slug}' cannot be named in a policy (use lower-case letters, digits, -)"
        )
    return f'Kinfold::{kind}::"{slug}"'


def _names(slugs: tuple[str, ...], terms: dict[str, str]) -> str:
    names = [terms.get(s, s) for s in slugs]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def sentence(share: ShareDoc, register: Register) -> str:
    """What a share permits, in plain English (shown on the public page and in the policy)."""
    orgs = {k: v.name for k, v in register.organisations.items()}
    cats = {k: v.name.lower() for k, v in register.categories.items()}
    roles = _names(share.roles, ROLE_WORDS)
    what = (
        "flags (dated indicator codes, never the details) about"
        if share.level == "flags"
        else ("the details held about")
    )
    when = "under the agreement's lawful basis, without asking the family"
    if share.override_required:
        when = "only when a second person has approved a recorded override, until it expires"
    elif share.consent_required:
        when = "only with the person's consent (or an approved override)"
    purpose = register.purposes[share.purpose].name if share.purpose in register.purposes else ""
    return (
        f"For {purpose[:1].lower() + purpose[1:]}: {roles} at {orgs.get(share.recipient)} may see "
        f"{what} {_names(share.categories, cats)} from {_names(share.providers, orgs)}, {when}."
    )


def compile_share(label: str, number: int, share: ShareDoc, register: Register) -> CompiledPolicy:
    """One share block as one Cedar `permit` (unformatted; `compile_agreement` formats)."""
    policy_id = f"{label}/{share.purpose}/{number}"
    conditions = [
        f"principal in [{', '.join(entity('Role', r) for r in share.roles)}]",
        f"context.purpose == {entity('Purpose', share.purpose)}",
        f"resource.provider in [{', '.join(entity('Organisation', o) for o in share.providers)}]",
        f"resource.category in [{', '.join(entity('Category', c) for c in share.categories)}]",
    ]
    if share.override_required:
        conditions.append("context.override")
    elif share.consent_required:
        conditions.append("(context.consent || context.override)")
    words = sentence(share, register)
    text = (
        "".join(f"// {line}\n" for line in _wrap(words))
        + f'@id("{policy_id}")\n'
        + f"permit (principal in {entity('Organisation', share.recipient)}, "
        + f'action == Kinfold::Action::"{LEVEL_ACTIONS[share.level]}", resource is Kinfold::Data)\n'
        + "when { "
        + " && ".join(conditions)
        + " };\n"
    )
    return CompiledPolicy(policy_id, share.purpose, share.level, words, text)


def compile_agreement(doc: AgreementDoc, register: Register) -> CompiledAgreement:
    """The Cedar policy set that enforces `doc`, validated against `SCHEMA`.

    Raises ConfigError naming the agreement file if the generated policies do not validate (which
    would be a bug in this compiler, never something an agreement's author could cause).
    """
    label = f"{doc.slug}@v{doc.version}"
    compiled: list[CompiledPolicy] = []
    for purpose in doc.purposes:
        for number, share in enumerate(purpose.shares, start=1):
            policy = compile_share(label, number, share, register)
            compiled.append(
                CompiledPolicy(
                    policy.policy_id,
                    policy.purpose,
                    policy.level,
                    policy.sentence,
                    cedarpy.format_policies(policy.text, 100, 2).strip() + "\n",
                )
            )
    header = (
        f"// {doc.title}, version {doc.version}.\n"
        "// Generated by kinfold from the agreement file; this is the exact text enforced.\n"
        "// Anything no policy here permits is denied.\n"
    )
    text = header + "\n" + "\n".join(p.text for p in compiled)
    result = cedarpy.validate_policies(text, SCHEMA)
    if not result.validation_passed:
        problems = "; ".join(str(e) for e in result.errors)
        raise ConfigError(f"the generated policy does not validate: {problems}", file=doc.path)
    return CompiledAgreement(
        label=label,
        text=text,
        sha256=hashlib.sha256(text.encode()).hexdigest(),
        policies=tuple(compiled),
    )


def _wrap(words: str, width: int = 96) -> list[str]:
    lines: list[str] = []
    line = ""
    for word in words.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return [*lines, line] if line else lines
