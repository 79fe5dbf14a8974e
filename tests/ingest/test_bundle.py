"""The bundle a partner sends: sealed to the hub alone, and any change to it is caught."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from kinfold.agreements.documents import load_register
from kinfold.errors import InputError
from kinfold.ingest import bundle, partner
from kinfold.ingest.schema import load_schema
from kinfold.linkage import new_secret
from tests.ingest.conftest import FIRST
from tests.test_plain_libraries import BLOCK_DJANGO

ROOT = Path(__file__).resolve().parents[2]
AD = b"kinfold-bundle/v1|police|2016Q1|abc"


def seal(items: list[dict[str, object]], key: X25519PrivateKey) -> bytes:
    out = io.BytesIO()
    writer = bundle.SealedWriter(out, bundle.public_key_bytes(key), AD)
    for item in items:
        writer.write(item)
    writer.close()
    return out.getvalue()


def test_sealed_content_opens_with_the_hubs_key_only() -> None:
    hub, other = X25519PrivateKey.generate(), X25519PrivateKey.generate()
    sealed = seal([{"r": "A1", "id": {"surname": "Example"}}], hub)
    assert list(bundle.read_sealed(io.BytesIO(sealed), hub, AD, "x")) == [
        {"r": "A1", "id": {"surname": "Example"}}
    ]
    assert b"Example" not in sealed
    with pytest.raises(InputError, match="does not open"):
        list(bundle.read_sealed(io.BytesIO(sealed), other, AD, "x"))
    with pytest.raises(InputError, match="does not open"):
        list(bundle.read_sealed(io.BytesIO(sealed), hub, AD.replace(b"police", b"health"), "x"))


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bundle, "CHUNK_BYTES", 64)


ITEMS = [{"r": f"R{i}", "n": i + 2} for i in range(40)]


@pytest.mark.usefixtures("small_chunks")
def test_a_sealed_stream_cut_short_or_reordered_does_not_open() -> None:
    hub = X25519PrivateKey.generate()
    sealed = seal(ITEMS, hub)
    assert list(bundle.read_sealed(io.BytesIO(sealed), hub, AD, "x")) == ITEMS
    chunks = _chunks(sealed)
    assert len(chunks) > 3
    head = sealed[:37]
    for changed in (chunks[:-1], [chunks[1], chunks[0], *chunks[2:]], chunks[1:]):
        with pytest.raises(InputError):
            list(bundle.read_sealed(io.BytesIO(head + b"".join(changed)), hub, AD, "x"))


def _chunks(sealed: bytes) -> list[bytes]:
    found, at = [], 37
    while at < len(sealed):
        size = int.from_bytes(sealed[at : at + 4], "big")
        found.append(sealed[at : at + 4 + size])
        at += 4 + size
    return found


@settings(max_examples=25, deadline=None)
@given(
    position=st.integers(min_value=0, max_value=10_000), bit=st.integers(min_value=0, max_value=7)
)
def test_any_bit_flipped_in_a_sealed_stream_is_caught(position: int, bit: int) -> None:
    hub = X25519PrivateKey.generate()
    sealed = bytearray(seal(ITEMS[:10], hub))
    sealed[position % len(sealed)] ^= 1 << bit
    with pytest.raises(InputError):
        list(bundle.read_sealed(io.BytesIO(bytes(sealed)), hub, AD, "x"))


@pytest.fixture
def dwp_bundle(borough: Path, tmp_path: Path) -> tuple[Path, X25519PrivateKey]:
    hub = X25519PrivateKey.generate()
    schema = load_schema(ROOT / "config" / "schemas" / "dwp.toml")
    register = load_register(ROOT / "agreements")
    out = tmp_path / "dwp.kfb"
    partner.encode_extract(
        borough / "extracts" / FIRST / "dwp.csv",
        schema,
        quarter=FIRST,
        secret=new_secret(),
        hub_key=bundle.public_key_bytes(hub),
        allowance=partner.allowance_from_register(register, schema.organisation),
        out=out,
    )
    return out, hub


def test_a_bundle_holds_encodings_a_manifest_and_content_for_the_hub(
    dwp_bundle: tuple[Path, X25519PrivateKey], borough: Path
) -> None:
    path, hub = dwp_bundle
    opened = bundle.BundleFile.open(path)
    manifest = opened.manifest
    assert manifest["partner"] == "dwp"
    assert manifest["quarter"] == FIRST
    assert manifest["source"]["sha256"] == bundle.sha256_file(
        borough / "extracts" / FIRST / "dwp.csv"
    )
    assert manifest["agreements"] == ["northfield-supporting-families@v2"]
    rows = list(opened.content(hub))
    assert len(rows) == len(opened.records) == manifest["counts"]["records"] > 0
    assert {r["r"] for r in rows} == set(opened.records.record_ids.tolist())
    assert all(code.startswith("dwp.") for r in rows for code, *_ in r["ind"])
    raw = path.read_bytes()
    assert rows[0]["id"]["surname"].encode() not in raw  # no clear identity outside the seal


def _rewrite(path: Path, member: str, change: object) -> None:
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members[member] = change(members[member])  # type: ignore[operator]
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


@pytest.mark.parametrize(
    ("member", "change", "message"),
    [
        ("records.kfe", lambda b: b[:-1] + bytes([b[-1] ^ 1]), "does not match the manifest"),
        ("content.sealed", lambda b: b[:-1] + bytes([b[-1] ^ 1]), "does not open"),
        ("content.sealed", lambda b: b[:40], "cut short"),
        ("manifest.json", lambda b: b.replace(b'"version": 1', b'"version": 9'), "version"),
        ("manifest.json", lambda b: b"[]", "is not a kinfold-bundle"),
    ],
    ids=["encodings changed", "content changed", "content cut", "newer format", "no manifest"],
)
def test_a_changed_bundle_is_refused(
    dwp_bundle: tuple[Path, X25519PrivateKey], member: str, change: object, message: str
) -> None:
    path, hub = dwp_bundle
    _rewrite(path, member, change)
    with pytest.raises(InputError, match=message) as caught:
        list(bundle.BundleFile.open(path).content(hub))
    assert caught.value.location.file is not None


def test_a_file_that_is_not_a_bundle_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "police.kfb"
    path.write_bytes(b"PK not really")
    with pytest.raises(InputError, match="not a kinfold bundle"):
        bundle.BundleFile.open(path)


def test_the_partner_side_runs_without_django() -> None:
    code = BLOCK_DJANGO + (
        "import kinfold.ingest.partner, kinfold.ingest.bundle, kinfold.ingest.evaluate\n"
        "import kinfold.ingest.cli, kinfold.ingest.linking\n"
        "import kinfold.ingest.report\n"
        "assert not any(m == 'django' or m.startswith('django.') for m in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
