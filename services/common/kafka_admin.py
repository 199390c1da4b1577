"""Kafka administration for the deploy scripts and tests: is the cluster up, do the topics exist.

Run as ``python -m services.common.kafka_admin ping|ensure-topics``. It only creates topics that
are missing and never deletes or reconfigures an existing one (an operator's cluster is theirs);
`delete_scratch_topics` is for tests and benchmarks, which work under a prefix of their own.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterable
from typing import Any

from kafka import KafkaAdminClient

from services.common.settings import CommonSettings
from services.common.topics import TopicSpec, topic_specs


def admin_client(settings: CommonSettings, timeout_s: float = 10.0) -> KafkaAdminClient:
    """An admin client that gives up after ``timeout_s`` instead of retrying for ever."""
    return KafkaAdminClient(
        **settings.kafka_config(),
        request_timeout_ms=int(timeout_s * 1000),
        bootstrap_timeout_ms=int(timeout_s * 1000),
    )


def ping(settings: CommonSettings, timeout_s: float = 5.0) -> dict[str, Any]:
    """Describe the cluster; raises when no broker answers within the timeout."""
    admin = admin_client(settings, timeout_s)
    try:
        return dict(admin.describe_cluster())
    finally:
        admin.close()


def ensure_topics(
    settings: CommonSettings,
    specs: Iterable[TopicSpec] | None = None,
    timeout_s: float = 30.0,
    replication_factor: int = 1,
) -> list[str]:
    """Create the missing topics with their partition counts and configs; return those created.

    A production cluster wants ``replication_factor=3`` (with min.insync.replicas=2), so that
    acks=all producers keep working when one broker is down.
    """
    wanted = {settings.topic(s.name): s for s in (specs or topic_specs(replication_factor))}
    admin = admin_client(settings, timeout_s)
    try:
        existing = set(admin.list_topics())
        missing = {name: spec for name, spec in wanted.items() if name not in existing}
        if missing:
            admin.create_topics(
                {
                    name: {
                        "num_partitions": spec.partitions,
                        "replication_factor": spec.replication_factor,
                        "configs": dict(spec.configs),
                    }
                    for name, spec in missing.items()
                },
                wait_for_metadata=True,
            )
        deadline = time.monotonic() + timeout_s
        while missing and not set(missing) <= set(admin.list_topics()):
            if time.monotonic() > deadline:
                raise TimeoutError("topics were created but never appeared in the metadata")
            time.sleep(0.2)
        return sorted(missing)
    finally:
        admin.close()


def delete_scratch_topics(settings: CommonSettings, timeout_s: float = 30.0) -> list[str]:
    """Delete every topic under ``settings.topic_prefix`` (a test's or a benchmark's own).

    Left behind, they pile up in the broker: ~14,000 partitions from a few test runs ran the
    local broker's 512 MB heap out (OutOfMemoryError, partitions fenced).
    """
    prefix = settings.topic_prefix
    if not prefix:
        raise ValueError("refusing to delete topics without a scratch topic prefix")
    admin = admin_client(settings, timeout_s)
    try:
        names = sorted(t for t in admin.list_topics() if t.startswith(prefix))
        if names:
            admin.delete_topics(names)
        return names
    finally:
        admin.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.common.kafka_admin")
    parser.add_argument("command", choices=["ping", "ensure-topics"])
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument(
        "--replication-factor", type=int, default=1, help="3 on a production cluster"
    )
    args = parser.parse_args(argv)
    settings = CommonSettings(service_name="kafka-admin")
    try:
        if args.command == "ping":
            info = ping(settings, args.timeout)
            print(f"kafka: cluster {info.get('cluster_id')} with {len(info['brokers'])} broker(s)")
        else:
            created = ensure_topics(
                settings,
                timeout_s=max(args.timeout, 30.0),
                replication_factor=args.replication_factor,
            )
            for spec in topic_specs():
                mark = "created" if settings.topic(spec.name) in created else "exists"
                print(f"topic {settings.topic(spec.name)}: {spec.partitions} partition(s), {mark}")
    except Exception as exc:  # a CLI for scripts: one clear line, non-zero exit
        print(f"kafka: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
