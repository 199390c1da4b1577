"""Event and command contracts: the public face of the safety-plan and use-of-force platform.

Clinical apps, the three services and the tests import these models; JSON Schemas and an AsyncAPI
document generated from them are checked in under `contracts/`. Start with `parse_event`,
`encode_event`, `seal`, `parse_command` and the code lists in `contracts.codes`.

This package must never import from `services` or do I/O at import time.
"""

from contracts.commands import CommandEnvelope, encode_command, parse_command
from contracts.envelope import (
    Actor,
    EventEnvelope,
    canonical_bytes,
    compute_hash,
    seal,
    verify_chain,
    verify_hash,
)
from contracts.errors import ContractError, Violation
from contracts.registry import (
    current_version,
    encode_event,
    event_types,
    parse_event,
    payload_model,
    personal_data_paths,
)
from contracts.versioning import MAX_MESSAGE_BYTES

__all__ = [
    "MAX_MESSAGE_BYTES",
    "Actor",
    "CommandEnvelope",
    "ContractError",
    "EventEnvelope",
    "Violation",
    "canonical_bytes",
    "compute_hash",
    "current_version",
    "encode_command",
    "encode_event",
    "event_types",
    "parse_command",
    "parse_event",
    "payload_model",
    "personal_data_paths",
    "seal",
    "verify_chain",
    "verify_hash",
]
