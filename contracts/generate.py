"""Generate the published artifacts: JSON Schemas and the AsyncAPI 3 document.

`python -m contracts.generate` rewrites `contracts/schemas/*.json` and `contracts/asyncapi.yaml`
from the models; `python -m contracts.generate --check` exits 1 when any of them is stale or
stray. Artifacts are checked in because clients outside this repository read them.

This module must never be imported for its side effects: it writes files only from `main()` or
`write()`, and output is byte-stable (sorted keys, fixed indentation, trailing newline).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from contracts import topics
from contracts.commands import COMMANDS, command_json_schema
from contracts.erasure import PersonErasedNotice
from contracts.examples import example_commands, example_events
from contracts.registry import EVENTS, encode_event, event_json_schema

PACKAGE_DIR = Path(__file__).resolve().parent
SCHEMA_DIR = PACKAGE_DIR / "schemas"
ASYNCAPI_PATH = PACKAGE_DIR / "asyncapi.yaml"


def event_schema_filename(event_type: str, version: int) -> str:
    return f"{event_type}.v{version}.json"


def command_schema_filename(command_type: str, version: int) -> str:
    return f"command.{command_type}.v{version}.json"


def _dump_json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _message_name(message_type: str, version: int) -> str:
    return f"{message_type.replace('.', '_')}_v{version}"


def _headers_schema(kind: str, message_type: str, version: int) -> dict[str, Any]:
    type_header = topics.HEADER_EVENT_TYPE if kind == "event" else topics.HEADER_COMMAND_TYPE
    props: dict[str, Any] = {
        type_header: {"type": "string", "const": message_type},
        topics.HEADER_SCHEMA_VERSION: {"type": "string", "const": str(version)},
        topics.HEADER_CONTENT_TYPE: {"type": "string", "const": topics.CONTENT_TYPE_JSON},
    }
    if kind == "event":
        props[topics.HEADER_STORE_POSITION] = {
            "type": "string",
            "pattern": "^[0-9]+$",
            "description": "Notification id of the event in the event store.",
        }
        props[topics.HEADER_EVENT_ID] = {"type": "string", "format": "uuid"}
        props[topics.HEADER_CORRELATION_ID] = {"type": "string", "format": "uuid"}
    return {"type": "object", "properties": props, "required": sorted(props)}


def _dlq_headers_schema() -> dict[str, Any]:
    props = {name: {"type": "string"} for name in topics.DLQ_HEADERS}
    props[topics.HEADER_DLQ_REASON]["description"] = "field: rule: message (never the value)"
    return {"type": "object", "properties": props, "required": sorted(props)}


KEY_SCHEMA = {"type": "string", "format": "uuid", "description": "Stream id (lower-case UUID)."}


def asyncapi_document() -> dict[str, Any]:
    """The AsyncAPI 3.0.0 document for every topic, message, key and header."""
    messages: dict[str, Any] = {}
    channel_messages: dict[str, dict[str, Any]] = {spec.name: {} for spec in topics.TOPICS}
    events = example_events()
    for model in EVENTS.all_models():
        name = _message_name(model.MESSAGE_TYPE, model.SCHEMA_VERSION)
        message: dict[str, Any] = {
            "name": name,
            "title": f"{model.MESSAGE_TYPE} v{model.SCHEMA_VERSION}",
            "summary": (model.__doc__ or model.__name__).strip().splitlines()[0],
            "contentType": topics.CONTENT_TYPE_JSON,
            "headers": _headers_schema("event", model.MESSAGE_TYPE, model.SCHEMA_VERSION),
            "payload": {
                "schemaFormat": "application/schema+json;version=draft-2020-12",
                "schema": {
                    "$ref": "./schemas/"
                    + event_schema_filename(model.MESSAGE_TYPE, model.SCHEMA_VERSION)
                },
            },
            "bindings": {"kafka": {"key": KEY_SCHEMA, "bindingVersion": "0.5.0"}},
        }
        example = events.get(model.MESSAGE_TYPE)
        if example is not None and example.schema_version == model.SCHEMA_VERSION:
            message["examples"] = [
                {"name": "synthetic", "payload": json.loads(encode_event(example))}
            ]
        messages[name] = message
        topic = topics.EVENT_TOPIC_FOR_STREAM[model.STREAM_TYPE]
        channel_messages[topic][name] = {"$ref": f"#/components/messages/{name}"}
    commands = example_commands()
    for model in COMMANDS.all_models():
        name = "command_" + _message_name(model.MESSAGE_TYPE, model.SCHEMA_VERSION)
        messages[name] = {
            "name": name,
            "title": f"command {model.MESSAGE_TYPE} v{model.SCHEMA_VERSION}",
            "contentType": topics.CONTENT_TYPE_JSON,
            "headers": _headers_schema("command", model.MESSAGE_TYPE, model.SCHEMA_VERSION),
            "payload": {
                "schemaFormat": "application/schema+json;version=draft-2020-12",
                "schema": {
                    "$ref": "./schemas/"
                    + command_schema_filename(model.MESSAGE_TYPE, model.SCHEMA_VERSION)
                },
            },
            "bindings": {"kafka": {"key": KEY_SCHEMA, "bindingVersion": "0.5.0"}},
            "examples": [
                {
                    "name": "synthetic",
                    "payload": commands[model.MESSAGE_TYPE].model_dump(mode="json"),
                }
            ],
        }
        channel_messages[topics.SUBMISSIONS][name] = {"$ref": f"#/components/messages/{name}"}
    messages["rejected_command"] = {
        "name": "rejected_command",
        "title": "Rejected submission",
        "summary": "The submitted record value, unchanged, with headers saying why.",
        "contentType": topics.CONTENT_TYPE_JSON,
        "headers": _dlq_headers_schema(),
        "payload": {"type": "object", "description": "The original command bytes."},
        "bindings": {"kafka": {"key": KEY_SCHEMA, "bindingVersion": "0.5.0"}},
    }
    channel_messages[topics.SUBMISSIONS_DLQ]["rejected_command"] = {
        "$ref": "#/components/messages/rejected_command"
    }
    messages["rejected_event"] = {
        "name": "rejected_event",
        "title": "Refused event record",
        "summary": "An event record a consumer refused, value unchanged, with headers saying why.",
        "contentType": topics.CONTENT_TYPE_JSON,
        "headers": _dlq_headers_schema(),
        "payload": {"type": "object", "description": "The original event record bytes."},
        "bindings": {"kafka": {"key": KEY_SCHEMA, "bindingVersion": "0.5.0"}},
    }
    channel_messages[topics.EVENTS_DLQ]["rejected_event"] = {
        "$ref": "#/components/messages/rejected_event"
    }
    messages["person_erased"] = {
        "name": "person_erased",
        "title": "Erasure notice",
        "summary": (PersonErasedNotice.__doc__ or "").strip().splitlines()[0],
        "contentType": topics.CONTENT_TYPE_JSON,
        "payload": {
            "schemaFormat": "application/schema+json;version=draft-2020-12",
            "schema": PersonErasedNotice.model_json_schema(),
        },
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": "Person id (pseudonymous)."},
                "bindingVersion": "0.5.0",
            }
        },
    }
    channel_messages[topics.ERASURES]["person_erased"] = {
        "$ref": "#/components/messages/person_erased"
    }
    channels: dict[str, Any] = {}
    for spec in topics.TOPICS:
        channel_id = spec.name.replace(".", "_")
        channels[channel_id] = {
            "address": spec.name,
            "title": spec.name,
            "description": f"{spec.description} Key: {spec.key}. A deployment may prefix the "
            "topic name.",
            "messages": channel_messages[spec.name],
            "bindings": {
                "kafka": {
                    "topic": spec.name,
                    "partitions": spec.partitions,
                    "topicConfiguration": {
                        k: int(v) if k == "retention.ms" else [v] for k, v in spec.config.items()
                    },
                    "bindingVersion": "0.5.0",
                }
            },
        }
    operations = {
        "submitCommand": _operation("send", topics.SUBMISSIONS, "Clinical apps submit commands."),
        "rejectCommand": _operation("send", topics.SUBMISSIONS_DLQ, "plan_service rejects."),
        "publishPlanEvent": _operation("send", topics.PLAN_EVENTS, "The relay publishes events."),
        "publishUseOfForceEvent": _operation(
            "send", topics.USE_OF_FORCE_EVENTS, "The relay publishes events."
        ),
        "consumePlanEvent": _operation("receive", topics.PLAN_EVENTS, "Projections read."),
        "consumeUseOfForceEvent": _operation(
            "receive", topics.USE_OF_FORCE_EVENTS, "Projections read."
        ),
        "refuseEvent": _operation(
            "send", topics.EVENTS_DLQ, "A projection (plan read model, audit, reporting) refuses."
        ),
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Safety plan and use-of-force event contracts",
            "version": "1.0.0",
            "description": "Generated by `python -m contracts.generate`; do not edit by hand. "
            "Canonical serialisation, hash chain and versioning rules: contracts/README.md.",
        },
        "defaultContentType": topics.CONTENT_TYPE_JSON,
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def _operation(action: str, topic_name: str, description: str) -> dict[str, Any]:
    channel_id = topic_name.replace(".", "_")
    return {
        "action": action,
        "description": description,
        "channel": {"$ref": f"#/channels/{channel_id}"},
    }


def render() -> dict[Path, str]:
    """Every artifact path -> its expected text."""
    out: dict[Path, str] = {}
    for model in EVENTS.all_models():
        path = SCHEMA_DIR / event_schema_filename(model.MESSAGE_TYPE, model.SCHEMA_VERSION)
        out[path] = _dump_json(event_json_schema(model.MESSAGE_TYPE, model.SCHEMA_VERSION))
    for model in COMMANDS.all_models():
        path = SCHEMA_DIR / command_schema_filename(model.MESSAGE_TYPE, model.SCHEMA_VERSION)
        out[path] = _dump_json(command_json_schema(model.MESSAGE_TYPE, model.SCHEMA_VERSION))
    out[ASYNCAPI_PATH] = yaml.safe_dump(
        asyncapi_document(), sort_keys=False, allow_unicode=True, width=100
    )
    return out


def stale_artifacts() -> list[str]:
    """Names of artifacts that are missing, different from the models, or no longer generated."""
    expected = render()
    stale = [
        path.name
        for path, text in expected.items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]
    if SCHEMA_DIR.exists():
        stale += [p.name for p in sorted(SCHEMA_DIR.glob("*.json")) if p not in expected]
    return stale


def write() -> None:
    """Rewrite all artifacts and delete schema files no model produces."""
    expected = render()
    SCHEMA_DIR.mkdir(exist_ok=True)
    for path in SCHEMA_DIR.glob("*.json"):
        if path not in expected:
            path.unlink()
    for path, text in expected.items():
        path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="exit 1 if artifacts are stale")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_artifacts()
        if stale:
            print(
                "stale contract artifacts (run python -m contracts.generate):",
                *stale,
                sep="\n  ",
                file=sys.stderr,
            )
            return 1
        return 0
    write()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
