"""Run a reporting_service process: `python -m services.reporting_service api|consumer|migrate`."""

from __future__ import annotations

from services.common.runner import service_main
from services.reporting_service import workers
from services.reporting_service.api import create_app
from services.reporting_service.settings import ReportingServiceSettings


def main(argv: list[str] | None = None) -> None:
    service_main(
        "python -m services.reporting_service",
        ReportingServiceSettings,
        create_app,
        {"consumer": workers.run_consumer, "migrate": workers.run_migration},
        argv,
    )


if __name__ == "__main__":
    main()
