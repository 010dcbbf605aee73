"""JSON log lines on stdout, each carrying the agent name and trace id of its request."""

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TextIO

# Set per request by the service; every log line in that request's context picks them up.
trace_id_var: ContextVar[str | None] = ContextVar("trace_id", default=None)
agent_name_var: ContextVar[str | None] = ContextVar("agent_name", default=None)

# Fields a log call may pass through `extra=`, beyond the ones every line has.
EXTRA_FIELDS = ("duration_ms", "status", "method", "path", "http_status", "variant", "reason")


class JsonFormatter(logging.Formatter):
    """One JSON object per line with a fixed set of fields (null when not applicable)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "agent_name": getattr(record, "agent_name", None) or agent_name_var.get(),
            "trace_id": trace_id_var.get(),
            "duration_ms": None,
            "status": None,
        }
        for field in EXTRA_FIELDS:
            if hasattr(record, field):
                line[field] = getattr(record, field)
        if record.exc_info and record.exc_info[0] is not None:
            # The type only: tracebacks may quote request data, and stay out of shipped logs.
            line["exception_type"] = record.exc_info[0].__name__
        return json.dumps(line, default=str)


def configure_logging(stream: TextIO | None = None, level: int = logging.INFO) -> None:
    """Send every logger (uvicorn's too) to one JSON handler on stdout."""
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
