"""What browsers are told on every response: security headers, and which origins may call us."""

from __future__ import annotations

from typing import Literal

from litestar.config.cors import CORSConfig
from litestar.types import BeforeMessageSendHookHandler, Message, Method, Scope

from api.proxies import TrustedProxies
from core.settings import EdgeSettings

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}
# Only over TLS: a browser ignores it on plain HTTP, and it must never pin a plain-HTTP host.
HSTS = "max-age=31536000"

# The OpenAPI pages (Swagger UI, ReDoc, Scalar, …) load their scripts, styles and fonts from
# these CDNs and start with an inline script; everything else keeps `default-src 'self'`.
_DOCS_CDNS = "https://cdn.jsdelivr.net https://unpkg.com https://cdn.redoc.ly"
DOCS_CSP = (
    "default-src 'self'; "
    f"script-src 'self' 'unsafe-inline' {_DOCS_CDNS}; "
    f"style-src 'self' 'unsafe-inline' {_DOCS_CDNS} https://fonts.googleapis.com; "
    f"font-src 'self' data: {_DOCS_CDNS} https://fonts.gstatic.com; "
    f"img-src 'self' data: {_DOCS_CDNS}; "
    "worker-src 'self' blob:; "
    "frame-ancestors 'none'"
)

# What a page on an allowed origin may send, and read back beyond the CORS-safelisted headers.
_CORS_METHODS: list[Method | Literal["*"]] = ["GET", "HEAD", "POST", "PATCH", "DELETE", "OPTIONS"]
_CORS_REQUEST_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key", "Range", "If-Range"]
_CORS_EXPOSED_HEADERS = [
    "Location",
    "Retry-After",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "Content-Disposition",
    "Content-Range",
    "Accept-Ranges",
    "WWW-Authenticate",
]


def security_headers(settings: EdgeSettings, docs_path: str) -> BeforeMessageSendHookHandler:
    """A hook that adds the security headers to every response the app sends, errors too;
    `docs_path` is where the OpenAPI pages are served. It runs for every response, so it
    works on the raw header list."""
    proxies = TrustedProxies(settings.trusted_proxies)
    ours = [(name.lower().encode(), value.encode()) for name, value in SECURITY_HEADERS.items()]
    csp, docs_csp = b"content-security-policy", DOCS_CSP.encode()
    hsts = (b"strict-transport-security", HSTS.encode())

    async def add_security_headers(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        headers = list(message.get("headers") or ())
        present = {name.lower() for name, _ in headers}
        headers += [header for header in ours if header[0] not in present]
        if _docs_page(scope["path"], docs_path, headers):
            headers = [(n, v) for n, v in headers if n.lower() != csp] + [(csp, docs_csp)]
        if proxies.served_over_tls(scope):
            headers.append(hsts)
        message["headers"] = headers

    return add_security_headers


def _docs_page(path: str, docs_path: str, headers: list[tuple[bytes, bytes]]) -> bool:
    """True for an HTML page under the OpenAPI path; the documents themselves stay strict."""
    if path != docs_path and not path.startswith(docs_path + "/"):
        return False
    types = [value for name, value in headers if name.lower() == b"content-type"]
    return bool(types) and types[0].startswith(b"text/html")


def cors_config(settings: EdgeSettings) -> CORSConfig | None:
    """CORS for the configured origins only; None (no CORS headers at all) when there are none."""
    if not settings.cors_allowed_origins:
        return None
    return CORSConfig(
        allow_origins=list(settings.cors_allowed_origins),
        allow_methods=_CORS_METHODS,
        allow_headers=_CORS_REQUEST_HEADERS,
        expose_headers=_CORS_EXPOSED_HEADERS,
        max_age=600,
    )
