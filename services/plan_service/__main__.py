"""Run a plan_service process: `python -m services.plan_service <process>`.

Processes: api, relay, read-model, submissions.
"""

from __future__ import annotations

import argparse
from functools import partial

from services.common.runner import run_worker, serve_api
from services.plan_service import workers
from services.plan_service.api import create_app
from services.plan_service.settings import PlanServiceSettings

WORKERS = {
    "relay": workers.run_relay,
    "read-model": workers.run_read_model,
    "submissions": workers.run_submissions,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m services.plan_service")
    parser.add_argument("process", choices=["api", *WORKERS], help="which process to run")
    args = parser.parse_args(argv)
    settings = PlanServiceSettings()
    if args.process == "api":
        serve_api(settings, create_app)
    else:
        run_worker(settings, partial(WORKERS[args.process], settings))


if __name__ == "__main__":
    main()
