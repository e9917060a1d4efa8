"""A small HTTP server on loopback standing in for Langfuse, which cannot run here.

It records what the real Langfuse SDK sends: OTLP span exports (``/api/public/otel/v1/traces``, protobuf,
gzip or not) and score batches (``/api/public/scores``, JSON), and answers as Langfuse does (200 / 202).
"""

from __future__ import annotations

import gzip
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue


@dataclass(frozen=True)
class Received:
    """One request as it arrived."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class ExportedSpan:
    """One span of an OTLP export, ids in hex, attributes decoded."""

    name: str
    trace_id: str
    span_id: str
    parent_id: str
    start_ns: int
    end_ns: int
    attributes: dict[str, Any]

    def metadata(self, key: str) -> Any:
        """A ``langfuse.observation.metadata.<key>`` value, JSON-decoded (None when absent)."""
        raw = self.attributes.get(f"langfuse.observation.metadata.{key}")
        return None if raw is None else json.loads(raw)

    def attribute_json(self, key: str) -> Any:
        """A JSON-encoded attribute, decoded (None when absent)."""
        raw = self.attributes.get(key)
        return None if raw is None else json.loads(raw)


def _value(v: AnyValue) -> Any:
    kind = v.WhichOneof("value")
    if kind == "array_value":
        return [_value(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in v.kvlist_value.values}
    return getattr(v, kind) if kind else None


class LangfuseReceiver:
    """Records every request; ``spans()`` and ``scores()`` decode them."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                if self.headers.get("content-encoding") == "gzip":
                    body = gzip.decompress(body)
                with receiver._lock:
                    receiver.received.append(Received("POST", self.path, dict(self.headers.items()), body))
                scores = self.path.startswith("/api/public/scores")
                reply = b'{"message": "Accepted"}' if scores else b""
                self.send_response(202 if scores else 200)
                self.send_header("content-type", "application/json" if scores else "application/x-protobuf")
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            do_GET = do_POST

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LangfuseReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def spans(self) -> list[ExportedSpan]:
        """Every span exported so far."""
        found = []
        with self._lock:
            exports = [r for r in self.received if r.path.endswith("/otel/v1/traces")]
        for export in exports:
            request = ExportTraceServiceRequest.FromString(export.body)
            for resource in request.resource_spans:
                for scope in resource.scope_spans:
                    for span in scope.spans:
                        found.append(
                            ExportedSpan(
                                name=span.name,
                                trace_id=span.trace_id.hex(),
                                span_id=span.span_id.hex(),
                                parent_id=span.parent_span_id.hex(),
                                start_ns=span.start_time_unix_nano,
                                end_ns=span.end_time_unix_nano,
                                attributes={kv.key: _value(kv.value) for kv in span.attributes},
                            )
                        )
        return found

    def scores(self) -> list[dict[str, Any]]:
        """Every score posted so far."""
        with self._lock:
            posts = [r for r in self.received if r.path.startswith("/api/public/scores")]
        out: list[dict[str, Any]] = []
        for post in posts:
            data = json.loads(post.body)
            out += data if isinstance(data, list) else [data]
        return out
