"""Run a plan_service process: `python -m services.plan_service <process>`.

Processes: api, relay, read-model, submissions.
"""

from __future__ import annotations

from services.common.runner import service_main
from services.plan_service import workers
from services.plan_service.api import create_app
from services.plan_service.settings import PlanServiceSettings


def main(argv: list[str] | None = None) -> None:
    service_main(
        "python -m services.plan_service",
        PlanServiceSettings,
        create_app,
        {
            "relay": workers.run_relay,
            "read-model": workers.run_read_model,
            "submissions": workers.run_submissions,
        },
        argv,
    )


if __name__ == "__main__":
    main()
