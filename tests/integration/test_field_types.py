"""GET /v1/field-types documents the real catalog, and a misspelt type gets a suggestion."""

from __future__ import annotations

from typing import Any

import httpx
import msgspec
import pytest

from generators.catalog import FIELD_TYPES
from generators.commands import EXAMPLE_LOCALES, catalog_examples
from generators.fieldtype import FieldOptions
from tests.integration.test_api import SMALL
from tests.services import Stack

COMMON_OPTIONS = set(FieldOptions.__struct_fields__)


@pytest.fixture(scope="module")
def catalog(stack: Stack) -> dict[str, Any]:
    # No Authorization header: the catalog is public documentation.
    response = httpx.get(f"{stack.base_url}/v1/field-types", timeout=60)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_every_catalog_type_is_listed_with_its_options(catalog: dict[str, Any]) -> None:
    listed = {entry["name"]: entry for entry in catalog["types"]}
    assert catalog["count"] == len(catalog["types"]) >= len(FIELD_TYPES)
    assert set(listed) == set(FIELD_TYPES)
    assert {option["name"] for option in catalog["common_options"]} == COMMON_OPTIONS
    for name, entry in FIELD_TYPES.items():
        doc = listed[name]
        assert doc["category"] == entry.category and doc["description"] == entry.description
        own = set(entry.options.__struct_fields__) - COMMON_OPTIONS
        assert {option["name"] for option in doc["options"]} == own, name
        for option, default in _defaults(entry.options).items():
            (documented,) = (o for o in doc["options"] if o["name"] == option)
            assert documented["required"] is False, (name, option)
            assert documented["default"] == default, (name, option)


def test_option_limits_come_from_the_options_struct(catalog: dict[str, Any]) -> None:
    integer = next(entry for entry in catalog["types"] if entry["name"] == "integer")
    minimum = next(option for option in integer["options"] if option["name"] == "min")
    assert minimum["type"] == "integer"
    assert minimum["constraints"]["minimum"] == -(2**63)
    null_rate = next(o for o in catalog["common_options"] if o["name"] == "null_rate")
    assert null_rate["constraints"] == {"minimum": 0.0, "maximum": 1.0}
    assert null_rate["default"] == 0.0


def test_examples_are_what_the_engine_makes(catalog: dict[str, Any]) -> None:
    made = catalog_examples()
    for entry in catalog["types"]:
        assert set(entry["examples"]) == set(EXAMPLE_LOCALES), entry["name"]
        assert all(value is not None for value in entry["examples"].values()), entry["name"]
        if entry["name"] in made:
            assert entry["examples"] == made[entry["name"]], entry["name"]
    # ja_JP and en_US examples of a person type really come from each locale.
    names = next(entry for entry in catalog["types"] if entry["name"] == "full_name")
    assert names["examples"]["ja_JP"] != names["examples"]["en_US"]


def test_unknown_type_is_422_suggesting_the_closest_name(client: httpx.Client) -> None:
    spec = {**SMALL, "fields": [{"name": "contact", "type": "emial"}]}
    response = client.post("/v1/jobs", json=spec)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "unknown_type"
    assert body["field"] == "fields[0].type"
    assert "did you mean 'email'?" in body["detail"]


def _defaults(options: type[FieldOptions]) -> dict[str, Any]:
    """Return the type's own options that have a default, as JSON values."""
    return {
        field.name: msgspec.to_builtins(field.default)
        for field in msgspec.structs.fields(options)
        if field.name not in COMMON_OPTIONS and field.default is not msgspec.NODEFAULT
    }
