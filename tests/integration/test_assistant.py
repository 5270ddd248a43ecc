"""The schema assistant (POST /v1/specs/suggest): the real anthropic client in the API talks to
a local server that speaks the Messages API (tests/fake_anthropic.py), the only stand-in in
these tests. A suggestion is a spec POST /v1/jobs accepts; a bad answer is repaired once;
overload is retried; tokens are counted per account and capped per plan; and without a key
the endpoint says so while everything else keeps working."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import asyncpg
import httpx
import pytest

from tests.fake_anthropic import (
    FakeAnthropic,
    Reply,
    default_spec,
    message,
    overloaded,
    text,
    tool_use,
)
from tests.integration.test_statistics import tdbuddy
from tests.services import Stack, api_of_its_own, new_api_key, run_sql

SUGGEST = "/v1/specs/suggest"

JAPANESE_SHOP = {
    "name": "ec_customers",
    "rows": 500,
    "format": "csv",
    "locale": "ja_JP",
    "seed": 7,
    "fields": [
        {"name": "customer_id", "type": "sequence", "start": 1},
        {"name": "full_name", "type": "full_name"},
        {"name": "full_name_kana", "type": "full_name_kana"},
        {"name": "prefecture", "type": "prefecture"},
        {"name": "loyalty_tier", "type": "choice", "values": ["ブロンズ", "シルバー", "ゴールド"]},
    ],
    "tables": [
        {
            "name": "orders",
            "rows": 2000,
            "fields": [
                {"name": "order_id", "type": "sequence", "start": 1},
                {"name": "customer_id", "type": "reference", "table": "ec_customers",
                 "field": "customer_id"},
                {"name": "ordered_at", "type": "datetime", "start": "2026-01-01T00:00:00",
                 "end": "2026-11-01T00:00:00", "timezone": "Asia/Tokyo"},
            ],
        }
    ],
}  # fmt: skip


@pytest.fixture(autouse=True)
def claude(fake_anthropic: FakeAnthropic) -> Iterator[FakeAnthropic]:
    """The session's Anthropic server, with no queued reply or recorded request left over."""
    fake_anthropic.take_requests()
    with fake_anthropic.replies.mutex:
        fake_anthropic.replies.queue.clear()
    yield fake_anthropic
    with fake_anthropic.replies.mutex:
        leftover = list(fake_anthropic.replies.queue)
        fake_anthropic.replies.queue.clear()
    assert not leftover, f"replies the test queued but the API never asked for: {leftover}"


@pytest.fixture
def user(stack: Stack, stack_env: dict[str, str]) -> Iterator[httpx.Client]:
    """A client of a new user of the free plan (whose tokens are capped per month)."""
    key = new_api_key(stack_env, f"asker-{uuid.uuid4().hex[:6]}", plan="free")
    with stack.client(key) as client:
        yield client


def messages_requests(claude: FakeAnthropic) -> list[dict[str, Any]]:
    return [
        seen.body for seen in claude.take_requests() if seen.path == "/v1/messages" and seen.body
    ]


def assistant_usage(client: httpx.Client) -> dict[str, Any]:
    answer = client.get("/v1/account")
    assert answer.status_code == 200, answer.text
    usage: dict[str, Any] = answer.json()["plan"]["assistant_tokens_per_month"]
    return usage


