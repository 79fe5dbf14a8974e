"""Proofs in the published JSON form (docs/audit-log.md), for the command line and the portal.

Binary values are standard base64. An inclusion proof carries the entry as the JSON object its
canonical bytes encode, so anyone can recompute the leaf hash, walk the path to the root, and
check that root against the signed checkpoint.
"""

from __future__ import annotations

import base64
from typing import Any

from kinfold.audit import checkpoints, merkle, services
from kinfold.audit.errors import AuditError
from kinfold.audit.models import Checkpoint

INCLUSION_FORMAT = "kinfold-audit-inclusion-proof/v1"
CONSISTENCY_FORMAT = "kinfold-audit-consistency-proof/v1"


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def inclusion_json(seq: int, checkpoint: Checkpoint | None = None) -> dict[str, Any]:
    """Entry `seq` with its inclusion proof against `checkpoint` (default: the latest)."""
    checkpoint = checkpoint or checkpoints.latest()
    if checkpoint is None:
        raise AuditError("no checkpoint has been signed yet; run `kinfold audit checkpoint`")
    entry = services.entry(seq)
    size = int(checkpoint.tree_size)
    if seq >= size:
        raise AuditError(
            f"entry {seq} is newer than checkpoint {checkpoint.number} ({size} entries); "
            "run `kinfold audit checkpoint` first"
        )
    path = services.inclusion_path(seq, size)
    leaf = bytes(entry.leaf_hash)
    # Refuse to hand out a proof the log itself cannot back (a damaged row or tree).
    try:
        if merkle.leaf_hash(entry.canonical_bytes()) != leaf:
            raise merkle.ProofError(f"entry {seq} does not match its leaf hash")
        merkle.verify_inclusion(seq, size, leaf, path, bytes(checkpoint.root_hash))
    except merkle.ProofError as exc:
        raise AuditError(f"cannot prove entry {seq}: {exc}; run `kinfold audit verify`") from exc
    return {
        "format": INCLUSION_FORMAT,
        "entry": entry.as_public_object(),
        "leaf_index": seq,
        "leaf_hash": _b64(leaf),
        "tree_size": size,
        "root_hash": _b64(bytes(checkpoint.root_hash)),
        "inclusion_path": [_b64(h) for h in path],
        "checkpoint": checkpoints.as_json(checkpoint),
    }


def consistency_json(size1: int, size2: int | None = None) -> dict[str, Any]:
    """The consistency proof from `size1` to `size2` entries (default: the latest checkpoint)."""
    if size2 is None:
        latest = checkpoints.latest()
        if latest is None:
            raise AuditError("no checkpoint has been signed yet; give --to")
        size2 = int(latest.tree_size)
    proof = services.consistency_proof(size1, size2)
    return {
        "format": CONSISTENCY_FORMAT,
        "origin": checkpoints.origin(),
        "from": _side(size1),
        "to": _side(size2),
        "proof": [_b64(h) for h in proof],
    }


def _side(size: int) -> dict[str, Any]:
    signed = Checkpoint.objects.filter(tree_size=size).order_by("number").first()
    return {
        "tree_size": size,
        "root_hash": _b64(services.tree_root(size)),
        "checkpoint": checkpoints.as_json(signed) if signed is not None else None,
    }
