"""The uvicorn configuration of the API, from its settings: which proxies to trust and how long a client may
take to send a request's headers."""

from __future__ import annotations

import asyncio
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from ui.api.settings import ApiSettings


def header_deadline_protocol(timeout_s: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol with a deadline on request heads: a connection whose next request's headers are
    not complete ``timeout_s`` after it opened (or after the previous response) is closed."""

    class HeaderDeadline(H11Protocol):
        _deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.conn.their_state is not h11.IDLE and self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
            super().connection_lost(exc)

        def _arm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
            self._deadline = self.loop.call_later(timeout_s, self._too_slow)

        def _too_slow(self) -> None:
            self._deadline = None
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                self.transport.close()

    return HeaderDeadline


def uvicorn_config(app: Any, settings: ApiSettings, host: str, port: int, **options: Any) -> uvicorn.Config:
    """A uvicorn config for ``app``: proxy headers only from ``DESKPILOT_FORWARDED_ALLOW_IPS`` and only when
    ``DESKPILOT_TRUST_PROXY_HEADERS`` is set (uvicorn's own default trusts any loopback peer), the header
    deadline and the keep-alive timeout; ``options`` go to uvicorn as they are (log level, log config)."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        proxy_headers=settings.trust_proxy_headers,
        forwarded_allow_ips=settings.forwarded_allow_ips if settings.trust_proxy_headers else [],
        http=header_deadline_protocol(settings.header_timeout_s),
        timeout_keep_alive=settings.keep_alive_timeout_s,
        **options,
    )
