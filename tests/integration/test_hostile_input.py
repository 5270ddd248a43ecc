"""Hostile request bodies against the running API: each is refused with a 4xx in the API's
error shape that names what is wrong, and none gets a 5xx."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.integration.test_end_to_end import USERS

DEEP = 10_000  # levels of nesting, ten times what the JSON decoder goes to


def refused(answer: httpx.Response, status: int) -> dict[str, Any]:
    """The error body of an answer that must be `status`."""
    assert answer.status_code == status, answer.text[:500]
    body: dict[str, Any] = answer.json()
    assert set(body) == {"error", "detail", "field"} and body["detail"], body
    return body


def spec_with(**changes: Any) -> bytes:
    return json.dumps({**USERS, "rows": 10, **changes}).encode()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param(b"[" * DEEP + b"]" * DEEP, "body", id="deep-array"),
        pytest.param(b'{"a":' * DEEP + b"1" + b"}" * DEEP, "body", id="deep-object"),
        pytest.param(
            spec_with(fields=[]).replace(
                b'"fields": []', b'"fields": ' + b"[" * DEEP + b"]" * DEEP
            ),
            "body",
            id="deep-inside-a-spec",
        ),
        pytest.param(spec_with(rows=None).replace(b"null", b"1e999"), "body", id="float-overflow"),
        pytest.param(spec_with(rows=None).replace(b"null", b"9" * 5000), "body", id="5000-digits"),
        pytest.param(spec_with(seed=2**64), "seed", id="seed-past-64-bits"),
        pytest.param(spec_with(rows=-(10**18)), "rows", id="negative-rows"),
        pytest.param(spec_with(rows=None).replace(b"null", b"NaN"), "body", id="nan"),
        pytest.param(spec_with(rows=None).replace(b"null", b"Infinity"), "body", id="infinity"),
        pytest.param(spec_with(edge_case_rate=1e308), "edge_case_rate", id="huge-rate"),
        pytest.param(spec_with(name="\udcff"), "body", id="lone-surrogate"),
        pytest.param(spec_with(name="x").replace(b'"x"', b'"\xff\xfe"'), "body", id="bad-utf-8"),
        pytest.param(spec_with(name="a\u0000b"), "name", id="nul"),
        pytest.param(spec_with(name="x" * 900_000), "name", id="900-kb-name"),
        # The last of two keys counts, as in every JSON decoder this API uses.
        pytest.param(
            spec_with(rows=10).replace(b'"rows": 10', b'"rows": 10, "rows": -1'),
            "rows",
            id="duplicate-key",
        ),
    ],
)
def test_a_hostile_spec_is_refused_naming_the_problem(
    client: httpx.Client, body: bytes, field: str
) -> None:
    answer = client.post("/v1/jobs", content=body, headers={"content-type": "application/json"})
    assert refused(answer, 422)["field"] == field


def test_a_body_over_a_megabyte_is_refused_before_it_is_read(client: httpx.Client) -> None:
    answer = client.post(
        "/v1/jobs",
        content=spec_with(name="x" * (1024 * 1024)),
        headers={"content-type": "application/json"},
    )
    assert refused(answer, 413)["error"] == "body_too_large"


@pytest.mark.parametrize(("method", "path"), [("PATCH", "/v1/account"), ("POST", "/v1/webhooks")])
@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"[" * DEEP + b"]" * DEEP, id="deep-array"),
        pytest.param(b'{"a":' * DEEP + b"1" + b"}" * DEEP, id="deep-object"),
        pytest.param(b'{"url": 1e999}', id="float-overflow"),
        pytest.param(b'{"url": "\xff"}', id="bad-utf-8"),
        pytest.param(b"", id="empty"),
    ],
)
def test_other_json_bodies_are_refused_too(
    client: httpx.Client, method: str, path: str, body: bytes
) -> None:
    answer = client.request(
        method, path, content=body, headers={"content-type": "application/json"}
    )
    refused(answer, 400)
