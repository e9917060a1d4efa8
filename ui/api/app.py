"""The FastAPI application: one place for auth, the role matrix, limits, CORS, request ids and metrics."""

import json
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Protocol
from uuid import UUID

from fastapi import Depends, FastAPI, Header, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import iterate_in_threadpool

from assistant.records import Answer, Question
from assistant.render import widget_blocks
from assistant.routing import BUDGET_CAUSES, parse_route
from assistant.service import AnswerService
from ui.api.auth import AuthError, KeyLookup, OidcVerifier, Principal, authenticate
from ui.api.bodylimit import BodyLimit
from ui.api.fairlock import FairLock
from ui.api.ratelimit import Limiter, limiter, request_cost
from ui.api.roles import Action, Role, allowed
from ui.api.schemas import (
    Accepted,
    AnswerRequest,
    AnswerResponse,
    BlockOut,
    EditRequest,
    EscalationOut,
    EscalationPage,
    EscalationPatch,
    EscalationRequest,
    FeedbackRequest,
    InteractionPage,
)
from ui.api.settings import ApiSettings
from ui.metrics import ServiceCollector
from ui.observability import ObservabilitySettings
from ui.tracing import NO_TRACER, Tracer, activate, stepwise

if TYPE_CHECKING:
    from ui.canary import Arm, Canary

log = logging.getLogger("deskpilot.api")
request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
WIDGET_DIR = Path(__file__).resolve().parent.parent / "widget"
_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


class Recorder(Protocol):
    """Where the API writes interactions, votes, edits and escalations (the feedback store)."""

    def interaction(
        self,
        answer: Answer,
        principal: Principal,
        channel: str,
        request_id: str,
        variant: str = "",
        shadow_of: str | None = None,
        *,
        trace_id: str = "",
        cost_usd: float = 0.0,
        conversation_id: str = "",
    ) -> tuple[str, str]:
        """Record an answer (``variant``: its rollout arm; ``shadow_of``: the live interaction a shadow
        answer accompanied; ``trace_id``: its trace, the request id when untraced; ``conversation_id``: the
        conversation it belongs to); returns (interaction id, "stored" | "spooled")."""
        ...

    def feedback(self, body: FeedbackRequest, principal: Principal) -> tuple[str, str]: ...
    def edit(self, body: EditRequest, principal: Principal) -> tuple[str, str]: ...
    def escalation(self, body: EscalationRequest, principal: Principal) -> tuple[str, str]: ...
    def escalations(self, tenant: str, page: int, page_size: int, status: str | None) -> EscalationPage:
        """One page of the tenant's escalations, newest first, each with its server-built conversation."""
        ...

    def update_escalation(self, tenant: str, escalation_id: str, body: EscalationPatch, actor: str) -> EscalationOut:
        """Set status and/or assignee (audited); raises NotFound for another tenant's or an unknown id."""
        ...

    def interactions(
        self,
        tenant: str,
        page: int,
        page_size: int,
        channel: str | None,
        since: datetime | None,
        until: datetime | None,
    ) -> InteractionPage: ...
    def owns(self, tenant: str, interaction_id: str) -> bool | None:
        """True/False when known; None when the database cannot tell right now (it is down)."""
        ...

    def ready(self) -> bool: ...


class SpoolFailed(Exception):
    """Neither the database nor the local spool could take a write: the client must retry (503)."""


