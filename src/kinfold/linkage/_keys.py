"""The linkage secret and the keys derived from it.

Partners to one agreement share a secret (at least 16 random bytes); the hub never holds it. Each
use gets its own key, derived with HMAC-SHA256 under a distinct label (domain separation), so a
filter key, a blocking key and a reference-number key never coincide. The secret's *key id* (a
keyed digest that reveals nothing about it) travels in encoded files so the hub can tell whether
two files were made with the same secret without ever seeing it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray

from kinfold.errors import ConfigError

MIN_SECRET_BYTES: Final = 16
_LABEL: Final = b"kinfold.linkage.v1/"


def new_secret() -> bytes:
    """A fresh random 32-byte linkage secret."""
    return secrets.token_bytes(32)


def read_secret(path: str | Path) -> bytes:
    """The secret in ``path`` (its bytes; a trailing newline of a text file is kept as written)."""
    path = Path(path)
    try:
        secret = path.read_bytes()
    except FileNotFoundError as exc:
        raise ConfigError("secret file not found", file=path) from exc
    except OSError as exc:
        raise ConfigError(f"cannot read the secret file: {exc.strerror}", file=path) from exc
    check_secret(secret, path)
    return secret


def check_secret(secret: bytes, where: str | Path | None = None) -> None:
    """Refuse a secret too short to resist guessing."""
    if len(secret) < MIN_SECRET_BYTES:
        raise ConfigError(
            f"the linkage secret must be at least {MIN_SECRET_BYTES} bytes; "
            f"this one is {len(secret)}",
            file=where,
        )


def derive(secret: bytes, purpose: str) -> bytes:
    """The key for one purpose (``field/surname``, ``blocking``, ``reference/nhs_number`` …)."""
    return hmac.digest(secret, _LABEL + purpose.encode(), "sha256")


def key_id(secret: bytes) -> str:
    """A public name for the secret: equal for equal secrets, useless for finding the secret."""
    return derive(secret, "key-id").hex()[:16]


def token64(key: bytes, text: str) -> int:
    """A keyed 64-bit token of ``text``, never 0 (0 means "missing" in encoded tables).

    Keyed BLAKE2b (RFC 7693's MAC mode, a pseudo-random function like HMAC) rather than
    HMAC-SHA256: a record has a dozen tokens and BLAKE2b makes them three times faster. The key is
    still derived from the secret with HMAC-SHA256 (:func:`derive`); Bloom filter bits use HMAC.
    """
    digest = hashlib.blake2b(text.encode(), key=key, digest_size=8).digest()
    return int.from_bytes(digest, "little") or 1


def tokens64(key: bytes, texts: list[str]) -> NDArray[np.uint64]:
    """:func:`token64` of each text at once ('' gives 0). Each distinct text is digested once,
    with the keyed state set up once and copied (the same digests, several times faster)."""
    keyed = hashlib.blake2b(key=key, digest_size=8).copy
    made: dict[str, bytes] = {"": _ZERO}
    digests = []
    for text in texts:
        digest = made.get(text)
        if digest is None:
            state = keyed()
            state.update(text.encode())
            digest = made[text] = state.digest()
        digests.append(digest)
    found = np.frombuffer(b"".join(digests), dtype="<u8").astype(np.uint64)
    zero = np.flatnonzero(found == 0)  # a digest of 0 (chance 2^-64) would read as missing
    found[[i for i in zero.tolist() if texts[i]]] = 1
    return found


_ZERO: Final = bytes(8)


def seed(key: bytes) -> int:
    """A 128-bit integer from a key, to seed a keyed permutation."""
    return int.from_bytes(hashlib.sha256(key).digest()[:16], "little")


def pseudonym(namespace: bytes, prefix: str, material: str, length: int = 13) -> str:
    """An opaque id such as ``P7Q2KX…``: a keyed digest of ``material`` in base32.

    Deterministic for the same namespace and material; unrelated across namespaces, so two councils'
    ids for the same person cannot be joined, and no id reveals when or in what order it was made.
    """
    digest = hmac.digest(namespace, f"{prefix}\x1f{material}".encode(), "sha256")
    return prefix + base64.b32encode(digest).decode().rstrip("=")[:length]
