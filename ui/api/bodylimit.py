"""An ASGI middleware that limits request bodies by the bytes actually received, chunked bodies included."""

from __future__ import annotations

from collections.abc import Callable

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyLimit:
    """Reads each request body before the app sees it and answers ``refuse()`` as soon as it passes ``max_bytes``.

    The app gets the body only once it is known to be small, so a route never parses, and no dependency
    (authentication included) runs for, an oversized body; the rest of such a body is never read: the refusal
    carries ``Connection: close``. A declared ``Content-Length`` over the limit is refused before any byte.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, refuse: Callable[[], Response]) -> None:
        self.app, self.max_bytes, self.refuse = app, max_bytes, refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: let the app see it
                await self.app(scope, _replay([], message, receive), send)
                return
            body = message.get("body", b"")
            received += len(body)
            if received > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay([b"".join(chunks)], None, receive), send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = self.refuse()
        response.headers["Connection"] = "close"
        await response(scope, receive, send)


def _replay(bodies: list[bytes], last: Message | None, receive: Receive) -> Receive:
    """A ``receive`` that hands out the body read so far (or the message that ended it), then the real one."""
    pending: list[Message] = [{"type": "http.request", "body": b, "more_body": False} for b in bodies]
    if last is not None:
        pending.append(last)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed
