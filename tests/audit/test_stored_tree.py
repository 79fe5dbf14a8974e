"""Proofs from the stored tree equal proofs computed from the leaves, for every tree size."""

from __future__ import annotations

import random

import pytest

from kinfold.audit import merkle, services
from kinfold.audit.actors import Actor
from kinfold.audit.events import Event
from kinfold.audit.models import AuditEntry, TreeNode
from kinfold.audit.services import NewEntry

SIZE = 70


@pytest.mark.django_db
def test_stored_proofs_match_the_leaves_at_every_size(key_worker: Actor) -> None:
    services.record_many([NewEntry(key_worker, Event.FAMILY_VIEWED) for _ in range(SIZE // 2)])
    for _ in range(SIZE - SIZE // 2):  # one at a time too: the frontier is reloaded each time
        services.record(key_worker, Event.FAMILY_LISTED)
    leaves = [
        bytes(h) for h in AuditEntry.objects.order_by("seq").values_list("leaf_hash", flat=True)
    ]
    memory = merkle.LeafList(leaves)
    assert TreeNode.objects.count() == SIZE - SIZE.bit_count()  # one node per merge
    for node in TreeNode.objects.all():
        level, index = node.position
        assert TreeNode.key_for(level, index) == node.key
        assert bytes(node.hash) == memory.perfect(level, index)
    rng = random.Random(1)
    for size in range(1, SIZE + 1):
        assert services.tree_root(size) == merkle.root(size, memory)
        for index in {0, size - 1, rng.randrange(size)}:
            path = services.inclusion_path(index, size)
            assert path == merkle.inclusion_proof(index, size, memory)
            merkle.verify_inclusion(index, size, leaves[index], path, services.tree_root(size))
        size1 = rng.randrange(1, size + 1)
        proof = services.consistency_proof(size1, size)
        assert proof == merkle.consistency_proof(size1, size, memory)
        merkle.verify_consistency(
            size1, size, merkle.root(size1, memory), merkle.root(size, memory), proof
        )
    assert services.tree_root(0) == merkle.EMPTY_ROOT
