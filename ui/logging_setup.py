"""Log lines as JSON objects (or plain text), each with its request and trace id, PII redacted before it is written.

Every record a handler set up here writes passes :class:`RedactFilter` first: the formatted message, the
traceback and every string extra field go through the ingest redactor (Presidio's recognizers and spaCy NER),
so an e-mail, phone, card, IBAN or name logged by mistake reaches the output as ``<EMAIL_ADDRESS>`` etc.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import IO, Any, Literal

from assistant.tracing import current_trace_id
from ui.api.app import request_id_var
from ui.observability import ObservabilitySettings
from ui.settings import AppSettings

Redact = Callable[[str, str], str]
LogFormat = Literal["json", "text"]
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
WITHHELD = "<withheld: logged while redacting>"
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
_OURS = frozenset({"request_id", "trace_id", "deskpilot_redacted"})
_HANDLER_NAME = "deskpilot"


class LogRedactor:
    """PII redaction for log text: built on first use, remembers recent lines, never recurses.

    The redactor's own libraries may log while it runs; such lines are withheld rather than redacted
    (redacting them would call the redactor again)."""

    def __init__(self, factory: Callable[[], Redact], remember: int = 4096) -> None:
        self._factory, self._remember = factory, remember
        self._redact: Redact | None = None
        self._seen: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.RLock()
        self._busy = threading.local()

    def __call__(self, text: str) -> str:
        """``text`` with PII replaced by typed placeholders."""
        if not text or text.isspace():
            return text
        if getattr(self._busy, "on", False):
            return WITHHELD
        with self._lock:
            known = self._seen.get(text)
            if known is not None:
                self._seen.move_to_end(text)
                return known
            self._busy.on = True
            try:
                if self._redact is None:
                    self._redact = self._factory()
                clean = self._redact(text, "en")
            except Exception as exc:  # a log line must never take the request down with it
                clean = f"<withheld: the redactor failed ({type(exc).__name__})>"
            finally:
                self._busy.on = False
            self._seen[text] = clean
            while len(self._seen) > self._remember:
                self._seen.popitem(last=False)
            return clean


class ContextFilter(logging.Filter):
    """Adds ``request_id`` (the API's current request) and ``trace_id`` (the current answer's trace)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", "-") in ("-", "", None):
            record.request_id = request_id_var.get()
        if not getattr(record, "trace_id", None):
            record.trace_id = current_trace_id()
        return True


class RedactFilter(logging.Filter):
    """Replaces the message, the traceback and string extras of a record with their redacted text."""

    def __init__(self, redact: Callable[[str], str]) -> None:
        super().__init__()
        self.redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "deskpilot_redacted", False):  # another of our handlers did it already
            return True
        record.msg, record.args = self.redact(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        for key, value in extras(record).items():
            setattr(record, key, _redact_value(value, self.redact))
        record.deskpilot_redacted = True
        return True


def _redact_value(value: object, redact: Callable[[str], str]) -> object:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, bool | int | float) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _redact_value(v, redact) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_redact_value(v, redact) for v in value]
    return redact(str(value))


def extras(record: logging.LogRecord) -> dict[str, Any]:
    """The fields a caller added with ``extra={...}``."""
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and k not in _OURS and not k.startswith("_")}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, request_id, trace_id, then the extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
            "trace_id": getattr(record, "trace_id", ""),
        }
        for key, value in extras(record).items():
            payload.setdefault(key, value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            payload["exception"] = record.exc_text
        if record.stack_info:
            payload["stack"] = record.stack_info
        return json.dumps(payload, ensure_ascii=False, default=str)


def resolve_format(settings: ObservabilitySettings, default: LogFormat) -> LogFormat:
    """The configured format (``DESKPILOT_LOG_FORMAT``), or the door's default when it is ``auto``."""
    return default if settings.log_format == "auto" else settings.log_format


def log_handler(fmt: LogFormat, redact: Callable[[str], str], stream: IO[str] | None = None) -> logging.Handler:
    """A stream handler writing ``fmt`` lines with request/trace ids, every record redacted first."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactFilter(redact))
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    return handler


def configure_logging(
    settings: ObservabilitySettings,
    redactor: Callable[[], Redact],
    *,
    default: LogFormat = "text",
    stream: IO[str] | None = None,
) -> logging.Handler:
    """Send the root logger's records to one redacting handler (replacing one set up before); returns it.

    ``redactor`` builds the redaction function on the first line that needs it (loading the NER model)."""
    try:
        level = logging.getLevelNamesMapping()[settings.log_level.upper()]
    except KeyError as exc:
        raise ValueError(
            f"DESKPILOT_LOG_LEVEL={settings.log_level!r} is not a log level; use DEBUG, INFO, WARNING or ERROR"
        ) from exc
    handler = log_handler(resolve_format(settings, default), LogRedactor(redactor), stream)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("alembic", "httpx", "urllib3"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    # Presidio warns about every recognizer of a language we do not load, on each start.
    logging.getLogger("presidio-analyzer").setLevel(max(level, logging.ERROR))
    return handler


LOCAL_ADDRESSES = ("127.0.0.1", "0.0.0.0", "::1", "localhost")


def ingest_redactor(settings: AppSettings) -> Callable[[], Redact]:
    """A factory of the ingest redactor (``ingest.redact.Redactor``) for ``settings.ingest``; it shares the
    process's loaded models with the answer pipeline's redactor."""

    def build() -> Redact:
        from ingest.redact import Redactor

        # The service's own listen addresses ("API on http://127.0.0.1:8000") are nobody's personal data.
        allow = (*settings.ingest.pii_allow_list, *LOCAL_ADDRESSES)
        redactor = Redactor(settings.ingest.model_copy(update={"pii_allow_list": allow}))
        return lambda text, locale: redactor.redact(text, locale).text

    return build