class NotFound(Exception):
    """The interaction (or file) does not exist for this tenant (404)."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


@dataclass
class Metrics:
    """Prometheus metrics of one app instance (its own registry, so tests can build several apps)."""

    registry: CollectorRegistry
    requests: Counter
    latency: Histogram
    stage: Histogram
    answers: Counter
    escalations: Counter
    routes: Counter
    budget_downgrades: Counter
    cache: Counter
    abstentions: Counter
    tokens: Counter
    cost: Counter

    @classmethod
    def create(cls) -> "Metrics":
        """A fresh registry with deskpilot's metrics."""
        r = CollectorRegistry()
        return cls(
            registry=r,
            requests=Counter("deskpilot_requests_total", "HTTP requests", ["route", "status"], registry=r),
            latency=Histogram("deskpilot_request_seconds", "HTTP request latency", ["route"], registry=r),
            stage=Histogram("deskpilot_answer_stage_seconds", "Answer latency per stage", ["stage"], registry=r),
            answers=Counter(
                "deskpilot_answers_total", "Answers", ["channel", "generator", "abstained", "cached"], registry=r
            ),
            escalations=Counter("deskpilot_escalations_total", "Escalations", ["queue"], registry=r),
            routes=Counter("deskpilot_llm_routes_total", "Routing of LLM answers", ["tier", "cause"], registry=r),
            budget_downgrades=Counter(
                "deskpilot_budget_downgrades_total", "Answers downgraded for a budget", ["tenant", "to"], registry=r
            ),
            cache=Counter("deskpilot_answer_cache_total", "Answers served from the cache", ["result"], registry=r),
            abstentions=Counter("deskpilot_abstentions_total", "Answers that abstained", ["channel"], registry=r),
            tokens=Counter("deskpilot_llm_tokens_total", "LLM tokens spent", ["model", "kind"], registry=r),
            cost=Counter("deskpilot_llm_cost_usd_total", "LLM cost (priced models only)", ["model"], registry=r),
        )

    def observe_answer(self, answer: Answer, channel: str, cost_usd: float | None) -> None:
        """Count a served answer: cache hit or miss, abstention, and the LLM tokens and cost it spent (a cached
        answer spent none)."""
        self.cache.labels("hit" if answer.cached else "miss").inc()
        if answer.abstained:
            self.abstentions.labels(channel).inc()
        if answer.cached or not (answer.prompt_tokens or answer.completion_tokens):
            return
        model = answer.model or answer.generator
        self.tokens.labels(model, "prompt").inc(answer.prompt_tokens)
        self.tokens.labels(model, "completion").inc(answer.completion_tokens)
        if cost_usd:
            self.cost.labels(model).inc(cost_usd)


