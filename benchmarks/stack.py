"""The service's processes for one benchmark, on a fresh database and a private queue.

`bench_stack()` gives a `BenchStack`: a PostgreSQL database made and migrated for this run on
the local server (dropped afterwards), the local Redis under a queue name of its own (its keys
deleted afterwards), files in a folder of their own (the local storage backend), and the
product's own processes (`tdbuddy api`, `tdbuddy worker`) started as the tests start them
(tests/services.py). Nothing of the machine's shared servers is changed but what this run made.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

import redis

from tests.services import (
    LINK_KEY,
    REDIS_URL,
    Process,
    Stack,
    create_database,
    drop_database,
    free_port,
    new_api_key,
    wait_until,
)


@contextlib.contextmanager
def fresh_database() -> Iterator[str]:
    """The URL of a new, migrated database on the local server; dropped on the way out."""
    url = asyncio.run(create_database("tdbuddy_bench"))
    try:
        yield url
    finally:
        asyncio.run(drop_database(url))


def delete_queue_keys(redis_url: str, queue: str) -> int:
    """Deletes every Redis key of Dramatiq's queue `queue` (and its delay and dead-letter
    queues, and the workers' acks on it); returns how many there were."""
    client = redis.Redis.from_url(redis_url)
    try:
        keys = [
            *client.scan_iter(match=f"dramatiq:{queue}*"),
            *client.scan_iter(match=f"dramatiq:__acks__.*.{queue}*"),
        ]
        return int(client.delete(*keys)) if keys else 0
    finally:
        client.close()


# `python -m core.cli …` under cProfile timed by the main thread's CPU clock: the event loop's
# own work, not the time it waits for the database or for a CPU that another process holds.
# Profiling starts at SIGUSR1, so that start-up (imports, app set-up) is left out.
_PROFILED_MAIN = """
import cProfile, runpy, signal, sys, time
output, sys.argv = sys.argv[1], ["core.cli", *sys.argv[2:]]
profiler = cProfile.Profile(time.thread_time)
signal.signal(signal.SIGUSR1, lambda *_: profiler.enable())
try:
    runpy.run_module("core.cli", run_name="__main__", alter_sys=True)
except (SystemExit, KeyboardInterrupt):
    pass
finally:
    profiler.disable()
    profiler.dump_stats(output)
"""


