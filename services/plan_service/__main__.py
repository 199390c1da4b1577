"""Run the plan_service: `python -m services.plan_service api`."""

from __future__ import annotations

import argparse

from services.common.runner import serve_api
from services.plan_service.api import create_app
from services.plan_service.settings import PlanServiceSettings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m services.plan_service")
    parser.add_argument("process", choices=["api"], help="which process of the service to run")
    parser.parse_args(argv)
    serve_api(PlanServiceSettings(), create_app)


if __name__ == "__main__":
    main()
