"""How the CLI's log lines look on stderr: `text` (the default) or `json`.

`json` writes one object per line, for log shippers (Loki, journald, Docker)::

    {"time": "2026-12-06T03:04:05.123Z", "level": "INFO", "logger": "orchestrator...",
     "message": "job 1a2b3c4d: succeeded with 1 sprite(s)", "job_id": "1a2b…", "backend":
     "http://127.0.0.1:8188"}

`job_id` and `backend` come from the record (`logger.info(..., extra={"job_id": …})`),
else from the worker's job context (`orchestrator.service.log_context`); null when neither
says. An exception's traceback goes under `exc_info`.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Literal, get_args

from orchestrator.service.log_context import current_job

__all__ = ["LOG_FORMATS", "JsonFormatter", "LogFormat", "formatter_for"]

LogFormat = Literal["text", "json"]
LOG_FORMATS: tuple[str, ...] = get_args(LogFormat)
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, job_id, backend."""

    def format(self, record: logging.LogRecord) -> str:
        job_id, backend = current_job()
        when = datetime.fromtimestamp(record.created, tz=UTC)
        entry = {
            "time": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "job_id": getattr(record, "job_id", None) or job_id,
            "backend": getattr(record, "backend", None) or backend,
        }
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def formatter_for(log_format: LogFormat) -> logging.Formatter:
    """The formatter of a `--log-format` value."""
    return JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
