"""What the OpenAPI document says beyond what Litestar infers: the dataset spec (from the
engine's own Structs), the errors every operation can answer with, and the links from an
answer that makes something to the operations on it.

The submit handler parses the raw body with the engine's `parse_spec` (one place for every
spec error and its wording), so Litestar cannot infer the body's schema: it is declared here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, cast

import msgspec
from litestar import Litestar
from litestar.openapi.spec import (
    Example,
    Link,
    OpenAPIMediaType,
    OpenAPIResponse,
    Operation,
    PathItem,
    RequestBody,
    Schema,
)

from api.errors import ERROR_MEANINGS, ErrorBody
from api.ratelimit import RateLimits
from generators.locales import SUPPORTED_LOCALES
from generators.spec import DatasetSpec
from generators.writers import WRITERS

_REF_TEMPLATE = "#/components/schemas/{name}"
(_SPEC_SCHEMA,), _SPEC_COMPONENTS = msgspec.json.schema_components(
    [DatasetSpec], ref_template=_REF_TEMPLATE
)
# The submit body: a dataset spec and, beside its fields, who hears of the job's end.
_NOTIFICATION_PROPERTIES: dict[str, Any] = {
    "callback_url": {
        "type": "string",
        "format": "uri",
        "maxLength": 2048,
        "description": "POSTed to (Standard Webhooks) when the job ends; the answer's "
        "callback_secret signs the calls. Public addresses only.",
    },
    "notify_email": {
        "type": "string",
        "format": "email",
        "maxLength": 254,
        "description": "emailed when the job succeeds or fails (default: the account's)",
    },
    "notify_language": {
        "type": "string",
        "enum": ["ja", "en"],
        "description": "the email's language (default: Accept-Language, then the account's)",
    },
}
_SUBMIT_SCHEMA_NAME = "JobRequest"
_SUBMIT_COMPONENT: dict[str, Any] = {
    **_SPEC_COMPONENTS["DatasetSpec"],
    "title": _SUBMIT_SCHEMA_NAME,
    "properties": {
        **_SPEC_COMPONENTS["DatasetSpec"]["properties"],
        # Checked after parsing, with a message that lists them; the document lists them too.
        "format": {"enum": list(WRITERS)},
        "locale": {"enum": list(SUPPORTED_LOCALES), "default": "en_US"},
        **_NOTIFICATION_PROPERTIES,
    },
}
_SUBMIT_EXAMPLE: dict[str, Any] = {
    "name": "members",
    "rows": 1000,
    "format": "csv",
    "locale": "ja_JP",
    "seed": 42,
    "fields": [
        {"name": "id", "type": "sequence"},
        {"name": "name", "type": "full_name"},
        {"name": "kana", "type": "full_name_kana"},
        {"name": "email", "type": "email", "unique": True},
        {"name": "joined", "type": "date", "start": "2015-01-01", "end": "2026-11-30"},
    ],
}
_SUBMIT_SCHEMA = {"$ref": _REF_TEMPLATE.format(name=_SUBMIT_SCHEMA_NAME)}
(_ERROR_SCHEMA,), _ERROR_COMPONENTS = msgspec.json.schema_components(
    [ErrorBody], ref_template=_REF_TEMPLATE
)
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# What a client can do next with the id a success answer gives: operation → (the path
# parameter the id fills, the operations that take it).
_NEXT_STEPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "submitJob": (
        "job_id",
        ("getJob", "listEdgeCases", "listDeliveries", "cancelJob", "deleteJob"),
    ),
    "createWebhookEndpoint": (
        "endpoint_id",
        (
            "getWebhookEndpoint",
            "rotateWebhookSecret",
            "enableWebhookEndpoint",
            "deleteWebhookEndpoint",
        ),
    ),
    "createApiKey": ("key_id", ("revokeApiKey",)),
}


@dataclass
class SubmitsDatasetSpec(Operation):
    """An operation whose JSON request body is a dataset spec."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            # A plain JSON-schema dict is written into the document as it is.
            content={
                "application/json": OpenAPIMediaType(
                    schema=cast(Schema, _SUBMIT_SCHEMA),
                    examples={"members": Example(summary="ja_JP members", value=_SUBMIT_EXAMPLE)},
                )
            },
            description="The dataset to generate, and who hears of the job's end",
            required=True,
        )


def add_spec_schemas(app: Litestar) -> None:
    """Adds the spec's component schemas to the app's OpenAPI document."""
    schemas: dict[str, Any] = app.openapi_schema.components.schemas
    schemas.update(_SPEC_COMPONENTS)
    schemas[_SUBMIT_SCHEMA_NAME] = _SUBMIT_COMPONENT


def add_error_responses(app: Litestar) -> None:
    """Documents, on every operation, the errors any request to it can get, as ErrorBody.

    400 in this API's shape (Litestar documents its own exception's body, which no answer
    has); where an API key is needed, 401 and 503 (finding the key reads the database); where
    a body is sent, 413; 429 wherever the rate limits apply. A handler lists its other
    errors itself (api.errors.error_responses).
    """
    document = app.openapi_schema
    document.components.schemas.update(_ERROR_COMPONENTS)
    for path, path_item in (document.paths or {}).items():
        limited = not any(re.match(p, path) for p in RateLimits.exclude_path_pattern)
        for operation in _operations(path_item):
            statuses = [400] if "400" in (operation.responses or {}) else []
            requirements = document.security if operation.security is None else operation.security
            if requirements and all(requirements):  # {} in the list: no key needed
                statuses += [401, 503]
            if operation.request_body is not None:
                statuses.append(413)
            if limited:
                statuses.append(429)
            responses = operation.responses = operation.responses or {}
            for status in statuses:
                responses[str(status)] = _error_response(status)


def _operations(path_item: PathItem) -> list[Operation]:
    found = (getattr(path_item, method) for method in _METHODS)
    return [operation for operation in found if isinstance(operation, Operation)]


def _error_response(status: int) -> OpenAPIResponse:
    return OpenAPIResponse(
        description=ERROR_MEANINGS[status],
        content={"application/json": OpenAPIMediaType(schema=cast(Schema, _ERROR_SCHEMA))},
    )


def add_links(app: Litestar) -> None:
    """Links each answer that makes a job, webhook endpoint or key to the operations that
    take its id, so a client (or a fuzzer's chain of calls) can follow them."""
    for path_item in (app.openapi_schema.paths or {}).values():
        for operation in _operations(path_item):
            if operation.operation_id not in _NEXT_STEPS:
                continue
            parameter, targets = _NEXT_STEPS[operation.operation_id]
            for status, response in (operation.responses or {}).items():
                if status.startswith("2") and isinstance(response, OpenAPIResponse):
                    response.links = {
                        target: Link(
                            operation_id=target, parameters={parameter: "$response.body#/id"}
                        )
                        for target in targets
                    }
