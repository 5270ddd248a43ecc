"""`tdbuddy submit`, `tdbuddy jobs` and `tdbuddy cancel` as a user runs them: the real command
line in a subprocess, against the session's API, worker and scheduler on real services."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from generators.tables import display_width
from tests.integration.test_end_to_end import expected_bytes
from tests.services import (
    Stack,
    api_of_its_own,
    job_when,
    new_api_key,
    run_sql,
    stack_of_its_own,
)

SPEC: dict[str, Any] = {
    "name": "cli_users",
    "rows": 500,
    "format": "json",
    "locale": "ja_JP",
    "seed": 11,
    "fields": [
        {"name": "id", "type": "sequence"},
        {"name": "name", "type": "full_name"},
        {"name": "email", "type": "email"},
    ],
}
# Big enough to be still running whenever a test looks; every such job is cancelled.
BIG_ROWS = 100_000_000


def client_env(url: str, api_key: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TDBUDDY_")}
    env["TDBUDDY_URL"] = url
    if api_key is not None:
        env["TDBUDDY_API_KEY"] = api_key
    return env


def tdbuddy(
    url: str, api_key: str | None, *args: str | Path, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """The command line run as a user runs it, with TDBUDDY_URL and TDBUDDY_API_KEY set."""
    return subprocess.run(
        [sys.executable, "-m", "core.cli", *map(str, args)],
        env=client_env(url, api_key),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def write_spec(folder: Path, spec: dict[str, Any], name: str = "spec.json") -> Path:
    path = folder / name
    path.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    return path


def waiting_submit(
    stack: Stack, api_key: str, folder: Path, spec_path: Path, *wait: str
) -> tuple[subprocess.Popen[str], str]:
    """`tdbuddy submit` of a BIG_ROWS job left waiting in the background, and its job id."""
    waiting = subprocess.Popen(
        [sys.executable, "-m", "core.cli", "submit", str(spec_path), "--rows", str(BIG_ROWS),
         *wait],
        env=client_env(stack.base_url, api_key),
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert waiting.stdout is not None
    return waiting, submitted_id(waiting.stdout.readline())


def submitted_id(stdout: str) -> str:
    """The job id from the line `job ID submitted: URL`."""
    line = next(line for line in stdout.splitlines() if line.startswith("job "))
    return line.split()[1]


def jobs_of(stack: Stack, api_key: str) -> list[dict[str, Any]]:
    with stack.client(api_key) as client:
        page = client.get("/v1/jobs", params={"limit": 100}).json()
    jobs: list[dict[str, Any]] = page["jobs"]
    return jobs


def test_submit_wait_downloads_the_data_asked_for(
    stack: Stack, api_key: str, tmp_path: Path
) -> None:
    spec_path = write_spec(tmp_path, SPEC)
    out = tmp_path / "out" / "people.csv"
    out.parent.mkdir()

    result = tdbuddy(
        stack.base_url, api_key, "submit", spec_path, "--rows", "1234", "--format", "csv",
        "--wait", "-o", out,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    job_id = submitted_id(result.stdout)
    assert f"{stack.base_url}/v1/jobs/{job_id}" in result.stdout
    assert f"saved {out}" in result.stdout
    # The command line's --rows and --format won over the spec's.
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert rows[0] == ["id", "name", "email"]
    assert len(rows) == 1 + 1234
    assert out.read_bytes() == expected_bytes({**SPEC, "rows": 1234, "format": "csv"})
    # The progress bar ran to the end, on stderr; no half-written file is left beside it.
    assert "100%" in result.stderr and "succeeded" in result.stderr
    assert sorted(p.name for p in out.parent.iterdir()) == ["people.csv"]


def test_submit_wait_saves_under_the_files_own_name_in_the_current_folder(
    stack: Stack, api_key: str, tmp_path: Path
) -> None:
    spec_path = write_spec(tmp_path, {**SPEC, "name": "会員"}, "members.json")
    work = tmp_path / "work"
    work.mkdir()

    result = tdbuddy(stack.base_url, api_key, "submit", spec_path, "--wait", cwd=work)

    assert result.returncode == 0, result.stderr
    saved = work / "会員.json"
    assert [p.name for p in work.iterdir()] == [saved.name]
    assert saved.read_bytes() == expected_bytes({**SPEC, "name": "会員"})
    assert "saved 会員.json" in result.stdout


def test_submit_without_wait_prints_the_id_and_jobs_lists_it(
    stack: Stack, stack_env: dict[str, str], tmp_path: Path
) -> None:
    key = new_api_key(stack_env, f"cli-{uuid.uuid4().hex[:6]}")
    first = tdbuddy(stack.base_url, key, "submit", write_spec(tmp_path, SPEC))
    second = tdbuddy(
        stack.base_url, key, "submit", write_spec(tmp_path, {**SPEC, "name": "顧客リスト"}),
        "--rows", "2000",
    )  # fmt: skip
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    ids = [submitted_id(first.stdout), submitted_id(second.stdout)]
    assert [job["id"] for job in jobs_of(stack, key)] == ids[::-1]

    listed = tdbuddy(stack.base_url, key, "jobs")

    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["ID", "NAME", "STATE", "PROGRESS", "ROWS", "CREATED"]
    newest, oldest = lines[2], lines[3]
    assert newest.startswith(ids[1]) and "顧客リスト" in newest and "2,000" in newest
    assert oldest.startswith(ids[0]) and "cli_users" in oldest and "500" in oldest
    # Aligned on screen, though one name is in kanji (two columns a character).
    state_column = display_width(lines[0][: lines[0].index("STATE")])
    for line in (newest, oldest):
        state = next(s for s in ("queued", "running", "succeeded") if s in line)
        assert display_width(line[: line.index(state)]) == state_column, listed.stdout

    newest_only = tdbuddy(stack.base_url, key, "jobs", "--limit", "1")
    assert newest_only.returncode == 0, newest_only.stderr
    assert len(newest_only.stdout.splitlines()) == 3 and ids[1] in newest_only.stdout
    assert "--limit" in newest_only.stderr


def test_a_bad_spec_is_refused_with_the_field_named(
    stack: Stack, api_key: str, tmp_path: Path
) -> None:
    fields = [{"name": "id", "type": "sequence"}, {"name": "email", "type": "emial"}]
    spec_path = write_spec(tmp_path, {**SPEC, "fields": fields})

    result = tdbuddy(stack.base_url, api_key, "submit", spec_path, "--wait")

    assert result.returncode == 2
    assert f"{spec_path}: fields[1].type:" in result.stderr
    assert "did you mean 'email'?" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""

    good_path = write_spec(tmp_path, SPEC, "good.json")
    no_rows = tdbuddy(stack.base_url, api_key, "submit", good_path, "--rows", "0")
    assert no_rows.returncode == 2, no_rows.stderr
    assert f"{good_path}: rows:" in no_rows.stderr


def test_a_wrong_key_is_told_without_a_traceback(stack: Stack, tmp_path: Path) -> None:
    result = tdbuddy(stack.base_url, f"tdb_{uuid.uuid4().hex}", "jobs")
    assert result.returncode == 1
    assert "401" in result.stderr and "TDBUDDY_API_KEY" in result.stderr
    assert "Traceback" not in result.stderr


def test_cancel_stops_a_running_job_that_a_waiting_submit_then_reports(
    stack: Stack, api_key: str, client: httpx.Client, tmp_path: Path
) -> None:
    spec_path = write_spec(tmp_path, {**SPEC, "name": "cli_big", "format": "parquet"})
    waiting, job_id = waiting_submit(
        stack, api_key, tmp_path, spec_path, "-o", str(tmp_path / "never.parquet")
    )
    job_when(client, f"/v1/jobs/{job_id}", lambda j: j["progress"]["rows_done"] > 0, 60)

    cancelled = tdbuddy(stack.base_url, api_key, "cancel", job_id)

    assert cancelled.returncode == 0, cancelled.stderr
    assert cancelled.stdout.strip() == f"job {job_id} cancelled"
    _, stderr = waiting.communicate(timeout=60)
    assert waiting.returncode == 4, stderr
    assert f"job {job_id} was cancelled" in stderr
    assert not (tmp_path / "never.parquet").exists()
    # Cancelling again, or a job that is not there, is told with the field named.
    again = tdbuddy(stack.base_url, api_key, "cancel", job_id)
    assert again.returncode == 1
    assert "job_id: the job has already cancelled" in again.stderr
    missing = uuid.uuid4()
    unknown = tdbuddy(stack.base_url, api_key, "cancel", str(missing))
    assert unknown.returncode == 1
    assert f"job_id: no job {missing} (404 not_found)" in unknown.stderr


def test_ctrl_c_stops_waiting_and_the_job_keeps_running(
    stack: Stack, api_key: str, client: httpx.Client, tmp_path: Path
) -> None:
    spec_path = write_spec(tmp_path, {**SPEC, "name": "cli_left_running", "format": "parquet"})
    waiting, job_id = waiting_submit(stack, api_key, tmp_path, spec_path, "--wait")
    job_url = f"/v1/jobs/{job_id}"
    try:
        job_when(client, job_url, lambda j: j["progress"]["rows_done"] > 0, 60)
        waiting.send_signal(signal.SIGINT)
        _, stderr = waiting.communicate(timeout=30)

        assert waiting.returncode == 130, stderr
        assert f"job {job_id} keeps running" in stderr
        assert "Traceback" not in stderr
        assert client.get(job_url).json()["state"] == "running"
    finally:
        waiting.kill()
        client.post(f"{job_url}/cancel")


# --- retries: a limited API, and an answer lost on the way --------------------------------


def test_a_rate_limited_submit_waits_and_gets_through_with_one_job(
    stack: Stack,
    stack_env: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
    tmp_path: Path,
) -> None:
    limit = 12  # one request back every 5 s: the client's polls, 2 s apart, meet the limit
    key = new_api_key(stack_env, f"limited-{uuid.uuid4().hex[:6]}")
    with api_of_its_own(
        stack_env,
        tmp_path_factory.mktemp("limited-logs"),
        RATE_LIMIT_PER_KEY_PER_MINUTE=str(limit),
        RATE_LIMIT_PER_ADDRESS_PER_MINUTE="0",
    ) as limited:
        with limited.client(key) as client:  # use the whole allowance up
            statuses = [client.get("/v1/jobs").status_code for _ in range(limit + 1)]
        assert statuses[-1] == 429, statuses
        out = tmp_path / "limited.csv"

        result = tdbuddy(
            limited.base_url, key, "submit", write_spec(tmp_path, SPEC), "--format", "csv",
            "-o", out,
        )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert "rate limited (429); retrying in" in result.stderr
    assert out.read_bytes() == expected_bytes({**SPEC, "format": "csv"})
    assert [job["id"] for job in jobs_of(stack, key)] == [submitted_id(result.stdout)]


def test_a_plan_limit_stops_the_submit_at_once_with_the_plans_words(
    stack: Stack, stack_env: dict[str, str], tmp_path: Path
) -> None:
    plan = f"one-a-day-{uuid.uuid4().hex[:6]}"
    run_sql(
        stack_env["DATABASE_URL"], "INSERT INTO plans (name, jobs_per_day) VALUES ($1, 1)", plan
    )
    key = new_api_key(stack_env, f"frugal-{uuid.uuid4().hex[:6]}", plan=plan)
    spec_path = write_spec(tmp_path, SPEC)
    first = tdbuddy(stack.base_url, key, "submit", spec_path)
    assert first.returncode == 0, first.stderr

    # The limit resets at midnight UTC: no waiting it out, ten times five minutes.
    second = tdbuddy(stack.base_url, key, "submit", spec_path, "--wait")

    assert second.returncode == 1, second.stderr
    assert second.stdout == ""
    told = second.stderr.strip()
    assert told.startswith(f"tdbuddy: plan '{plan}' allows 1 jobs per day (UTC)"), told
    assert "(429 plan_limit_reached: jobs_per_day 1, resets at " in told
    assert "retrying" not in told and "Traceback" not in told
    assert [job["id"] for job in jobs_of(stack, key)] == [submitted_id(first.stdout)]


class LosingProxy(ThreadingHTTPServer):
    """An HTTP proxy to the API that passes the first job submit on but drops its answer, as a
    connection that breaks after the server has acted does."""

    daemon_threads = True

    def __init__(self, upstream: str) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.upstream = upstream
        self.submits: list[str | None] = []  # the Idempotency-Key of each submit seen

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _ProxyHandler(BaseHTTPRequestHandler):
    server: LosingProxy

    def do_GET(self) -> None:
        self._forward()

    def do_POST(self) -> None:
        self._forward()

    def _forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        skip = {"host", "content-length", "connection"}
        headers = {k: v for k, v in self.headers.items() if k.lower() not in skip}
        answer = httpx.request(
            self.command, self.server.upstream + self.path, headers=headers, content=body
        )
        if self.command == "POST" and self.path == "/v1/jobs":
            self.server.submits.append(self.headers.get("Idempotency-Key"))
            if len(self.server.submits) == 1:
                return  # the job is made; the client never hears of it
        self.send_response(answer.status_code)
        for name, value in answer.headers.items():
            if name.lower() not in {"content-length", "transfer-encoding", "connection"}:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def losing_proxy(stack: Stack) -> Iterator[LosingProxy]:
    proxy = LosingProxy(stack.base_url)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    yield proxy
    proxy.shutdown()
    proxy.server_close()


def test_a_submit_retried_after_a_lost_answer_makes_one_job(
    stack: Stack, stack_env: dict[str, str], losing_proxy: LosingProxy, tmp_path: Path
) -> None:
    key = new_api_key(stack_env, f"lossy-{uuid.uuid4().hex[:6]}")

    result = tdbuddy(losing_proxy.url, key, "submit", write_spec(tmp_path, SPEC))

    assert result.returncode == 0, result.stderr
    assert "no answer from" in result.stderr and "retrying" in result.stderr
    # Both attempts reached the API, with one key: the second answered with the first's job.
    assert len(losing_proxy.submits) == 2
    assert losing_proxy.submits[0] is not None
    assert losing_proxy.submits[0] == losing_proxy.submits[1]
    assert [job["id"] for job in jobs_of(stack, key)] == [submitted_id(result.stdout)]


def test_a_job_that_fails_is_told_with_its_reason(
    stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    # A stack whose bucket does not exist: every job's upload fails, and one attempt is all.
    with stack_of_its_own(
        stack_env,
        tmp_path_factory.mktemp("failing-logs"),
        "failing",
        S3_BUCKET="no-such-bucket-here",
        JOB_MAX_ATTEMPTS="1",
    ) as failing:
        key = new_api_key(failing.env, f"unlucky-{uuid.uuid4().hex[:6]}")
        spec_path = write_spec(tmp_path, SPEC)
        result = tdbuddy(failing.base_url, key, "submit", spec_path, "--wait", cwd=tmp_path)

    assert result.returncode == 3, result.stderr
    job_id = submitted_id(result.stdout)
    assert f"job {job_id} failed: " in result.stderr
    assert "NoSuchBucket" in result.stderr
    assert [p.name for p in tmp_path.iterdir()] == [spec_path.name]  # no file, whole or not
