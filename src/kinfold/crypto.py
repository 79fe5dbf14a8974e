"""Envelope encryption and blind indexes for the identity vault and sealed details. No Django.

Every person (and every family) has its own data key; the data key is stored only wrapped by the
hub's master key. Destroying a data key makes everything encrypted under it unreadable for good —
including in backups taken earlier, once the wrapped key is gone from the live database and the
backups age out (the crypto-shredding used by `kinfold retention run`).

- Data encryption: AES-256-GCM, 96-bit random nonce, associated data binding the ciphertext to its
  owner and purpose, so a ciphertext copied onto another row does not decrypt.
- Key wrapping: AES-256-GCM under the master key, associated data = the data key's id.
- Blind index: HMAC-SHA256 under a separate key over a normalised value, for exact look-ups without a
  plaintext index.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import unicodedata
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12
KEY_BYTES = 32


class DecryptionError(Exception):
    """A ciphertext could not be opened: wrong key, wrong owner, tampered, or its key destroyed."""


@dataclass(frozen=True)
class Sealed:
    """A ciphertext with its nonce (GCM tag included in `ciphertext`)."""

    nonce: bytes
    ciphertext: bytes

    def to_bytes(self) -> bytes:
        return self.nonce + self.ciphertext

    @classmethod
    def from_bytes(cls, blob: bytes) -> Sealed:
        if len(blob) < NONCE_BYTES + 16:
            raise DecryptionError("ciphertext too short")
        return cls(blob[:NONCE_BYTES], blob[NONCE_BYTES:])


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def seal(key: bytes, plaintext: bytes, associated_data: bytes) -> Sealed:
    """Encrypt `plaintext` under `key`, bound to `associated_data`."""
    nonce = os.urandom(NONCE_BYTES)
    return Sealed(nonce, AESGCM(key).encrypt(nonce, plaintext, associated_data))


def open_sealed(key: bytes, sealed: Sealed, associated_data: bytes) -> bytes:
    """Decrypt, raising DecryptionError if anything does not match."""
    try:
        return AESGCM(key).decrypt(sealed.nonce, sealed.ciphertext, associated_data)
    except InvalidTag as exc:
        raise DecryptionError("ciphertext does not open with this key and owner") from exc


def wrap_key(master_key: bytes, data_key: bytes, key_id: str) -> bytes:
    """The data key encrypted under the master key, bound to its id."""
    return seal(master_key, data_key, b"kinfold-data-key:" + key_id.encode()).to_bytes()


def unwrap_key(master_key: bytes, wrapped: bytes, key_id: str) -> bytes:
    return open_sealed(
        master_key, Sealed.from_bytes(wrapped), b"kinfold-data-key:" + key_id.encode()
    )


def normalise_for_index(value: str) -> str:
    """Case-, accent- and space-insensitive form used before blind-indexing."""
    decomposed = unicodedata.normalize("NFKD", value)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.casefold().split())


def blind_index(key: bytes, field: str, value: str) -> str:
    """HMAC-SHA256 of the normalised value, domain-separated by field; hex, for exact look-ups."""
    message = field.encode() + b"\x00" + normalise_for_index(value).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()
