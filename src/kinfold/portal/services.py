"""Portal accounts and signing in with a one-time code.

Staff (the person's key worker, or the DPO) register a portal contact for a person: an email
address or mobile number the vault already holds for them. To sign in, a family member types that
address; kinfold sends a six-digit code through the configured notifier. Codes are stored as keyed
hashes, work once, expire after ten minutes and allow five tries; codes per account and attempts
per IP address are rate-limited. The answer to "send me a code" is the same whether or not the
address is known, so the form cannot be used to find out who is in kinfold.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from kinfold import crypto
from kinfold.access import portal as access_portal
from kinfold.access.services import actor_for
from kinfold.audit import services as audit
from kinfold.audit.actors import Actor
from kinfold.audit.events import Event
from kinfold.errors import KinfoldError
from kinfold.portal import notifiers
from kinfold.portal.models import PortalAccount, SignInCode, SignInEvent
from kinfold.staff.models import User

logger = logging.getLogger(__name__)

CODE_MINUTES = 10
MAX_CODE_ATTEMPTS = 5
CODES_PER_ACCOUNT = 3  # in CODES_WINDOW
CODES_WINDOW = timedelta(minutes=15)
STARTS_PER_IP = 10  # in IP_WINDOW
CHECKS_PER_IP = 20
IP_WINDOW = timedelta(hours=1)


class SignInFailed(KinfoldError):
    """The code was wrong, used, expired or tried too often (one message for all of them)."""


class RateLimited(KinfoldError):
    """Too many attempts from this address; wait and try again."""


def _secret(purpose: str) -> bytes:
    return hashlib.sha256(f"kinfold-portal:{purpose}:{settings.SECRET_KEY}".encode()).digest()


def contact_kind(contact: str) -> str:
    return "email" if "@" in contact else "mobile"


def contact_digest(kind: str, contact: str) -> str:
    """The keyed digest an account is found by (raises KinfoldError for a malformed contact)."""
    canonical = access_portal.canonical_contact(kind, contact)
    return crypto.blind_index(settings.KEYS.blind_index_key, f"portal-{kind}", canonical)


def _ip_key(ip: str) -> str:
    return hmac.new(_secret("ip"), ip.encode(), hashlib.sha256).hexdigest()


def _code_hash(account_id: int, code: str) -> str:
    return hmac.new(_secret("code"), f"{account_id}:{code}".encode(), hashlib.sha256).hexdigest()


def _count(kind: str, key: str, window: timedelta) -> int:
    since = timezone.now() - window
    return SignInEvent.objects.filter(kind=kind, key=key, at__gte=since).count()


def _note(kind: str, key: str) -> None:
    SignInEvent.objects.create(kind=kind, key=key, at=timezone.now())


# ---------------------------------------------------------------------------- accounts


def register_account(user: User, pid: str, kind: str, contact: str) -> PortalAccount:
    """Give person `pid` a portal account signed into with `contact` (held in the vault for
    them). The person's key worker or the DPO may do it; audited. Replaces an earlier contact."""
    if kind not in PortalAccount.ContactKind.values:
        raise KinfoldError("choose email or mobile", field="contact_kind")
    person = access_portal.person_for_portal(user, pid, kind, contact)
    digest = contact_digest(kind, contact)
    other = PortalAccount.objects.filter(contact_digest=digest).exclude(person=person).first()
    if other is not None:
        raise KinfoldError(
            "that contact already signs in to another person's account", field="contact"
        )
    with transaction.atomic():
        account, _ = PortalAccount.objects.update_or_create(
            person=person,
            defaults={
                "contact_kind": kind,
                "contact_digest": digest,
                "created_by": user.username,
                "closed_at": None,
            },
        )
        audit.record(
            actor_for(user),
            Event.PORTAL_ACCOUNT_CREATED,
            resource=f"portal-account:{person.pid}",
            subjects=[person.pid],
            purpose=access_portal.PORTAL_PURPOSE,
            reason=f"portal sign-in by {kind}",
            basis="role:" + user.role,
        )
    return account


def close_account(user: User, pid: str) -> None:
    """Close a person's portal account (they can no longer sign in). Audited."""
    with transaction.atomic():
        closed = PortalAccount.objects.filter(person__pid=pid, closed_at__isnull=True).update(
            closed_at=timezone.now()
        )
        if closed:
            audit.record(
                actor_for(user),
                Event.PORTAL_ACCOUNT_CLOSED,
                resource=f"portal-account:{pid}",
                subjects=[pid],
                purpose=access_portal.PORTAL_PURPOSE,
            )


def _open_account(digest: str) -> PortalAccount | None:
    return (
        PortalAccount.objects.filter(contact_digest=digest, closed_at__isnull=True)
        .select_related("person")
        .first()
    )


# ---------------------------------------------------------------------------- signing in


@dataclass(frozen=True)
class Pending:
    """A sign-in under way: what to keep in the session between the two steps."""

    digest: str
    kind: str


def start_sign_in(contact: str, ip: str, notifier: notifiers.Notifier | None = None) -> Pending:
    """Send a code to `contact` if it belongs to an open account. Same answer either way.

    Raises KinfoldError for a malformed address and RateLimited when this IP address has asked
    too often; never says whether the address is known.
    """
    kind = contact_kind(contact)
    digest = contact_digest(kind, contact)
    ip_key = _ip_key(ip)
    if _count(SignInEvent.Kind.START, ip_key, IP_WINDOW) >= STARTS_PER_IP:
        raise RateLimited("too many codes asked for from here; wait an hour and try again")
    _note(SignInEvent.Kind.START, ip_key)
    account = _open_account(digest)
    if account is not None and _count(SignInEvent.Kind.START, digest, CODES_WINDOW) < (
        CODES_PER_ACCOUNT
    ):
        _note(SignInEvent.Kind.START, digest)
        _send_code(account, kind, access_portal.canonical_contact(kind, contact), notifier)
    return Pending(digest, kind)


