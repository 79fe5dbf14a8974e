"""The hub's keys: where they come from and how a new set is made.

kinfold holds four secrets at the hub (the partners' linkage secret is *not* one of them):

- ``secret_key``: Django's signing key (sessions, CSRF, password-reset tokens);
- ``vault_master_key``: wraps the per-person and per-family data keys (AES-256-GCM envelope encryption);
- ``blind_index_key``: HMAC key for the blind indexes that allow exact look-ups in the vault;
- ``audit_signing_key``: Ed25519 seed that signs audit-log checkpoints.

In production they come from environment variables or from a key file named by ``KINFOLD_KEYS_FILE``
(JSON, base64 values, readable by the service account only). ``kinfold keys generate`` makes a file.
The demo makes one under its data folder on first run and reuses it; tests use fixed keys.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from kinfold.errors import ConfigError

_BYTE_KEYS = ("vault_master_key", "blind_index_key", "audit_signing_key")
_ENV = {
    "secret_key": "KINFOLD_SECRET_KEY",
    "vault_master_key": "KINFOLD_VAULT_MASTER_KEY",
    "blind_index_key": "KINFOLD_BLIND_INDEX_KEY",
    "audit_signing_key": "KINFOLD_AUDIT_SIGNING_KEY",
}


@dataclass(frozen=True)
class KeyRing:
    """The hub's secrets. Byte keys are 32 bytes each."""

    secret_key: str
    vault_master_key: bytes
    blind_index_key: bytes
    audit_signing_key: bytes

    @classmethod
    def generate(cls) -> KeyRing:
        """A fresh set of keys from the operating system's CSPRNG."""
        return cls(
            secret_key=secrets.token_urlsafe(50),
            vault_master_key=secrets.token_bytes(32),
            blind_index_key=secrets.token_bytes(32),
            audit_signing_key=secrets.token_bytes(32),
        )

    @classmethod
    def for_tests(cls) -> KeyRing:
        """Fixed, obviously-not-secret keys so test runs are repeatable."""
        return cls(
            secret_key="test-only-secret-key-not-for-production-use-0123456789",  # noqa: S106
            vault_master_key=bytes(range(32)),
            blind_index_key=bytes(range(32, 64)),
            audit_signing_key=bytes(range(64, 96)),
        )

    def to_json(self) -> str:
        data = {"secret_key": self.secret_key}
        for name in _BYTE_KEYS:
            data[name] = base64.b64encode(getattr(self, name)).decode()
        return json.dumps(data, indent=2) + "\n"

    @classmethod
    def from_mapping(cls, data: dict[str, str], source: str) -> KeyRing:
        """Build from strings (base64 for the byte keys), naming `source` in any error."""
        values: dict[str, object] = {}
        for name in ("secret_key", *_BYTE_KEYS):
            raw = data.get(name)
            if not raw:
                raise ConfigError(f"missing key '{name}'", file=source)
            values[name] = raw if name == "secret_key" else _decode_key(raw, name, source)
        return cls(**values)  # type: ignore[arg-type]

    def write(self, path: Path) -> None:
        """Write to `path` readable by the owner only; refuses to overwrite."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(self.to_json())


def _decode_key(raw: str, name: str, source: str) -> bytes:
    try:
        value = base64.b64decode(raw, validate=True)
    except ValueError as exc:
        raise ConfigError(f"key '{name}' is not valid base64", file=source) from exc
    if len(value) != 32:
        raise ConfigError(f"key '{name}' must be 32 bytes, not {len(value)}", file=source)
    return value


def load_file(path: Path) -> KeyRing:
    """Read a key file written by `KeyRing.write`."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise ConfigError("key file not found", file=path) from exc
    except (OSError, ValueError) as exc:
        raise ConfigError(f"key file unreadable: {exc}", file=path) from exc
    if not isinstance(data, dict):
        raise ConfigError("key file must hold a JSON object", file=path)
    return KeyRing.from_mapping(data, str(path))


def load_from_environment() -> KeyRing:
    """Keys for production: ``KINFOLD_KEYS_FILE`` or the four ``KINFOLD_*`` variables."""
    keys_file = os.environ.get("KINFOLD_KEYS_FILE")
    if keys_file:
        return load_file(Path(keys_file))
    missing = [env for env in _ENV.values() if not os.environ.get(env)]
    if missing:
        raise ConfigError(
            "kinfold needs its keys outside the demo and tests: set KINFOLD_KEYS_FILE "
            f"(made by `kinfold keys generate`) or {', '.join(missing)}; "
            "or run the demo with KINFOLD_ENV=demo"
        )
    return KeyRing.from_mapping({k: os.environ[v] for k, v in _ENV.items()}, "environment")


def load_or_create(path: Path) -> KeyRing:
    """The demo's keys: made once under its data folder, then reused."""
    if not path.exists():
        # another process may make it first: then we read theirs
        with contextlib.suppress(FileExistsError):
            KeyRing.generate().write(path)
    return load_file(path)
