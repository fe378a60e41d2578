"""gunicorn's own lines (start-up, workers, the access log) go through `common.logs` too, so the
admin logs one JSON object per line like every other process. Read by `-c python:...`."""

from common.settings import Settings

_ENV = Settings()
_QUIET = {"level": "INFO", "handlers": [], "propagate": True}

logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "root": {"level": _ENV.log_level.upper(), "handlers": ["stderr"]},
    "loggers": {"gunicorn.error": _QUIET, "gunicorn.access": _QUIET},
    "handlers": {"stderr": {"()": "common.logs.handler", "fmt": _ENV.log_format}},
    "formatters": {},
}
