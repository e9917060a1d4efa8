"""API load benchmark (not a test): requests/s and latency of ``POST /v1/answer`` under concurrent clients.

    .venv/bin/python evals/bench_load.py                           # 50 clients, 60 s per scenario, both: ~2.5 min
    .venv/bin/python evals/bench_load.py --scenario cached         # only the FAQ-like scenario
    .venv/bin/python evals/bench_load.py --clients 5 --seconds 10  # a quick run

What it does, so that anyone can rerun it:

1. Prepares its own data dir (``--data-dir``, default ``.deskpilot/bench-load``, gitignored):
   ``deskpilot ingest data/samples/helpcenter`` when the index is empty, and a fresh widget key for
   ``ledgerly`` and one for ``parcelpoint`` (the previous run's bench keys are revoked).
2. Starts ``deskpilot serve --no-demo`` as a subprocess on a free loopback port (the load generator
   must not share the server's interpreter and GIL), with ``DESKPILOT_DATA_DIR``, the extractive
   generator, and both rate limits raised (``DESKPILOT_RATE_LIMIT_PER_KEY`` /
   ``DESKPILOT_RATE_LIMIT_PER_CLIENT``): every client here comes from one loopback address and
   uses one of two keys, so the per-address and per-key limits would answer 429 by design.
3. Waits for ``/readyz``, sends a few untimed warm-up questions, then runs each scenario:
   ``--clients`` concurrent clients (each its own ``httpx.AsyncClient`` holding one keep-alive
   connection, as separate customers would) loop for ``--seconds``, each taking the next question
   of a shared rotation over the golden questions of ``data/samples/golden.jsonl`` (with their
   tenant's key and locale).

   - ``cached``: the questions as they are. The answer cache (keyed on the normalized, redacted
     question) misses on the first round and hits afterwards: what a help center's FAQ traffic
     looks like. The first round (158 computed answers queued behind 50 clients) makes the tail:
     its p99 and max are those of a cold cache.
   - ``uncached``: every question gets a unique suffix (``... (ref 1234)``), so every request
     computes an answer (redaction, guardrails, embedding, hybrid search, extractive answer).

   Why not one shared ``AsyncClient`` with a pool of ``--clients`` connections: httpcore 1.0.9's pool
   hands a burst of queued requests to the same idle connection, and the losers churn through
   ``ConnectionNotAvailable`` (encode/httpcore#822). Measured here with 50 clients on cache hits, up to
   43 of the 50 connections sat idle for 5 s while their requests churned in the pool: throughput was
   the generator's, and uvicorn's 5 s keep-alive timeout then closed connections just as a request
   arrived on them (``ConnectionResetError``, counted as errors).

   A client stops asking at the deadline; requests in flight then complete and are counted, and
   requests/s is completed requests over the wall time until the last one returned. An error is
   any non-200 answer or transport error; the first distinct messages are printed.
4. Prints per scenario: requests, requests/s, client-side latency percentiles, errors, answer
   cache hits (from the server's ``/metrics``), CPU used by the server and by this process, peak
   RSS of each (psutil on the server's pid, sampled, and its kernel high-water mark), and the
   server's own per-stage p50 (from the ``timings_ms`` of the answers that were computed). It also
   checks that every answer was recorded as an interaction (stored in SQLite or spooled).
5. Stops the server (SIGINT, then SIGKILL after a grace period), also on Ctrl-C or an error. The
   server's log is ``<data dir>/serve.log``.

The API answers one question at a time (the embedded index and the models sit behind one lock),
so under 50 clients most of a request's latency is its wait for the lock: the per-stage table shows
what one answer costs, and latency ~= clients / throughput. On a shared 2-core machine the absolute
figures move with other work; rerun before quoting them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import resource
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import psutil
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

GOLDEN = REPO / "data" / "samples" / "golden.jsonl"
HELPCENTER = REPO / "data" / "samples" / "helpcenter"
TENANTS = ("ledgerly", "parcelpoint")
KEY_NAME = "bench-load"
RATE_LIMIT = 1_000_000
"""Requests per minute per key and per client address while benchmarking (the defaults are 60 and 120)."""
SCENARIOS = ("cached", "uncached")
ERRORS_SHOWN = 5

console = Console(width=180)


# --------------------------------------------------------------------------- questions and keys


@dataclass(frozen=True)
class Ask:
    """One golden question, asked with its tenant's key."""

    question: str
    tenant: str
    locale: str | None


