"""Webhook endpoints of an account: register, list, read, delete, rotate the secret, re-enable.

A URL is refused at once when it can be judged already: not http(s), carrying credentials, or
naming (or resolving only to) a private, loopback or link-local address. The worker checks the
address it connects to again at every call.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import uuid
from typing import Annotated, Any
from urllib.parse import urlsplit

import msgspec
from litestar import Controller, Request, delete, get, post

from api.errors import ApiError, error_responses
from api.state import AppState
from core.callbacks import (
    ONLY_PUBLIC,
    address_refusal,
    forbidden_kind,
    literal_address,
    url_refusal,
)
from core.settings import Settings
from storage.accounts import Caller
from storage.webhooks import EVENTS, Endpoint, WebhookRepository

RESOLVE_TIMEOUT_SECONDS = 2.0
MAX_ENDPOINTS = 20


class EndpointRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    url: Annotated[
        str, msgspec.Meta(min_length=1, max_length=2048, description="where deliveries are POSTed")
    ]
    events: list[str] = msgspec.field(default_factory=lambda: list(EVENTS))
    description: Annotated[str, msgspec.Meta(max_length=500, pattern=r"^[^\x00]*$")] = ""


class EndpointView(msgspec.Struct):
    id: uuid.UUID
    url: str
    description: str
    events: list[str]
    created_at: dt.datetime
    disabled_at: dt.datetime | None
    disabled_reason: str | None
    # Shown only when the secret is made (on create and on rotation): keep it then.
    secret: str | None = None
    previous_secret_expires_at: dt.datetime | None = None


class EndpointList(msgspec.Struct):
    endpoints: list[EndpointView]


def endpoint_view(endpoint: Endpoint, show_secret: bool = False) -> EndpointView:
    grace = endpoint.previous_secret_expires_at
    return EndpointView(
        id=endpoint.id,
        url=endpoint.url,
        description=endpoint.description,
        events=endpoint.events,
        created_at=endpoint.created_at,
        disabled_at=endpoint.disabled_at,
        disabled_reason=endpoint.disabled_reason,
        secret=endpoint.secret if show_secret else None,
        previous_secret_expires_at=grace if grace and grace > dt.datetime.now(dt.UTC) else None,
    )


async def check_callback_url(url: str, settings: Settings, field: str) -> None:
    """Raises a 422 naming `field` when webhooks cannot go to `url`."""
    if refusal := url_refusal(url):
        raise ApiError(422, "invalid_url", f"{field} {refusal}", field)
    host = urlsplit(url).hostname or ""
    allowed = settings.webhooks.allowed_networks
    address = literal_address(host)
    if address is not None:
        if refusal := address_refusal(address, allowed):
            raise ApiError(422, "forbidden_address", f"{field}: {refusal}", field)
        return
    # A name that resolves only to forbidden addresses is refused now, with the reason; one
    # that does not resolve yet is accepted (DNS may be on its way) and checked at each call.
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT_SECONDS):
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, None, type=socket.SOCK_STREAM
            )
    except (OSError, TimeoutError, UnicodeError):
        return
    addresses = [literal_address(str(info[4][0])) for info in infos]
    kinds = [forbidden_kind(found, allowed) for found in addresses if found is not None]
    if kinds and all(kinds):
        # The kind, not the address: answers must not map a private network's names.
        detail = f"{field}: {host} resolves to {kinds[0]} address; {ONLY_PUBLIC}"
        raise ApiError(422, "forbidden_address", detail, field)


def _not_found(endpoint_id: uuid.UUID) -> ApiError:
    return ApiError(404, "not_found", f"no webhook endpoint {endpoint_id}", "endpoint_id")


class WebhookController(Controller):
    path = "/v1/webhooks"
    tags = ("webhooks",)

    @post(
        "/",
        status_code=201,
        operation_id="createWebhookEndpoint",
        responses=error_responses(422),
        summary="Register a URL that is told when any of your jobs ends (secret shown once)",
        description=(
            "Deliveries follow Standard Webhooks v1: headers webhook-id, webhook-timestamp and "
            "webhook-signature (v1,<base64 HMAC-SHA256 of id.timestamp.body> under the "
            "endpoint's whsec_ secret). Events: " + ", ".join(EVENTS) + "."
        ),
    )
    async def create(
        self, request: Request[Any, Any, Any], caller: Caller, data: EndpointRequest
    ) -> EndpointView:
        state = AppState.of(request)
        unknown = [event for event in data.events if event not in EVENTS]
        if unknown or not data.events:
            raise ApiError(
                422,
                "invalid_events",
                f"events must be one or more of {', '.join(EVENTS)}"
                + (f"; unknown: {', '.join(unknown)}" if unknown else ""),
                "events",
            )
        await check_callback_url(data.url, state.settings, "url")
        repository = WebhookRepository(state.pool)
        if len(await repository.list_for_user(caller.user_id)) >= MAX_ENDPOINTS:
            raise ApiError(
                422, "too_many_endpoints", f"an account has at most {MAX_ENDPOINTS}", "url"
            )
        events = list(dict.fromkeys(data.events))
        endpoint = await repository.create(caller.user_id, data.url, events, data.description)
        return endpoint_view(endpoint, show_secret=True)

    @get("/", operation_id="listWebhookEndpoints", summary="Your webhook endpoints")
    async def list_endpoints(self, request: Request[Any, Any, Any], caller: Caller) -> EndpointList:
        endpoints = await WebhookRepository(AppState.of(request).pool).list_for_user(caller.user_id)
        return EndpointList([endpoint_view(endpoint) for endpoint in endpoints])

    @get(
        "/{endpoint_id:uuid}",
        operation_id="getWebhookEndpoint",
        summary="One webhook endpoint",
        responses=error_responses(404),
    )
    async def get_endpoint(
        self, request: Request[Any, Any, Any], caller: Caller, endpoint_id: uuid.UUID
    ) -> EndpointView:
        repository = WebhookRepository(AppState.of(request).pool)
        endpoint = await repository.get(endpoint_id, caller.user_id)
        if endpoint is None:
            raise _not_found(endpoint_id)
        return endpoint_view(endpoint)

    @delete(
        "/{endpoint_id:uuid}",
        operation_id="deleteWebhookEndpoint",
        responses=error_responses(404),
        summary="Stop sending to this endpoint; deliveries still pending for it are dropped",
    )
    async def delete_endpoint(
        self, request: Request[Any, Any, Any], caller: Caller, endpoint_id: uuid.UUID
    ) -> None:
        if not await WebhookRepository(AppState.of(request).pool).delete(
            endpoint_id, caller.user_id
        ):
            raise _not_found(endpoint_id)

    @post(
        "/{endpoint_id:uuid}/rotate-secret",
        status_code=200,
        operation_id="rotateWebhookSecret",
        responses=error_responses(404, 409),
        summary="Make a new signing secret (shown once); the old one signs too for a while",
        description=(
            "Until previous_secret_expires_at every delivery carries two signatures, one per "
            "secret, so receivers can switch to the new secret without losing a delivery. "
            "Rotating again before then answers 409."
        ),
    )
    async def rotate_secret(
        self, request: Request[Any, Any, Any], caller: Caller, endpoint_id: uuid.UUID
    ) -> EndpointView:
        state = AppState.of(request)
        repository = WebhookRepository(state.pool)
        endpoint = await repository.rotate_secret(
            endpoint_id, caller.user_id, state.settings.webhooks.secret_grace_seconds
        )
        if endpoint is None:
            current = await repository.get(endpoint_id, caller.user_id)
            if current is None:
                raise _not_found(endpoint_id)
            until = current.previous_secret_expires_at
            raise ApiError(
                409,
                "rotation_in_grace",
                "the previous secret still signs until "
                f"{until.isoformat() if until else 'shortly'}; rotate again after that, or the "
                "receivers still on it would stop verifying at once",
                "endpoint_id",
            )
        return endpoint_view(endpoint, show_secret=True)

    @post(
        "/{endpoint_id:uuid}/enable",
        status_code=200,
        operation_id="enableWebhookEndpoint",
        responses=error_responses(404),
        summary="Take deliveries again after the endpoint was disabled (a 410 Gone answer)",
    )
    async def enable(
        self, request: Request[Any, Any, Any], caller: Caller, endpoint_id: uuid.UUID
    ) -> EndpointView:
        endpoint = await WebhookRepository(AppState.of(request).pool).enable(
            endpoint_id, caller.user_id
        )
        if endpoint is None:
            raise _not_found(endpoint_id)
        return endpoint_view(endpoint)
