"""The bundle: what a partner sends the hub for one extract and one quarter. Plain Python, no Django.

A bundle is one ZIP file (``<partner>.kfb``, members stored uncompressed) holding:

- ``manifest.json`` — format and version, partner, organisation, quarter, the source file's name,
  sha256 and row counts, the schema and agreement versions it was made under, the encoder's key id
  and settings fingerprint, what was quarantined (row, field, problem — never a value) and what the
  agreement made the partner drop (counts), and the sha256 of every other member;
- ``records.kfe`` — the linkage encodings of each accepted row's identity (``kinfold.linkage``'s
  encoded table, source = partner id, record id = the partner's record id);
- ``related.kfe`` — encodings of other people named on rows (a parent or carer), one per person
  named, with keys ``<quarter>/<record id>/<n>``;
- ``content.sealed`` — everything readable, sealed for the hub alone: one JSON object per accepted
  row (record id, row number, indicators, detail by category, the clear identity destined for the
  vault, and the related identities). Sealed to the hub's transport public key (X25519 with an
  ephemeral key, HKDF-SHA256, then AES-256-GCM in numbered chunks whose last is marked, so
  reordering, truncation or a byte changed anywhere is detected). Nobody but the hub opens it;
  the encodings outside it reveal nothing without the partners' linkage secret, which the hub
  never holds.

docs/ingest.md describes the format with an example.
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from kinfold.errors import InputError
from kinfold.linkage import EncodedTable

FORMAT: Final = "kinfold-bundle"
VERSION: Final = 1
SUFFIX: Final = ".kfb"
MANIFEST: Final = "manifest.json"
RECORDS: Final = "records.kfe"
RELATED: Final = "related.kfe"
CONTENT: Final = "content.sealed"
#: Plaintext bytes per sealed chunk: big enough to be fast, small enough to stream.
CHUNK_BYTES: Final = 1 << 20
_MAGIC: Final = b"KFBS\x01"
_INFO: Final = b"kinfold.ingest.bundle.v1"
_LENGTH = struct.Struct(">I")


class _Writable(Protocol):
    def write(self, data: bytes, /) -> int: ...


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


# -- the transport seal ---------------------------------------------------------------------------


def public_key_bytes(private_key: X25519PrivateKey) -> bytes:
    """The raw 32-byte public key partners seal bundles to."""
    return private_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )


def key_fingerprint(public_key: bytes) -> str:
    """A short public name for a transport key (to tell which key a bundle was sealed to)."""
    return hashlib.sha256(b"kinfold-transport-key\x00" + public_key).hexdigest()[:16]


def _stream_key(shared: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    kdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=ephemeral + recipient, info=_INFO)
    return kdf.derive(shared)


def _nonce(counter: int, final: bool) -> bytes:
    return counter.to_bytes(11, "big") + (b"\x01" if final else b"\x00")


class SealedWriter:
    """Writes JSON objects, one a line, sealed for the holder of ``recipient``'s private key."""

    def __init__(self, out: _Writable, recipient: bytes, associated_data: bytes) -> None:
        ephemeral = X25519PrivateKey.generate()
        ephemeral_public = public_key_bytes(ephemeral)
        shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient))
        self._aead = AESGCM(_stream_key(shared, ephemeral_public, recipient))
        self._out, self._ad = out, associated_data
        self._buffer = io.BytesIO()
        self._counter = 0
        self.lines = 0
        out.write(_MAGIC + ephemeral_public)

    def write(self, item: Mapping[str, Any]) -> None:
        """Add one object."""
        self._buffer.write(json.dumps(item, separators=(",", ":"), ensure_ascii=False).encode())
        self._buffer.write(b"\n")
        self.lines += 1
        if self._buffer.tell() >= CHUNK_BYTES:
            self._flush(final=False)

    def close(self) -> None:
        """Seal what is left as the final chunk (always written, so truncation shows)."""
        self._flush(final=True)

    def _flush(self, *, final: bool) -> None:
        plain = self._buffer.getvalue()
        self._buffer = io.BytesIO()
        sealed = self._aead.encrypt(_nonce(self._counter, final), plain, self._ad)
        self._out.write(_LENGTH.pack(len(sealed)) + sealed)
        self._counter += 1


def read_sealed(
    source: _Readable, private_key: X25519PrivateKey, associated_data: bytes, where: str
) -> Iterator[dict[str, Any]]:
    """The objects a :class:`SealedWriter` wrote; InputError if anything was changed or cut."""
    head = source.read(len(_MAGIC) + 32)
    if len(head) != len(_MAGIC) + 32 or not head.startswith(_MAGIC):
        raise InputError("its sealed content is not a kinfold sealed stream", file=where)
    ephemeral = head[len(_MAGIC) :]
    shared = private_key.exchange(X25519PublicKey.from_public_bytes(ephemeral))
    aead = AESGCM(_stream_key(shared, ephemeral, public_key_bytes(private_key)))
    counter = 0
    pending = _read_chunk(source, where)
    while pending is not None:
        following = _read_chunk(source, where)
        final = following is None
        try:
            plain = aead.decrypt(_nonce(counter, final), pending, associated_data)
        except InvalidTag:
            raise InputError(
                "its sealed content does not open: it was changed, cut short, or sealed to "
                "another hub's key",
                file=where,
            ) from None
        for line in plain.splitlines():
            yield json.loads(line)
        counter += 1
        pending = following
    if counter == 0:
        raise InputError("its sealed content is empty", file=where)


def _read_chunk(source: _Readable, where: str) -> bytes | None:
    size = source.read(_LENGTH.size)
    if not size:
        return None
    if len(size) != _LENGTH.size:
        raise InputError("its sealed content is cut short", file=where)
    (length,) = _LENGTH.unpack(size)
    data = source.read(length)
    if len(data) != length:
        raise InputError("its sealed content is cut short", file=where)
    return data


