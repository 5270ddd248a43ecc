"""The OpenAPI document's description of a dataset spec, taken from the engine's own Structs.

The submit handler parses the raw body with the engine's `parse_spec` (one place for every
spec error and its wording), so Litestar cannot infer the body's schema: it is declared here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import msgspec
from litestar import Litestar
from litestar.openapi.spec import OpenAPIMediaType, Operation, RequestBody, Schema

from generators.spec import DatasetSpec

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
    "properties": {**_SPEC_COMPONENTS["DatasetSpec"]["properties"], **_NOTIFICATION_PROPERTIES},
}
_SUBMIT_SCHEMA = {"$ref": _REF_TEMPLATE.format(name=_SUBMIT_SCHEMA_NAME)}


@dataclass
class SubmitsDatasetSpec(Operation):
    """An operation whose JSON request body is a dataset spec."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            # A plain JSON-schema dict is written into the document as it is.
            content={"application/json": OpenAPIMediaType(schema=cast(Schema, _SUBMIT_SCHEMA))},
            description="The dataset to generate, and who hears of the job's end",
            required=True,
        )


def add_spec_schemas(app: Litestar) -> None:
    """Adds the spec's component schemas to the app's OpenAPI document."""
    schemas: dict[str, Any] = app.openapi_schema.components.schemas
    schemas.update(_SPEC_COMPONENTS)
    schemas[_SUBMIT_SCHEMA_NAME] = _SUBMIT_COMPONENT