class ProfiledProcess(Process):
    """A product process run under cProfile, which writes its statistics when it exits."""

    def __init__(
        self, name: str, args: list[str], env: Mapping[str, str], log_dir: Path, output: Path
    ) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}-{uuid.uuid4().hex[:6]}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(
            [sys.executable, "-c", _PROFILED_MAIN, str(output), *args],
            cwd=Path(__file__).resolve().parent.parent,
            env=dict(env),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def stop(self) -> None:
        # uvicorn raises SIGTERM again once it has shut down, which would end the process
        # before the profile is written; SIGINT comes back as KeyboardInterrupt, caught.
        if self.alive():
            self.signal_group(signal.SIGINT)
            try:
                self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()


def _booted(worker: Process) -> bool:
    if not worker.alive():
        raise AssertionError(f"{worker.name} exited:\n{worker.log_text()[-3000:]}")
    return "Worker process is ready for action" in worker.log_text()


def _process_table() -> tuple[dict[int, list[str]], dict[int, list[int]]]:
    """Every live process's /proc stat fields (after its name) and children, by pid."""
    fields_by_pid: dict[int, list[str]] = {}
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:  # the fields after the command's name, which may hold spaces
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue  # it ended meanwhile
        fields_by_pid[int(entry.name)] = fields
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    return fields_by_pid, children


def cpu_seconds(pid: int, descendants: bool = True) -> float:
    """User and system CPU time that a process (and its live descendants) has used so far."""
    fields_by_pid, children = _process_table()
    ticks, todo = 0, [pid]
    while todo:
        current = todo.pop()
        if current in fields_by_pid:
            ticks += int(fields_by_pid[current][11]) + int(fields_by_pid[current][12])
        if descendants:
            todo += children.get(current, [])
    return ticks / os.sysconf("SC_CLK_TCK")


def has_children(pid: int) -> bool:
    return bool(_process_table()[1].get(pid))


class BenchStack(Stack):
    """A Stack (tests/services.py) whose environment a benchmark can read and extend."""

    @property
    def database_url(self) -> str:
        return self.env["DATABASE_URL"]

    def new_api_key(self, user_name: str) -> str:
        """A fresh API key for a new user, made as `tdbuddy users create` makes one."""
        return new_api_key(self.env, f"{user_name}-{uuid.uuid4().hex[:6]}")

    def start_workers(self, count: int, **extra_env: str) -> list[Process]:
        """`count` worker processes (`tdbuddy worker`, one Dramatiq process each)."""
        return [self.start(f"worker{i}", "worker", **extra_env) for i in range(count)]

    def start_api(self) -> Process:
        """The API, answering, and done with the helper process it starts at boot (which
        makes the field types' examples and would compete for the CPU while it runs)."""
        api = super().start_api()
        self.wait_settled(api)
        return api

    def wait_settled(self, process: Process, timeout: float = 120) -> None:
        what = f"{process.name}'s child processes to end (log: {process.log_path})"
        wait_until(lambda: not has_children(process.popen.pid), timeout, what, interval=0.2)

    def start_profiled_api(self, output: Path) -> Process:
        """`tdbuddy api` under cProfile, which start_profiling starts; its statistics are in
        `output` once it is stopped."""
        api = ProfiledProcess("api-profiled", ["api"], self.env, self.log_dir, output)
        self.processes.append(api)
        wait_until(lambda: self._healthy(api), 60, f"the profiled API (log: {api.log_path})")
        self.wait_settled(api)
        return api

    def start_profiling(self, process: Process) -> None:
        """Starts the profile of a process from start_profiled_api (its start-up is left out)."""
        process.popen.send_signal(signal.SIGUSR1)

    def wait_ready(self, workers: list[Process], timeout: float = 60) -> None:
        """Returns once every worker has booted and takes messages."""
        for worker in workers:
            what = f"{worker.name} to be ready (log: {worker.log_path})"
            wait_until(functools.partial(_booted, worker), timeout, what)

    def stop(self, process: Process) -> None:
        process.stop()
        self.processes.remove(process)

    def log_tails(self, chars: int = 2000) -> str:
        """The end of every process's log, for a run that went wrong."""
        return "\n".join(
            f"--- {p.name} ({p.log_path})\n{p.log_text()[-chars:]}" for p in self.processes
        )


@contextlib.contextmanager
def bench_stack(
    storage_parent: Path | None = None, extra_env: Mapping[str, str] | None = None
) -> Iterator[BenchStack]:
    """A BenchStack with nothing started yet; every process is stopped, and the database, the
    queue's keys and the files are removed on the way out.

    Files (and the logs) go into a new folder inside `storage_parent` (default: the system's
    temporary folder). Each benchmark starts the processes it needs.
    """
    folder = Path(tempfile.mkdtemp(prefix="tdbuddy-bench-", dir=storage_parent))
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    try:
        with fresh_database() as database_url:
            port = free_port()
            # The local storage backend and the local Redis, whatever this shell points at.
            inherited = {
                name: value
                for name, value in os.environ.items()
                if name not in ("S3_BUCKET", "S3_ENDPOINT_URL", "BROKER_URL")
            }
            env = {
                **inherited,
                "DATABASE_URL": database_url,
                "REDIS_URL": REDIS_URL,
                "BROKER_QUEUE": queue,
                "STORAGE_DIR": str(folder / "files"),
                "LINK_SIGNING_KEYS": LINK_KEY,
                "API_PORT": str(port),
                "PUBLIC_URL": f"http://127.0.0.1:{port}",
                # A shard waits for its upload in a spooled file: keep it beside the files.
                "TMPDIR": str(folder),
                # A load benchmark is one client on one address, far over any rate limit.
                "RATE_LIMIT_PER_KEY_PER_MINUTE": "0",
                "RATE_LIMIT_PER_ADDRESS_PER_MINUTE": "0",
                **(extra_env or {}),
            }
            logs = folder / "logs"
            logs.mkdir()
            stack = BenchStack(env, logs)
            try:
                yield stack
            except BaseException:
                print(stack.log_tails())
                raise
            finally:
                stack.stop_all()
                delete_queue_keys(REDIS_URL, queue)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