def golden_asks(tenants: Sequence[str] = TENANTS) -> list[Ask]:
    """The golden questions of the benchmarked tenants, in file order."""
    asks = []
    for line in GOLDEN.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            if row["tenant"] in tenants:
                asks.append(Ask(row["question"], row["tenant"], row.get("locale")))
    if not asks:
        raise SystemExit(f"no golden questions of {', '.join(tenants)} in {GOLDEN}")
    return asks


def setup_keys() -> None:
    """Helper mode (run as a subprocess, so this process stays a lean load generator): revoke the previous
    bench keys, create one widget key per tenant, print them as JSON. The data dir comes from the env."""
    from feedback.store import FeedbackStore
    from ui.settings import AppSettings

    actor = "evals/bench_load.py"
    with FeedbackStore.open(AppSettings.load().feedback) as store:
        for key in store.list_api_keys():
            if key.name == KEY_NAME and key.active:
                store.revoke_api_key(key.id, actor=actor)
        keys = {t: store.create_api_key(t, "widget", KEY_NAME, actor=actor)[1] for t in TENANTS}
    sys.stdout.write(json.dumps(keys) + "\n")


# --------------------------------------------------------------------------- the server


def deskpilot_command() -> list[str]:
    """The installed ``deskpilot`` console script next to this interpreter, else ``python -m ui.cli``."""
    script = Path(sys.executable).parent / "deskpilot"
    return [str(script)] if script.exists() else [sys.executable, "-m", "ui.cli"]


def free_port(wanted: int = 0) -> int:
    """``wanted`` if nobody listens on it (0: any free loopback port); exits with a clear error otherwise."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", wanted))
        except OSError as exc:
            raise SystemExit(
                f"error: --port {wanted} is taken on 127.0.0.1 ({exc.strerror}); pick another or omit it"
            ) from None
        return int(s.getsockname()[1])


def server_env(data_dir: Path) -> dict[str, str]:
    """The environment of every deskpilot subprocess: this data dir, the extractive generator, no rate limits."""
    env = dict(os.environ)
    env.update(
        DESKPILOT_DATA_DIR=str(data_dir),
        DESKPILOT_GENERATOR="extractive",
        DESKPILOT_RATE_LIMIT_PER_KEY=str(RATE_LIMIT),
        DESKPILOT_RATE_LIMIT_PER_CLIENT=str(RATE_LIMIT),
        PYTHONUNBUFFERED="1",
    )
    return env


def run_step(what: str, command: list[str], env: dict[str, str], capture: bool = False) -> str:
    """Run one preparation command; exit with its output when it fails."""
    with console.status(what):
        started = time.perf_counter()
        done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        console.print(f"[red]{what} failed (exit {done.returncode}):[/red] {' '.join(command)}")
        console.print(done.stdout[-3000:], done.stderr[-3000:], markup=False)
        raise SystemExit(1)
    console.print(f"{what}: done in {time.perf_counter() - started:.1f} s")
    if not capture and done.stdout.strip():
        console.print(done.stdout.rstrip(), markup=False, highlight=False)
    return done.stdout


def prepare(data_dir: Path, env: dict[str, str]) -> dict[str, str]:
    """Ingest the sample help center when the index is empty; fresh widget keys per tenant."""
    deskpilot = deskpilot_command()
    stats = json.loads(run_step("index stats", [*deskpilot, "index", "stats", "--json"], env, capture=True))
    if int(stats.get("points", 0)) == 0:
        run_step(f"deskpilot ingest {HELPCENTER.relative_to(REPO)}", [*deskpilot, "ingest", str(HELPCENTER)], env)
    else:
        console.print(f"index: {stats['points']} points, {stats['documents']} documents (ingest skipped)")
    out = run_step("widget keys", [sys.executable, str(Path(__file__).resolve()), "--setup-keys"], env, capture=True)
    keys: dict[str, str] = json.loads(out.strip().splitlines()[-1])
    return keys


@dataclass
class Server:
    """``deskpilot serve --no-demo`` in a subprocess of its own session (Ctrl-C reaches only us; we stop it)."""

    data_dir: Path
    port: int
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None
    exit_code: int | None = None
    stop_note: str = ""

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "serve.log"

    def start(self) -> psutil.Process:
        self.log = self.log_path.open("wb")
        command = [*deskpilot_command(), "serve", "--no-demo", "--host", "127.0.0.1", "--port", str(self.port)]
        self.proc = subprocess.Popen(
            command, cwd=REPO, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        return psutil.Process(self.proc.pid)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def wait_ready(self, timeout_s: float = 600.0) -> float:
        """Poll /readyz until it answers 200; the seconds it took."""
        assert self.proc is not None
        started = time.perf_counter()
        with console.status(f"waiting for {self.base_url}/readyz (loading the models)"), httpx.Client() as http:
            while time.perf_counter() - started < timeout_s:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"the server exited with {self.proc.returncode}; its log:\n{self.log_tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    ready = http.get(f"{self.base_url}/readyz", timeout=2.0)
                    if ready.status_code == 200 and ready.headers.get("x-request-id") and self.proc.poll() is None:
                        return time.perf_counter() - started
                time.sleep(0.5)
        raise RuntimeError(f"the server was not ready after {timeout_s:.0f} s; its log:\n{self.log_tail()}")

    def stop(self, grace_s: float = 20.0) -> None:
        """SIGINT (uvicorn's graceful shutdown, then the app closes the index and the store), SIGKILL if it hangs."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=grace_s)
                self.stop_note = "stopped by SIGINT"
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.stop_note = f"did not stop within {grace_s:.0f} s of SIGINT: killed"
        else:
            self.stop_note = "had already exited"
        self.exit_code = self.proc.returncode
        if self.log is not None:
            self.log.close()


@contextlib.contextmanager
def running(server: Server) -> Iterator[psutil.Process]:
    """The server, started and always stopped."""
    try:
        yield server.start()
    finally:
        server.stop()


def peak_rss_mb(process: psutil.Process) -> float:
    """The kernel's high-water mark of the process's RSS (Linux), else its current RSS."""
    try:
        for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return process.memory_info().rss / 2**20


# --------------------------------------------------------------------------- load


@dataclass
class Sample:
    """One request."""

    at_s: float
    """When the request was sent, in seconds from the scenario's start."""
    latency_s: float
    status: int
    """HTTP status; 0 for a transport error."""
    error: str = ""
    timings_ms: dict[str, float] | None = None
    """The server's per-stage timings (answers only)."""


@dataclass
class Outcome:
    """Everything measured in one scenario."""

    scenario: str
    clients: int
    seconds: float
    wall_s: float
    samples: list[Sample]
    cache_hits: int
    cache_misses: int
    server_cpu_s: float
    client_cpu_s: float
    server_rss_peak_mb: float
    client_rss_peak_mb: float
    machine_busy_s: float
    loop_lag_max_s: float
    """The load generator's worst event-loop delay (a stalled generator would starve the server of requests)."""
    """CPU seconds of every process on the machine (other work included)."""
    recorded: int | None
    errors: Counter[str] = field(default_factory=Counter)

    @property
    def ok(self) -> list[Sample]:
        return [s for s in self.samples if s.status == 200 and not s.error]


_ANSWERS = re.compile(r"^deskpilot_answers_total\{(?P<labels>[^}]*)\}\s+(?P<value>\S+)$")


async def answer_counts(base_url: str) -> tuple[int, int]:
    """(cached, computed) answers counted by the server's ``deskpilot_answers_total`` (on a fresh connection)."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30.0) as http:
        response = await http.get("/metrics")
        response.raise_for_status()
    cached = computed = 0.0
    for line in response.text.splitlines():
        match = _ANSWERS.match(line)
        if match:
            if 'cached="True"' in match["labels"]:
                cached += float(match["value"])
            else:
                computed += float(match["value"])
    return int(cached), int(computed)


def interactions_stored(data_dir: Path) -> int | None:
    """Rows in the embedded feedback store's ``interactions`` table plus spooled interactions; None if not SQLite."""
    if os.environ.get("DESKPILOT_FEEDBACK_DATABASE_URL"):
        return None
    db = data_dir / "feedback.db"
    spool = data_dir / "spool" / "interaction.jsonl"
    spooled = len(spool.read_bytes().splitlines()) if spool.exists() else 0
    if not db.exists():
        return spooled
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)) as conn:
        (rows,) = conn.execute("SELECT count(*) FROM interactions").fetchone()
    return int(rows) + spooled


