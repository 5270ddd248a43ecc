"""Every operation of the live OpenAPI document, fuzzed by schemathesis with a real API key:
valid and invalid parameters, headers and bodies, and chains of calls that follow the ids one
answer gives to the next. No answer may be a 5xx, and every answer's status, headers,
content type and body must be ones the document promises for that operation.

schemathesis runs as its command line (its pytest plugin does not run on this pytest), with a
fixed seed, so a failure prints the same cases, each with a curl command, on every run.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services import Stack, create_database, drop_database, free_port, new_api_key

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    # Requests the document forbids are refused with a 4xx.
    "negative_data_rejection",
    "missing_required_header",
    "unsupported_method",
    # An operation that needs a key refuses a request without one.
    "ignored_auth",
    "ensure_resource_availability",
)
# Left out: positive_data_acceptance (a spec can be well-formed JSON Schema-wise and still
# invalid: an unknown format, a regex that cannot be generated), use_after_free (a deleted
# job stays readable, with deleted_at), allow_header_conformance (Litestar's automatic OPTIONS
# answer lists only the methods of the first handler registered on a path).
EXAMPLES_PER_OPERATION = 50
PREVIEW_EXAMPLES = 10


@pytest.fixture(scope="module")
def api_alone(
    stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The API on a database of its own, with no worker: the jobs it accepts stay queued (no
    billion-row job is generated), and no other test's jobs or keys are in its way."""
    port = free_port()
    database_url = asyncio.run(create_database("tdbuddy_fuzz"))
    stack = Stack(
        {
            **stack_env,
            "DATABASE_URL": database_url,
            "API_PORT": str(port),
            "PUBLIC_URL": f"http://127.0.0.1:{port}",
            # Thousands of requests a minute from one key: the limits would answer most of
            # them with 429 instead of reaching the handlers.
            "RATE_LIMIT_PER_KEY_PER_MINUTE": "0",
            "RATE_LIMIT_PER_ADDRESS_PER_MINUTE": "0",
        },
        tmp_path_factory.mktemp("fuzz-logs"),
    )
    try:
        stack.start_api()
        yield stack
    finally:
        stack.stop_all()
        asyncio.run(drop_database(database_url))


@pytest.mark.parametrize(
    ("selection", "examples"),
    [
        # Revoking keys gets a run of its own, with its own key: a fuzzed id may be that key.
        pytest.param(
            ["--exclude-operation-id", "revokeApiKey", "--exclude-operation-id", "previewDataset"],
            EXAMPLES_PER_OPERATION,
            id="all-but-revoking-keys-and-previews",
        ),
        pytest.param(["--include-tag", "keys"], EXAMPLES_PER_OPERATION, id="keys"),
        # A preview takes the body a submit takes (whose schema the run above covers) and
        # generates up to 65,536 rows of whatever the fuzzer asked for: fewer examples, and
        # no coverage phase (some 16,000 cases of that schema), keep the run short.
        pytest.param(
            ["--include-operation-id", "previewDataset", "--phases", "examples,fuzzing"],
            PREVIEW_EXAMPLES,
            id="previews",
        ),
    ],
)
def test_no_operation_answers_5xx_or_outside_its_document(
    api_alone: Stack, selection: list[str], examples: int, tmp_path: Path
) -> None:
    key = new_api_key(api_alone.env, f"fuzz-{uuid.uuid4().hex[:6]}")
    # A body over the API's 1 MiB limit is refused with 413 (documented on every operation)
    # before it is read: a rejection of negative data too.
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        "[checks.negative_data_rejection]\nexpected-statuses = "
        '[400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429, "5xx"]\n'
    )
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "--config-file",
            str(config),
            "run",
            f"{api_alone.base_url}/schema/openapi.json",
            *selection,
            "--header",
            f"Authorization: Bearer {key}",
            "--checks",
            ",".join(CHECKS),
            "--max-examples",
            str(examples),
            "--seed",
            "1",
            "--workers",
            "1",
            "--request-timeout",
            "30",
            "--generation-database",
            "none",
            "--report-dir",
            str(tmp_path),
            "--no-color",
        ],
        cwd=tmp_path,  # its cache of earlier failures stays out of the next run
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-5000:]
