"""The command-line client: `tdbuddy submit`, `tdbuddy jobs` and `tdbuddy cancel` against a
running service, found by TDBUDDY_URL and TDBUDDY_API_KEY.

It runs on a user's laptop, so it speaks plain JSON over httpx and imports nothing of the
server or the engine. Answers that say "later" (429, 503, a 409 for a submit still in flight,
Retry-After) are waited out, and a submit sends one Idempotency-Key with every attempt, so a
retry after a lost answer never makes a second job. A "later" that waiting cannot meet (a
limit of the plan, or a Retry-After of hours) ends the command at once, in the API's words.
A failure a user can act on ends the command with one line on stderr and an exit code, never
a traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import email.utils
import hashlib
import json
import os
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx
from tqdm import tqdm  # type: ignore[import-untyped]

from core.jobs import FINAL_STATES, JobState
from generators.tables import display_value, render_table

EXIT_OK = 0
EXIT_FAILED = 1  # the API refused, could not be reached, or the download failed
EXIT_BAD_INPUT = 2  # a spec, an argument or the configuration to fix
EXIT_JOB_FAILED = 3
EXIT_JOB_CANCELLED = 4  # cancelled, or expired before it was downloaded
EXIT_INTERRUPTED = 130

DEFAULT_URL = "http://127.0.0.1:8000"  # where `tdbuddy dev` serves
TIMEOUT = httpx.Timeout(30.0, connect=10.0)
# Transient failures in a row (429, 503, a dropped connection…) before a command gives up.
MAX_RETRIES = 10
MAX_BACKOFF_SECONDS = 30.0
# A longer Retry-After is not waited out: the command stops and says when to try again.
MAX_RETRY_AFTER_SECONDS = 300.0
POLL_SECONDS = 2.0  # between polls of an unfinished job that came without Retry-After
RETRY_STATUSES = frozenset({429, 502, 503, 504})
CHUNK_BYTES = 1024 * 1024


class ClientError(Exception):
    """A failure told to the user in one line, ending the command with `exit_code`."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class Connection:
    """Where the API is and the key to call it with: flags first, then the environment."""

    url: str
    api_key: str

    @classmethod
    def of(cls, args: argparse.Namespace) -> Connection:
        url = getattr(args, "url", None) or os.environ.get("TDBUDDY_URL") or DEFAULT_URL
        if not url.startswith(("http://", "https://")):
            raise ClientError(
                f"TDBUDDY_URL must be an http:// or https:// URL, not {url!r}", EXIT_BAD_INPUT
            )
        api_key = getattr(args, "api_key", None) or os.environ.get("TDBUDDY_API_KEY")
        if not api_key:
            raise ClientError(
                "no API key: set TDBUDDY_API_KEY (or pass --api-key); `tdbuddy dev` and "
                "`tdbuddy users create NAME` print one",
                EXIT_BAD_INPUT,
            )
        return cls(url.rstrip("/"), api_key)


def notice(message: str) -> None:
    """A line on stderr that leaves a progress bar on screen intact."""
    tqdm.write(f"tdbuddy: {message}", file=sys.stderr)


def retry_after(response: httpx.Response) -> float | None:
    """The seconds the response's Retry-After asks for (seconds or an HTTP date), if any,
    however long."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = (
                email.utils.parsedate_to_datetime(value) - dt.datetime.now(dt.UTC)
            ).total_seconds()
        except (TypeError, ValueError):
            return None
    return max(seconds, 0.0)


def poll_delay(response: httpx.Response) -> float:
    """How long to wait before looking at an unfinished job again: its Retry-After, at most
    MAX_RETRY_AFTER_SECONDS, else POLL_SECONDS."""
    asked = retry_after(response)
    return POLL_SECONDS if asked is None else min(asked, MAX_RETRY_AFTER_SECONDS)


def refusal(response: httpx.Response, spec_path: str | None = None) -> ClientError:
    """The API's refusal in its own words: the field it names, why, the status and code.

    400 and 422 are input to fix (exit 2); on a submit they name a place in the spec file.
    """
    try:
        body = response.json()
    except ValueError:
        body = None
    status = response.status_code
    if isinstance(body, dict) and isinstance(body.get("detail"), str):
        field = f"{body['field']}: " if body.get("field") else ""
        message = f"{field}{body['detail']} ({status} {body.get('error', 'error')}{_limit(body)})"
    else:
        message = f"the API answered {status} {response.reason_phrase}"
    if status == 401:
        message += "; check TDBUDDY_API_KEY"
    bad_input = status in (400, 422)
    if bad_input and spec_path is not None:
        message = f"{spec_path}: {message}"
    return ClientError(message, EXIT_BAD_INPUT if bad_input else EXIT_FAILED)


def _limit(body: dict[str, Any]) -> str:
    """A plan limit's name, value and reset time, as a refusal for one spells them out."""
    if body.get("error") != "plan_limit_reached" or not body.get("limit"):
        return ""
    value = body.get("limit_value")
    shown = f": {body['limit']} {value:,}" if isinstance(value, int) else f": {body['limit']}"
    return f"{shown}, resets at {body['resets_at']}" if body.get("resets_at") else shown