def busy_cpu_s() -> float:
    """CPU seconds the whole machine has spent busy (not idle, not waiting for I/O) since boot."""
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


def question_text(ask: Ask, n: int, scenario: str) -> str:
    """The question as asked: as is (cached), or with a unique suffix that defeats the answer cache (uncached)."""
    return ask.question if scenario == "cached" else f"{ask.question} (ref {n})"


def describe(exc: BaseException) -> str:
    """An exception and its causes, one after the other (httpx's transport errors often carry no message)."""
    parts, seen = [], set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        parts.append(f"{type(current).__name__}({current!s})" if str(current) else type(current).__name__)
        current = current.__cause__ or current.__context__
    return " <- ".join(parts)


async def post_answer(http: httpx.AsyncClient, ask: Ask, text: str, key: str, zero: float = 0.0) -> Sample:
    """One timed ``POST /v1/answer``; ``zero`` is the scenario's start on the ``perf_counter`` clock."""
    body: dict[str, Any] = {"question": text}
    if ask.locale:
        body["locale"] = ask.locale
    started = time.perf_counter()
    at = started - zero
    try:
        response = await http.post("/v1/answer", json=body, headers={"X-API-Key": key})
    except httpx.HTTPError as exc:
        return Sample(at, time.perf_counter() - started, 0, f"transport: {describe(exc)}")
    latency = time.perf_counter() - started
    if response.status_code != 200:
        try:
            detail = str(response.json().get("detail", ""))
        except ValueError:
            detail = response.text[:200]
        return Sample(at, latency, response.status_code, f"HTTP {response.status_code}: {detail}")
    try:
        payload = response.json()
        timings = {str(k): float(v) for k, v in payload["timings_ms"].items()}
        if not isinstance(payload["answer"], str):
            raise TypeError("answer is not a string")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        return Sample(at, latency, 200, f"HTTP 200 with a malformed body: {type(exc).__name__}: {exc}")
    return Sample(at, latency, 200, timings_ms=timings)


async def warm_up(base_url: str, keys: dict[str, str], asks: Sequence[Ask]) -> None:
    """A couple of untimed answers per tenant (unique texts, so the scenarios' cache is untouched)."""
    async with httpx.AsyncClient(base_url=base_url, timeout=120.0) as http:
        for tenant in TENANTS:
            for n, ask in enumerate([a for a in asks if a.tenant == tenant][:2]):
                sample = await post_answer(http, ask, f"{ask.question} (warm-up {n})", keys[tenant])
                if sample.error:
                    raise RuntimeError(f"warm-up question of {tenant} failed: {sample.error}")


