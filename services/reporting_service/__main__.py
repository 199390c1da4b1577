"""Run the reporting_service: `python -m services.reporting_service api`."""

from __future__ import annotations

import argparse

from services.common.runner import serve_api
from services.reporting_service.api import create_app
from services.reporting_service.settings import ReportingServiceSettings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m services.reporting_service")
    parser.add_argument("process", choices=["api"], help="which process of the service to run")
    parser.parse_args(argv)
    serve_api(ReportingServiceSettings(), create_app)


if __name__ == "__main__":
    main()
