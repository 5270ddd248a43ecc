"""A newcomer's first run: the README's `make run` with nothing configured, then one job."""

from __future__ import annotations

import csv
import io
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.services import ROOT, free_port, job_when, wait_until

# Everything a configured machine might carry; the newcomer has none of it.
_CONFIG = (
    "DATABASE_URL",
    "REDIS_URL",
    "BROKER_URL",
    "S3_BUCKET",
    "S3_ENDPOINT_URL",
    "STORAGE_DIR",
    "LINK_SIGNING_KEYS",
    "PUBLIC_URL",
    "API_PORT",
)


class DevRun:
    def __init__(self, home: Path, port: int) -> None:
        env = {k: v for k, v in os.environ.items() if k not in _CONFIG} | {
            "HOME": str(home),
            # The one setting a test needs that a newcomer does not: a port nobody else uses.
            "API_PORT": str(port),
            "VENV": str(Path(sys.executable).parent.parent),
        }
        self.popen = subprocess.Popen(
            [shutil.which("make") or "make", "--no-print-directory", "run"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.popen.stdout is not None
        for raw in self.popen.stdout:
            self.lines.put(raw.decode(errors="replace"))
        self.lines.put("")  # end of output

    def wait_for_line(self, pattern: str, timeout: float) -> re.Match[str]:
        """The first output line matching `pattern`, read as the process prints it."""
        regex = re.compile(pattern)
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(
                    f"no line matching {pattern!r}; output:\n{''.join(self.seen)}"
                ) from None
            self.seen.append(line)
            if line == "":
                raise AssertionError(f"tdbuddy dev ended; output:\n{''.join(self.seen)}")
            match = regex.search(line)
            if match:
                return match


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[tuple[DevRun, str]]:
    port = free_port()
    run = DevRun(tmp_path, port)
    yield run, f"http://127.0.0.1:{port}"
    if run.popen.poll() is None:
        os.killpg(run.popen.pid, signal.SIGKILL)
        run.popen.wait()


def test_tdbuddy_dev_runs_a_job_with_no_setup(dev: tuple[DevRun, str], tmp_path: Path) -> None:
    run, url = dev
    run.wait_for_line(r"TestData Buddy is ready at " + re.escape(url), timeout=180)
    api_key = run.wait_for_line(r"API key:\s+(\S+)", timeout=5).group(1)

    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {api_key}"}) as client:
        spec = (ROOT / "examples" / "users.json").read_text()
        submitted = client.post(
            "/v1/jobs", content=spec, headers={"Content-Type": "application/json"}
        )
        assert submitted.status_code == 202, submitted.text
        done = job_when(client, submitted.json()["url"], lambda j: j["state"] == "succeeded", 120)
        # The embedded mode keeps files on the local disk and the API streams them itself.
        response = client.get(done["file"]["download_url"])
        assert response.status_code == 200
        assert "attachment" in response.headers["content-disposition"]
        rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["id", "name", "email", "phone", "age", "joined", "active"]
    assert len(rows) == 1 + 100_000
    assert list((tmp_path / ".tdbuddy" / "files").rglob("users.csv"))

    os.killpg(run.popen.pid, signal.SIGINT)  # Ctrl-C in the terminal
    run.wait_for_line(r"Shutting down|Stopping", timeout=30)
    run.popen.wait(timeout=60)
    wait_until(lambda: not group_alive(run.popen.pid), 60, "every dev process to stop")


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True