async def run_scenario(
    scenario: str,
    base_url: str,
    keys: dict[str, str],
    asks: Sequence[Ask],
    clients: int,
    seconds: float,
    server: psutil.Process,
    data_dir: Path,
) -> Outcome:
    """``clients`` concurrent clients asking in rotation for ``seconds``."""
    me = psutil.Process()
    samples: list[Sample] = []
    rotation = iter(range(sys.maxsize))
    one_connection = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    timeout = httpx.Timeout(120.0, connect=10.0)
    peak = {"server": 0.0, "client": 0.0, "lag": 0.0}

    def sample_rss() -> None:
        with contextlib.suppress(psutil.Error):
            peak["server"] = max(peak["server"], server.memory_info().rss / 2**20)
        peak["client"] = max(peak["client"], me.memory_info().rss / 2**20)

    async with contextlib.AsyncExitStack() as stack:
        own = [
            await stack.enter_async_context(
                httpx.AsyncClient(base_url=base_url, limits=one_connection, timeout=timeout)
            )
            for _ in range(clients)
        ]
        before = await answer_counts(base_url)
        recorded_before = interactions_stored(data_dir)
        server_cpu, client_cpu, machine = sum(server.cpu_times()[:2]), sum(me.cpu_times()[:2]), busy_cpu_s()
        started = time.perf_counter()
        deadline = started + seconds

        async def client(connection: httpx.AsyncClient) -> None:
            while time.perf_counter() < deadline:
                n = next(rotation)
                ask = asks[n % len(asks)]
                text = question_text(ask, n, scenario)
                samples.append(await post_answer(connection, ask, text, keys[ask.tenant], started))

        async def watch_loop() -> None:
            while True:
                tick = time.perf_counter()
                await asyncio.sleep(0.05)
                peak["lag"] = max(peak["lag"], time.perf_counter() - tick - 0.05)

        watcher = asyncio.create_task(watch_loop())
        progress = Progress(
            TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=console, transient=True
        )
        with progress:
            task = progress.add_task(scenario, total=seconds)
            workers = asyncio.gather(*(client(c) for c in own))
            try:
                while not workers.done():
                    await asyncio.wait({workers}, timeout=0.5)
                    sample_rss()
                    errors = sum(1 for s in samples if s.error)
                    progress.update(
                        task,
                        completed=min(seconds, time.perf_counter() - started),
                        description=f"{scenario}: {clients} clients, {len(samples)} requests, {errors} errors",
                    )
                await workers
            finally:  # on Ctrl-C: stop the clients before their connections close under them
                watcher.cancel()
                if not workers.done():
                    workers.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await workers
        wall = time.perf_counter() - started
        server_cpu = sum(server.cpu_times()[:2]) - server_cpu
        client_cpu = sum(me.cpu_times()[:2]) - client_cpu
        machine = busy_cpu_s() - machine
        sample_rss()
        after = await answer_counts(base_url)
    recorded_after = interactions_stored(data_dir)
    recorded = None if recorded_before is None or recorded_after is None else recorded_after - recorded_before
    return Outcome(
        scenario=scenario,
        clients=clients,
        seconds=seconds,
        wall_s=wall,
        samples=samples,
        cache_hits=after[0] - before[0],
        cache_misses=after[1] - before[1],
        server_cpu_s=server_cpu,
        client_cpu_s=client_cpu,
        server_rss_peak_mb=peak["server"],
        client_rss_peak_mb=peak["client"],
        machine_busy_s=machine,
        loop_lag_max_s=peak["lag"],
        recorded=recorded,
        errors=Counter(s.error for s in samples if s.error),
    )


