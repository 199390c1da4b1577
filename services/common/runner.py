"""Process entry points shared by the services: serve an API with uvicorn, or run a worker."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import uvicorn
from fastapi import FastAPI

from services.common.logging_setup import configure_logging
from services.common.settings import CommonSettings

S = TypeVar("S", bound=CommonSettings)


def serve_api(settings: S, create_app: Callable[[S], FastAPI]) -> None:
    """Run the service's API until SIGTERM/SIGINT: in this process, or in `http_workers`
    processes (each builds its app from the environment, as this one read its settings)."""
    configure_logging(settings.log_level, settings.service_name)
    options: dict[str, Any] = {
        "host": settings.http_host,
        "port": settings.http_port,
        "log_level": settings.log_level.lower(),
        "access_log": False,  # URLs can carry ids of people; request metrics are in /metrics
        "timeout_graceful_shutdown": 10,
    }
    if settings.http_workers > 1:
        factory = f"{create_app.__module__}:{create_app.__name__}"
        uvicorn.run(factory, factory=True, workers=settings.http_workers, **options)
    else:
        uvicorn.run(create_app(settings), **options)


def service_main(
    prog: str,
    settings_cls: Callable[[], S],
    create_app: Callable[[S], FastAPI],
    workers: dict[str, Callable[[S, threading.Event], None]],
    argv: list[str] | None = None,
) -> None:
    """The `python -m services.<service> <process>` entry point every service shares."""
    import argparse

    parser = argparse.ArgumentParser(prog=prog)
    parser.add_argument("process", choices=["api", *workers], help="which process to run")
    args = parser.parse_args(argv)
    settings = settings_cls()
    if args.process == "api":
        serve_api(settings, create_app)
    else:
        worker = workers[args.process]
        run_worker(settings, lambda stop: worker(settings, stop))


def run_worker(settings: CommonSettings, run: Callable[[threading.Event], None]) -> None:
    """Run a background worker (relay, consumer) until SIGTERM/SIGINT sets the stop event."""
    configure_logging(settings.log_level, settings.service_name)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    run(stop)
