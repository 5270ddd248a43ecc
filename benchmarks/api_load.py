"""API load: submit throughput and latency, status polls and queue pickup latency, in one run.

One API process (`tdbuddy api`, one uvicorn worker) on a fresh PostgreSQL database and the
local Redis under a private queue (benchmarks/stack.py). No worker runs for the submit and
status runs: the messages just queue. The load comes from a second process, a small asyncio
HTTP/1.1 client on keep-alive connections (an httpx loop tops out near 300 requests/s here: it
would measure itself). A run is either closed (C connections, each sending its next request
when the answer to the last has come) or open (a fixed arrival rate over a pool of
connections; latency counts from the moment a request was due, so a server that stalls is not
hidden by a client that waits for it). The first second of each run warms up and is not counted.
Two baselines run beside them: GET /health/live, which touches neither the database nor the
broker (the ceiling of the server and this client together on this machine), and the submit
handler's own database and broker calls made straight from the load process, without HTTP
(the ceiling PostgreSQL and Redis leave). "API CPU" is the API process's CPU time (all its
threads, from /proc) per answered request.

Queue pickup latency (`pickup`): one worker process (`tdbuddy worker`) on a fresh stack;
small jobs (1,000 rows, one block) submitted at a modest fixed rate. "First row generated" is
the moment the worker records its first rows (jobs.rows_done leaves 0, after the first block
is generated and written to storage): a trigger that exists only in this run's database stamps
it with clock_timestamp(). "Commit" is jobs.created_at (now() of the inserting transaction, a
little before its commit, so the figures lean high). claimed = jobs.started_at. The worker as
shipped (`tdbuddy worker` polls an idle queue every 100 ms at most) runs beside the same
worker with Dramatiq's default idle poll of 1,000 ms.

    .venv/bin/python benchmarks/api_load.py       # the API runs, then pickup (about 5 min)
    .venv/bin/python benchmarks/api_load.py --only api [--seconds 10 --concurrency 32 --rate 1000]
    .venv/bin/python benchmarks/api_load.py --only pickup [--jobs 60] [--pickup-rate 1]
    .venv/bin/python benchmarks/api_load.py --profile /tmp/api.prof   # API under cProfile
    .venv/bin/python benchmarks/api_load.py --only api --env DATABASE_POOL_MAX=20   # an experiment
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import pstats
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import msgspec

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.stack import BenchStack, bench_stack, cpu_seconds, delete_queue_keys
from tests.services import Process, wait_until

SUBMITS_BAR = 1_000  # per second
P99_BAR_MS = 50.0
WARMUP_SECONDS = 1.0
OPEN_GRACE_SECONDS = 5.0  # an open run waits this long past its last request, no longer
SMALL_SPEC: dict[str, Any] = {
    "name": "small",
    "rows": 1_000,
    "format": "csv",
    "locale": "en_US",
    "fields": [
        {"name": "id", "type": "sequence"},
        {"name": "name", "type": "full_name"},
        {"name": "email", "type": "email"},
        {"name": "age", "type": "integer", "min": 18, "max": 90},
        {"name": "active", "type": "boolean"},
    ],
}


# --- the load: a second process -------------------------------------------------------------


class LoadPlan(msgspec.Struct, frozen=True):
    """What the load process sends, how, and for how long."""

    port: int
    method: str
    paths: list[str]
    body: str
    api_key: str
    expect: int  # the status code of a request that went well
    mode: str  # "closed" or "open"
    concurrency: int  # connections
    rate: float  # requests/s, open mode only
    seconds: float  # measured, after WARMUP_SECONDS
    # "http", or "direct": the submit handler's database and broker calls without HTTP
    target: str = "http"


class LoadResult(msgspec.Struct):
    counted: int  # requests due after the warm-up and answered
    failed: int  # of those, answered with another status than `expect`; or due and unanswered
    seconds: float
    latencies_ms: list[float]
    locations: list[str]  # Location headers seen (the jobs a submit run made), up to 2,000
    answered: int = 0  # warm-up included
    cpu_seconds: float = 0.0  # of the load process, while it ran the requests


# One request of a run, by its index: the answer's status code and head.
Send = Callable[[int], Awaitable[tuple[int, bytes]]]


def _request_bytes(plan: LoadPlan, path: str) -> bytes:
    body = plan.body.encode()
    head = [
        f"{plan.method} {path} HTTP/1.1",
        f"Host: 127.0.0.1:{plan.port}",
        f"Authorization: Bearer {plan.api_key}",
    ]
    if body:
        head += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def _header(head: bytes, name: bytes) -> bytes | None:
    start = head.lower().find(b"\r\n" + name + b":")
    if start < 0:
        return None
    start += len(name) + 3
    return head[start : head.index(b"\r\n", start)].strip()


class _Connection:
    """One keep-alive HTTP/1.1 connection: a request, then its whole answer, in turn."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> _Connection:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        """The status code and head of the answer to `request` (its body is read and dropped)."""
        self._writer.write(request)
        head = await self._reader.readuntil(b"\r\n\r\n")
        await self._reader.readexactly(int(_header(head, b"content-length") or 0))
        return int(head[9:12]), head

    def close(self) -> None:
        self._writer.close()


class _Tally:
    """The counted answers of one run."""

    def __init__(self, plan: LoadPlan, counted_from: float) -> None:
        self.plan, self.counted_from = plan, counted_from
        self.latencies: list[float] = []
        self.failed = 0
        self.answered = 0
        self.last_answer = counted_from
        self.locations: list[str] = []

    def add(self, started: float, status: int, head: bytes) -> None:
        self.answered += 1
        if started < self.counted_from:
            return  # warm-up
        now = time.perf_counter()
        self.latencies.append((now - started) * 1000)
        self.last_answer = max(self.last_answer, now)
        if status != self.plan.expect:
            self.failed += 1
        location = _header(head, b"location")
        if location and len(self.locations) < 2000:
            self.locations.append(location.decode())

    def result(self) -> LoadResult:
        return LoadResult(
            counted=len(self.latencies),
            failed=self.failed,
            seconds=self.last_answer - self.counted_from,
            latencies_ms=self.latencies,
            locations=self.locations,
            answered=self.answered,
        )


async def _closed_loop(plan: LoadPlan, senders: list[Send]) -> LoadResult:
    started = time.perf_counter()
    tally = _Tally(plan, started + WARMUP_SECONDS)
    stop_at = tally.counted_from + plan.seconds

    async def drive(send: Send, first: int) -> None:
        index = first
        while (sent := time.perf_counter()) < stop_at:
            status, head = await send(index)
            tally.add(sent, status, head)
            index += len(senders)

    await asyncio.gather(*(drive(send, i) for i, send in enumerate(senders)))
    return tally.result()


async def _open_loop(plan: LoadPlan, senders: list[Send]) -> LoadResult:
    idle: asyncio.Queue[Send] = asyncio.Queue()
    for send in senders:
        idle.put_nowait(send)
    started = time.perf_counter()
    tally = _Tally(plan, started + WARMUP_SECONDS)
    total = math.ceil(plan.rate * (WARMUP_SECONDS + plan.seconds))

    async def one(index: int, due: float) -> None:
        send = await idle.get()
        try:
            status, head = await send(index)
        finally:
            idle.put_nowait(send)
        tally.add(due, status, head)

    pending: dict[asyncio.Task[None], float] = {}  # the requests not answered yet, when due
    index = 0
    while index < total:
        now = time.perf_counter()
        # Every request that is due by now goes out; the loop wakes about once a millisecond.
        while index < total and (due := started + index / plan.rate) <= now:
            task = asyncio.create_task(one(index, due))
            pending[task] = due
            task.add_done_callback(pending.pop)
            index += 1
        await asyncio.sleep(max(0.0, started + index / plan.rate - time.perf_counter()))
    # A server that cannot keep up leaves a backlog: what is unanswered by then failed.
    late: set[asyncio.Task[None]] = set()
    if pending:
        _, late = await asyncio.wait(set(pending), timeout=OPEN_GRACE_SECONDS)
    result = tally.result()
    result.failed += sum(1 for task in late if pending[task] >= tally.counted_from)
    for task in late:
        task.cancel()
    return result


@contextlib.asynccontextmanager
async def _http_senders(plan: LoadPlan) -> AsyncIterator[list[Send]]:
    """One sender per keep-alive connection to the API."""
    requests = [_request_bytes(plan, path) for path in plan.paths]
    connections = [await _Connection.open(plan.port) for _ in range(plan.concurrency)]

    def sender(connection: _Connection) -> Send:
        return lambda index: connection.exchange(requests[index % len(requests)])

    try:
        yield [sender(connection) for connection in connections]
    finally:
        for connection in connections:
            connection.close()


@contextlib.asynccontextmanager
async def _direct_senders(plan: LoadPlan) -> AsyncIterator[list[Send]]:
    """Senders that do what POST /v1/jobs does for a new job, without HTTP: find the caller,
    insert the job, send its message, mark it sent. The pool and broker are the API's."""
    from api.jobs import file_name_for
    from core.settings import Settings
    from generators.dataset import total_rows
    from generators.engine import ENGINE_VERSION
    from generators.output import file_type
    from generators.spec import parse_spec, spec_to_dict, with_seed
    from storage.accounts import AccountRepository
    from storage.database import create_pool
    from storage.idempotency import SubmissionRepository
    from storage.jobs import NewJob
    from workers.broker import build_broker
    from workers.messages import send_generate_job

    settings = Settings.from_env()
    pool = await create_pool(settings.database)
    broker = build_broker(settings.broker)
    accounts, submissions = AccountRepository(pool), SubmissionRepository(pool)
    spec = with_seed(parse_spec(plan.body), 42)
    spec_dict = spec_to_dict(spec)
    file_name = file_name_for(spec.name, file_type(spec).file_extension)

    async def send(index: int) -> tuple[int, bytes]:
        caller = await accounts.caller_for_key(plan.api_key)
        assert caller is not None
        job = NewJob(
            id=uuid.uuid4(),
            user_id=caller.user_id,
            name=spec.name,
            spec=spec_dict,
            format=spec.format,
            rows_total=total_rows(spec),
            engine_version=ENGINE_VERSION,
            file_name=file_name,
        )
        await submissions.submit(job)
        await asyncio.to_thread(send_generate_job, broker, settings.broker.queue, job.id)
        return 202, b""

    try:
        yield [send] * plan.concurrency
    finally:
        await pool.close()
        broker.close()


