"""Run a reporting_service process: `python -m services.reporting_service api|consumer`."""

from __future__ import annotations

import argparse
from functools import partial

from services.common.runner import run_worker, serve_api
from services.reporting_service import workers
from services.reporting_service.api import create_app
from services.reporting_service.settings import ReportingServiceSettings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m services.reporting_service")
    parser.add_argument(
        "process", choices=["api", "consumer"], help="which process of the service to run"
    )
    args = parser.parse_args(argv)
    settings = ReportingServiceSettings()
    if args.process == "api":
        serve_api(settings, create_app)
    else:
        run_worker(settings, partial(workers.run_consumer, settings))


if __name__ == "__main__":
    main()
