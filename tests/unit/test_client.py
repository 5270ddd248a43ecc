"""The command-line client without a service: its configuration errors, a service that is not
there, what it sends for a spec, and how it lays out and waits."""

from __future__ import annotations

import argparse
import email.utils
import json
import os
import subprocess
import sys
import time
import unicodedata
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.client import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_JOB_CANCELLED,
    EXIT_JOB_FAILED,
    MAX_RETRY_AFTER_SECONDS,
    ClientError,
    job_table,
    poll_delay,
    retry_after,
    send_patiently,
    spec_body,
)
from core.cli import CLIENT_EPILOG
from tests.services import free_port

SPEC = {
    "name": "people",
    "rows": 10,
    "format": "csv",
    "fields": [{"name": "id", "type": "sequence"}],
}


def tdbuddy(
    *args: str | Path, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TDBUDDY_")}
    return subprocess.run(
        [sys.executable, "-m", "core.cli", *map(str, args)],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def spec_file(tmp_path: Path) -> Path:
    path = tmp_path / "people.json"
    path.write_text(json.dumps(SPEC), encoding="utf-8")
    return path


def test_without_an_api_key_every_client_command_says_how_to_get_one(spec_file: Path) -> None:
    for args in (
        ["submit", spec_file],
        ["jobs"],
        ["cancel", "6f1c2d6e-0000-4000-8000-000000000000"],
    ):
        result = tdbuddy(*args, env={})
        assert result.returncode == EXIT_BAD_INPUT, result.stderr
        assert "no API key: set TDBUDDY_API_KEY" in result.stderr
        assert "Traceback" not in result.stderr


def test_a_service_that_is_not_there_is_told_at_once(spec_file: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    result = tdbuddy(
        "submit", spec_file, "--wait", env={"TDBUDDY_URL": url, "TDBUDDY_API_KEY": "k"}
    )
    assert result.returncode == EXIT_FAILED
    assert f"cannot reach the API at {url}" in result.stderr
    assert "is TDBUDDY_URL right?" in result.stderr
    assert "Traceback" not in result.stderr
    # No retries with back-off for a service that never answered.
    assert time.monotonic() - started < 30


def test_the_flags_win_over_the_environment(spec_file: Path) -> None:
    wrong = f"http://127.0.0.1:{free_port()}"
    right = f"http://127.0.0.1:{free_port()}"
    result = tdbuddy("jobs", "--url", right, "--api-key", "k", env={"TDBUDDY_URL": wrong})
    assert result.returncode == EXIT_FAILED
    assert right in result.stderr and wrong not in result.stderr


def test_an_output_that_cannot_be_written_is_refused_before_a_job_is_made(
    spec_file: Path, tmp_path: Path
) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # never reached: the check comes first
    target = tmp_path / "no-such-folder" / "out.csv"
    result = tdbuddy(
        "submit", spec_file, "-o", target, env={"TDBUDDY_URL": url, "TDBUDDY_API_KEY": "k"}
    )
    assert result.returncode == EXIT_BAD_INPUT
    assert f"cannot write {target}: no folder" in result.stderr


def test_a_job_id_that_is_not_one_is_refused_without_a_request() -> None:
    result = tdbuddy("cancel", "../../admin", env={"TDBUDDY_API_KEY": "k"})
    assert result.returncode == EXIT_BAD_INPUT
    assert "'../../admin' is not a job id" in result.stderr


def test_the_client_loads_nothing_of_the_server_or_the_engine() -> None:
    probe = (
        "import sys, core.cli, api.client; core.cli.build_parser(); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'litestar', 'storage', 'generators', 'workers', 'asyncpg', 'pyarrow', 'numpy', "
        "'faker'}))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    # Only the engine's terminal tables, which need neither pyarrow nor numpy.
    assert loaded.strip() == "['generators', 'generators.tables']"


def _args(spec: Path, **given: Any) -> argparse.Namespace:
    values = {"rows": None, "format": None, "seed": None, "locale": None, **given}
    return argparse.Namespace(spec=str(spec), **values)


def test_command_line_values_go_over_the_specs_own(spec_file: Path) -> None:
    sent = json.loads(
        spec_body(_args(spec_file, rows=500, format="parquet", seed=3, locale="ja_JP"))
    )
    assert sent == {**SPEC, "rows": 500, "format": "parquet", "seed": 3, "locale": "ja_JP"}
    assert json.loads(spec_body(_args(spec_file))) == SPEC


def test_a_spec_file_that_cannot_be_read_is_bad_input(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"name": ', encoding="utf-8")
    for path, words in ((broken, "malformed JSON"), (tmp_path / "none.json", "cannot read")):
        with pytest.raises(ClientError) as refused:
            spec_body(_args(path))
        assert refused.value.exit_code == EXIT_BAD_INPUT
        assert words in str(refused.value)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _job(name: str, state: str, percent: float, rows: int) -> dict[str, Any]:
    return {
        "id": "6f1c2d6e-0000-4000-8000-000000000000",
        "name": name,
        "state": state,
        "progress": {"percent": percent, "rows_total": rows, "rows_done": 0},
        "created_at": "2026-11-29T01:02:03Z",
    }


def test_the_job_table_lines_up_in_terminal_columns_whatever_the_script() -> None:
    jobs = [
        _job("会員リスト", "running", 42.5, 1_000_000),
        _job("users", "succeeded", 100.0, 5),
        _job("顧客" * 40 + "\x1b[31m", "queued", 0.0, 12),
    ]
    lines = job_table(jobs)
    assert lines[0].split() == ["ID", "NAME", "STATE", "PROGRESS", "ROWS", "CREATED"]
    assert set(lines[1].replace(" ", "")) == {"-"}
    # Each column starts at one screen column on every line; numbers are right-aligned.
    for state, row in zip(("running", "succeeded", "queued"), lines[2:], strict=True):
        assert _width(row[: row.index(state)]) == _width(lines[0][: lines[0].index("STATE")])
    assert _width(lines[2]) == _width(lines[3]) == _width(lines[4])
    assert "42.5%" in lines[2] and "1,000,000" in lines[2]
    # A long name is cut, and control characters never reach the terminal.
    assert "..." in lines[4] and "\x1b" not in lines[4]


def test_retry_after_in_seconds_or_as_a_date() -> None:
    def answer(value: str) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": value})

    assert retry_after(answer("7")) == 7.0
    soon = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= (retry_after(answer(soon)) or 0) <= 30
    assert retry_after(answer("86400")) == 86400.0
    assert retry_after(answer("soon")) is None
    assert retry_after(httpx.Response(200)) is None
    # A job is looked at again after five minutes at most, and every 2 s without a hint.
    assert poll_delay(answer("86400")) == MAX_RETRY_AFTER_SECONDS
    assert poll_delay(answer("1")) == 1.0
    assert poll_delay(httpx.Response(200)) == 2.0


# --- answers that ask to wait: waited out, or told at once --------------------------------


def _answering(*answers: httpx.Response) -> tuple[list[httpx.Request], httpx.Client]:
    """A client whose requests get `answers` in turn, and the list of requests it sent."""
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return answers[len(sent) - 1]

    return sent, httpx.Client(transport=httpx.MockTransport(answer), base_url="http://api")


def _submit_with(client: httpx.Client) -> httpx.Response:
    return send_patiently(lambda: client.post("/v1/jobs", json=SPEC), "http://api", True)


def test_a_short_rate_limit_is_waited_out(capsys: pytest.CaptureFixture[str]) -> None:
    limited = {"error": "rate_limited", "detail": "60 requests per minute per API key"}
    sent, client = _answering(
        httpx.Response(429, json=limited, headers={"Retry-After": "0"}),
        httpx.Response(202, json={"id": "job"}),
    )
    with client:
        answer = _submit_with(client)
    assert answer.status_code == 202 and len(sent) == 2
    assert "rate limited (429); retrying in 0 s" in capsys.readouterr().err


@pytest.fixture
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Makes any wait of the client fail the test at once, rather than sit it out."""

    def refuse(seconds: float) -> None:
        raise AssertionError(f"the client waited {seconds} s instead of stopping")

    monkeypatch.setattr("api.client.time.sleep", refuse)


@pytest.mark.usefixtures("no_waiting")
def test_a_retry_after_of_hours_is_told_at_once_not_waited() -> None:
    limited = {"error": "rate_limited", "detail": "the API key is blocked for an hour"}
    sent, client = _answering(httpx.Response(429, json=limited, headers={"Retry-After": "3600"}))
    with client, pytest.raises(ClientError) as stopped:
        _submit_with(client)
    assert len(sent) == 1
    assert stopped.value.exit_code == EXIT_FAILED
    message = str(stopped.value)
    assert message.startswith("the API key is blocked for an hour (429 rate_limited)")
    assert "asks to wait 60 min" in message and "try again after" in message


@pytest.mark.usefixtures("no_waiting")
def test_a_plan_limit_is_told_at_once_with_its_limit_and_reset_time() -> None:
    detail = (
        "plan 'trial' allows 1 jobs per day (UTC) and today's are used up; the count starts "
        "again at 2026-11-30 00:00 UTC"
    )
    body = {
        "error": "plan_limit_reached",
        "detail": detail,
        "field": None,
        "plan": "trial",
        "limit": "jobs_per_day",
        "limit_value": 1,
        "resets_at": "2026-11-30T00:00:00Z",
    }
    # Even with a Retry-After short enough to wait for: the plan, not the minute, says no.
    sent, client = _answering(httpx.Response(429, json=body, headers={"Retry-After": "30"}))
    with client, pytest.raises(ClientError) as stopped:
        _submit_with(client)
    assert len(sent) == 1
    assert stopped.value.exit_code == EXIT_FAILED
    assert str(stopped.value) == (
        f"{detail} (429 plan_limit_reached: jobs_per_day 1, resets at 2026-11-30T00:00:00Z)"
    )


def test_the_help_names_every_exit_code() -> None:
    epilog = " ".join(CLIENT_EPILOG.split())
    for code, meaning in (
        (EXIT_FAILED, "the API refused"),
        (EXIT_BAD_INPUT, "a spec, argument or setting to fix"),
        (EXIT_JOB_FAILED, "the job failed"),
        (EXIT_JOB_CANCELLED, "the job was cancelled or expired"),
        (EXIT_INTERRUPTED, "interrupted"),
    ):
        assert f"{code} {meaning}" in epilog
    for command in ("submit", "jobs", "cancel"):
        shown = tdbuddy(command, "--help", env={})
        assert shown.returncode == 0
        assert "exit codes:" in shown.stdout and "TDBUDDY_API_KEY" in shown.stdout