async def run_load(plan: LoadPlan) -> LoadResult:
    """Runs the plan on its senders; bounded by the plan's time."""
    senders = _http_senders(plan) if plan.target == "http" else _direct_senders(plan)
    async with senders as send:
        loop = _closed_loop if plan.mode == "closed" else _open_loop
        cpu = time.process_time()
        # A server that stops answering ends the run instead of hanging it.
        result = await asyncio.wait_for(loop(plan, send), WARMUP_SECONDS + plan.seconds + 30)
        result.cpu_seconds = time.process_time() - cpu
        return result


def load_from_second_process(plan: LoadPlan, env: dict[str, str]) -> LoadResult:
    """Runs the plan in a new Python process (this file with --load) and returns its result."""
    done = subprocess.run(
        [sys.executable, __file__, "--load", msgspec.json.encode(plan).decode()],
        capture_output=True,
        check=False,
        env=env,
        timeout=WARMUP_SECONDS + plan.seconds + 120,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the load process failed:\n{done.stderr.decode()[-3000:]}")
    return msgspec.json.decode(done.stdout, type=LoadResult)


# --- the API runs ---------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (share 0.99 for p99) of `values`."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)] if ordered else math.nan


def print_row(
    label: str,
    result: LoadResult,
    api_cpu: float | None,
    bar: bool,
    rate: float | None = None,
    relay_cpu: float | None = None,
) -> None:
    """One line of the table; `api_cpu` and `relay_cpu` are the API's and the scheduler's
    CPU seconds during the run."""
    throughput = result.counted / result.seconds if result.seconds else 0.0
    p50, p99 = percentile(result.latencies_ms, 0.5), percentile(result.latencies_ms, 0.99)
    answered = max(result.answered, 1)
    api_ms = f"{api_cpu / answered * 1000:.2f}" if api_cpu is not None else "-"
    slowest = max(result.latencies_ms, default=math.nan)
    times = " ".join(
        f"{ms:>7.1f}" if result.latencies_ms else f"{'-':>7}" for ms in (p50, p99, slowest)
    )
    relay_ms = f"{relay_cpu / answered * 1000:.2f}" if relay_cpu is not None else "-"
    line = (
        f"{label:<38} {result.counted:>8,} {result.failed:>6,} {throughput:>7,.0f} {times}"
        f" {api_ms:>7} {relay_ms:>7} {result.cpu_seconds / answered * 1000:>7.2f}"
    )
    if bar:
        # At a fixed rate the server must keep up with it; closed, it must reach the bar.
        wanted = 0.98 * rate if rate is not None else SUBMITS_BAR
        met = throughput >= wanted and p99 < P99_BAR_MS and result.failed == 0
        line += "  met" if met else "  MISSED"
    print(line, flush=True)


def api_runs(stack: BenchStack, api: Process, scheduler: Process, args: argparse.Namespace) -> None:
    """The baselines, then submits and status polls, each closed and at a fixed rate."""
    api_key = stack.new_api_key("bench")
    spec = json.dumps(SMALL_SPEC)

    def measured(
        label: str, method: str, paths: list[str], mode: str, body: str = "", target: str = "http"
    ) -> LoadResult:
        plan = LoadPlan(
            port=int(stack.env["API_PORT"]),
            method=method,
            paths=paths,
            body=body,
            api_key=api_key,
            expect=202 if method == "POST" else 200,
            mode=mode,
            concurrency=args.concurrency,
            rate=args.rate,
            seconds=args.seconds,
            target=target,
        )
        before = cpu_seconds(api.popen.pid, descendants=False)
        relay_before = cpu_seconds(scheduler.popen.pid, descendants=False)
        result = load_from_second_process(plan, stack.env)
        spent = cpu_seconds(api.popen.pid, descendants=False) - before
        relayed = cpu_seconds(scheduler.popen.pid, descendants=False) - relay_before
        api_cpu = spent if target == "http" else None  # the API is idle in the direct run
        bar = method == "POST" and target == "http"
        rate = args.rate if mode == "open" else None
        relay_cpu = relayed if bar else None
        print_row(label, result, api_cpu, bar, rate, relay_cpu)
        return result

    print(
        f"\nOne API process; load from a second process; {args.seconds:g} s counted per run"
        f" after {WARMUP_SECONDS:g} s of warm-up; open runs over {args.concurrency} connections"
    )
    print(
        f"{'run':<38} {'requests':>8} {'failed':>6} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7}"
        f" {'max ms':>7} {'API CPU':>7} {'relay':>7} {'load CPU':>7}  bar: >= {SUBMITS_BAR:,}/s,"
        f" p99 < {P99_BAR_MS:g} ms"
    )
    print(
        f"{'':<38} {'':>8} {'':>6} {'':>7} {'':>7} {'':>7} {'':>7} {'ms/req':>7} {'ms/req':>7}"
        f" {'ms/req':>7}"
    )
    closed, opened = f"closed, {args.concurrency} conn.", f"open, {args.rate:,.0f}/s"
    measured(f"GET /health/live {closed} (1)", "GET", ["/health/live"], "closed")
    label = f"submit, no HTTP, {args.concurrency} tasks (2)"
    measured(label, "POST", ["-"], "closed", body=spec, target="direct")
    submit = measured(f"POST /v1/jobs {closed}", "POST", ["/v1/jobs"], "closed", body=spec)
    measured(f"POST /v1/jobs {opened}", "POST", ["/v1/jobs"], "open", body=spec)
    measured(f"GET /v1/jobs/{{id}} {closed}", "GET", submit.locations, "closed")
    measured(f"GET /v1/jobs/{{id}} {opened}", "GET", submit.locations, "open")
    print(
        "(1) baseline: the server and this load process alone, no database or broker\n"
        "(2) baseline: a submit's database and broker calls one request at a time (caller,"
        " insert job, send),\n    from the load process straight to PostgreSQL and Redis, with"
        " the API's pool size\n"
        "relay: the scheduler's CPU sending the submitted jobs' messages (the jobs table is the"
        " outbox)"
    )


# --- queue pickup latency -------------------------------------------------------------------

FIRST_ROW_TRIGGER = """
CREATE TABLE bench_first_rows (job_id uuid PRIMARY KEY, at timestamptz NOT NULL);
CREATE FUNCTION bench_first_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO bench_first_rows VALUES (NEW.id, clock_timestamp()) ON CONFLICT DO NOTHING;
    RETURN NEW;
END $$;
CREATE TRIGGER bench_first_row AFTER UPDATE OF rows_done ON jobs FOR EACH ROW
    WHEN (OLD.rows_done = 0 AND NEW.rows_done > 0) EXECUTE FUNCTION bench_first_row();
"""

PICKUP_TIMES = """
SELECT extract(epoch FROM j.started_at - j.created_at) * 1000 AS claimed,
       extract(epoch FROM f.at - j.started_at) * 1000 AS generated,
       extract(epoch FROM f.at - j.created_at) * 1000 AS first_row
FROM jobs j JOIN bench_first_rows f ON f.job_id = j.id
WHERE j.id = ANY($1::uuid[])
"""


async def _sql(url: str, sql: str, *args: Any) -> list[Any]:
    """The rows of one statement; a script of several statements when no `args` are given."""
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        if not args:
            await conn.execute(sql)
            return []
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


def pickup_case(stack: BenchStack, label: str, args: argparse.Namespace, **worker_env: str) -> None:
    """One worker process; small jobs at a fixed rate; prints the case's line of the table."""
    delete_queue_keys(stack.env["REDIS_URL"], stack.env["BROKER_QUEUE"])
    (worker,) = stack.start_workers(1, **worker_env)
    with stack.client(stack.new_api_key("pickup")) as client:

        def submit() -> str:
            answer = client.post("/v1/jobs", json=SMALL_SPEC)
            assert answer.status_code == 202, answer.text
            job_id: str = answer.json()["id"]
            return job_id

        def first_rows(ids: list[str]) -> int:
            found = asyncio.run(
                _sql(
                    stack.database_url,
                    "SELECT count(*) FROM bench_first_rows WHERE job_id = ANY($1::uuid[])",
                    [uuid.UUID(i) for i in ids],
                )
            )
            return int(found[0][0])

        # A first job boots the worker's pool and lookup tables; it is not counted.
        warm = submit()
        wait_until(lambda: first_rows([warm]) == 1, 60, "the worker's first job")
        ids: list[str] = []
        started = time.monotonic()
        for index in range(args.jobs):
            # A fixed arrival rate: each submit waits for its slot, not for the last job.
            time.sleep(max(0.0, started + index / args.pickup_rate - time.monotonic()))
            ids.append(submit())
        wait_until(lambda: first_rows(ids) == len(ids), 120, "every job's first row")
    stack.stop(worker)
    rows = asyncio.run(_sql(stack.database_url, PICKUP_TIMES, [uuid.UUID(i) for i in ids]))
    cells = []
    for column in ("claimed", "generated", "first_row"):
        values = [float(row[column]) for row in rows]
        cells += [percentile(values, 0.5), percentile(values, 0.99)]
    print(f"{label:<40} {len(rows):>5}" + "".join(f" {cell:>8.1f}" for cell in cells), flush=True)


def pickup_runs(stack: BenchStack, args: argparse.Namespace) -> None:
    asyncio.run(_sql(stack.database_url, FIRST_ROW_TRIGGER))
    stack.start_api()
    stack.start("scheduler", "scheduler")  # relays each committed job to the workers
    print(
        f"\nQueue pickup: one worker process; {args.jobs} small jobs ({SMALL_SPEC['rows']:,} rows)"
        f" at {args.pickup_rate:g}/s; ms, p50 and p99\n"
        "claimed: commit -> a worker claims the job (started_at); generated: claim -> first rows"
        " recorded; first row: commit -> first rows recorded"
    )
    print(
        f"{'worker':<40} {'jobs':>5} {'claimed':>17} {'generated':>17} {'first row':>17}\n"
        f"{'':<40} {'':>5}" + f" {'p50':>8} {'p99':>8}" * 3
    )
    pickup_case(stack, "as shipped (idle poll <= 100 ms)", args)
    default_poll = {"dramatiq_worker_timeout": "1000"}
    pickup_case(stack, "Dramatiq's default (idle poll <= 1 s)", args, **default_poll)


# --- profile --------------------------------------------------------------------------------


# Where a request's time goes, by the functions that stand for each step: (file, function).
PROFILE_STEPS = (
    ("uvicorn/protocols/http/h11_impl.py", "data_received", "HTTP parsing (h11)"),
    ("uvicorn/protocols/http/h11_impl.py", "run_asgi", "whole request in the app (ASGI)"),
    ("api/auth.py", "provide_caller", "API key -> caller (1 query)"),
    ("api/jobs.py", "submit", "POST handler"),
    ("generators/spec.py", "parse_spec", "  spec validation"),
    ("storage/idempotency.py", "submit", "  insert job (transaction)"),
    ("api/inserting.py", "insert_batch", "  insert jobs (a batch: one statement, one commit)"),
    ("api/jobs.py", "get_job", "GET handler"),
    ("storage/jobs.py", "get_for_user", "  read job (1 query)"),
    ("api/wire.py", "job_view", "job -> response body"),
    ("asyncpg/pool.py", "release", "pool release (reset query)"),
    ("litestar/response/base.py", "__call__", "response encode and send"),
)


def _print_profile(path: Path, title: str, requests: int) -> None:
    entries: dict[Any, Any] = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
    total = sum(values[2] for values in entries.values())
    print(
        f"\n{title}: {requests:,} requests; the event loop's CPU time"
        f" {total / requests * 1e6:,.0f} µs a request (profiler's own cost included)"
    )
    print(f"{'µs/req':>8} {'share':>6}  step (cumulative)")
    for file, function, label in PROFILE_STEPS:
        # Two functions of one name in one file (a class's and another's): the larger, as
        # one may call the other and their cumulative times must not be added.
        spent = max(
            (
                values[3]
                for (where, _, name), values in entries.items()
                if name == function and where.endswith(file)
            ),
            default=0.0,
        )
        if spent:
            print(f"{spent / requests * 1e6:>8.0f} {spent / total:>6.0%}  {label}")
    print(f"{'µs/req':>8} {'calls':>10}  top 15 by own time")
    ranked = sorted(entries.items(), key=lambda item: item[1][2], reverse=True)
    for (file, line, name), values in ranked[:15]:
        where = file.split("site-packages/")[-1].replace(str(Path.cwd()) + "/", "")
        print(f"{values[2] / requests * 1e6:>8.1f} {values[1]:>10,}  {name} {where}:{line}")


def profile_runs(stack: BenchStack, args: argparse.Namespace, output: Path) -> None:
    """Submits, then status reads, each against a fresh API process under cProfile (CPU
    clock of its event loop's thread); prints where the time goes. Statistics are kept in
    `output` with .submit and .status suffixes, for pstats or snakeviz."""
    api_key = stack.new_api_key("profile")
    locations = ["/v1/jobs"]
    for run, method, body, expect in (
        ("submit", "POST", json.dumps(SMALL_SPEC), 202),
        ("status", "GET", "", 200),
    ):
        path = output.with_name(f"{output.name}.{run}")
        api = stack.start_profiled_api(path)
        stack.start_profiling(api)
        plan = LoadPlan(
            port=int(stack.env["API_PORT"]),
            method=method,
            paths=locations,
            body=body,
            api_key=api_key,
            expect=expect,
            mode="closed",
            concurrency=args.concurrency,
            rate=args.rate,
            seconds=args.seconds,
        )
        result = load_from_second_process(plan, stack.env)
        stack.stop(api)
        locations = result.locations if run == "submit" else locations
        _print_profile(path, f"{method} under cProfile ({path})", result.answered)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="counted seconds per run")
    parser.add_argument("--concurrency", type=int, default=32, help="connections of the load")
    parser.add_argument("--rate", type=float, default=1_000.0, help="requests/s of open runs")
    parser.add_argument("--jobs", type=int, default=60, help="small jobs per pickup case")
    parser.add_argument("--pickup-rate", type=float, default=1.0, help="pickup jobs per second")
    parser.add_argument("--only", choices=["api", "pickup"], help="one part of the run")
    parser.add_argument("--profile", type=Path, metavar="FILE", help="cProfile the API into FILE")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment of the product's processes, for an experiment (repeatable)",
    )
    parser.add_argument("--load", help=argparse.SUPPRESS)
    args = parser.parse_args()
    extra_env = dict(item.split("=", 1) for item in args.env)
    if args.load:
        result = asyncio.run(run_load(msgspec.json.decode(args.load, type=LoadPlan)))
        sys.stdout.buffer.write(msgspec.json.encode(result))
        return
    if args.profile:
        with bench_stack(extra_env=extra_env) as stack:
            profile_runs(stack, args, args.profile.resolve())
        return
    if args.only in (None, "api"):
        with bench_stack(extra_env=extra_env) as stack:
            api = stack.start_api()
            api_runs(stack, api, stack.start("scheduler", "scheduler"), args)
    if args.only in (None, "pickup"):
        with bench_stack(extra_env=extra_env) as stack:
            pickup_runs(stack, args)


if __name__ == "__main__":
    main()
