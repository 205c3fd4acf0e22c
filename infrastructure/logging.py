"""How the processes log: text for a terminal, or one JSON object a line for a log collector
(VALMIUS_LOG_FORMAT), each record carrying the id of the request it was written for.

The JSON formatter is a few lines of the standard library rather than python-json-logger: five fixed members
(time, level, logger, message, request_id, and the traceback when there is one) need no dependency.

REQUEST_ID is set by the HTTP edge for each request (interfaces.http.metrics.Observed); a request runs in its own
task, and FastAPI hands the context on to the threads that run its routes, so every record of the request,
in whichever layer, carries its id.
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)

LogFormat = Literal["text", "json"]
TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class WithRequestId(logging.Filter):
    """Puts the current request's id (or None) on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def logging_config(log_format: LogFormat) -> dict[str, Any]:
    """A logging.config.dictConfig for `log_format`: the root and uvicorn's loggers on one stderr handler.
    `valmius serve` hands it to uvicorn too, which applies it in every worker process it starts."""
    formatter = {"()": JsonFormatter} if log_format == "json" else {"format": TEXT}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": WithRequestId}},
        "formatters": {"default": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler", "formatter": "default", "filters": ["request_id"],
                "stream": "ext://sys.stderr",
            },
        },
        "root": {"level": "INFO", "handlers": ["stderr"]},
        "loggers": {
            name: {"level": "INFO", "handlers": [], "propagate": True}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }
