"""Rate limits per API key and per client address, shared by every API replica through Redis.

Each limit is a GCRA allowance (the generic cell rate algorithm, a leaky bucket kept as one
timestamp per client): `limit` requests may come at once, then one more every minute/`limit`.
One Lua script checks every limit of a request and counts it against all of them, or none,
atomically and on Redis's clock, so replicas agree and clock skew between them does not matter.

A request over a limit gets 429 with Retry-After (seconds until the next request fits);
every limited request gets the IETF RateLimit-Limit / RateLimit-Remaining / RateLimit-Reset
headers of its tightest limit (Reset: seconds until the whole allowance is back).
/health, /health/live and /ready are exempt: load balancers poll them from one address.

The per-key limit runs before authentication, on a fingerprint of the Bearer token, so an
unknown or revoked key is limited as well; the token itself is never stored or logged.
If Redis cannot be reached, requests pass unlimited (fail open) and a warning is logged.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

import msgspec
from litestar import Litestar
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from api.errors import ErrorBody
from api.proxies import IpAddress, TrustedProxies
from core.settings import EdgeSettings

log = logging.getLogger(__name__)

WINDOW_MICROSECONDS = 60_000_000
KEY_PREFIX = "tdbuddy:ratelimit:"
# While Redis is unreachable, it is tried again this often (a refused or timed-out call costs
# the requests waiting on it), and the warning is repeated at most this often.
RETRY_REDIS_SECONDS = 5.0
WARN_EVERY_SECONDS = 60.0
REDIS_TIMEOUT_SECONDS = 0.5

# KEYS[i]: a client's theoretical arrival time (µs). ARGV[1]: the window (µs); ARGV[i + 1]:
# KEYS[i]'s limit per window. Returns 4 numbers per key: allowed, remaining, µs until the full
# allowance is back, µs until the next request fits. Integer µs keep the arithmetic exact.
_GCRA = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local window = tonumber(ARGV[1])
local all_allowed = true
local result, backlogs = {}, {}
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[i + 1])
  local interval = math.max(1, math.floor(window / limit))
  local capacity = interval * limit
  local backlog = math.max(0, (tonumber(redis.call('GET', key)) or now) - now)
  local after = backlog + interval
  if after > capacity then
    all_allowed = false
    table.insert(result, 0); table.insert(result, 0)
    table.insert(result, backlog); table.insert(result, after - capacity)
  else
    backlogs[i] = after
    table.insert(result, 1); table.insert(result, math.floor((capacity - after) / interval))
    table.insert(result, after); table.insert(result, 0)
  end
end
if all_allowed then
  for i, key in ipairs(KEYS) do
    redis.call('SET', key, string.format('%.0f', now + backlogs[i]),
               'PX', math.ceil(backlogs[i] / 1000))
  end
end
return result
"""


@dataclass(frozen=True)
class Limit:
    """One allowance a request draws on: whose it is (as a user reads it), where, how big."""

    per: str
    key: str
    per_minute: int


@dataclass(frozen=True)
class Verdict:
    """What one limit says of a request, and the headers that tell the client."""

    allowed: bool
    limit: Limit
    remaining: int
    reset_seconds: int
    retry_after_seconds: int

    def headers(self) -> dict[str, str]:
        headers = {
            "RateLimit-Limit": str(self.limit.per_minute),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_seconds),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after_seconds)
        return headers

    def detail(self) -> str:
        return (
            f"rate limit per {self.limit.per} exceeded: {self.limit.per_minute} requests per "
            f"minute; the next request is allowed in {self.retry_after_seconds} s and the full "
            f"allowance is back in {self.reset_seconds} s"
        )


def _seconds(microseconds: int) -> int:
    return math.ceil(microseconds / 1_000_000)


def _verdict(limits: Sequence[Limit], raw: Sequence[int]) -> Verdict:
    """The verdict a client hears: the denying limit that frees up last, else the tightest."""
    verdicts = [
        Verdict(
            allowed=bool(raw[4 * i]),
            limit=limit,
            remaining=int(raw[4 * i + 1]),
            reset_seconds=_seconds(int(raw[4 * i + 2])),
            retry_after_seconds=max(1, _seconds(int(raw[4 * i + 3]))),
        )
        for i, limit in enumerate(limits)
    ]
    denied = [v for v in verdicts if not v.allowed]
    if denied:
        return max(denied, key=lambda v: v.retry_after_seconds)
    return min(verdicts, key=lambda v: v.remaining)


