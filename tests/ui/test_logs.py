"""Structured logs: one JSON object per line with request and trace ids, PII redacted by the real ingest redactor."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest

from assistant.tracing import NULL_SPAN, Span, SpanKind, active
from ui.api.app import request_id_var
from ui.logging_setup import LogRedactor, configure_logging, ingest_redactor, log_handler
from ui.observability import ObservabilitySettings
from ui.settings import AppSettings

EMAIL, PHONE, CARD, IBAN, NAME = (
    "jane.doe@example.com",
    "+44 20 7946 0958",
    "4111 1111 1111 1111",
    "DE89 3704 0044 0532 0130 00",
    "Margaret Thornbury",
)
PLANTED = (EMAIL, PHONE, CARD, IBAN, "Thornbury")


class OneTrace:
    """A trace that records nothing; only its id matters to the log lines."""

    trace_id = "0123456789abcdef0123456789abcdef"

    def span(self, name: str, kind: SpanKind, metadata: Mapping[str, object]) -> AbstractContextManager[Span]:
        @contextmanager
        def opened() -> Iterator[Span]:
            yield NULL_SPAN

        return opened()


@pytest.fixture(scope="module")
def redactor(tmp_path_factory: pytest.TempPathFactory) -> LogRedactor:
    return LogRedactor(ingest_redactor(AppSettings.load(tmp_path_factory.mktemp("logs"))))


@contextmanager
def captured(fmt: str, redactor: LogRedactor) -> Iterator[tuple[logging.Logger, io.StringIO]]:
    out = io.StringIO()
    handler = log_handler(fmt, redactor, out)  # type: ignore[arg-type]
    logger = logging.getLogger(f"deskpilot.test.{fmt}")
    logger.propagate, logger.level = False, logging.DEBUG
    logger.addHandler(handler)
    try:
        yield logger, out
    finally:
        logger.removeHandler(handler)


def test_json_lines_carry_ids_and_extras_and_no_planted_pii(redactor: LogRedactor) -> None:
    token = request_id_var.set("req-0123456789")
    try:
        with captured("json", redactor) as (logger, out), active(OneTrace()):
            logger.info(f"customer {NAME} wrote from {EMAIL}")
            logger.warning("card %s and IBAN %s", CARD, IBAN, extra={"caller": PHONE, "attempt": 2})
            try:
                raise ValueError(f"no account for {EMAIL}")
            except ValueError:
                logger.exception("lookup failed")
    finally:
        request_id_var.reset(token)
    lines = out.getvalue().splitlines()
    assert len(lines) == 3
    records = [json.loads(line) for line in lines]
    for record in records:
        assert {"ts", "level", "logger", "message", "request_id", "trace_id"} <= set(record)
        assert record["request_id"] == "req-0123456789"
        assert record["trace_id"] == OneTrace.trace_id
        assert record["logger"] == "deskpilot.test.json"
    assert records[0]["level"] == "INFO" and "<EMAIL_ADDRESS>" in records[0]["message"]
    assert "<PERSON>" in records[0]["message"]
    assert "<CREDIT_CARD>" in records[1]["message"] and "<IBAN_CODE>" in records[1]["message"]
    assert records[1]["caller"] == "<PHONE_NUMBER>" and records[1]["attempt"] == 2
    assert "ValueError" in records[2]["exception"] and "<EMAIL_ADDRESS>" in records[2]["exception"]
    text = out.getvalue()
    assert not any(p in text for p in PLANTED), text


def test_plain_text_lines_are_redacted_too(redactor: LogRedactor) -> None:
    with captured("text", redactor) as (logger, out):
        logger.info("reply to %s", EMAIL)
    line = out.getvalue().strip()
    assert line.endswith("reply to <EMAIL_ADDRESS>") and " INFO deskpilot.test.text [-] " in line
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)


def test_configure_logging_replaces_its_handler_and_names_a_bad_level(tmp_path: Path) -> None:
    settings = AppSettings.load(tmp_path)
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    out = io.StringIO()
    try:
        first = configure_logging(settings.observability, ingest_redactor(settings), default="json", stream=out)
        second = configure_logging(settings.observability, ingest_redactor(settings), default="json", stream=out)
        assert first not in root.handlers and second in root.handlers
        logging.getLogger("deskpilot.test.root").info("hello %s", EMAIL)
        assert json.loads(out.getvalue().splitlines()[-1])["message"] == "hello <EMAIL_ADDRESS>"
        text = ObservabilitySettings(log_format="text")
        configure_logging(text, ingest_redactor(settings), default="json", stream=out)
        logging.getLogger("deskpilot.test.root").info("plain")
        assert out.getvalue().splitlines()[-1].endswith("plain")
        with pytest.raises(ValueError, match="DESKPILOT_LOG_LEVEL"):
            configure_logging(ObservabilitySettings(log_level="LOUD"), ingest_redactor(settings))
    finally:
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)


def test_a_failing_redactor_withholds_the_line() -> None:
    def broken(text: str, locale: str) -> str:
        raise RuntimeError("model missing")

    redact = LogRedactor(lambda: broken)
    assert redact(f"mail {EMAIL}") == "<withheld: the redactor failed (RuntimeError)>"


def test_own_listen_addresses_stay_readable_and_a_customers_address_does_not(redactor: LogRedactor) -> None:
    with captured("json", redactor) as (logger, out):
        logger.info("API on http://127.0.0.1:8000, console on http://127.0.0.1:8501")
        logger.info("request from 203.0.113.77 failed")
    first, second = (json.loads(line)["message"] for line in out.getvalue().splitlines())
    assert first == "API on http://127.0.0.1:8000, console on http://127.0.0.1:8501"
    assert "203.0.113.77" not in second and "<IP_ADDRESS>" in second
