"""Run the benchmarks on the local stack: `python -m benchmarks [--quick]`.

Prints a table and writes benchmarks/results/latest.json. Every figure stands beside a raw
baseline measured in the same run; the ratio is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from benchmarks import (
    audit_projection,
    end_to_end,
    plan_service,
    rebuild,
    reporting_statistics,
)
from benchmarks.common import ROOT, Figure, start_stack


def machine() -> str:
    mem = Path("/proc/meminfo").read_text().split()[1]
    return f"{os.cpu_count()} cores, {int(mem) // 1024 // 1024} GiB, {platform.platform()}"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--quick", action="store_true", help="smaller loads (a smoke run)")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=["ingest", "audit", "statistics", "end-to-end", "rebuild"],
        help="run only these parts",
    )
    parser.add_argument(
        "--rate", type=float, default=500, help="end-to-end: offered commands/s (default 500)"
    )
    parser.add_argument(
        "--rebuild-events", type=int, help="rebuild from this many events (default 1M; quick 30k)"
    )
    args = parser.parse_args()
    parts = set(args.only or ["ingest", "audit", "statistics", "end-to-end", "rebuild"])
    start_stack()
    figures: list[Figure] = []
    if args.quick:
        if "ingest" in parts:
            figures += plan_service.run(clients=8, per_client=20)
        if "audit" in parts:
            figures += audit_projection.run(plans=200)
        if "statistics" in parts:
            figures += reporting_statistics.run(incidents=20_000)
        if "end-to-end" in parts:
            figures += end_to_end.run(rate=min(args.rate, 100), seconds=15)
        if "rebuild" in parts:
            figures += rebuild.run(events=args.rebuild_events or 30_000)
    else:
        if "ingest" in parts:
            figures += plan_service.run()
        if "audit" in parts:
            figures += audit_projection.run()
        if "statistics" in parts:
            figures += reporting_statistics.run()
        if "end-to-end" in parts:
            figures += end_to_end.run(rate=args.rate)
        if "rebuild" in parts:
            figures += rebuild.run(events=args.rebuild_events or 1_000_000)
    table = Table(title=f"Benchmarks {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — {machine()}")
    for col in ("figure", "value", "baseline", "ratio", "target", "details"):
        table.add_column(col)

    def num(x: float) -> str:
        return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.2f}"

    for f in figures:
        table.add_row(
            f.name,
            f"{num(f.value)} {f.unit}",
            f"{num(f.baseline)} ({f.baseline_name})" if f.baseline else "-",
            f"{f.ratio:.2f}" if f.ratio else "-",
            f.target,
            ", ".join(
                f"{k}={v:,.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in f.extra.items()
            ),
        )
    Console(width=160).print(table)
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(
        json.dumps(
            {
                "when": datetime.now(UTC).isoformat(),
                "machine": machine(),
                "figures": [f.as_dict() for f in figures],
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