# --------------------------------------------------------------------------- report


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100); NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def print_tables(outcomes: Sequence[Outcome], startup_s: float) -> None:
    """Throughput and latency, resources, per-stage server time, recording check, errors."""
    caption = (
        f"POST /v1/answer, extractive generator, widget keys, loopback, one connection per client. Rate limits raised "
        f"to {RATE_LIMIT:,}/min per key and per client address (DESKPILOT_RATE_LIMIT_PER_KEY / _PER_CLIENT): all "
        "clients share one address and two keys, so the defaults (60/min per key, 120/min per address) would "
        "answer 429 by design. Latency is client-side and includes the wait for the server's one-answer-at-a-time "
        "lock. requests/s = completed requests / wall time until the last in-flight request returned."
    )
    table = Table(title="deskpilot API under load: POST /v1/answer", caption=caption)
    for column in (
        "scenario",
        "clients",
        "duration s",
        "requests",
        "requests/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "max ms",
        "errors",
        "cache hits",
    ):
        table.add_column(column, justify="right" if column != "scenario" else "left")
    for o in outcomes:
        lat = [s.latency_s * 1000 for s in o.samples]
        errors = sum(o.errors.values())
        table.add_row(
            o.scenario,
            str(o.clients),
            f"{o.wall_s:.1f}",
            f"{len(o.samples):,}",
            f"{len(o.samples) / o.wall_s:.1f}",
            f"{percentile(lat, 50):.0f}",
            f"{percentile(lat, 95):.0f}",
            f"{percentile(lat, 99):.0f}",
            f"{max(lat, default=float('nan')):.0f}",
            f"[{'green' if errors == 0 else 'red'}]{errors}[/]",
            f"{o.cache_hits / max(1, o.cache_hits + o.cache_misses):.0%}",
        )
    console.print(table)

    res = Table(
        title="resources during each scenario",
        caption="CPU in cores (CPU seconds / wall seconds; the machine has "
        f"{psutil.cpu_count()} logical CPUs); other processes = the whole machine's busy CPU less the server and "
        "the load generator (other work on a shared machine slows the server); RSS sampled every 0.5 s with psutil",
    )
    for column in (
        "scenario",
        "server CPU",
        "load generator CPU",
        "other processes CPU",
        "load generator max loop lag ms",
        "server peak RSS MB",
        "load generator peak RSS MB",
    ):
        res.add_column(column, justify="right" if column != "scenario" else "left")
    for o in outcomes:
        res.add_row(
            o.scenario,
            f"{o.server_cpu_s / o.wall_s:.2f}",
            f"{o.client_cpu_s / o.wall_s:.2f}",
            f"{max(0.0, o.machine_busy_s - o.server_cpu_s - o.client_cpu_s) / o.wall_s:.2f}",
            f"{o.loop_lag_max_s * 1000:.0f}",
            f"{o.server_rss_peak_mb:.0f}",
            f"{o.client_rss_peak_mb:.0f}",
        )
    console.print(res)

    stages: list[str] = []
    for o in outcomes:
        for s in o.ok:
            for stage in s.timings_ms or {}:
                if stage not in stages and stage != "total":
                    stages.append(stage)
    per_stage = Table(
        title="server time per answer, p50 ms (timings_ms of the answers computed, i.e. not from the cache)",
        caption="wait = client latency - server total, per request: everything outside the answer service (the queue "
        "for the answer lock, auth, recording the interaction, HTTP)",
    )
    for column in ("scenario", "computed", *stages, "server total", "wait p50", "cache hit total"):
        per_stage.add_column(column, justify="right" if column != "scenario" else "left")
    for o in outcomes:
        computed = [s for s in o.ok if s.timings_ms and set(s.timings_ms) != {"total"}]
        hits = [s for s in o.ok if s.timings_ms and set(s.timings_ms) == {"total"}]

        def p50(values: list[float]) -> str:
            return f"{statistics.median(values):.1f}" if values else "—"

        per_stage.add_row(
            o.scenario,
            f"{len(computed):,}",
            *(
                p50([s.timings_ms[stage] for s in computed if s.timings_ms and stage in s.timings_ms])
                for stage in stages
            ),
            p50([s.timings_ms["total"] for s in computed if s.timings_ms and "total" in s.timings_ms]),
            p50([s.latency_s * 1000 - s.timings_ms.get("total", 0.0) for s in o.ok if s.timings_ms]),
            p50([s.timings_ms["total"] for s in hits if s.timings_ms]),
        )
    console.print(per_stage)

    for o in outcomes:
        ok = len(o.ok)
        if o.recorded is None:
            console.print(f"{o.scenario}: interactions recorded: not checked (DESKPILOT_FEEDBACK_DATABASE_URL is set)")
        else:
            colour = "green" if o.recorded == ok else "red"
            console.print(
                f"{o.scenario}: [{colour}]{o.recorded:,} interactions recorded[/] "
                f"(stored or spooled) for {ok:,} answers"
            )
        if o.errors:
            console.print(f"[red]{o.scenario}: {sum(o.errors.values())} errors[/red]; the first distinct messages:")
            for message, count in list(o.errors.items())[:ERRORS_SHOWN]:
                failed = [s for s in o.samples if s.error == message]
                console.print(
                    f"  {count} x {message} (sent between {min(s.at_s for s in failed):.1f} and "
                    f"{max(s.at_s for s in failed):.1f} s; failed after {min(s.latency_s for s in failed) * 1000:.0f}"
                    f"-{max(s.latency_s for s in failed) * 1000:.0f} ms)",
                    markup=False,
                )
    console.print(f"server start until ready: {startup_s:.1f} s")


