"""The field-type catalog as documentation: every type, its options and an example value.

Options are read from each type's options Struct through msgspec's JSON schema, and example
values are made by the engine itself (a small spec per type, seed 0, ja_JP and en_US), so
this page cannot drift from what a spec accepts and what a file holds. The examples are made
once, at start-up, in a short-lived child process: the web tier never holds the engine's
lookup tables (names, postal records) for the sake of one page.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import msgspec
from litestar import Litestar, Request, get
from litestar.datastructures import CacheControlHeader

from generators.catalog import FIELD_TYPES
from generators.commands import EXAMPLE_LOCALES, catalog_examples
from generators.fieldtype import FieldOptions, FieldType

log = logging.getLogger(__name__)

# How long a request waits for the start-up examples before answering with the static ones.
EXAMPLES_WAIT_SECONDS = 30.0
_CONSTRAINT_KEYS = (
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "enum",
)
_COMMON = frozenset(FieldOptions.__struct_fields__)
_MAKE_EXAMPLES = (
    "import sys, msgspec\n"
    f"from {catalog_examples.__module__} import {catalog_examples.__name__} as make\n"
    "sys.stdout.buffer.write(msgspec.json.encode(make()))\n"
)


class FieldOptionDoc(msgspec.Struct):
    """One option of a field type: its JSON type, whether it is required, default and limits."""

    name: str
    type: str
    required: bool
    default: Any = None
    constraints: dict[str, Any] = msgspec.field(default_factory=dict)
    description: str | None = None


class FieldTypeDoc(msgspec.Struct):
    name: str
    category: str
    description: str
    can_be_unique: bool
    options: list[FieldOptionDoc]
    examples: dict[str, Any]


class FieldTypeCatalog(msgspec.Struct):
    count: int
    common_options: list[FieldOptionDoc]
    types: list[FieldTypeDoc]


@get(
    "/v1/field-types",
    operation_id="listFieldTypes",
    summary="Every field type a spec can use, with its options, limits and example values",
    description=(
        "Options every type has (name, null_rate, unique, locale…) are listed once, in "
        "common_options. Examples are what the engine makes with seed 0 and default options; "
        "a type that needs options to work shows a hand-written example."
    ),
    tags=["catalog"],
    cache_control=CacheControlHeader(max_age=300, public=True),
    security=[{}],  # no API key needed: an empty requirement in OpenAPI terms
)
async def list_field_types(request: Request[Any, Any, Any]) -> FieldTypeCatalog:
    return await _catalog(request.app)


@asynccontextmanager
async def field_type_examples(app: Litestar) -> AsyncIterator[None]:
    """App lifespan: start making the catalog's example values while the app serves."""
    task = asyncio.create_task(_examples_from_engine())
    app.state.field_type_examples = task
    try:
        yield
    finally:
        task.cancel()


async def _examples_from_engine() -> dict[str, dict[str, Any]]:
    # A fresh interpreter rather than multiprocessing: nothing of this process (its event
    # loop, sockets, or a main module that is unsafe to import again) is copied into it.
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _MAKE_EXAMPLES,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)},
    )
    try:
        out, err = await child.communicate()
    finally:
        if child.returncode is None:
            child.kill()
    if child.returncode != 0:
        raise RuntimeError(f"example child exited {child.returncode}: {err.decode()[-2000:]}")
    return msgspec.json.decode(out, type=dict[str, dict[str, Any]])


async def _catalog(app: Litestar) -> FieldTypeCatalog:
    cached: FieldTypeCatalog | None = app.state.get("field_type_catalog")
    if cached is not None:
        return cached
    task: asyncio.Task[dict[str, dict[str, Any]]] | None = app.state.get("field_type_examples")
    examples: dict[str, dict[str, Any]] = {}
    final = True
    if task is not None:
        try:
            examples = await asyncio.wait_for(asyncio.shield(task), EXAMPLES_WAIT_SECONDS)
        except TimeoutError:
            final = False  # answer with the static examples now, the engine's ones later
        except Exception:
            log.exception("the engine could not make example values; using the catalog's")
    catalog = build_catalog(examples)
    if final:
        app.state.field_type_catalog = catalog
    return catalog


def build_catalog(examples: Mapping[str, Mapping[str, Any]]) -> FieldTypeCatalog:
    """Return the documentation of every catalog type; ``examples`` as from ``catalog_examples``.

    A type with no engine-made example (it needs options to work) shows the catalog's own.
    """
    entries = list(FIELD_TYPES.values())
    schemas, components = msgspec.json.schema_components(
        [entry.options for entry in entries], ref_template="{name}"
    )
    types = []
    common: list[FieldOptionDoc] = []
    for entry, schema in zip(entries, schemas, strict=True):
        options = _option_docs(_resolve(schema, components), components)
        common = common or [option for option in options if option.name in _COMMON]
        types.append(
            FieldTypeDoc(
                name=entry.name,
                category=entry.category,
                description=entry.description,
                can_be_unique=entry.can_be_unique,
                options=[option for option in options if option.name not in _COMMON],
                examples=_examples_for(entry, examples.get(entry.name, {})),
            )
        )
    return FieldTypeCatalog(count=len(types), common_options=common, types=types)


def _examples_for(entry: FieldType, made: Mapping[str, Any]) -> dict[str, Any]:
    return {locale: made.get(locale, entry.example) for locale in EXAMPLE_LOCALES}


def _option_docs(schema: dict[str, Any], components: dict[str, Any]) -> list[FieldOptionDoc]:
    required = set(schema.get("required", ()))
    docs = []
    for name, prop in schema.get("properties", {}).items():
        if name == "type":
            continue  # the tag: the type's own name
        docs.append(
            FieldOptionDoc(
                name=name,
                type=_type_label(prop, components),
                required=name in required,
                default=prop.get("default"),
                constraints=_constraints(prop, components),
                description=prop.get("description"),
            )
        )
    return docs


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    """Return the schema a ``$ref`` points to (or the schema itself)."""
    while "$ref" in schema:
        schema = components[schema["$ref"]]
    return schema


def _type_label(schema: dict[str, Any], components: dict[str, Any]) -> str:
    """Return a short JSON type: ``integer``, ``date``, ``array of string``, ``string | null``…"""
    schema = _resolve(schema, components)
    if "anyOf" in schema:
        return " | ".join(_type_label(member, components) for member in schema["anyOf"])
    if schema.get("type") == "array":
        return f"array of {_type_label(schema.get('items', {}), components)}"
    if "format" in schema:
        return str(schema["format"])
    if "type" in schema:
        return str(schema["type"])
    if "enum" in schema:
        return "string" if all(isinstance(v, str) for v in schema["enum"]) else "value"
    return "any"


def _constraints(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    """Return the limits of an option (minimum, maxLength, enum…), from every member of a union."""
    schema = _resolve(schema, components)
    found = {key: schema[key] for key in _CONSTRAINT_KEYS if key in schema}
    for member in schema.get("anyOf", ()):
        found |= _constraints(member, components)
    if schema.get("type") == "array" and (
        items := _constraints(schema.get("items", {}), components)
    ):
        found["items"] = items
    return found
