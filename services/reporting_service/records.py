"""Pure helpers over one use-of-force record as JSON: split personal from non-personal data,
merge them back, and apply an amendment's field changes.

The personal paths come from the published contracts (`contracts.registry.personal_tree`),
so what is personal is decided in one place. Personal values go to tables that crypto-shredding
can destroy; everything else (codes, dates, ids, flags) stays with the statistics.

This module must never do I/O, and never put a value into an error message (values are personal).
"""

from __future__ import annotations

import copy
import re
from typing import Any

Tree = dict[str, Any]
_MISSING: Any = object()
_TOKEN = re.compile(r"([a-z_][a-z0-9_]*)(?:\[([0-9]{1,3})\])?")


class AmendmentError(ValueError):
    """An amendment cannot be applied to the record; names the field and the rule, not values."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field} violates {rule}")
        self.field = field
        self.rule = rule


def split(value: Any, tree: Tree | bool) -> tuple[Any, Any]:
    """(public, personal) parts of a JSON value; either may be `None` when empty."""
    public, personal = _split(value, tree)
    return (None if public is _MISSING else public, None if personal is _MISSING else personal)


def _split(value: Any, tree: Tree | bool) -> tuple[Any, Any]:
    if value is None:
        return value, _MISSING
    if tree is True:
        return _MISSING, value
    if isinstance(value, dict) and isinstance(tree, dict):
        public: dict[str, Any] = {}
        personal: dict[str, Any] = {}
        for key, item in value.items():
            if key not in tree:
                public[key] = item
                continue
            pub, per = _split(item, tree[key])
            if pub is not _MISSING:
                public[key] = pub
            if per is not _MISSING:
                personal[key] = per
        return public, personal or _MISSING
    if isinstance(value, list) and isinstance(tree, dict) and "[]" in tree:
        if tree["[]"] is True:
            return _MISSING, value
        parts = [_split(item, tree["[]"]) for item in value]
        pubs = [None if p is _MISSING else p for p, _ in parts]
        pers = [None if q is _MISSING else q for _, q in parts]
        return pubs, (pers if any(q is not None for q in pers) else _MISSING)
    return value, _MISSING


def merge(public: Any, personal: Any) -> Any:
    """Inverse of `split`: the whole value from its two parts (personal may be None: shredded)."""
    if personal is None:
        return copy.deepcopy(public)
    if public is None:
        return copy.deepcopy(personal)
    if isinstance(public, dict) and isinstance(personal, dict):
        out = {k: copy.deepcopy(v) for k, v in public.items()}
        for key, item in personal.items():
            out[key] = merge(out.get(key), item)
        return out
    if isinstance(public, list) and isinstance(personal, list):
        return [merge(p, q) for p, q in zip(public, personal, strict=False)]
    return copy.deepcopy(personal)


def parse_path(path: str) -> list[str | int]:
    """`force_used[1].ended_at` -> ['force_used', 1, 'ended_at']."""
    tokens: list[str | int] = []
    for part in path.split("."):
        match = _TOKEN.fullmatch(part)
        if match is None:
            raise AmendmentError("path", "path_syntax")
        tokens.append(match.group(1))
        if match.group(2) is not None:
            tokens.append(int(match.group(2)))
    return tokens


def get_path(record: Any, path: str) -> Any:
    """The value at `path`, or None when any step is absent."""
    node = record
    for token in parse_path(path):
        if isinstance(token, int):
            if not isinstance(node, list) or token >= len(node):
                return None
            node = node[token]
        else:
            if not isinstance(node, dict):
                return None
            node = node.get(token)
    return node


def apply_changes(record: dict[str, Any], changes: list[dict[str, Any]]) -> dict[str, Any]:
    """A copy of `record` with each `{path, new_value}` set; refuses paths that do not exist."""
    out = copy.deepcopy(record)
    for index, change in enumerate(changes):
        where = f"changes[{index}].path"
        tokens = parse_path(change["path"])
        node: Any = out
        for token in tokens[:-1]:
            if isinstance(token, int):
                if not isinstance(node, list) or token >= len(node):
                    raise AmendmentError(where, "path_exists")
                node = node[token]
            else:
                if not isinstance(node, dict):
                    raise AmendmentError(where, "path_exists")
                if node.get(token) is None:
                    node[token] = {}
                node = node[token]
        last = tokens[-1]
        if isinstance(last, int):
            if not isinstance(node, list) or last >= len(node):
                raise AmendmentError(where, "path_exists")
            node[last] = copy.deepcopy(change["new_value"])
        else:
            if not isinstance(node, dict):
                raise AmendmentError(where, "path_exists")
            node[last] = copy.deepcopy(change["new_value"])
    return out