# --------------------------------------------------------------------------- main


async def load(
    base_url: str, keys: dict[str, str], scenarios: Sequence[str], args: argparse.Namespace, server: psutil.Process
) -> list[Outcome]:
    """Warm up, then every scenario in turn."""
    asks = golden_asks()
    console.print(
        f"{len(asks)} golden questions ({', '.join(f'{t} {sum(a.tenant == t for a in asks)}' for t in TENANTS)})"
    )
    await warm_up(base_url, keys, asks)
    outcomes = []
    for scenario in scenarios:
        outcome = await run_scenario(
            scenario, base_url, keys, asks, args.clients, args.seconds, server, args.data_dir.resolve()
        )
        console.print(
            f"{scenario}: {len(outcome.samples):,} requests in {outcome.wall_s:.1f} s, "
            f"{sum(outcome.errors.values())} errors"
        )
        outcomes.append(outcome)
    return outcomes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients")
    parser.add_argument("--seconds", type=float, default=60.0, help="duration of each scenario")
    parser.add_argument("--scenario", choices=[*SCENARIOS, "both"], default="both", help="answer cache scenario")
    parser.add_argument(
        "--data-dir", type=Path, default=REPO / ".deskpilot" / "bench-load", help="index, feedback store, server log"
    )
    parser.add_argument("--port", type=int, default=0, help="loopback port of the server (0 = a free one)")
    parser.add_argument("--setup-keys", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.setup_keys:
        setup_keys()
        return
    if args.clients < 1 or args.seconds <= 0:
        parser.error("--clients must be at least 1 and --seconds positive")

    started = time.perf_counter()
    data_dir: Path = args.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    env = server_env(data_dir)
    port = free_port(args.port)
    keys = prepare(data_dir, env)
    scenarios = list(SCENARIOS) if args.scenario == "both" else [args.scenario]
    server = Server(data_dir, port, env)
    console.print(
        f"starting {' '.join(deskpilot_command())} serve --no-demo on {server.base_url}; log {server.log_path}"
    )
    outcomes: list[Outcome] = []
    server_peak = startup_s = float("nan")
    failed = False
    try:
        with running(server) as process:
            startup_s = server.wait_ready()
            outcomes = asyncio.run(load(server.base_url, keys, scenarios, args, process))
            server_peak = peak_rss_mb(process)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted: the server was stopped[/yellow]")
        failed = True
    except Exception as exc:
        console.print(f"[red]failed:[/red] {exc}", markup=True)
        failed = True
    console.print(f"server: {server.stop_note} (exit code {server.exit_code})")
    if outcomes:
        print_tables(outcomes, startup_s)
    client_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if server_peak == server_peak:  # not NaN: the run got that far
        console.print(
            f"peak RSS over the whole run: server {server_peak:.0f} MB (kernel high-water mark, including model "
            f"loading), load generator {client_peak:.0f} MB"
        )
    console.print(f"total run time: {time.perf_counter() - started:.0f} s")
    if failed or any(o.errors for o in outcomes):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
