"""Structured logging: one line per event, `key=value` pairs (logfmt), greppable and parseable."""

from __future__ import annotations

import logging
import sys
import time


class _LogfmtFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        fields = {
            "ts": f"{ts}.{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        fields.update(getattr(record, "fields", {}))
        line = " ".join(f"{k}={_quote(v)}" for k, v in fields.items())
        if record.exc_info:
            exc = self.formatException(record.exc_info).replace("\n", "\\n")
            line += f" exc={_quote(exc)}"
        return line


def _quote(value: object) -> str:
    text = str(value)
    if text == "" or any(c in text for c in ' "=\n'):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return text


def setup(level: str = "INFO") -> None:
    """Configure the root logger once, for a command or service process."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_LogfmtFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("kafka", "aiokafka", "urllib3", "faust", "mode"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    # Faust follows its `wait_empty` warning (a rebalance stuck on events in flight) with the
    # agents' tracebacks at INFO: the one INFO line of it that is worth having.
    faust_consumer = logging.getLogger("faust.transport.drivers.aiokafka")
    faust_consumer.setLevel(max(logging.INFO, root.level))
    faust_consumer.addFilter(_warnings_and_agent_tracebacks)


def _warnings_and_agent_tracebacks(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.WARNING or "Agent tracebacks" in str(record.msg)


def event(logger: logging.Logger, name: str, level: int = logging.INFO, **fields: object) -> None:
    """Log one event with structured fields: `event(log, "bridge.started", port=1883)`."""
    logger.log(level, name, extra={"fields": fields})
