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


@dataclass
class SubmitsDatasetSpec(Operation):
    """An operation whose JSON request body is a dataset spec."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            # A plain JSON-schema dict is written into the document as it is.
            content={"application/json": OpenAPIMediaType(schema=cast(Schema, _SPEC_SCHEMA))},
            description="The dataset to generate",
            required=True,
        )


def add_spec_schemas(app: Litestar) -> None:
    """Adds the spec's component schemas to the app's OpenAPI document."""
    schemas: dict[str, Any] = app.openapi_schema.components.schemas
    schemas.update(_SPEC_COMPONENTS)