class SharedAllowances:
    """The allowances in Redis; `draw` answers None (let it through) while Redis is away."""

    def __init__(self, client: Redis) -> None:
        self._script = client.register_script(_GCRA)
        self._retry_at = 0.0
        self._warned_at = -math.inf
        self._failing = False

    async def draw(self, limits: Sequence[Limit]) -> Verdict | None:
        """Counts one request against every limit if it fits under all of them."""
        now = time.monotonic()
        if now < self._retry_at:
            return None
        args = [WINDOW_MICROSECONDS, *(limit.per_minute for limit in limits)]
        try:
            raw = await self._script(keys=[limit.key for limit in limits], args=args)
        except (RedisError, OSError) as exc:
            self._retry_at = now + RETRY_REDIS_SECONDS
            self._failing = True
            if now - self._warned_at >= WARN_EVERY_SECONDS:
                self._warned_at = now
                log.warning("rate limits are not enforced: Redis is unreachable (%r)", exc)
            return None
        if self._failing:
            self._failing = False
            log.warning("rate limits are enforced again: Redis answers")
        return _verdict(limits, raw)


def _bearer_token(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
            return None
    return None


def _fingerprint(token: str) -> str:
    """Names a token's counter without keeping anything that would let one use the token."""
    return hashlib.sha256(b"tdbuddy-rate-limit:" + token.encode()).hexdigest()[:32]


def _address_bucket(address: IpAddress | None) -> str:
    """One counter per IPv4 address, per IPv6 /64 (what one subscriber usually holds)."""
    if address is None:
        return "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def _with_headers(send: Send, headers: dict[str, str]) -> Send:
    raw = [(name.lower().encode(), value.encode()) for name, value in headers.items()]

    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", ()), *raw]
        await send(message)

    return send_with_headers


async def _refuse(send: Send, verdict: Verdict) -> None:
    body = msgspec.json.encode(ErrorBody(error="rate_limited", detail=verdict.detail()))
    headers = {
        "Content-Type": "application/json",
        "Content-Length": str(len(body)),
        **verdict.headers(),
    }
    await send(
        {
            "type": "http.response.start",
            "status": 429,
            "headers": [(name.lower().encode(), value.encode()) for name, value in headers.items()],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


class RateLimits(ASGIMiddleware):
    """429 once a request's API key or client address has used up its allowance."""

    scopes = (ScopeType.HTTP,)
    exclude_path_pattern = ("^/health$", "^/health/live$", "^/ready$")

    def __init__(self, settings: EdgeSettings) -> None:
        self._settings = settings
        self._proxies = TrustedProxies(settings.trusted_proxies)
        self._allowances: SharedAllowances | None = None

    @property
    def enabled(self) -> bool:
        """Whether any limit is on (and Redis configured to hold it)."""
        settings = self._settings
        limited = settings.per_key_per_minute or settings.per_address_per_minute
        return bool(limited) and settings.redis_url is not None

    @asynccontextmanager
    async def connected(self, _: Litestar) -> AsyncIterator[None]:
        """Holds the Redis client for the app's life (a lifespan hook)."""
        settings = self._settings
        if not (settings.per_key_per_minute or settings.per_address_per_minute):
            yield
            return
        if settings.redis_url is None:
            log.warning("rate limits are off: neither RATE_LIMIT_REDIS_URL nor REDIS_URL is set")
            yield
            return
        client = Redis.from_url(
            settings.redis_url,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            # One quick reconnect (a restarted Redis); never a backoff that holds the request.
            retry=Retry(NoBackoff(), 1),
        )
        self._allowances = SharedAllowances(client)
        try:
            yield
        finally:
            self._allowances = None
            await client.aclose()

    def _limits(self, scope: Scope) -> list[Limit]:
        settings, limits = self._settings, []
        token = _bearer_token(scope)
        if token and settings.per_key_per_minute:
            key = f"{KEY_PREFIX}key:{_fingerprint(token)}"
            limits.append(Limit("API key", key, settings.per_key_per_minute))
        if settings.per_address_per_minute:
            bucket = _address_bucket(self._proxies.client_address(scope))
            key = f"{KEY_PREFIX}address:{bucket}"
            limits.append(Limit("client address", key, settings.per_address_per_minute))
        return limits

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        allowances, limits = self._allowances, self._limits(scope)
        verdict = await allowances.draw(limits) if allowances and limits else None
        if verdict is None:
            await next_app(scope, receive, send)
        elif verdict.allowed:
            await next_app(scope, receive, _with_headers(send, verdict.headers()))
        else:
            await _refuse(send, verdict)