def test_a_suggestion_in_english_is_a_spec_the_api_accepts(
    user: httpx.Client, claude: FakeAnthropic
) -> None:
    answer = user.post(SUGGEST, json={"prompt": "500 customers with loyalty tiers"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["spec"] == default_spec("en_US")
    assert body["usage"] == {"input_tokens": 1200, "output_tokens": 300}
    assert body["rounds"] == 1
    # What Claude was asked: the user's words, and a forced call of the spec tool.
    (sent,) = messages_requests(claude)
    assert "500 customers with loyalty tiers" in sent["messages"][0]["content"]
    assert sent["tool_choice"] == {
        "type": "tool",
        "name": "dataset_spec",
        "disable_parallel_tool_use": True,
    }
    (tool,) = sent["tools"]
    assert tool["name"] == "dataset_spec"
    assert (
        "email"
        in tool["input_schema"]["properties"]["fields"]["items"]["properties"]["type"]["enum"]
    )
    # The catalog is in the (cached) system prompt, with each type's options.
    (system,) = sent["system"]
    assert system["cache_control"] == {"type": "ephemeral"}
    assert "- full_name_kana [person]" in system["text"]
    # The spec goes straight into a job.
    job = user.post("/v1/jobs", json=body["spec"])
    assert job.status_code == 202, job.text


def test_a_japanese_request_gets_a_japanese_spec_with_related_tables(
    user: httpx.Client, claude: FakeAnthropic
) -> None:
    claude.queue(tool_use(JAPANESE_SHOP, input_tokens=2000, output_tokens=450))
    prompt = "ロイヤルティランクと注文履歴を持つ日本のECサイトの顧客500人"
    answer = user.post(SUGGEST, json={"prompt": prompt, "locale": "ja_JP"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["spec"] == JAPANESE_SHOP
    (sent,) = messages_requests(claude)
    assert prompt in sent["messages"][0]["content"]
    assert "ja_JP" in sent["messages"][0]["content"]
    preview = user.post("/v1/jobs", json=answer.json()["spec"])
    assert preview.status_code == 202, preview.text


def test_an_invalid_answer_is_repaired_once_with_the_problem_named(
    user: httpx.Client, claude: FakeAnthropic
) -> None:
    broken = {**default_spec("en_US"), "fields": [{"name": "id", "type": "banana"}]}
    claude.queue(tool_use(broken), tool_use(default_spec("en_US"), input_tokens=1500))
    answer = user.post(SUGGEST, json={"prompt": "customers"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["rounds"] == 2
    assert answer.json()["spec"] == default_spec("en_US")
    # Both rounds are billed.
    assert answer.json()["usage"] == {"input_tokens": 2700, "output_tokens": 600}
    first, repair = messages_requests(claude)
    assert len(first["messages"]) == 1
    assert repair["messages"][1]["role"] == "assistant"
    (result,) = repair["messages"][2]["content"]
    assert result["type"] == "tool_result" and result["is_error"] is True
    assert result["tool_use_id"] == repair["messages"][1]["content"][0]["id"]
    assert "fields[0].type" in result["content"] and "banana" in result["content"]


def test_an_answer_in_words_instead_of_a_tool_call_is_repaired(
    user: httpx.Client, claude: FakeAnthropic
) -> None:
    claude.queue(text("Here is your spec: customers with names"), tool_use(default_spec("en_US")))
    answer = user.post(SUGGEST, json={"prompt": "customers"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["rounds"] == 2
    _, repair = messages_requests(claude)
    assert "dataset_spec tool" in repair["messages"][2]["content"]


def test_a_second_invalid_answer_is_a_422_that_says_why_and_is_still_counted(
    user: httpx.Client, claude: FakeAnthropic
) -> None:
    before = assistant_usage(user)["used"]
    bad_rows = {**default_spec("en_US"), "rows": 0}
    claude.queue(tool_use(bad_rows), tool_use(bad_rows))
    answer = user.post(SUGGEST, json={"prompt": "no rows at all"})
    assert answer.status_code == 422, answer.text
    error = answer.json()
    assert error["error"] == "suggestion_invalid"
    assert error["field"] == "prompt"
    assert "rows" in error["detail"]
    assert assistant_usage(user)["used"] == before + 2 * (1200 + 300)


def test_every_tool_call_of_an_invalid_answer_gets_its_result_and_a_valid_one_is_used(
    user: httpx.Client, claude: FakeAnthropic
) -> None:
    bad = {**default_spec("en_US"), "format": "docx"}
    two_calls = message(
        [
            {"type": "text", "text": "Two ideas:"},
            {"type": "tool_use", "id": "toolu_a", "name": "dataset_spec", "input": bad},
            {"type": "tool_use", "id": "toolu_b", "name": "other_tool", "input": {}},
        ]
    )
    claude.queue(two_calls, tool_use(default_spec("en_US")))
    answer = user.post(SUGGEST, json={"prompt": "customers"})
    assert answer.status_code == 200, answer.text
    _, repair = messages_requests(claude)
    echoed = repair["messages"][1]["content"]
    assert [block["type"] for block in echoed] == ["text", "tool_use", "tool_use"]
    results = repair["messages"][2]["content"]
    assert [r["tool_use_id"] for r in results] == ["toolu_a", "toolu_b"]
    assert "format" in results[0]["content"] and "other_tool" in results[1]["content"]
    # One call per answer is asked for, so a repair always answers every call.
    assert repair["tool_choice"]["disable_parallel_tool_use"] is True


def test_the_locale_asked_for_wins_over_claudes(user: httpx.Client, claude: FakeAnthropic) -> None:
    claude.queue(tool_use(default_spec("en_US")))
    answer = user.post(SUGGEST, json={"prompt": "customers", "locale": "ja_JP"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["spec"]["locale"] == "ja_JP"


@pytest.mark.parametrize(
    "content",
    [
        "oops",
        ["oops", None],
        [{"type": "tool_use", "id": "toolu_x", "name": "dataset_spec"}],  # no input
        [{"type": "text", "text": ""}],
    ],
)
def test_a_garbled_answer_is_repaired_with_a_conversation_claude_accepts(
    user: httpx.Client, claude: FakeAnthropic, content: Any
) -> None:
    claude.queue(message(content), tool_use(default_spec("en_US")))
    answer = user.post(SUGGEST, json={"prompt": "customers"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["rounds"] == 2
    _, repair = messages_requests(claude)
    echoed = repair["messages"][1]["content"]
    # Only well-formed blocks go back: a tool call with its input, no empty text.
    if isinstance(echoed, list):
        for block in echoed:
            assert block["type"] in ("text", "tool_use")
            assert block["type"] != "tool_use" or "input" in block
            assert block["type"] != "text" or block["text"]
        tool_ids = {block["id"] for block in echoed if block["type"] == "tool_use"}
        results = repair["messages"][2]["content"]
        assert {r["tool_use_id"] for r in results if isinstance(r, dict)} == tool_ids


def test_a_garbled_answer_is_repaired_rather_than_a_500(
    user: httpx.Client, claude: FakeAnthropic
) -> None:
    claude.queue(
        Reply(200, {"type": "message", "content": "oops"}), tool_use(default_spec("en_US"))
    )
    answer = user.post(SUGGEST, json={"prompt": "customers"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["rounds"] == 2


def test_overload_is_retried_and_persistent_overload_is_a_503_with_retry_after(
    user: httpx.Client, claude: FakeAnthropic
) -> None:
    claude.queue(overloaded())
    answer = user.post(SUGGEST, json={"prompt": "customers"})
    assert answer.status_code == 200, answer.text
    assert len(messages_requests(claude)) == 2  # the SDK asked again

    # The stack's client tries three times (ASSISTANT_MAX_RETRIES: 2).
    claude.queue(overloaded(), overloaded(), overloaded())
    refused = user.post(SUGGEST, json={"prompt": "customers"})
    assert refused.status_code == 503, refused.text
    assert refused.json()["error"] == "assistant_unavailable"
    assert "overloaded" in refused.json()["detail"]
    assert int(refused.headers["Retry-After"]) >= 1
    assert len(messages_requests(claude)) == 3
    # Nothing else is affected.
    assert user.get("/v1/jobs").status_code == 200


@pytest.mark.parametrize(
    ("settings", "said"),
    [
        # One call's limit, with no retry.
        ({"ASSISTANT_TIMEOUT_SECONDS": "1", "ASSISTANT_MAX_RETRIES": "0"}, "answer within 1 s"),
        # The whole suggestion's, however long one call may take.
        ({"ASSISTANT_DEADLINE_SECONDS": "1"}, "finish within 1 s"),
    ],
)
def test_a_claude_that_does_not_answer_in_time_is_a_503_not_a_hung_request(
    stack_env: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
    claude: FakeAnthropic,
    settings: dict[str, str],
    said: str,
) -> None:
    key = new_api_key(stack_env, f"patient-{uuid.uuid4().hex[:6]}")
    released = threading.Event()
    claude.queue(Reply(200, tool_use(default_spec("en_US")).body, hold=released))
    try:
        with (
            api_of_its_own(stack_env, tmp_path_factory.mktemp("timeout-logs"), **settings) as api,
            api.client(key) as client,
        ):
            answer = client.post(SUGGEST, json={"prompt": "customers"}, timeout=30)
            assert answer.status_code == 503, answer.text
            assert answer.json()["error"] == "assistant_unavailable"
            assert said in answer.json()["detail"]
            assert int(answer.headers["Retry-After"]) >= 1
            # Nothing was billed, and the API answers the next request.
            assert assistant_usage(client)["used"] == 0
            assert client.post(SUGGEST, json={"prompt": "customers"}).status_code == 200
    finally:
        released.set()
    assert len(messages_requests(claude)) == 2


def test_tokens_are_counted_per_account_and_the_monthly_cap_refuses_with_its_reset(
    stack: Stack, stack_env: dict[str, str], claude: FakeAnthropic
) -> None:
    plan = f"assist-{uuid.uuid4().hex[:6]}"
    run_sql(
        stack_env["DATABASE_URL"],
        "INSERT INTO plans (name, assistant_tokens_per_month) VALUES ($1, 2000)",
        plan,
    )
    key = new_api_key(stack_env, f"capped-{uuid.uuid4().hex[:6]}", plan=plan)
    with stack.client(key) as client, ThreadPoolExecutor(1) as background:
        assert assistant_usage(client)["used"] == 0
        # While one request is being answered it holds its likely cost against the cap, so
        # a concurrent one cannot slip past the check.
        released = threading.Event()
        claude.queue(Reply(200, tool_use(default_spec("en_US")).body, hold=released))
        first = background.submit(client.post, SUGGEST, json={"prompt": "customers"})
        claude.requests.get(timeout=30)  # the first request has reached Claude
        try:
            concurrent = client.post(SUGGEST, json={"prompt": "more customers"})
        finally:
            released.set()
        assert concurrent.status_code == 429, concurrent.text
        assert concurrent.json()["limit"] == "assistant_tokens_per_month"
        assert concurrent.json()["resets_at"] is None  # frees when the first one ends
        assert "still being answered" in concurrent.json()["detail"]
        assert int(concurrent.headers["Retry-After"]) <= 60
        # 1,500 tokens: under the cap when asked, so answered.
        assert first.result(timeout=60).status_code == 200
        assert messages_requests(claude) == []  # only the first request reached Claude
        usage = assistant_usage(client)
        assert (usage["limit"], usage["used"]) == (2000, 1500)
        today = dt.datetime.now(dt.UTC).date()
        next_month = dt.date(today.year + today.month // 12, today.month % 12 + 1, 1)
        assert usage["resets_at"].startswith(next_month.isoformat())
        # 3,000: the request that crossed the cap is answered, the next one is not.
        assert client.post(SUGGEST, json={"prompt": "customers"}).status_code == 200
        messages_requests(claude)
        refused = client.post(SUGGEST, json={"prompt": "customers"})
        assert refused.status_code == 429, refused.text
        error = refused.json()
        assert error["error"] == "plan_limit_reached"
        assert (error["plan"], error["limit"], error["limit_value"]) == (
            plan,
            "assistant_tokens_per_month",
            2000,
        )
        assert error["resets_at"].startswith(next_month.isoformat())
        assert int(refused.headers["Retry-After"]) > 0
        assert messages_requests(claude) == []  # Claude was not asked
        assert assistant_usage(client)["used"] == 3000


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"prompt": ""}, "prompt"),
        ({"prompt": "   "}, "prompt"),
        ({"prompt": "x" * 4001}, "prompt"),
        ({}, "prompt"),
        ({"prompt": "customers", "locale": "xx_XX"}, "locale"),
        ({"prompt": "customers", "temperature": 2}, "temperature"),
    ],
)
def test_a_bad_request_names_the_field_and_asks_claude_nothing(
    user: httpx.Client, claude: FakeAnthropic, body: dict[str, Any], field: str
) -> None:
    answer = user.post(SUGGEST, json=body)
    assert answer.status_code in (400, 422), answer.text
    assert answer.json()["field"] == field
    assert messages_requests(claude) == []


def test_without_a_key_the_assistant_answers_503_and_everything_else_works(
    stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory, claude: FakeAnthropic
) -> None:
    key = new_api_key(stack_env, f"keyless-{uuid.uuid4().hex[:6]}")
    with (
        api_of_its_own(
            stack_env,
            tmp_path_factory.mktemp("keyless-logs"),
            ANTHROPIC_API_KEY="",
            ANTHROPIC_BASE_URL="",
        ) as api,
        api.client(key) as client,
    ):
        answer = client.post(SUGGEST, json={"prompt": "customers"})
        assert answer.status_code == 503, answer.text
        assert answer.json()["error"] == "assistant_not_configured"
        assert "ANTHROPIC_API_KEY" in answer.json()["detail"]
        assert client.post("/v1/jobs", json=default_spec("en_US")).status_code == 202
        health = httpx.get(f"{api.base_url}/health", timeout=10).json()
        assert health["checks"]["claude"]["status"] == "not_configured"
        assert health["status"] == "ok"
    assert messages_requests(claude) == []


def test_a_suggestion_counts_in_its_users_daily_statistics(
    stack: Stack, stack_env: dict[str, str], claude: FakeAnthropic
) -> None:
    name = f"counted-{uuid.uuid4().hex[:6]}"
    key = new_api_key(stack_env, name)
    with stack.client(key) as client:
        claude.queue(tool_use(default_spec("en_US"), input_tokens=700, output_tokens=70))
        assert client.post(SUGGEST, json={"prompt": "customers"}).status_code == 200
        claude.queue(overloaded(), overloaded(), overloaded())
        assert client.post(SUGGEST, json={"prompt": "customers"}).status_code == 503
    today = dt.datetime.now(dt.UTC).date()
    printed = tdbuddy(stack_env, "stats", "roll-up", "--day", today.isoformat())
    assert "assistant:" in printed

    async def users_row() -> dict[str, Any]:
        conn = await asyncpg.connect(stack_env["DATABASE_URL"])
        try:
            row = await conn.fetchrow(
                "SELECT s.assistant_requests, s.assistant_input_tokens, "
                "s.assistant_output_tokens FROM usage_statistics s JOIN users u "
                "ON u.id = s.user_id WHERE u.name = $1 AND s.day = $2",
                name,
                today,
            )
            return dict(row) if row else {}
        finally:
            await conn.close()

    # Both requests, the one Claude never answered too; only the answered one spent tokens.
    assert asyncio.run(users_row()) == {
        "assistant_requests": 2,
        "assistant_input_tokens": 700,
        "assistant_output_tokens": 70,
    }
