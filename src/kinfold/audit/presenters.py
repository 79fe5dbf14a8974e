"""Formatting checkpoints for the public page, so the template holds no logic."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC

from kinfold.audit.models import Checkpoint


@dataclass(frozen=True)
class CheckpointRow:
    number: int
    tree_size: int
    root_hash: str
    signed_at: str
    signed_at_iso: str


def checkpoint_row(checkpoint: Checkpoint) -> CheckpointRow:
    signed_at = checkpoint.signed_at.astimezone(UTC)
    return CheckpointRow(
        number=int(checkpoint.number),
        tree_size=int(checkpoint.tree_size),
        root_hash=base64.b64encode(bytes(checkpoint.root_hash)).decode(),
        signed_at=signed_at.strftime("%-d %B %Y, %H:%M:%S UTC"),
        signed_at_iso=signed_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
