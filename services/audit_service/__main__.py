"""Run an audit_service process: `python -m services.audit_service api|consumer`."""

from __future__ import annotations

import argparse
from functools import partial

from services.audit_service import workers
from services.audit_service.api import create_app
from services.audit_service.settings import AuditServiceSettings
from services.common.runner import run_worker, serve_api


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m services.audit_service")
    parser.add_argument(
        "process", choices=["api", "consumer"], help="which process of the service to run"
    )
    args = parser.parse_args(argv)
    settings = AuditServiceSettings()
    if args.process == "api":
        serve_api(settings, create_app)
    else:
        run_worker(settings, partial(workers.run_consumer, settings))


if __name__ == "__main__":
    main()