def content_associated_data(partner: str, quarter: str, source_sha256: str) -> bytes:
    """What the sealed content is bound to: it opens only as this partner's file for this quarter."""
    return f"{FORMAT}/v{VERSION}|{partner}|{quarter}|{source_sha256}".encode()


# -- writing and reading the ZIP ------------------------------------------------------------------


def sha256_file(path: str | Path) -> str:
    """The sha256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


class BundleWriter:
    """Writes one bundle: content first (streamed), then the encodings and the manifest.

    Written under a temporary name and renamed at the end, so a bundle that exists is complete.
    """

    def __init__(
        self, path: Path, *, recipient: bytes, partner: str, quarter: str, source_sha256: str
    ) -> None:
        self.path = path
        self._partial = path.with_name(f".{path.name}.partial")
        self._zip = zipfile.ZipFile(self._partial, "w", compression=zipfile.ZIP_STORED)
        self._digests: dict[str, str] = {}
        self._content = _HashingWriter(self._zip.open(CONTENT, "w", force_zip64=True))
        self.content = SealedWriter(
            self._content, recipient, content_associated_data(partner, quarter, source_sha256)
        )

    def finish(
        self, records: EncodedTable, related: EncodedTable, manifest: dict[str, Any]
    ) -> None:
        """Close the content, add the encodings and the manifest, and put the file in place."""
        self.content.close()
        self._content.close()
        self._digests[CONTENT] = self._content.hexdigest()
        for name, table in ((RECORDS, records), (RELATED, related)):
            data = table.to_bytes()
            self._zip.writestr(name, data)
            self._digests[name] = hashlib.sha256(data).hexdigest()
        manifest = {"format": FORMAT, "version": VERSION, **manifest, "members": self._digests}
        self._zip.writestr(MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
        self._zip.close()
        self._partial.replace(self.path)

    def abandon(self) -> None:
        """Remove the partial file after a failure."""
        try:
            self._content.close()
            self._zip.close()
        finally:
            self._partial.unlink(missing_ok=True)


class _HashingWriter(io.RawIOBase):
    def __init__(self, target: IO[bytes]) -> None:
        self._target = target
        self._hash = hashlib.sha256()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = bytes(data)
        self._hash.update(view)
        self._target.write(view)
        return len(view)

    def close(self) -> None:
        if not self.closed:
            self._target.close()
        super().close()

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


@dataclass
class BundleFile:
    """An opened bundle: its manifest and encodings (content is streamed on demand)."""

    path: Path
    manifest: dict[str, Any]
    records: EncodedTable
    related: EncodedTable

    @property
    def partner(self) -> str:
        return str(self.manifest["partner"])

    @property
    def quarter(self) -> str:
        return str(self.manifest["quarter"])

    @property
    def source_sha256(self) -> str:
        return str(self.manifest["source"]["sha256"])

    def content(self, private_key: X25519PrivateKey) -> Iterator[dict[str, Any]]:
        """The sealed rows, opened with the hub's transport key; checked against the manifest."""
        where = str(self.path)
        ad = content_associated_data(self.partner, self.quarter, self.source_sha256)
        digest = hashlib.sha256()
        with zipfile.ZipFile(self.path) as archive, archive.open(CONTENT) as raw:
            hashing = _HashingReader(raw, digest)
            yield from read_sealed(hashing, private_key, ad, where)
            if hashing.read(1):
                raise InputError("its sealed content has bytes after the end", file=where)
        if digest.hexdigest() != self.manifest["members"].get(CONTENT):
            raise InputError(f"its {CONTENT} does not match the manifest's sha256", file=where)

    @classmethod
    def open(cls, path: str | Path) -> BundleFile:
        """Read a bundle's manifest and encodings; InputError naming the file if it is not one."""
        path = Path(path)
        if not path.is_file():
            raise InputError("file not found", file=path)
        try:
            with zipfile.ZipFile(path) as archive:
                manifest = json.loads(archive.read(MANIFEST))
                _check_manifest(manifest, path)
                tables = {}
                for name in (RECORDS, RELATED):
                    data = archive.read(name)
                    if hashlib.sha256(data).hexdigest() != manifest["members"].get(name):
                        raise InputError(
                            f"its {name} does not match the manifest's sha256", file=path
                        )
                    tables[name] = EncodedTable.from_bytes(data, f"{path}:{name}")
                if CONTENT not in archive.namelist():
                    raise InputError(f"has no {CONTENT}", file=path)
        except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"is not a kinfold bundle ({exc})", file=path) from None
        return cls(path, manifest, tables[RECORDS], tables[RELATED])


class _HashingReader:
    def __init__(self, source: IO[bytes], digest: Any) -> None:
        self._source, self._digest = source, digest

    def read(self, size: int = -1) -> bytes:
        data = self._source.read(size)
        self._digest.update(data)
        return data


_REQUIRED: Final = ("partner", "organisation", "quarter", "source", "members", "counts")


def _check_manifest(manifest: Any, path: Path) -> None:
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise InputError(f"is not a {FORMAT}", file=path)
    if manifest.get("version") != VERSION:
        raise InputError(
            f"is a {FORMAT} of version {manifest.get('version')}; this kinfold reads version "
            f"{VERSION}",
            file=path,
        )
    for key in _REQUIRED:
        if key not in manifest:
            raise InputError(f"its manifest has no '{key}'", file=path, field=key)
    if not isinstance(manifest["source"], dict) or "sha256" not in manifest["source"]:
        raise InputError("its manifest does not give the source file's sha256", file=path)
