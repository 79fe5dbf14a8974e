"""How sign-in codes reach family members: a small interface with three backends.

- ``file`` (the demo): one text file per message in ``KINFOLD_PORTAL_OUTBOX`` (var/portal-outbox/);
- ``console``: printed on the server's standard output (development);
- ``notify``: an HTTP API modelled on GOV.UK Notify's (POST /v2/notifications/email or /sms with a
  template id and personalisation; the API key ``{name}-{service id}-{secret}`` signs a short-lived
  HS256 JWT, ``iss`` = service id, ``iat`` = now). Pointed at GOV.UK Notify, it works as is.

Setting ``KINFOLD_PORTAL_NOTIFIER`` chooses one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from django.conf import settings

from kinfold.errors import ConfigError, KinfoldError


@dataclass(frozen=True)
class Message:
    """A sign-in code to send: to an email address or a UK mobile number."""

    channel: str  # "email" | "sms"
    to: str
    code: str
    minutes: int

    @property
    def text(self) -> str:
        return (
            f"Your {settings.KINFOLD_SERVICE_NAME} sign-in code is {self.code}. "
            f"It works once, for {self.minutes} minutes. If you did not ask for it, ignore this "
            f"message. {settings.KINFOLD_COUNCIL_NAME} will never ask you for this code."
        )


class DeliveryFailed(KinfoldError):
    """The notifier could not hand the message over."""


class Notifier(Protocol):
    def send(self, message: Message) -> None: ...


class ConsoleNotifier:
    def send(self, message: Message) -> None:
        sys.stdout.write(f"[portal {message.channel} to {message.to}] {message.text}\n")


class FileNotifier:
    """Writes each message to its own file in the outbox folder (the demo's "inbox")."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = Path(folder or settings.KINFOLD_PORTAL_OUTBOX)

    def send(self, message: Message) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        path = self.folder / f"{stamp}-{secrets.token_hex(3)}.txt"
        path.write_text(f"To: {message.to}\nChannel: {message.channel}\n\n{message.text}\n")
        path.chmod(0o600)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def notify_token(api_key: str, now: int | None = None) -> str:
    """The bearer token for a Notify-style API key ``{name}-{service id}-{secret}`` (HS256 JWT)."""
    if len(api_key) < 74:
        raise ConfigError("KINFOLD_NOTIFY_API_KEY is not a Notify API key", field="api_key")
    service_id, secret = api_key[-73:-37], api_key[-36:]
    header = _b64url(json.dumps({"typ": "JWT", "alg": "HS256"}).encode())
    claims = _b64url(json.dumps({"iss": service_id, "iat": now or int(time.time())}).encode())
    signature = hmac.new(secret.encode(), f"{header}.{claims}".encode(), hashlib.sha256).digest()
    return f"{header}.{claims}.{_b64url(signature)}"


class NotifyNotifier:
    """GOV.UK Notify-style HTTP backend (base URL, API key and template ids from settings)."""

    TIMEOUT_SECONDS = 10

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        email_template: str | None = None,
        sms_template: str | None = None,
    ) -> None:
        self.base_url = (base_url or settings.KINFOLD_NOTIFY_BASE_URL).rstrip("/")
        self.api_key = api_key if api_key is not None else settings.KINFOLD_NOTIFY_API_KEY
        self.templates = {
            "email": email_template or settings.KINFOLD_NOTIFY_EMAIL_TEMPLATE,
            "sms": sms_template or settings.KINFOLD_NOTIFY_SMS_TEMPLATE,
        }

    def send(self, message: Message) -> None:
        template = self.templates[message.channel]
        if not template:
            raise ConfigError(f"no Notify template id for {message.channel} messages")
        body = {
            "template_id": template,
            "personalisation": {"code": message.code, "minutes": str(message.minutes)},
            "reference": "kinfold-portal-sign-in",
            ("email_address" if message.channel == "email" else "phone_number"): message.to,
        }
        request = urllib.request.Request(  # noqa: S310 - the URL is the operator's setting
            f"{self.base_url}/v2/notifications/{message.channel}",
            data=json.dumps(body).encode(),
            headers={
                "Authorization": f"Bearer {notify_token(self.api_key)}",
                "Content-Type": "application/json",
                "User-Agent": "kinfold-portal",
            },
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.TIMEOUT_SECONDS) as response:  # noqa: S310
                if response.status != 201:
                    raise DeliveryFailed(f"Notify answered {response.status}")
        except urllib.error.HTTPError as exc:
            raise DeliveryFailed(f"Notify refused the message ({exc.code})") from exc
        except (urllib.error.URLError, TimeoutError) as exc:
            raise DeliveryFailed(f"Notify could not be reached ({exc})") from exc


def configured() -> Notifier:
    """The notifier chosen by KINFOLD_PORTAL_NOTIFIER."""
    name = settings.KINFOLD_PORTAL_NOTIFIER
    if name == "file":
        return FileNotifier()
    if name == "console":
        return ConsoleNotifier()
    if name == "notify":
        return NotifyNotifier()
    raise ConfigError(
        f"KINFOLD_PORTAL_NOTIFIER must be file, console or notify, not {name!r}",
        field="KINFOLD_PORTAL_NOTIFIER",
    )
