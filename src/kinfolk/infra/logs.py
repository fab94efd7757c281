"""Log output for operators: one format for every logger, text for people or JSON for machines.

`KINFOLK_LOG_FORMAT=json` writes one JSON object per line (time, level, logger, message, the
record's structured fields, and the traceback of an error) so that a log shipper needs no parser;
`text` (the default) writes the same fields as `key=value` after the message.

Records carry their structured fields in `record.fields` (a dict), set with
`logger.info(message, extra={"fields": {...}})`; the access log is built that way.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import orjson

FORMATS = ("text", "json")


_second: tuple[int, str] = (-1, "")


def _iso(created: float) -> str:
    """UTC, to the millisecond; strftime once per second, not per line."""
    global _second
    whole = int(created)
    cached = _second  # one read: another thread may replace it meanwhile
    if cached[0] != whole:
        cached = _second = (whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)))
    return f"{cached[1]}.{int((created - whole) * 1000):03d}Z"


class TextFormatter(logging.Formatter):
    """`time LEVEL logger: message key=value ...`, then the traceback on its own lines."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{_iso(record.created)} {record.levelname} {record.name}: {record.getMessage()}"
        fields: dict[str, Any] | None = getattr(record, "fields", None)
        if fields:
            # Fields the message already shows (the access line's method, path and status) once only.
            shown: tuple[str, ...] = getattr(record, "in_message", ())
            pairs = " ".join(
                f"{key}={_text_value(value)}"
                for key, value in fields.items()
                if value is not None and key not in shown
            )
            line = f"{line} {pairs}"
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line = f"{line}\n{record.exc_text}"
        if record.stack_info:
            line = f"{line}\n{self.formatStack(record.stack_info)}"
        return line


def _text_value(value: Any) -> str:
    text = str(value)
    if not text or " " in text or '"' in text or "=" in text or "\n" in text:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return text


class JsonFormatter(logging.Formatter):
    """One JSON object per line; an error's traceback goes in `exc_info` as a string."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": _iso(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields: dict[str, Any] | None = getattr(record, "fields", None)
        if fields:
            out.update((key, value) for key, value in fields.items() if value is not None)
        if record.exc_info:
            out["exc_info"] = self.formatException(record.exc_info)
        elif record.exc_text:
            out["exc_info"] = record.exc_text
        return orjson.dumps(out, default=str).decode()


def formatter(log_format: str) -> logging.Formatter:
    if log_format not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}, not {log_format!r}")
    return JsonFormatter() if log_format == "json" else TextFormatter()


def configure_logging(log_format: str = "text", level: int = logging.INFO) -> None:
    """Send every record (ours, uvicorn's, SQLAlchemy's warnings) to stderr in one format.

    Replaces the root logger's handlers, so that calling it again (the web processes of
    `kinfolk web --workers N` each call it) does not print lines twice."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(log_format))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # uvicorn's loggers keep handlers of their own (its default log config): route them to ours.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