def waiting_cannot_help(response: httpx.Response) -> ClientError | None:
    """The error to stop with when an answer that asks to wait is not worth waiting for:
    a limit of the plan (the API names it and says when it resets; a few minutes of retries
    rarely pass it), or a Retry-After longer than a command waits. None for a wait worth
    sitting out."""
    if response.status_code == 429:
        response.read()  # a refusal's body is small, even on a streamed download
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("error") == "plan_limit_reached":
            return refusal(response)
    asked = retry_after(response)
    if asked is None or asked <= MAX_RETRY_AFTER_SECONDS:
        return None
    response.read()
    error = refusal(response)
    back = dt.datetime.now().astimezone() + dt.timedelta(seconds=asked)
    return ClientError(
        f"{error}; the API asks to wait {asked / 60:,.0f} min, longer than tdbuddy waits: "
        f"try again after {back:%Y-%m-%d %H:%M}",
        error.exit_code,
    )


def _asks_to_wait(response: httpx.Response) -> bool:
    """Whether the answer means "try again later": a limit, an outage, a submit in flight."""
    if response.status_code in RETRY_STATUSES:
        return True
    return response.status_code == 409 and "Retry-After" in response.headers


def _backoff(failures: int) -> float:
    return float(min(2 ** (failures - 1), MAX_BACKOFF_SECONDS))


def send_patiently(
    attempt: Callable[[], httpx.Response], url: str, reached: bool = False
) -> httpx.Response:
    """The first answer of `attempt` that does not ask to wait, or the last one after
    MAX_RETRIES in a row. Only for requests that are safe to repeat. Raises ClientError at
    once for a wait that waiting cannot end (see `waiting_cannot_help`).

    A refused connection before any answer (`reached` false) means a wrong URL or no service
    and is told at once; once the API has answered, it is a restart or a blip to wait out.
    """
    failures = 0
    while True:
        try:
            response = attempt()
        except httpx.TransportError as exc:
            failures += 1
            if failures > MAX_RETRIES or (isinstance(exc, httpx.ConnectError) and not reached):
                hint = "" if reached else "; is the service running, and is TDBUDDY_URL right?"
                raise ClientError(f"cannot reach the API at {url}: {_reason(exc)}{hint}") from None
            delay = _backoff(failures)
            notice(f"no answer from {url} ({_reason(exc)}); retrying in {delay:.0f} s")
            time.sleep(delay)
            continue
        reached = True
        if not _asks_to_wait(response) or failures >= MAX_RETRIES:
            return response
        hopeless = waiting_cannot_help(response)
        if hopeless is not None:
            response.close()
            raise hopeless
        failures += 1
        response.close()
        asked = retry_after(response)
        delay = _backoff(failures) if asked is None else asked
        why = "rate limited" if response.status_code == 429 else "the API is busy"
        notice(f"{why} ({response.status_code}); retrying in {delay:.0f} s")
        time.sleep(delay)


class Service:
    """The API as the commands use it: every call sent patiently, every refusal turned into a
    ClientError with the API's words."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._http = httpx.Client(
            base_url=connection.url,
            headers={"Authorization": f"Bearer {connection.api_key}"},
            timeout=TIMEOUT,
        )
        self._reached = False

    def __enter__(self) -> Service:
        return self

    def __exit__(self, *_: object) -> None:
        self._http.close()

    def call(
        self, method: str, path: str, spec_path: str | None = None, **options: Any
    ) -> httpx.Response:
        """The API's successful answer to one request, after waiting out what asks to wait."""
        response = send_patiently(
            lambda: self._http.request(method, path, **options),
            self.connection.url,
            self._reached,
        )
        self._reached = True
        if response.is_error:
            raise refusal(response, spec_path)
        return response

    def job(self, job_id: str) -> tuple[dict[str, Any], float]:
        """The job's view, and how long the API asks to wait before the next look."""
        response = self.call("GET", f"/v1/jobs/{job_id}")
        return response.json(), poll_delay(response)


def _reason(exc: httpx.TransportError) -> str:
    return str(exc) or type(exc).__name__


