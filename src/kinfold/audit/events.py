"""The one vocabulary of audit events: `thing:…:what-happened`, lower case, colon-separated.

Add members here (never elsewhere) when a part needs a new kind of entry; never rename or remove
one, because entries already in the log carry the old value forever. The family portal shows
`Event.label` beside each entry, so say what happened in words a family would use.
"""

from __future__ import annotations

from enum import StrEnum


class Event(StrEnum):
    """What an audit entry records. Values are stable: they are part of each entry's leaf hash."""

    # --- families and persons: every view of personal data, by whom, for what purpose
    FAMILY_LISTED = "family:listed"
    FAMILY_VIEWED = "family:viewed"
    FAMILY_FLAGS_VIEWED = "family:flags:viewed"
    FAMILY_CONTACT_VIEWED = "family:contact:viewed"
    FAMILY_CONTACT_RELEASED = "family:contact:released"
    FAMILY_IDENTIFIED = "family:identified"
    FAMILY_ASSIGNED = "family:assigned"
    FAMILY_UNASSIGNED = "family:unassigned"
    FAMILY_EXPORTED = "family:exported"
    PERSON_VIEWED = "person:viewed"
    PERSON_LINKED = "person:linked"
    PERSON_UNLINKED = "person:unlinked"
    PERSON_IDENTITY_RELEASED = "person:identity:released"
    RECORD_DETAIL_VIEWED = "record:detail:viewed"
    RECORD_DETAIL_WITHHELD = "record:detail:withheld"

    # --- consent and lawful overrides (a second person approves an override)
    FAMILY_CONSENT_GIVEN = "family:consent:given"
    FAMILY_CONSENT_WITHDRAWN = "family:consent:withdrawn"
    FAMILY_CONSENT_REFUSED = "family:consent:refused"
    FAMILY_CONSENT_EXPIRED = "family:consent:expired"
    OVERRIDE_PROPOSED = "override:proposed"
    OVERRIDE_APPROVED = "override:approved"
    OVERRIDE_REJECTED = "override:rejected"
    OVERRIDE_REVOKED = "override:revoked"
    OVERRIDE_EXPIRED = "override:expired"
    OVERRIDE_FAMILY_TOLD = "override:family-told"
    OVERRIDE_FAMILY_NOT_TOLD = "override:family-not-told"

    # --- the family's journey through the programme
    JOURNEY_IDENTIFIED = "family:journey:identified"
    JOURNEY_CONTACTED = "family:journey:contacted"
    JOURNEY_ENGAGED = "family:journey:engaged"
    JOURNEY_DECLINED = "family:journey:declined"
    JOURNEY_STEPPED_DOWN = "family:journey:stepped-down"
    JOURNEY_CLOSED = "family:journey:closed"
    JOURNEY_REOPENED = "family:journey:reopened"
    PLAN_AGREED = "family:plan:agreed"
    PLAN_UPDATED = "family:plan:updated"
    PROGRESS_RECORDED = "family:progress:recorded"
    OUTCOME_ACHIEVED = "family:outcome:achieved"
    JOURNEY_ALLOCATED = "family:journey:allocated"
    JOURNEY_CLAIMED = "family:journey:claimed"
    JOURNEY_STEPPED_UP = "family:journey:stepped-up"
    JOURNEY_MOVED_AWAY = "family:journey:moved-away"
    JOURNEY_NOT_SUITABLE = "family:journey:not-suitable"
    OUTCOME_SUSTAINED = "family:outcome:sustained"

    # --- referrals between partners
    REFERRAL_MADE = "referral:made"
    REFERRAL_VIEWED = "referral:viewed"
    REFERRAL_ACCEPTED = "referral:accepted"
    REFERRAL_DECLINED = "referral:declined"
    REFERRAL_CLOSED = "referral:closed"
    REFERRAL_REVOKED = "referral:revoked"

    # --- the policy decision point
    ACCESS_ALLOWED = "access:allowed"
    ACCESS_DENIED = "access:denied"

    # --- data-sharing agreements
    AGREEMENT_LOADED = "agreement:loaded"
    AGREEMENT_APPROVED = "agreement:approved"
    AGREEMENT_PUBLISHED = "agreement:published"
    AGREEMENT_RETIRED = "agreement:retired"
    AGREEMENT_REJECTED = "agreement:rejected"

    # --- the quarter's data flow
    EXTRACT_ENCODED = "quarter:extract:encoded"
    EXTRACT_QUARANTINED = "quarter:extract:quarantined"
    QUARTER_INGESTED = "quarter:ingested"
    QUARTER_LINKED = "quarter:linked"
    QUARTER_IDENTIFIED = "quarter:identified"
    CLAIM_PREPARED = "claim:prepared"
    CLAIM_SIGNED_OFF = "claim:signed-off"
    CLAIM_SUBMITTED = "claim:submitted"
    CLAIM_INVALID = "claim:invalid"
    CLAIM_VIEWED = "claim:viewed"
    CLAIM_SAMPLE_DRAWN = "claim:audit-sample:drawn"
    CLAIM_SPOT_CHECKED = "claim:spot-checked"
    CLAIMS_EXPORTED = "claim:exported"
    IDENTIFICATION_STARTED = "quarter:identification:started"
    IDENTIFICATION_FAILED = "quarter:identification:failed"
    IDENTIFICATION_FLAGS_READ = "quarter:identification:flags-read"
    RETURN_PREPARED = "evaluation:return:prepared"
    RETURN_SENT = "evaluation:return:sent"
    PUBLICATION_RELEASED = "publication:released"
    PUBLICATION_BLOCKED = "publication:blocked"

    # --- the family's rights
    SUBJECT_ACCESS_REQUESTED = "rights:subject-access:requested"
    SUBJECT_ACCESS_FULFILLED = "rights:subject-access:fulfilled"
    CORRECTION_REQUESTED = "rights:correction:requested"
    CORRECTION_MADE = "rights:correction:made"
    CORRECTION_REFUSED = "rights:correction:refused"
    OBJECTION_RECEIVED = "rights:objection:received"
    OBJECTION_UPHELD = "rights:objection:upheld"
    RETENTION_REVIEWED = "rights:retention:reviewed"
    ERASURE_SCHEDULED = "rights:erasure:scheduled"
    ERASURE_DONE = "rights:erasure:done"
    PORTAL_VIEWED = "family:portal:viewed"
    SUBJECT_ACCESS_EXTENDED = "rights:subject-access:extended"
    SUBJECT_ACCESS_EXPORTED = "rights:subject-access:exported"
    OBJECTION_REFUSED = "rights:objection:refused"
    ERASURE_HELD = "rights:erasure:held"
    KEY_EPOCH_ROTATED = "keys:epoch:rotated"
    OVERSIGHT_VIEWED = "audit:oversight:viewed"

    # --- staff and sign-in
    USER_SIGNED_IN = "user:signed-in"
    USER_SIGNED_OUT = "user:signed-out"
    USER_SIGN_IN_FAILED = "user:sign-in-failed"
    USER_CREATED = "user:created"
    USER_ROLE_CHANGED = "user:role:changed"
    USER_DEACTIVATED = "user:deactivated"
    FAMILY_MEMBER_SIGNED_IN = "family:portal:signed-in"
    FAMILY_MEMBER_SIGN_IN_FAILED = "family:portal:sign-in-failed"
    FAMILY_MEMBER_SIGNED_OUT = "family:portal:signed-out"
    PORTAL_CODE_SENT = "family:portal:code-sent"
    PORTAL_ACCOUNT_CREATED = "family:portal:account-created"
    PORTAL_ACCOUNT_CLOSED = "family:portal:account-closed"

    # --- the hub's keys and the audit log itself
    KEYS_ROTATED = "keys:rotated"
    AUDIT_VIEWED = "audit:viewed"
    AUDIT_EXPORTED = "audit:exported"
    AUDIT_CHECKPOINT = "audit:checkpoint"
    AUDIT_VERIFIED = "audit:verified"
    AUDIT_VERIFICATION_FAILED = "audit:verification-failed"

    @property
    def label(self) -> str:
        """The value in words: `family:consent:withdrawn` → `family consent withdrawn`."""
        return self.value.replace(":", " ").replace("-", " ")
