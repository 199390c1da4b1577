"""Personal values sealed per patient: the token format every producer and entitled consumer shares.

Before an event is hashed, stored or published, each value at a path marked personal
(`contracts.registry.personal_data_paths`) is replaced by a token

    pd1.<key id: 32 hex>.<base64url(nonce 12 bytes | AES-256-GCM ciphertext and tag)>

whose plaintext is the compact JSON of the value and whose associated data is `pd1.<key id>`.
The key is the patient's data key (see `services.common.key_vault`), so destroying that key
makes every token of that patient unreadable — on Kafka, in the event store and in any copy —
while the hash chain, computed over the tokens, still verifies (crypto-shredding).

Tokens are opaque strings to consumers that are not entitled to personal data: they validate
as the marked field (see `contracts.personal_data.PersonalData`) and are never decrypted.

This module must never log or raise with a plaintext value, and never seal a value twice.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from contracts.entropy import fresh_bytes

TOKEN_PREFIX = "pd1."  # noqa: S105 - a format marker, not a secret
TOKEN_PATTERN = r"^pd1\.[0-9a-f]{32}\.[A-Za-z0-9_-]{38,}$"  # noqa: S105 - a format
"""Regular expression a token matches (nonce + 16-byte tag + at least one byte, base64url)."""
_TOKEN = re.compile(TOKEN_PATTERN)
NONCE_BYTES = 12
KEY_BYTES = 32

Tree = dict[str, Any]
"""Personal paths of a payload as a nested dict: a leaf is `True`; list items are under `[]`."""

KeyLookup = Callable[[str], bytes | None]
"""Key id -> the 32-byte data key, or None when it was destroyed (or is not known)."""


@dataclass(frozen=True)
class DataKey:
    """A patient's data key (32 bytes) and its id, as the vault hands it out."""

    key_id: str
    key: bytes = field(repr=False)

    def lookup(self, key_id: str) -> bytes | None:
        """A `KeyLookup` that knows only this key."""
        return self.key if key_id == self.key_id else None


class SealError(ValueError):
    """A token cannot be opened; names the rule only, never a value."""

    def __init__(self, rule: str) -> None:
        super().__init__(f"sealed value refused: {rule}")
        self.rule = rule


def is_token(value: object) -> bool:
    return isinstance(value, str) and value.startswith(TOKEN_PREFIX) and bool(_TOKEN.match(value))


def key_id_of(token: str) -> str:
    """The key id a token was sealed with (the only thing a token says in clear)."""
    if not is_token(token):
        raise SealError("token_format")
    return token[4:36]


@cache
def _aead(key: bytes) -> AESGCM:
    if len(key) != KEY_BYTES:
        raise SealError("key_length")
    return AESGCM(key)


def seal_value(key_id: str, key: bytes, value: Any) -> str:
    """One value (any JSON value) as a token under `key`."""
    nonce = fresh_bytes(NONCE_BYTES)
    plaintext = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    sealed = _aead(key).encrypt(nonce, plaintext, (TOKEN_PREFIX + key_id).encode())
    body = base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode()
    return f"{TOKEN_PREFIX}{key_id}.{body}"


def open_value(token: str, key: bytes) -> Any:
    """The JSON value inside a token; SealError when the token or the key does not fit."""
    key_id = key_id_of(token)
    body = token[37:]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        raise SealError("token_encoding") from None
    try:
        plaintext = _aead(key).decrypt(
            raw[:NONCE_BYTES], raw[NONCE_BYTES:], (TOKEN_PREFIX + key_id).encode()
        )
    except InvalidTag:
        raise SealError("token_authentication") from None
    return json.loads(plaintext)


# --- walking a payload's personal paths --------------------------------------------------------


def tree_of(paths: list[str]) -> Tree:
    """`['payload.a.b', 'payload.c[]']` -> `{'a': {'b': True}, 'c': {'[]': True}}`."""
    tree: Tree = {}
    for path in paths:
        parts = path.removeprefix("payload.").replace("[]", ".[]").split(".")
        node = tree
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if child is True:
                break
            node = child
        else:
            node[parts[-1]] = True
    return tree


def map_personal(value: Any, tree: Tree | bool, fn: Callable[[Any], Any]) -> Any:
    """A copy of `value` with `fn` applied to every non-null value at a personal path."""
    if value is None:
        return None
    if tree is True:
        return fn(value)
    if isinstance(tree, dict) and isinstance(value, dict):
        return {k: (map_personal(v, tree[k], fn) if k in tree else v) for k, v in value.items()}
    if isinstance(tree, dict) and isinstance(value, list) and "[]" in tree:
        return [map_personal(item, tree["[]"], fn) for item in value]
    return value


def seal_payload(payload: Mapping[str, Any], tree: Tree, key_id: str, key: bytes) -> dict[str, Any]:
    """The JSON payload with every personal value sealed (a value already sealed stays)."""

    def seal_one(value: Any) -> Any:
        return value if is_token(value) else seal_value(key_id, key, value)

    return map_personal(dict(payload), tree, seal_one)


def open_tokens(value: Any, keys: KeyLookup, *, keep_unopened: bool = False) -> Any:
    """A copy of any JSON value with every token opened.

    A token whose key is gone (erased) becomes None, or stays as it is with `keep_unopened`
    (so an event still validates: its personal fields then hold tokens nobody can open).
    Walks the whole value (not only the marked paths), so documents folded from events — plan
    documents, records — can be opened without knowing which event each string came from.
    """
    if isinstance(value, str):
        if not is_token(value):
            return value
        key = keys(key_id_of(value))
        try:
            if key is not None:
                return open_value(value, key)
        except SealError:
            pass
        return value if keep_unopened else None
    if isinstance(value, dict):
        return {k: open_tokens(v, keys, keep_unopened=keep_unopened) for k, v in value.items()}
    if isinstance(value, list):
        return [open_tokens(v, keys, keep_unopened=keep_unopened) for v in value]
    return value


def drop_tokens(value: Any, key_id: str) -> Any:
    """A copy of any JSON value with every token of `key_id` replaced by None (erasure)."""
    if isinstance(value, str):
        return None if is_token(value) and key_id_of(value) == key_id else value
    if isinstance(value, dict):
        return {k: drop_tokens(v, key_id) for k, v in value.items()}
    if isinstance(value, list):
        return [drop_tokens(v, key_id) for v in value]
    return value


def key_ids_in(value: Any) -> set[str]:
    """Every key id that seals a token somewhere in `value`."""
    if isinstance(value, str):
        return {key_id_of(value)} if is_token(value) else set()
    if isinstance(value, dict):
        return set().union(*(key_ids_in(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(key_ids_in(v) for v in value)) if value else set()
    return set()