class RequestIdFilter(logging.Filter):
    """Adds the current request id to every log record (``%(request_id)s`` in a format)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


def create_app(
    service: AnswerService,
    recorder: Recorder,
    key_lookup: KeyLookup,
    settings: ApiSettings,
    ready: Callable[[], bool] = lambda: True,
    demo_keys: dict[str, str] | None = None,
    rollout: "Canary | None" = None,
    tracer: Tracer = NO_TRACER,
    observability: ObservabilitySettings | None = None,
) -> FastAPI:
    """The API over an answer service and a feedback recorder."""
    app = FastAPI(title="deskpilot", version="1", docs_url="/docs", redoc_url=None)
    metrics = Metrics.create()
    metrics.registry.register(ServiceCollector(service))
    prices = observability or ObservabilitySettings()
    oidc = OidcVerifier(settings) if settings.oidc_enabled() else None
    per_key = limiter(settings, "key", settings.rate_limit_per_key)
    per_client = limiter(settings, "client", settings.rate_limit_per_client)
    per_visitor = limiter(settings, "visitor", settings.rate_limit_widget_per_visitor)
    per_tenant = limiter(settings, "tenant", settings.rate_limit_widget_per_tenant)

    def buckets(principal: Principal, client: str) -> tuple[tuple[Limiter, str], ...]:
        # A widget key is public and shared by every visitor of the help center: each visitor has their own
        # bucket under the tenant's much larger one. The cheapest refusal comes first, so a visitor over their
        # own limit takes nothing from the tenant's.
        if principal.role == Role.widget:
            return (
                (per_visitor, f"v:{principal.subject}:{client}"),
                (per_client, f"c:{client}"),
                (per_tenant, f"t:{principal.tenant}"),
            )
        return ((per_key, f"k:{principal.subject}"), (per_client, f"c:{client}"))

    # The embedded index and the models are shared by every request; the engine is not built for
    # concurrent writers and two answers at once only fight over the same two cores. Waiting tenants take
    # turns, so one tenant's burst of heavy questions does not queue every other tenant behind it.
    answer_lock = FairLock()
    every_origin = {o for origins in settings.cors_origins.values() for o in origins}

    def problem(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
        return JSONResponse(
            {"detail": detail, "request_id": request_id_var.get()}, status_code=status, headers=headers or {}
        )

    # Inside the envelope (added first), so a refused body still gets a request id and is counted.
    app.add_middleware(
        BodyLimit,
        max_bytes=settings.max_body_bytes,
        refuse=lambda: problem(413, f"request body over {settings.max_body_bytes} bytes"),
    )

    @app.middleware("http")
    async def envelope(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        rid = request.headers.get("x-request-id", "")
        rid = rid if 8 <= len(rid) <= 64 and rid.replace("-", "").isalnum() else uuid.uuid4().hex
        token = request_id_var.set(rid)
        started = time.perf_counter()
        route = request.url.path
        try:
            origin = request.headers.get("origin")
            if request.method == "OPTIONS" and origin:
                response: Response = _preflight(origin, every_origin)
            else:
                response = await call_next(request)
            if origin and origin in every_origin:
                response.headers["Access-Control-Allow-Origin"] = origin
                response.headers["Vary"] = "Origin"
                response.headers["Access-Control-Expose-Headers"] = "X-Request-ID, Retry-After"
        except Exception:  # a user never sees a stack trace; the log has it with the request id
            log.exception("unhandled error on %s", route)
            response = problem(500, "internal error; quote the request id when you report it")
        response.headers["X-Request-ID"] = rid
        # The route's template, not the path: /widget/{name} is one series, and unknown paths cannot add any.
        template = getattr(request.scope.get("route"), "path", "unmatched")
        metrics.requests.labels(template, str(response.status_code)).inc()
        metrics.latency.labels(template).observe(time.perf_counter() - started)
        request_id_var.reset(token)
        return response

    @app.exception_handler(AuthError)
    async def _auth_error(_: Request, exc: AuthError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}
        return problem(exc.status, exc.message, headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return problem(422, f"{where or 'body'}: {first.get('msg', 'invalid request')}")

    @app.exception_handler(SpoolFailed)
    async def _spool(_: Request, exc: SpoolFailed) -> JSONResponse:
        return problem(503, f"could not store this write ({exc}); nothing was saved, retry later", {"Retry-After": "5"})

    def caller(action: Action) -> Callable[..., Awaitable[Principal]]:
        async def dependency(
            request: Request,
            x_api_key: Annotated[str | None, Header()] = None,
            authorization: Annotated[str | None, Header()] = None,
        ) -> Principal:
            principal = authenticate(x_api_key, authorization, key_lookup, oidc)
            if not allowed(principal.role, action):
                raise AuthError(403, f"role {principal.role} may not {action.value.replace('_', ' ')}")
            origin = request.headers.get("origin")
            same_origin = origin == f"{request.url.scheme}://{request.url.netloc}"
            if origin and not same_origin and origin not in settings.cors_origins.get(principal.tenant, []):
                raise AuthError(
                    403,
                    f"origin {origin} is not allowed for tenant {principal.tenant}; "
                    "add it to DESKPILOT_CORS_ORIGINS for this tenant",
                )
            if principal.role == Role.widget and not service.flags.get(principal.tenant).widget_enabled:
                raise _WidgetOff(principal.tenant)
            cost = request_cost(len(await request.body()), settings.rate_limit_bytes_per_token)
            for limits, key in buckets(principal, _client_address(request)):
                wait = limits.take(key, cost)
                if wait > 0:
                    raise _RateLimited(wait)
            return principal

        return dependency

    @app.exception_handler(_WidgetOff)
    async def _widget_off(_: Request, exc: _WidgetOff) -> JSONResponse:
        # "code" lets the widget tell this from an outage: it says so once and then hides itself.
        detail = f"the help widget of tenant {exc.tenant} is switched off (flag widget_enabled)"
        body = {"detail": detail, "code": "widget_disabled", "request_id": request_id_var.get()}
        return JSONResponse(body, status_code=503)

    @app.exception_handler(_RateLimited)
    async def _rate(_: Request, exc: _RateLimited) -> JSONResponse:
        return problem(429, "rate limit reached; retry later", {"Retry-After": str(max(1, round(exc.wait)))})

    def question_of(body: AnswerRequest, principal: Principal) -> Question:
        if len(body.question) > settings.max_question_chars:
            raise _TooLong(settings.max_question_chars)
        channel = "widget" if principal.role == Role.widget else (body.channel or "api")
        return Question(
            text=body.question,
            tenant=principal.tenant,
            channel=channel,
            products=tuple(body.products),
            locale=body.locale,
            updated_after=body.updated_after.isoformat() if body.updated_after else None,
            generator="extractive" if principal.role == Role.widget and body.generator == "llm" else body.generator,
        )

    @app.exception_handler(_TooLong)
    async def _too_long(_: Request, exc: _TooLong) -> JSONResponse:
        return problem(422, f"question: at most {exc.limit} characters")

    def arm(question: Question, principal: Principal, rid: str) -> "Arm | None":
        """The rollout arm of this request (None without a rollout: the service answers, variant unrecorded)."""
        if rollout is None:
            return None
        return rollout.route(tenant=question.tenant, actor=principal.subject, request_id=rid)

    def cost_of(answer: Answer) -> float | None:
        return prices.cost_usd(answer.model, answer.prompt_tokens, answer.completion_tokens)

    def answered(
        answer: Answer,
        principal: Principal,
        channel: str,
        rid: str,
        served: "Arm | None" = None,
        trace_id: str = "",
        conversation_id: str = "",
    ) -> AnswerResponse:
        for stage, ms in answer.timings_ms.items():
            metrics.stage.labels(stage).observe(ms / 1000)
        metrics.answers.labels(channel, answer.generator, str(answer.abstained), str(answer.cached)).inc()
        cost = None if answer.cached else cost_of(answer)
        metrics.observe_answer(answer, channel, cost)
        tier, cause = parse_route(answer.route)
        if tier and not answer.cached:
            metrics.routes.labels(tier, cause).inc()
            if cause in BUDGET_CAUSES:
                metrics.budget_downgrades.labels(principal.tenant, tier).inc()
        interaction_id, _ = recorder.interaction(
            answer,
            principal,
            channel,
            rid,
            served.variant if served else "",
            trace_id=trace_id or rid,
            cost_usd=cost or 0.0,
            conversation_id=conversation_id,
        )
        payload = answer.as_json()
        return AnswerResponse(
            **payload,
            interaction_id=interaction_id,
            request_id=rid,
            escalation_reason=answer.escalation_reason,
            blocks=[BlockOut.model_validate(block) for block in widget_blocks(answer)],
        )

    def shadowed(question: Question, principal: Principal, rid: str, served: "Arm | None", live_id: str) -> None:
        """Queue the rollout candidate's shadow answer, recorded beside the live one; never seen by the caller."""
        if rollout is None or served is None:
            return

        def record(shadow: Answer, variant: str) -> object:
            return recorder.interaction(shadow, principal, question.channel, rid, variant, shadow_of=live_id)

        rollout.shadow(question, served, actor=principal.subject, request_id=rid, record=record)

    @app.post("/v1/answer", response_model=AnswerResponse, responses={401: {}, 403: {}, 413: {}, 422: {}, 429: {}})
    def answer(body: AnswerRequest, principal: Annotated[Principal, Depends(caller(Action.answer))]) -> AnswerResponse:
        """Answer a question from the caller's tenant's help center."""
        question = question_of(body, principal)
        rid = request_id_var.get()
        with answer_lock.hold(principal.tenant):
            served = arm(question, principal, rid)
            with tracer.answer(question, request_id=rid, actor=principal.subject) as trace, activate(trace):
                result = (served.service if served else service).answer(question)
                trace.finish(result, cost_of(result))
        final = answered(result, principal, question.channel, rid, served, trace.trace_id, body.conversation_id or "")
        shadowed(question, principal, request_id_var.get(), served, final.interaction_id)
        return final

    @app.post("/v1/answer/stream", responses={401: {}, 403: {}, 422: {}, 429: {}})
    async def answer_stream(
        body: AnswerRequest, principal: Annotated[Principal, Depends(caller(Action.answer))]
    ) -> EventSourceResponse:
        """Server-sent events: ``sentence`` events (validated sentences as they are written), then ``answer``."""
        question = question_of(body, principal)
        rid = request_id_var.get()

        def events() -> Iterator[dict[str, str]]:
            # Runs after the middleware has returned, one step per worker thread: the request id is passed in.
            with (
                answer_lock.hold(principal.tenant),
                tracer.answer(question, request_id=rid, actor=principal.subject) as trace,
            ):
                served = arm(question, principal, rid)
                for event in stepwise(trace, (served.service if served else service).stream(question)):
                    if event.answer is None:
                        yield {"event": "sentence", "data": json.dumps({"text": event.sentence})}
                    else:
                        trace.finish(event.answer, cost_of(event.answer))
                        final = answered(
                            event.answer,
                            principal,
                            question.channel,
                            rid,
                            served,
                            trace.trace_id,
                            body.conversation_id or "",
                        )
                        shadowed(question, principal, rid, served, final.interaction_id)
                        yield {"event": "answer", "data": final.model_dump_json()}

        async def stream() -> AsyncIterator[dict[str, str]]:
            async for item in iterate_in_threadpool(events()):
                yield item

        return EventSourceResponse(stream(), headers={"X-Request-ID": rid})

    def owned(principal: Principal, interaction_id: UUID | None) -> None:
        if interaction_id is None:
            return
        known = recorder.owns(principal.tenant, str(interaction_id))
        if known is False:  # None: the database is down; the spool keeps the write and replay checks it
            raise NotFound(f"interaction {interaction_id} of this tenant")

    @app.exception_handler(_UnknownQueue)
    async def _unknown_queue(_: Request, exc: _UnknownQueue) -> JSONResponse:
        known = ", ".join(exc.queues) or "none"
        return problem(422, f"queue: not a queue of tenant {exc.tenant} (DESKPILOT_ESCALATION_QUEUES: {known})")

    @app.exception_handler(NotFound)
    async def _not_found(_: Request, exc: NotFound) -> JSONResponse:
        return problem(404, f"not found: {exc.what}")

    def accepted(result: tuple[str, str]) -> Accepted:
        return Accepted(id=result[0], status=result[1], request_id=request_id_var.get())  # type: ignore[arg-type]

    @app.post("/v1/feedback", response_model=Accepted, status_code=202, responses={404: {}, 503: {}})
    def feedback(body: FeedbackRequest, principal: Annotated[Principal, Depends(caller(Action.feedback))]) -> Accepted:
        """Thumbs up/down with reason codes and a comment."""
        owned(principal, body.interaction_id)
        return accepted(recorder.feedback(body, principal))

    @app.post("/v1/edits", response_model=Accepted, status_code=202, responses={404: {}, 503: {}})
    def edits(body: EditRequest, principal: Annotated[Principal, Depends(caller(Action.edit))]) -> Accepted:
        """The text an agent sent in place of the draft."""
        owned(principal, body.interaction_id)
        return accepted(recorder.edit(body, principal))

    @app.post("/v1/escalations", response_model=Accepted, status_code=202, responses={404: {}, 503: {}})
    def escalations(
        body: EscalationRequest, principal: Annotated[Principal, Depends(caller(Action.escalate))]
    ) -> Accepted:
        """Hand the conversation to a person, in one of the tenant's queues (DESKPILOT_ESCALATION_QUEUES). The
        conversation is built from the tenant's recorded interactions of ``conversation_id`` (or the one
        ``interaction_id``); a ``conversation`` in the body is ignored."""
        queues = settings.queues_of(principal.tenant)
        if body.queue not in queues:  # the queue is a metric label: only known values may make a series
            raise _UnknownQueue(principal.tenant, queues)
        owned(principal, body.interaction_id)
        metrics.escalations.labels(body.queue).inc()
        return accepted(recorder.escalation(body, principal))

    @app.get("/v1/interactions", response_model=InteractionPage, responses={401: {}, 403: {}})
    def interactions(
        principal: Annotated[Principal, Depends(caller(Action.read_interactions))],
        page: Annotated[int, Query(ge=1, le=100_000)] = 1,
        page_size: Annotated[int, Query(ge=1)] = 50,
        channel: Annotated[str | None, Query(pattern="^(agent|widget|api)$")] = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> InteractionPage:
        """The caller's tenant's interactions, newest first; ``since`` and ``until`` without a timezone are UTC."""
        size = min(page_size, settings.page_size_max)
        return recorder.interactions(principal.tenant, page, size, channel, _utc(since), _utc(until))

    @app.get("/v1/escalations", response_model=EscalationPage, responses={401: {}, 403: {}})
    def list_escalations(
        principal: Annotated[Principal, Depends(caller(Action.read_escalations))],
        page: Annotated[int, Query(ge=1, le=100_000)] = 1,
        page_size: Annotated[int, Query(ge=1)] = 50,
        status: Annotated[str | None, Query(pattern="^(new|assigned|resolved|dismissed|open)$")] = None,
    ) -> EscalationPage:
        """The caller's tenant's escalations, newest first (``status=open``: new and assigned), each with the
        conversation as the customer saw it and the customer's contact."""
        size = min(page_size, settings.page_size_max)
        return recorder.escalations(principal.tenant, page, size, status)

    @app.patch("/v1/escalations/{escalation_id}", response_model=EscalationOut, responses={404: {}, 422: {}})
    def patch_escalation(
        escalation_id: str,
        body: EscalationPatch,
        principal: Annotated[Principal, Depends(caller(Action.update_escalations))],
    ) -> EscalationOut:
        """Set an escalation's status and/or assignee (audited); 404 for another tenant's id."""
        return recorder.update_escalation(principal.tenant, escalation_id, body, principal.subject)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    def readyz() -> JSONResponse:
        checks = {"index": ready(), "store": recorder.ready()}
        # Answers flow without the store (writes spool), so only the index decides readiness.
        status = 200 if checks["index"] else 503
        return JSONResponse({"ready": status == 200, **checks}, status_code=status)

    @app.get("/metrics", include_in_schema=False)
    def prometheus() -> PlainTextResponse:
        return PlainTextResponse(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/widget/{name}", include_in_schema=False)
    def widget_file(name: str) -> FileResponse:
        if not _FILE_NAME.fullmatch(name):  # also keeps NUL bytes and separators away from the file system
            raise NotFound(name)
        path = (WIDGET_DIR / name).resolve()
        if path.parent != WIDGET_DIR.resolve() or not path.is_file():
            raise NotFound(name)
        return FileResponse(path)

    @app.get("/demo/{tenant}", include_in_schema=False)
    def demo_page(tenant: str) -> HTMLResponse:
        key = (demo_keys or {}).get(tenant)
        template = WIDGET_DIR / "demo.html"
        if key is None or not template.is_file():
            raise NotFound(f"demo page of tenant {tenant} (start `deskpilot serve` with --demo)")
        html = template.read_text(encoding="utf-8")
        for placeholder, value in (
            ("{{API_KEY}}", key),
            ("{{TENANT}}", tenant),
            ("{{TENANT_NAME}}", tenant.capitalize()),
        ):
            html = html.replace(placeholder, value)
        return HTMLResponse(html)

    app.state.metrics = metrics
    app.state.service = service
    app.state.rollout = rollout
    return app


class _RateLimited(Exception):
    def __init__(self, wait: float) -> None:
        self.wait = wait


class _WidgetOff(Exception):
    def __init__(self, tenant: str) -> None:
        self.tenant = tenant


class _UnknownQueue(Exception):
    def __init__(self, tenant: str, queues: list[str]) -> None:
        self.tenant, self.queues = tenant, queues


class _TooLong(Exception):
    def __init__(self, limit: int) -> None:
        self.limit = limit


def _preflight(origin: str, allowed_origins: set[str]) -> Response:
    if origin not in allowed_origins:
        return PlainTextResponse("origin not allowed", status_code=403)
    return Response(
        status_code=204,
        headers={
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
            "Access-Control-Allow-Headers": "Content-Type, X-API-Key, Authorization, X-Request-ID",
            "Access-Control-Max-Age": "600",
            "Vary": "Origin",
        },
    )


def _utc(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def _client_address(request: Request) -> str:
    # uvicorn has already put a trusted proxy's X-Forwarded-For here (ui/api/server.py); the header itself is
    # the client's to write and is never read.
    return request.client.host if request.client else "unknown"
