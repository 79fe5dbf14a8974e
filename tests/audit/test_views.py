"""The public pages: key and checkpoints as HTML, JSON and a signed note; nothing personal."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.template.response import TemplateResponse
from django.test import Client, RequestFactory

from kinfold.audit import checkpoints, merkle, views

from .conftest import FAMILY, PERSON, FillLog

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_checkpoints(fill_log: FillLog, checkpoint: Callable[[], int]) -> tuple[int, int]:
    fill_log(6)
    first = checkpoint()
    fill_log(9, start=6)
    return first, checkpoint()


def test_the_public_page_shows_key_and_checkpoints(two_checkpoints: tuple[int, int]) -> None:
    response = views.public_log(RequestFactory().get("/transparency/audit-log/"))
    assert isinstance(response, TemplateResponse)
    assert response.status_code == 200
    assert response.template_name == "audit/public_log.html"
    context = response.context_data
    assert context is not None
    assert [row.number for row in context["rows"]] == [2, 1]
    assert [row.tree_size for row in context["rows"]] == [two_checkpoints[1], two_checkpoints[0]]
    assert context["log"]["public_key"] == base64.b64encode(checkpoints.public_key()).decode()
    assert context["latest_note"].startswith(f"kinfold.local/audit-log\n{two_checkpoints[1]}\n")


def test_the_public_page_renders_without_sign_in(two_checkpoints: tuple[int, int]) -> None:
    response = Client().get("/transparency/audit-log/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Latest checkpoints" in html
    assert checkpoints.verifier_key() in html
    for personal in (FAMILY, PERSON, "kw.amara", "key-work"):
        assert personal not in html


def test_checkpoints_json_is_signed_and_paginated(two_checkpoints: tuple[int, int]) -> None:
    data = Client().get("/transparency/audit-log/checkpoints.json").json()
    assert [c["number"] for c in data["checkpoints"]] == [2, 1]
    assert data["next_before"] is None
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(data["public_key"]))
    for cp in data["checkpoints"]:
        key.verify(base64.b64decode(cp["signature"]), cp["body"].encode())
    page = Client().get("/transparency/audit-log/checkpoints.json?limit=1").json()
    assert [c["number"] for c in page["checkpoints"]] == [2]
    older = Client().get(
        f"/transparency/audit-log/checkpoints.json?limit=1&before={page['next_before']}"
    )
    assert [c["number"] for c in older.json()["checkpoints"]] == [1]
    assert Client().get("/transparency/audit-log/checkpoints.json?limit=x").status_code == 400
    body = str(data)
    assert FAMILY not in body
    assert "kw.amara" not in body


def test_the_latest_checkpoint_as_a_signed_note(two_checkpoints: tuple[int, int]) -> None:
    response = Client().get("/transparency/audit-log/checkpoint.txt")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert text.split("\n")[1] == str(two_checkpoints[1])
    assert "\n\n\u2014 kinfold.local/audit-log " in text


def test_no_checkpoint_yet(db: None) -> None:
    assert Client().get("/transparency/audit-log/checkpoint.txt").status_code == 404
    assert Client().get("/transparency/audit-log/consistency.json?from=1").status_code == 400
    assert Client().get("/transparency/audit-log/checkpoints.json").json()["checkpoints"] == []


def test_public_consistency_proofs(two_checkpoints: tuple[int, int]) -> None:
    first, second = two_checkpoints
    data = Client().get(f"/transparency/audit-log/consistency.json?from={first}").json()
    merkle.verify_consistency(
        first,
        second,
        base64.b64decode(data["from"]["root_hash"]),
        base64.b64decode(data["to"]["root_hash"]),
        [base64.b64decode(h) for h in data["proof"]],
    )
    beyond = Client().get(f"/transparency/audit-log/consistency.json?from=1&to={second + 1}")
    assert beyond.status_code == 400
    assert Client().get("/transparency/audit-log/consistency.json?from=-1").status_code == 400
