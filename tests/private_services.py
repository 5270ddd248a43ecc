"""PostgreSQL and Redis servers of the tests' own, on free ports, for tests that restart them.

The machine's shared servers serve every other test and must never go down; these do, on
purpose. PostgreSQL refuses to run as root, so under root its commands run as the `postgres`
system user, in a folder that user owns.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from tests.services import free_port, port_open, unavailable, wait_until

POSTGRES_BIN = Path(os.environ.get("TEST_POSTGRES_BIN", "/usr/lib/postgresql/15/bin"))
REDIS_SERVER = os.environ.get("TEST_REDIS_SERVER", "redis-server")


def _postgres_user() -> str | None:
    """The user PostgreSQL runs as: None for the current one, `postgres` under root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        unavailable("a `postgres` system user to run a private PostgreSQL as, under root")
    return "postgres"


class PrivatePostgres:
    """A PostgreSQL server in a folder of its own on 127.0.0.1, trusting every local login."""

    def __init__(self) -> None:
        if not (POSTGRES_BIN / "initdb").exists():
            unavailable(f"PostgreSQL server binaries in {POSTGRES_BIN}")
        self.user = _postgres_user()
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="tdbuddy-pg-"))
        self.data = self.root / "data"
        self.log_path = self.root / "server.log"
        if self.user is not None:
            shutil.chown(self.root, self.user)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
        )

    def _run(self, tool: str, *args: str) -> None:
        done = subprocess.run(
            [str(POSTGRES_BIN / tool), *args],
            user=self.user,
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            raise AssertionError(f"{tool} failed ({done.returncode}):\n{done.stdout}{done.stderr}")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    @property
    def running(self) -> bool:
        return port_open("127.0.0.1", self.port)

    def start(self) -> None:
        """Starts the server and returns once it accepts connections."""
        options = " ".join(
            [
                f"-p {self.port}",
                "-h 127.0.0.1",
                f"-k {self.root}",  # its own socket folder: never the shared server's
                "-c fsync=off",
                "-c full_page_writes=off",
                "-c synchronous_commit=off",
            ]
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log_path), "-o", options, "-w", "start"
        )

    def stop(self, mode: str = "fast") -> None:
        """Stops the server: `fast` ends every session as an operator's restart does;
        `immediate` dies like a crash and recovers from the WAL on the next start."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")
        wait_until(lambda: not self.running, 10, "PostgreSQL to close its port")

    @contextlib.contextmanager
    def locked(self, database: str, table: str) -> Iterator[None]:
        """A session that holds `table` locked against every other query, until the block
        ends or the server goes down: a query that touches the table waits, in flight."""
        session = subprocess.Popen(
            [
                str(POSTGRES_BIN / "psql"),
                "--no-psqlrc",
                self.url(database),
                "-c",
                "BEGIN",
                "-c",
                f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE",
                "-c",
                "SELECT pg_sleep(600)",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            yield
        finally:
            session.kill()
            session.wait(timeout=10)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def remove(self) -> None:
        if self.running:
            with contextlib.suppress(AssertionError):
                self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


class PrivateRedis:
    """A Redis server on 127.0.0.1 that keeps nothing on disk: a restart empties it."""

    def __init__(self) -> None:
        if shutil.which(REDIS_SERVER) is None:
            unavailable(f"{REDIS_SERVER} on PATH")
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="tdbuddy-redis-"))
        self.log_path = self.root / "server.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Starts the server and returns once it accepts connections."""
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(
                [
                    REDIS_SERVER,
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(self.root),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until(self._accepting, 10, f"Redis to listen on {self.port} (log: {self.log_path})")

    def _accepting(self) -> bool:
        if not self.running:
            raise AssertionError(f"redis-server exited:\n{self.log_path.read_text()[-2000:]}")
        return port_open("127.0.0.1", self.port)

    def stop(self) -> None:
        """Stops the server; with nothing on disk, every queued message is gone."""
        if self._process is not None and self.running:
            self._process.send_signal(signal.SIGTERM)
            self._process.wait(timeout=10)
        wait_until(lambda: not port_open("127.0.0.1", self.port), 10, "Redis to close its port")

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


class SilentServer:
    """A TCP port that accepts connections and never answers: a broker hung mid-request."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def connections(self) -> int:
        return len(self._held)

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = self._listener.accept()
                self._held.append(conn)

    def close(self) -> None:
        self._listener.close()
        for conn in self._held:
            conn.close()
