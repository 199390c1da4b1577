"""Run a audit_service process: `python -m services.audit_service api|consumer`."""

from __future__ import annotations

from services.audit_service import workers
from services.audit_service.api import create_app
from services.audit_service.settings import AuditServiceSettings
from services.common.runner import service_main


def main(argv: list[str] | None = None) -> None:
    service_main(
        "python -m services.audit_service",
        AuditServiceSettings,
        create_app,
        {"consumer": workers.run_consumer},
        argv,
    )


if __name__ == "__main__":
    main()
