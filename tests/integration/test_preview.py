"""`POST /v1/preview` on the real stack: the first rows of the very file a spec gives, at once."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import uuid
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.test_end_to_end import download
from tests.services import Stack, api_of_its_own, job_when, new_api_key, wait_until

# Fields whose first rows depend on the block's size (nulls are drawn after the values, edge
# cases are placed by row count, unique values come from a permutation of all rows): a
# preview made from a 20-row copy of the spec would show other values in these columns.
MEMBERS: dict[str, Any] = {
    "name": "members",
    "rows": 5_000,
    "format": "jsonl",
    "locale": "ja_JP",
    "seed": 7,
    "fields": [
        {"name": "id", "type": "sequence", "start": 1001},
        {"name": "name", "type": "full_name"},
        {"name": "kana", "type": "full_name_kana"},
        {"name": "email", "type": "email", "unique": True},
        {"name": "age", "type": "integer", "min": 18, "max": 90, "null_rate": 0.2},
        {"name": "joined", "type": "date"},
        {"name": "last_login", "type": "datetime", "timezone": "Asia/Tokyo"},
        {"name": "balance", "type": "decimal", "min": 0, "max": 100_000},
        {"name": "vip", "type": "boolean"},
        {"name": "rank", "type": "choice", "values": ["レギュラー", "シルバー", "ゴールド"]},
        {"name": "note", "type": "sentence", "edge_case_rate": 0.3},
    ],
}
KATAKANA_NAME = re.compile(r"^[\u30a0-\u30ff]+ [\u30a0-\u30ff]+$")


def file_rows(content: bytes, count: int) -> list[list[Any]]:
    """The first rows of a JSON Lines file as lists of cells; decimals as their exact text."""
    lines = content.decode().splitlines()[:count]
    return [list(json.loads(line, parse_float=str).values()) for line in lines]


def test_preview_rows_are_the_first_rows_of_the_generated_file(client: httpx.Client) -> None:
    preview = client.post("/v1/preview", json=MEMBERS)
    assert preview.status_code == 200, preview.text
    shown = preview.json()
    assert shown["columns"] == [{"name": f["name"], "type": f["type"]} for f in MEMBERS["fields"]]
    assert shown["locale"] == "ja_JP" and shown["seed"] == 7 and shown["name"] == "members"
    assert len(shown["rows"]) == 20
    assert all(KATAKANA_NAME.match(row[2]) for row in shown["rows"])
    assert any(row[4] is None for row in shown["rows"])  # null_rate 0.2 shows some nulls
    assert all(isinstance(row[7], str) for row in shown["rows"])  # decimals keep their digits

    job = client.post("/v1/jobs", json=MEMBERS).json()
    done = job_when(client, job["url"], lambda j: j["state"] == "succeeded", 60)
    content = download(client, done["file"]["download_url"]).content
    assert shown["rows"] == file_rows(content, 20)


def test_a_billion_row_spec_previews_its_first_rows(client: httpx.Client) -> None:
    spec = {**MEMBERS, "rows": 1_000_000_000, "fields": MEMBERS["fields"][:3]}
    response = client.post("/v1/preview", json=spec)
    assert response.status_code == 200, response.text
    rows = response.json()["rows"]
    assert [row[0] for row in rows] == list(range(1001, 1021))


def test_without_a_seed_the_preview_names_the_seed_that_reproduces_it(
    client: httpx.Client,
) -> None:
    spec = {key: value for key, value in MEMBERS.items() if key != "seed"}
    first = client.post("/v1/preview", json=spec).json()
    assert isinstance(first["seed"], int)
    again = client.post("/v1/preview", json={**spec, "seed": first["seed"]}).json()
    assert again["rows"] == first["rows"]


def test_rows_asks_for_fewer_rows_and_is_checked(client: httpx.Client) -> None:
    five = client.post("/v1/preview", params={"rows": 5}, json=MEMBERS)
    assert five.status_code == 200
    assert len(five.json()["rows"]) == 5
    small = client.post("/v1/preview", json={**MEMBERS, "rows": 3})
    assert len(small.json()["rows"]) == 3  # never more rows than the file has

    too_many = client.post("/v1/preview", params={"rows": 21}, json=MEMBERS)
    assert too_many.status_code == 400
    assert too_many.json()["field"] == "rows"


def test_an_invalid_spec_is_refused_as_the_submit_refuses_it(client: httpx.Client) -> None:
    spec = {**MEMBERS, "fields": [*MEMBERS["fields"][:1], {"name": "mail", "type": "emial"}]}
    preview = client.post("/v1/preview", json=spec)
    submit = client.post("/v1/jobs", json=spec)
    assert preview.status_code == submit.status_code == 422
    assert preview.json() == submit.json()
    assert preview.json()["field"] == "fields[1].type"
    assert "email" in preview.json()["detail"]

    bad_option = {**MEMBERS, "fields": [{"name": "age", "type": "integer", "min": 50, "max": 10}]}
    refused = client.post("/v1/preview", json=bad_option)
    assert refused.status_code == 422
    assert refused.json()["field"].startswith("fields[0].")

    malformed = client.post(
        "/v1/preview", content=b'{"name": ', headers={"Content-Type": "application/json"}
    )
    assert malformed.status_code == 422 and malformed.json()["field"] == "body"


def test_the_submit_body_notification_options_are_accepted_and_ignored(
    client: httpx.Client,
) -> None:
    spec = {**MEMBERS, "notify_email": "qa@example.jp", "notify_language": "ja"}
    response = client.post("/v1/preview", json=spec)
    assert response.status_code == 200, response.text
    assert response.json()["rows"] == client.post("/v1/preview", json=MEMBERS).json()["rows"]


def test_preview_needs_an_api_key(stack: Stack) -> None:
    response = httpx.post(f"{stack.base_url}/v1/preview", json=MEMBERS, timeout=30)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"


def test_numbers_a_browser_would_round_arrive_as_their_exact_digits(
    client: httpx.Client,
) -> None:
    spec = {
        **MEMBERS,
        "fields": [
            {"name": "small", "type": "integer", "min": 1, "max": 9},
            {"name": "big", "type": "integer", "min": 2**60, "max": 2**61},
            {"name": "price", "type": "decimal", "min": 1, "max": 2, "decimals": 2},
        ],
    }
    rows = client.post("/v1/preview", json=spec).json()["rows"]
    assert all(isinstance(small, int) for small, _, _ in rows)
    assert all(isinstance(big, str) and 2**60 <= int(big) <= 2**61 for _, big, _ in rows)
    assert all(re.fullmatch(r"[12]\.\d\d", price) for _, _, price in rows)


def test_a_dataset_of_several_tables_previews_its_own_table_as_the_archive_holds_it(
    client: httpx.Client,
) -> None:
    spec = {
        "name": "orders",
        "rows": 3_000,
        "format": "jsonl",
        "locale": "ja_JP",
        "seed": 11,
        "fields": [
            {"name": "order_id", "type": "sequence"},
            {"name": "customer_id", "type": "reference", "table": "customers", "field": "id"},
            {"name": "total", "type": "decimal", "min": 100, "max": 50_000},
        ],
        "tables": [
            {
                "name": "customers",
                "rows": 500,
                "fields": [
                    {"name": "id", "type": "sequence", "start": 9001},
                    {"name": "name", "type": "full_name"},
                ],
            }
        ],
    }
    shown = client.post("/v1/preview", json=spec).json()
    assert shown["other_tables"] == ["customers"]
    assert [c["name"] for c in shown["columns"]] == ["order_id", "customer_id", "total"]
    assert all(9001 <= row[1] <= 9500 for row in shown["rows"])

    job = client.post("/v1/jobs", json=spec).json()
    done = job_when(client, job["url"], lambda j: j["state"] == "succeeded", 60)
    archive = zipfile.ZipFile(io.BytesIO(download(client, done["file"]["download_url"]).content))
    assert shown["rows"] == file_rows(archive.read("orders.jsonl"), 20)


def test_a_spec_too_slow_to_preview_is_refused_and_the_next_preview_works(
    stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Previews are made in a child process of the API, within PREVIEW_TIMEOUT_SECONDS: a spec
    over it (60 text fields: tens of seconds for a block of 65,536 rows) has its child killed
    and a 422 saying to submit it as a job, and the API keeps previewing."""
    key = new_api_key(stack_env, f"slow-{uuid.uuid4().hex[:6]}")
    heavy = {
        "name": "essays",
        "rows": 1_000_000,
        "format": "csv",
        "seed": 1,
        "fields": [{"name": f"essay_{i}", "type": "text"} for i in range(60)],
    }
    with (
        api_of_its_own(
            stack_env, tmp_path_factory.mktemp("slow-preview"), PREVIEW_TIMEOUT_SECONDS="1"
        ) as api,
        api.client(key) as client,
    ):
        refused = client.post("/v1/preview", json=heavy, timeout=120)
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"] == "preview_too_slow"
        assert refused.json()["field"] == "fields"
        assert "submit it as a job" in refused.json()["detail"]
        shown = client.post("/v1/preview", json=MEMBERS, timeout=120)
        assert shown.status_code == 200, shown.text
        assert len(shown.json()["rows"]) == 20


def _preview_children(api_pid: int) -> list[int]:
    """The API's preview process: its child started by multiprocessing's spawn."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if parent == api_pid and b"spawn_main" in command:
            found.append(int(entry.name))
    return found


def test_previews_go_on_after_the_preview_process_is_killed(
    stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    key = new_api_key(stack_env, f"oom-{uuid.uuid4().hex[:6]}")
    with (
        api_of_its_own(stack_env, tmp_path_factory.mktemp("killed-preview")) as api,
        api.client(key) as client,
    ):
        first = client.post("/v1/preview", json=MEMBERS, timeout=120)
        assert first.status_code == 200, first.text
        # The rows are made outside the API process, and it stays there between previews.
        (child,) = _preview_children(api.processes[0].popen.pid)
        os.kill(child, signal.SIGKILL)  # as the kernel's OOM killer would
        wait_until(lambda: not Path(f"/proc/{child}").exists(), 10, "the child to die")
        for _ in range(3):
            again = client.post("/v1/preview", json=MEMBERS, timeout=120)
            assert again.status_code == 200, again.text
            assert again.json()["rows"] == first.json()["rows"]
        (new_child,) = _preview_children(api.processes[0].popen.pid)
        assert new_child != child
