"""The Merkle root and inclusion proofs behave as RFC 6962 says, for every log size."""

from __future__ import annotations

import hashlib

import pytest

from contracts.merkle import (
    EMPTY_ROOT,
    _root,
    inclusion_proof,
    leaf_hash,
    merkle_root,
    verify_inclusion,
)


def hashes(n: int) -> list[str]:
    return ["sha256:" + hashlib.sha256(str(i).encode()).hexdigest() for i in range(n)]


def test_the_root_of_one_event_is_its_leaf_hash() -> None:
    (h,) = hashes(1)
    assert merkle_root([h]) == hashlib.sha256(b"\x00" + h.encode()).hexdigest()


def test_the_root_of_an_empty_log_is_the_hash_of_nothing() -> None:
    assert merkle_root([]) == EMPTY_ROOT


def test_the_root_of_three_events_follows_the_rfc_split() -> None:
    a, b, c = (hashlib.sha256(b"\x00" + h.encode()).digest() for h in hashes(3))
    ab = hashlib.sha256(b"\x01" + a + b).digest()
    assert merkle_root(hashes(3)) == hashlib.sha256(b"\x01" + ab + c).hexdigest()


def test_the_level_by_level_root_is_the_recursive_definition_for_every_size() -> None:
    log = hashes(600)
    for size in range(1, len(log) + 1):
        assert merkle_root(log[:size]) == _root([leaf_hash(h) for h in log[:size]]).hex()


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 33])
def test_every_event_has_a_proof_that_verifies_and_a_wrong_one_does_not(size: int) -> None:
    log = hashes(size)
    root = merkle_root(log)
    for i, h in enumerate(log):
        proof = inclusion_proof(log, i)
        assert verify_inclusion(h, i, size, proof, root)
        assert not verify_inclusion(h, (i + 1) % size, size, proof, root) or size == 1
        assert not verify_inclusion("sha256:" + "0" * 64, i, size, proof, root)


def test_changing_one_event_changes_the_root() -> None:
    log = hashes(10)
    tampered = [*log[:4], "sha256:" + "f" * 64, *log[5:]]
    assert merkle_root(log) != merkle_root(tampered)