def run_command(command: Callable[[], int]) -> int:
    """The command's exit code; a ClientError or Ctrl-C told in one line, not a traceback."""
    try:
        return command()
    except ClientError as exc:
        print(f"tdbuddy: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("tdbuddy: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader of stdout went away (`-o - | head`): stop quietly, as cat does.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED


# --- submit ----------------------------------------------------------------------------------


def run_submit(args: argparse.Namespace) -> int:
    return run_command(lambda: _submit(args))


def spec_body(args: argparse.Namespace) -> bytes:
    """The spec file's JSON with the command line's values put over the spec's own."""
    try:
        data = json.loads(Path(args.spec).read_bytes())
    except OSError as exc:
        raise ClientError(
            f"cannot read {args.spec}: {exc.strerror or exc}", EXIT_BAD_INPUT
        ) from None
    except ValueError as exc:
        raise ClientError(f"{args.spec}: malformed JSON: {exc}", EXIT_BAD_INPUT) from None
    overrides = {
        "rows": args.rows,
        "format": args.format,
        "seed": args.seed,
        "locale": args.locale,
    }
    given = {key: value for key, value in overrides.items() if value is not None}
    if given:
        if not isinstance(data, dict):
            raise ClientError(f"{args.spec}: a dataset spec is a JSON object", EXIT_BAD_INPUT)
        data.update(given)
    return json.dumps(data, ensure_ascii=False).encode()


def _submit(args: argparse.Namespace) -> int:
    connection = Connection.of(args)
    body = spec_body(args)
    if args.output not in (None, "-"):
        _check_writable(Path(args.output))
    # With the file on stdout, everything else goes to stderr.
    out = sys.stderr if args.output == "-" else sys.stdout
    with Service(connection) as service:
        # One key for every attempt of this submit: a retry answers with the first job.
        headers = {"Content-Type": "application/json", "Idempotency-Key": f'"{uuid.uuid4()}"'}
        response = service.call(
            "POST", "/v1/jobs", spec_path=args.spec, content=body, headers=headers
        )
        job: dict[str, Any] = response.json()
        print(f"job {job['id']} submitted: {job['url']}", file=out, flush=True)
        if not (args.wait or args.output):
            return EXIT_OK
        try:
            job = _wait(service, job, poll_delay(response))
        except KeyboardInterrupt:
            print(
                f"\ntdbuddy: stopped waiting; job {job['id']} keeps running: {job['url']}",
                file=sys.stderr,
            )
            return EXIT_INTERRUPTED
    try:
        return _finish(job, args.output, out)
    except KeyboardInterrupt:
        print(
            f"\ntdbuddy: download stopped; job {job['id']} is done: {job['url']}", file=sys.stderr
        )
        return EXIT_INTERRUPTED


def _check_writable(target: Path) -> None:
    """Refuses an output path that could not be written, before a job is made for it."""
    folder = target if target.is_dir() else target.parent
    if not folder.is_dir():
        raise ClientError(f"cannot write {target}: no folder {folder}", EXIT_BAD_INPUT)
    if not os.access(folder, os.W_OK):
        raise ClientError(f"cannot write {target}: {folder} is not writable", EXIT_BAD_INPUT)


def _wait(service: Service, job: dict[str, Any], delay: float) -> dict[str, Any]:
    """The job once it has ended, with its rows on a progress bar on stderr meanwhile."""
    with tqdm(
        total=job["progress"]["rows_total"],
        desc=_label(job["name"]),
        unit=" rows",
        unit_scale=job["progress"]["rows_total"] >= 10_000,  # 1.2M, but 5 rather than 5.00
        file=sys.stderr,
        dynamic_ncols=True,
    ) as bar:
        while True:
            state = JobState(job["state"])
            bar.set_postfix_str(state.value, refresh=False)
            bar.update(job["progress"]["rows_done"] - bar.n)
            bar.refresh()
            if state in FINAL_STATES:
                return job
            time.sleep(delay)
            job, delay = service.job(job["id"])


def _finish(job: dict[str, Any], output: str | None, out: IO[str]) -> int:
    """Downloads an ended job's file, or says why there is none."""
    state = JobState(job["state"])
    if state is JobState.FAILED:
        raise ClientError(f"job {job['id']} failed: {job.get('error')}", EXIT_JOB_FAILED)
    if state is not JobState.SUCCEEDED:
        raise ClientError(f"job {job['id']} was {state.value}", EXIT_JOB_CANCELLED)
    file = job.get("file") or {}
    if not file.get("download_url"):
        raise ClientError(f"job {job['id']} succeeded, but its file was deleted or has expired")
    if output == "-":
        _download(file, sys.stdout.buffer)
        return EXIT_OK
    own_name = Path(file["name"]).name or f"{job['id']}.data"  # never a path of the server's
    target = Path(output) if output else Path(own_name)
    if target.is_dir():
        target = target / own_name
    _download_to(file, target)
    print(f"saved {target} ({file['size_bytes']:,} bytes, SHA-256 checked)", file=out)
    return EXIT_OK


def _download_to(file: dict[str, Any], target: Path) -> None:
    """Writes the file beside `target` and moves it there only once it is whole and checked."""
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.part")
    try:
        with partial.open("xb") as sink:  # mode from the umask, as any new file's
            _download(file, sink)
        partial.replace(target)
    except OSError as exc:
        raise ClientError(
            f"cannot write {target}: {exc.strerror or exc}; link: {file['download_url']}"
        ) from None
    finally:
        partial.unlink(missing_ok=True)


def _download(file: dict[str, Any], sink: IO[bytes]) -> None:
    """Streams the file's link into `sink`, checking its size and SHA-256.

    The link is its own authorisation: no API key is sent, and the API's redirect to a
    presigned storage URL is followed for this request only.
    """
    url = file["download_url"]
    with httpx.Client(timeout=TIMEOUT, follow_redirects=True) as http:
        request = http.build_request("GET", url)
        answer = send_patiently(lambda: http.send(request, stream=True), url, reached=True)
        try:
            if answer.is_error:
                answer.read()
                raise refusal(answer)
            written, sha256 = _stream(answer, file, sink)
        finally:
            answer.close()
    if written != file["size_bytes"] or sha256 != file["sha256"]:
        raise ClientError(
            f"the download is damaged ({written:,} of {file['size_bytes']:,} bytes, SHA-256 "
            f"{sha256} instead of {file['sha256']}); link: {url}"
        )


def _stream(answer: httpx.Response, file: dict[str, Any], sink: IO[bytes]) -> tuple[int, str]:
    """Bytes written and their SHA-256, with a progress bar on stderr."""
    digest = hashlib.sha256()
    with tqdm(
        total=file["size_bytes"],
        desc=_label(file["name"]),
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        file=sys.stderr,
        dynamic_ncols=True,
    ) as bar:
        try:
            for chunk in answer.iter_bytes(CHUNK_BYTES):
                digest.update(chunk)
                sink.write(chunk)
                bar.update(len(chunk))
        except httpx.TransportError as exc:
            raise ClientError(
                f"the download broke off: {_reason(exc)}; link: {file['download_url']}"
            ) from None
        return bar.n, digest.hexdigest()


# --- jobs ------------------------------------------------------------------------------------


def run_jobs(args: argparse.Namespace) -> int:
    return run_command(lambda: _jobs(args))


def _jobs(args: argparse.Namespace) -> int:
    if args.limit < 1:
        raise ClientError("--limit must be 1 or more", EXIT_BAD_INPUT)
    with Service(Connection.of(args)) as service:
        jobs, more = _newest_jobs(service, args.limit)
    if not jobs:
        print("no jobs yet")
        return EXIT_OK
    print("\n".join(job_table(jobs)), flush=True)
    if more:
        print(f"(the newest {len(jobs)}; --limit N shows more)", file=sys.stderr)
    return EXIT_OK


def _newest_jobs(service: Service, limit: int) -> tuple[list[dict[str, Any]], bool]:
    """Up to `limit` of the account's jobs, newest first, and whether there are more."""
    jobs: list[dict[str, Any]] = []
    cursor: str | None = None
    while len(jobs) < limit:
        params: dict[str, Any] = {"limit": min(100, limit - len(jobs))}
        if cursor:
            params["cursor"] = cursor
        page = service.call("GET", "/v1/jobs", params=params).json()
        jobs.extend(page["jobs"])
        cursor = page.get("next_cursor")
        if not cursor:
            break
    return jobs, cursor is not None


def job_table(jobs: list[dict[str, Any]]) -> list[str]:
    """Lines of an aligned table of jobs, measured in terminal columns (kanji count two)."""
    columns = {
        "ID": [job["id"] for job in jobs],
        "NAME": [job["name"] for job in jobs],
        "STATE": [job["state"] for job in jobs],
        "PROGRESS": [f"{job['progress']['percent']:.1f}%" for job in jobs],
        "ROWS": [f"{job['progress']['rows_total']:,}" for job in jobs],
        "CREATED": [_local_time(job["created_at"]) for job in jobs],
    }
    return render_table(columns, right_aligned={"PROGRESS": True, "ROWS": True})


def _label(name: str) -> str:
    """A name short and safe enough to lead a progress bar."""
    return display_value(name, max_width=24)


def _local_time(iso: str) -> str:
    """The API's UTC instant as the laptop's local time, to the minute."""
    return dt.datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")


# --- cancel ----------------------------------------------------------------------------------


def run_cancel(args: argparse.Namespace) -> int:
    return run_command(lambda: _cancel(args))


def _cancel(args: argparse.Namespace) -> int:
    try:
        job_id = uuid.UUID(args.id)
    except ValueError:
        raise ClientError(f"{args.id!r} is not a job id (a UUID)", EXIT_BAD_INPUT) from None
    with Service(Connection.of(args)) as service:
        job = service.call("POST", f"/v1/jobs/{job_id}/cancel").json()
    print(f"job {job['id']} {job['state']}")
    return EXIT_OK
