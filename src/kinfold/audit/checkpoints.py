"""Signed checkpoints: the log's size and root hash at a time, signed with the hub's Ed25519 key.

The signed bytes (the *body*) follow the C2SP tlog-checkpoint layout, with the time as an
extension line, so that existing transparency-log tooling can read them::

    <origin>\\n<tree size>\\n<root hash, base64>\\ntime <YYYY-MM-DDTHH:MM:SSZ>\\n

The signature is Ed25519 over exactly those bytes. `note_text` adds the signed-note signature
line (``— <origin> base64(key id ‖ signature)``) that Go's `note` package and witnesses verify.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from kinfold.audit import services
from kinfold.audit.actors import Actor
from kinfold.audit.events import Event
from kinfold.audit.models import Checkpoint

DEFAULT_ORIGIN = "kinfold.local/audit-log"
_ED25519_NOTE_ALGORITHM = b"\x01"


def origin() -> str:
    """The log's name in its checkpoints (setting ``KINFOLD_AUDIT_ORIGIN``, e.g. the council's
    host and path); it must never change once checkpoints are published."""
    value = getattr(settings, "KINFOLD_AUDIT_ORIGIN", "") or DEFAULT_ORIGIN
    return str(value)


def _private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(settings.KEYS.audit_signing_key)


def public_key() -> bytes:
    """The hub's audit-signing public key, 32 raw bytes."""
    return _private_key().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def public_key_pem() -> str:
    return (
        _private_key()
        .public_key()
        .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def key_id(name: str, key: bytes) -> bytes:
    """The signed-note key id: the first 4 bytes of SHA-256(name ‖ \\n ‖ 0x01 ‖ public key)."""
    return hashlib.sha256(name.encode() + b"\n" + _ED25519_NOTE_ALGORITHM + key).digest()[:4]


def verifier_key(name: str | None = None, key: bytes | None = None) -> str:
    """The signed-note verifier key string: ``<name>+<key id hex>+<base64(0x01 ‖ key)>``."""
    name = name or origin()
    key = key or public_key()
    encoded = base64.b64encode(_ED25519_NOTE_ALGORITHM + key).decode()
    return f"{name}+{key_id(name, key).hex()}+{encoded}"


def body(log_origin: str, tree_size: int, root_hash: bytes, signed_at: datetime) -> bytes:
    """The exact bytes a checkpoint's signature covers."""
    when = signed_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    root = base64.b64encode(root_hash).decode()
    return f"{log_origin}\n{tree_size}\n{root}\ntime {when}\n".encode()


def body_of(checkpoint: Checkpoint) -> bytes:
    return body(
        checkpoint.origin,
        int(checkpoint.tree_size),
        bytes(checkpoint.root_hash),
        checkpoint.signed_at,
    )


def note_text(checkpoint: Checkpoint) -> str:
    """The checkpoint as a signed note (body, blank line, signature line)."""
    key = bytes(checkpoint.public_key)
    signature = key_id(checkpoint.origin, key) + bytes(checkpoint.signature)
    line = f"\u2014 {checkpoint.origin} {base64.b64encode(signature).decode()}\n"
    return body_of(checkpoint).decode() + "\n" + line


def signature_valid(checkpoint: Checkpoint, trusted_keys: list[bytes]) -> bool:
    """True if the checkpoint's signature is good and made by one of `trusted_keys`."""
    key = bytes(checkpoint.public_key)
    if key not in trusted_keys:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(key).verify(
            bytes(checkpoint.signature), body_of(checkpoint)
        )
    except (InvalidSignature, ValueError):
        return False
    return True


def latest() -> Checkpoint | None:
    """The newest checkpoint, if any."""
    return Checkpoint.objects.order_by("-number").first()


@dataclass(frozen=True)
class CheckpointResult:
    checkpoint: Checkpoint
    created: bool


def make_checkpoint(actor: Actor, *, always: bool = False) -> CheckpointResult:
    """Sign the log as it is now and store the checkpoint.

    The checkpoint first records an ``audit:checkpoint`` entry and then covers it, so every
    checkpoint is itself in the log. When nothing has been recorded since the latest checkpoint
    that one is returned unchanged (``created`` false), unless `always`, so a frequent schedule
    adds nothing to a quiet log.
    """
    with transaction.atomic():
        services.lock_log()
        previous = latest()
        if previous is not None and not always and previous.tree_size == services.log_size():
            return CheckpointResult(previous, created=False)
        number = 1 if previous is None else int(previous.number) + 1
        new = services.NewEntry(
            actor, Event.AUDIT_CHECKPOINT, resource="audit-log", details={"checkpoint": number}
        )
        _rows, frontier = services.append_entries([new], durable=False)
        signed_at = timezone.now().replace(microsecond=0)
        log_origin = origin()
        root_hash = frontier.root()
        signature = _private_key().sign(body(log_origin, frontier.size, root_hash, signed_at))
        checkpoint = Checkpoint(
            number=number,
            tree_size=frontier.size,
            root_hash=root_hash,
            signed_at=signed_at,
            origin=log_origin,
            public_key=public_key(),
            signature=signature,
        )
        checkpoint.save()
    return CheckpointResult(checkpoint, created=True)


def as_json(checkpoint: Checkpoint) -> dict[str, Any]:
    """The published form of a checkpoint (base64 for binary values)."""
    return {
        "number": int(checkpoint.number),
        "origin": checkpoint.origin,
        "tree_size": int(checkpoint.tree_size),
        "root_hash": base64.b64encode(bytes(checkpoint.root_hash)).decode(),
        "timestamp": checkpoint.signed_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "public_key": base64.b64encode(bytes(checkpoint.public_key)).decode(),
        "body": body_of(checkpoint).decode(),
        "signature": base64.b64encode(bytes(checkpoint.signature)).decode(),
        "note": note_text(checkpoint),
    }