def _send_code(
    account: PortalAccount, kind: str, to: str, notifier: notifiers.Notifier | None
) -> None:
    code = f"{secrets.randbelow(1_000_000):06d}"
    now = timezone.now()
    with transaction.atomic():
        # a new code replaces any earlier one still unused
        SignInCode.objects.filter(account=account, used_at__isnull=True).update(used_at=now)
        SignInCode.objects.create(
            account=account,
            code_hash=_code_hash(account.pk, code),
            created_at=now,
            expires_at=now + timedelta(minutes=CODE_MINUTES),
        )
        audit.record(
            Actor.family(account.person.pid),
            Event.PORTAL_CODE_SENT,
            resource=f"portal-account:{account.person.pid}",
            subjects=[account.person.pid],
            purpose=access_portal.PORTAL_PURPOSE,
            details={"channel": "email" if kind == "email" else "sms"},
        )
    message = notifiers.Message("email" if kind == "email" else "sms", to, code, CODE_MINUTES)
    try:
        (notifier or notifiers.configured()).send(message)
    except KinfoldError:
        # Delivery failed or the notifier is misconfigured: the family sees the same page either
        # way (an error only for known addresses would tell who has an account); operators see
        # the log.
        logger.exception("portal sign-in code not delivered")


def verify_code(pending: Pending, code: str, ip: str) -> access_portal.PortalUser:
    """Check the code for a pending sign-in; returns who is signed in, or raises SignInFailed."""
    ip_key = _ip_key(ip)
    if _count(SignInEvent.Kind.CHECK, ip_key, IP_WINDOW) >= CHECKS_PER_IP:
        raise RateLimited("too many codes tried from here; wait an hour and try again")
    _note(SignInEvent.Kind.CHECK, ip_key)
    failed = SignInFailed("the code is not right, or it has expired: ask for a new one")
    account = _open_account(pending.digest)
    code = "".join(c for c in code if c.isdigit())
    if account is None:
        raise failed
    now = timezone.now()
    latest = (
        SignInCode.objects.filter(account=account, used_at__isnull=True, expires_at__gt=now)
        .order_by("-created_at")
        .first()
    )
    if latest is None or latest.attempts >= MAX_CODE_ATTEMPTS:
        _record_failure(account, "no valid code")
        raise failed
    SignInCode.objects.filter(pk=latest.pk).update(attempts=latest.attempts + 1)
    if len(code) != 6 or not hmac.compare_digest(latest.code_hash, _code_hash(account.pk, code)):
        _record_failure(account, "wrong code")
        raise failed
    with transaction.atomic():
        used = SignInCode.objects.filter(pk=latest.pk, used_at__isnull=True).update(used_at=now)
        if not used:  # used by a concurrent request a moment ago
            raise failed
        PortalAccount.objects.filter(pk=account.pk).update(last_signed_in_at=now)
        audit.record(
            Actor.family(account.person.pid),
            Event.FAMILY_MEMBER_SIGNED_IN,
            resource=f"portal-account:{account.person.pid}",
            subjects=[account.person.pid],
            purpose=access_portal.PORTAL_PURPOSE,
            decision="allow",
        )
    return access_portal.PortalUser(account.person.pid)


def _record_failure(account: PortalAccount, reason: str) -> None:
    audit.record(
        Actor.family(account.person.pid),
        Event.FAMILY_MEMBER_SIGN_IN_FAILED,
        durable=not transaction.get_connection().in_atomic_block,
        resource=f"portal-account:{account.person.pid}",
        subjects=[account.person.pid],
        purpose=access_portal.PORTAL_PURPOSE,
        decision="deny",
        reason=reason,
    )


def account_open(pid: str) -> bool:
    """Whether `pid` still has an open account (checked on every portal request)."""
    return PortalAccount.objects.filter(person__pid=pid, closed_at__isnull=True).exists()


def signed_out(pid: str) -> None:
    audit.record(
        Actor.family(pid),
        Event.FAMILY_MEMBER_SIGNED_OUT,
        resource=f"portal-account:{pid}",
        subjects=[pid],
        purpose=access_portal.PORTAL_PURPOSE,
    )


# ---------------------------------------------------------------------------- the demo


@dataclass(frozen=True)
class DemoPortalAccount:
    pid: str
    fid: str
    email: str
    outbox: Path


def ensure_demo_account() -> DemoPortalAccount | None:
    """Give one allocated demo family's adult a portal account signed into by the email the
    vault holds for them, registered by their key worker; codes go to the file outbox.

    Returns what the demo should print, or None if no allocated family has an adult with an
    email address. Calling it again reuses the account.
    """
    found = access_portal.demo_candidate()
    if found is None:
        return None
    key_worker, pid, fid, email = found
    if not PortalAccount.objects.filter(person__pid=pid, closed_at__isnull=True).exists():
        register_account(key_worker, pid, "email", email)
    return DemoPortalAccount(pid, fid, email, Path(settings.KINFOLD_PORTAL_OUTBOX))


def latest_code_in_outbox(outbox: Path | None = None) -> str:
    """The code in the newest message in the file outbox (for the demo and the browser tests)."""
    folder = Path(outbox or settings.KINFOLD_PORTAL_OUTBOX)
    files = sorted(folder.glob("*.txt"))
    if not files:
        return ""
    text = files[-1].read_text()
    marker = "sign-in code is "
    start = text.find(marker)
    return text[start + len(marker) : start + len(marker) + 6] if start >= 0 else ""
