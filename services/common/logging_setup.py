"""One log format for every process.

Log lines carry ids, classes and counts, never personal data.
"""

from __future__ import annotations

import logging
import sys


def configure_logging(level: str = "INFO", service: str = "safetyplan") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter(f"%(asctime)s %(levelname)s {service} %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # kafka-python logs record contents at DEBUG; keep it at WARNING whatever the level.
    logging.getLogger("kafka").setLevel(logging.WARNING)
