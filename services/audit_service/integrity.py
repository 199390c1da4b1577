"""Tamper evidence: the incremental per-stream hash-chain walk and the Merkle root/proofs.

A stream's state is how far its chain is verified (``verified_version`` and that event's hash)
and the first broken link found (version, event id, rule). Each event is checked as
``contracts.envelope.verify_chain`` checks it - own hash, consecutive version, ``previous_hash``
equal to event N-1's hash - but incrementally, from the stored state, so nothing is re-read.
Rules: ``hash_mismatch`` (the content was changed after sealing), ``chain_broken`` (the link
does not match event N-1), ``conflicting_version`` (two different events claim one place) and,
computed when read, ``missing_version`` (a later version arrived, N+1 never did).

The Merkle tree is ``contracts.merkle`` (RFC 6962) over event hashes in log order.

Pure: no I/O. This module must never raise or log with an event's content.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from operator import attrgetter
from typing import NamedTuple, Protocol

from contracts import merkle


class Link(Protocol):
    """What the chain walk reads of an event (``ChainEvent``, or the projection's own event
    tuple, so nothing is built per event on replay)."""

    @property
    def stream_version(self) -> int: ...
    @property
    def event_id(self) -> str: ...
    @property
    def event_hash(self) -> str: ...
    @property
    def previous_hash(self) -> str | None: ...
    @property
    def hash_ok(self) -> bool: ...


class ChainEvent(NamedTuple):
    """One stored event as the chain walk sees it."""

    stream_version: int
    event_id: str
    event_hash: str
    previous_hash: str | None
    hash_ok: bool


@dataclass(frozen=True)
class Break:
    stream_version: int
    event_id: str
    rule: str


@dataclass(frozen=True)
class ChainState:
    verified_version: int = 0
    verified_hash: str | None = None
    max_version: int = 0
    broken: Break | None = None


_BY_VERSION = attrgetter("stream_version")


def advance(state: ChainState, events: Iterable[Link]) -> ChainState:
    """Verify as far as the events allow; stops at a gap (may fill later) or the first break."""
    ordered = sorted(events, key=_BY_VERSION)
    if not ordered:
        return state
    version, verified_hash = state.verified_version, state.verified_hash
    max_version = max(state.max_version, ordered[-1].stream_version)
    broken = state.broken
    for event in ordered:
        if event.stream_version <= version:
            continue
        if broken is not None and event.stream_version >= broken.stream_version:
            break
        if event.stream_version != version + 1:
            break  # a gap: reported as missing_version when read
        rule = None
        if not event.hash_ok:
            rule = "hash_mismatch"
        elif event.previous_hash != verified_hash:
            rule = "chain_broken"
        if rule is not None:
            broken = Break(event.stream_version, event.event_id, rule)
            break
        version, verified_hash = event.stream_version, event.event_hash
    return ChainState(version, verified_hash, max_version, broken)


def conflict(state: ChainState, stream_version: int, event_id: str) -> ChainState:
    """A second, different event claims ``stream_version``: the earliest such break wins."""
    if state.broken is not None and state.broken.stream_version <= stream_version:
        return state
    return replace(state, broken=Break(stream_version, event_id, "conflicting_version"))


@dataclass(frozen=True)
class Proof:
    index: int
    size: int
    root: str
    path: list[str]


def root_of(event_hashes: Sequence[str]) -> str:
    return merkle.merkle_root(event_hashes)


def proof_for(event_hashes: Sequence[str], index: int) -> Proof:
    return Proof(
        index=index,
        size=len(event_hashes),
        root=merkle.merkle_root(event_hashes),
        path=merkle.inclusion_proof(event_hashes, index),
    )
