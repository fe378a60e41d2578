"""One logging set-up for every process: one line per record, to stderr (supervisord files it)."""

import logging
import sys


def configure(level: str = "INFO", name: str | None = None) -> logging.Logger:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, root.level))
    return logging.getLogger(name or "billing")
