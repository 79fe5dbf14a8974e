"""The notifiers: the file outbox, and the Notify-style HTTP backend against a local fake server."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from kinfold.errors import ConfigError
from kinfold.portal import notifiers

SERVICE_ID = "26785a09-ab16-4eb0-8407-a37497a57506"
SECRET = "3d844edf-8d35-48ac-975b-e847b4f122b0"
API_KEY = f"kinfold_test-{SERVICE_ID}-{SECRET}"


class FakeNotify(BaseHTTPRequestHandler):
    received: list[dict[str, object]] = []
    status = 201

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        FakeNotify.received.append(
            {"path": self.path, "auth": self.headers["Authorization"], "body": json.loads(body)}
        )
        self.send_response(FakeNotify.status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"id": "740e5834-3a29-46b4-9a6f-16142fde533a"}')

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def fake_notify() -> Iterator[str]:
    FakeNotify.received = []
    FakeNotify.status = 201
    server = HTTPServer(("127.0.0.1", 0), FakeNotify)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def test_notify_backend_posts_the_template_and_a_signed_token(fake_notify: str) -> None:
    notifier = notifiers.NotifyNotifier(
        fake_notify, API_KEY, "email-template-id", "sms-template-id"
    )
    notifier.send(notifiers.Message("email", "robin.example@example.org", "123456", 10))
    notifier.send(notifiers.Message("sms", "07700900123", "654321", 10))
    email, sms = FakeNotify.received
    assert email["path"] == "/v2/notifications/email"
    assert email["body"] == {
        "template_id": "email-template-id",
        "email_address": "robin.example@example.org",
        "personalisation": {"code": "123456", "minutes": "10"},
        "reference": "kinfold-portal-sign-in",
    }
    assert sms["path"] == "/v2/notifications/sms"
    assert sms["body"]["phone_number"] == "07700900123"  # type: ignore[index]
    token = str(email["auth"]).removeprefix("Bearer ")
    header, claims, signature = token.split(".")
    expected = hmac.new(SECRET.encode(), f"{header}.{claims}".encode(), hashlib.sha256).digest()
    assert _b64url_decode(signature) == expected
    assert json.loads(_b64url_decode(claims))["iss"] == SERVICE_ID
    assert json.loads(_b64url_decode(header))["alg"] == "HS256"


def test_a_refusal_from_notify_is_a_delivery_failure(fake_notify: str) -> None:
    FakeNotify.status = 400
    notifier = notifiers.NotifyNotifier(fake_notify, API_KEY, "t", "t")
    with pytest.raises(notifiers.DeliveryFailed, match="400"):
        notifier.send(notifiers.Message("email", "a@example.org", "123456", 10))


def test_an_unreachable_notify_is_a_delivery_failure() -> None:
    notifier = notifiers.NotifyNotifier("http://127.0.0.1:9", API_KEY, "t", "t")
    with pytest.raises(notifiers.DeliveryFailed, match="could not be reached"):
        notifier.send(notifiers.Message("email", "a@example.org", "123456", 10))


def test_a_malformed_api_key_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError):
        notifiers.notify_token("not-a-key")


def test_the_file_notifier_writes_one_private_file_per_message(tmp_path: Path) -> None:
    notifier = notifiers.FileNotifier(tmp_path)
    notifier.send(notifiers.Message("email", "a@example.org", "123456", 10))
    (written,) = tmp_path.glob("*.txt")
    assert "sign-in code is 123456" in written.read_text()
    assert written.stat().st_mode & 0o077 == 0


def test_the_setting_chooses_the_notifier(settings: object) -> None:
    settings.KINFOLD_PORTAL_NOTIFIER = "console"  # type: ignore[attr-defined]
    assert isinstance(notifiers.configured(), notifiers.ConsoleNotifier)
    settings.KINFOLD_PORTAL_NOTIFIER = "pigeon"  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="file, console or notify"):
        notifiers.configured()
