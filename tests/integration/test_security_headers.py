"""What a browser is told on every response: security headers on successes and errors alike,
HSTS only over TLS, CORS only for the allowed origin, and a 413 for an oversized body."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from api.app import MAX_BODY_BYTES
from tests.services import PROXY_ADDRESS as PROXY
from tests.services import Stack, api_of_its_own

ALLOWED_ORIGIN = "https://app.example.com"
OTHER_ORIGIN = "https://evil.example.net"

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


@pytest.fixture(scope="module")
def api(stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """An API allowing one browser origin, behind a trusted proxy at 127.0.0.2."""
    with api_of_its_own(
        stack_env,
        tmp_path_factory.mktemp("security-logs"),
        CORS_ALLOWED_ORIGINS=ALLOWED_ORIGIN,
        TRUSTED_PROXIES=f"{PROXY}/32",
    ) as api:
        yield api


@pytest.fixture
def client(api: Stack, api_key: str) -> Iterator[httpx.Client]:
    with api.client(api_key) as client:
        yield client


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "/health", None, 200),
        ("GET", "/v1/jobs", None, 200),
        ("GET", "/v1/no-such-thing", None, 404),
        ("DELETE", "/health", None, 405),
        ("POST", "/v1/jobs", b"{not json", 422),
        ("POST", "/v1/jobs", b"{}", 422),
        ("GET", "/schema/openapi.json", None, 200),
    ],
)
def test_every_response_carries_the_security_headers(
    client: httpx.Client, method: str, path: str, body: bytes | None, status: int
) -> None:
    response = client.request(
        method, path, content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == status, response.text
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, name
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP


def test_an_unauthenticated_request_carries_them_too(api: Stack) -> None:
    response = httpx.get(f"{api.base_url}/v1/jobs")
    assert response.status_code == 401
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, name


def test_the_api_docs_page_may_load_what_it_needs_and_nothing_else(client: httpx.Client) -> None:
    """The docs pages start with an inline script and load the rest from a CDN: their policy
    names each origin the page loads from, and is still no wider than that."""
    for page in ("/schema/swagger", "/schema/redoc", "/schema"):
        response = client.get(page)
        assert response.status_code == 200, page
        policy = dict(
            (directive.split()[0], directive.split()[1:])
            for directive in response.headers["Content-Security-Policy"].split(";")
        )
        assert policy["default-src"] == ["'self'"]
        assert policy["frame-ancestors"] == ["'none'"]
        assert response.headers["X-Frame-Options"] == "DENY"
        for tag in re.findall(r"<(?:script|link)\b[^>]*>", response.text):
            url = re.search(r"(?:src|href)=[\"']([^\"']+)", tag)
            if url is None or not url.group(1).startswith("https://"):
                continue  # inline, or from our own origin
            origin = "https://" + urlsplit(url.group(1)).netloc
            if tag.startswith("<script"):
                directive = "script-src"
            else:
                directive = "style-src" if "stylesheet" in tag else "img-src"
            assert origin in policy[directive], (page, directive, origin)


def test_hsts_only_when_a_trusted_proxy_says_the_client_came_over_tls(api: Stack) -> None:
    https = {"X-Forwarded-Proto": "https"}
    with httpx.Client(
        base_url=api.base_url, transport=httpx.HTTPTransport(local_address=PROXY)
    ) as proxy:
        assert proxy.get("/health", headers=https).headers["Strict-Transport-Security"] == (
            "max-age=31536000"
        )
        assert (
            "Strict-Transport-Security"
            not in proxy.get("/health", headers={"X-Forwarded-Proto": "http"}).headers
        )
        # Errors too.
        assert "Strict-Transport-Security" in proxy.get("/nope", headers=https).headers
    # Anyone else saying so is not believed.
    direct = httpx.get(f"{api.base_url}/health", headers=https)
    assert "Strict-Transport-Security" not in direct.headers


def _preflight(client: httpx.Client, origin: str) -> httpx.Response:
    return client.options(
        "/v1/jobs",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )


def test_cors_allows_the_configured_origin(client: httpx.Client) -> None:
    preflight = _preflight(client, ALLOWED_ORIGIN)
    assert preflight.status_code in (200, 204), preflight.text
    assert preflight.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    allowed_headers = preflight.headers["Access-Control-Allow-Headers"].lower()
    assert "authorization" in allowed_headers
    assert "content-type" in allowed_headers

    real = client.get("/v1/jobs", headers={"Origin": ALLOWED_ORIGIN})
    assert real.status_code == 200
    assert real.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    exposed = real.headers["Access-Control-Expose-Headers"].lower()
    assert "retry-after" in exposed
    assert "ratelimit-remaining" in exposed


def test_cors_tells_another_origin_nothing(client: httpx.Client) -> None:
    preflight = _preflight(client, OTHER_ORIGIN)
    assert preflight.status_code < 500
    assert "Access-Control-Allow-Origin" not in preflight.headers
    real = client.get("/v1/jobs", headers={"Origin": OTHER_ORIGIN})
    assert "Access-Control-Allow-Origin" not in real.headers


def _oversized_job() -> bytes:
    padding = "x" * MAX_BODY_BYTES
    return f'{{"name":"t","rows":1,"format":"csv","fields":[{{"name":"{padding}"}}]}}'.encode()


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_an_oversized_job_is_refused_with_413_naming_the_limit(
    client: httpx.Client, chunked: bool
) -> None:
    body = _oversized_job()
    content = iter([body[i : i + 65536] for i in range(0, len(body), 65536)]) if chunked else body
    response = client.post(
        "/v1/jobs", content=content, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413, response.text
    error = response.json()
    assert error["error"] == "body_too_large"
    assert error["field"] is None
    assert f"{MAX_BODY_BYTES} bytes" in error["detail"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
