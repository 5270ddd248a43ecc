"""The one catalog of field types, collected from the modules of ``generators/types/``.

The API (``GET /v1/field-types``), the docs and the spec parser all read ``FIELD_TYPES``.
Adding a type means adding it to a module's ``TYPES`` (or a new module there); nothing else
lists types.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from types import MappingProxyType

import generators.types
from generators.fieldtype import FieldType


def _collect() -> dict[str, FieldType]:
    found: dict[str, FieldType] = {}
    for module_info in sorted(
        pkgutil.iter_modules(generators.types.__path__), key=lambda m: m.name
    ):
        module = importlib.import_module(f"generators.types.{module_info.name}")
        for entry in getattr(module, "TYPES", ()):
            if entry.name in found:
                raise RuntimeError(f"field type {entry.name!r} is defined twice")
            found[entry.name] = entry
    return found


FIELD_TYPES: Mapping[str, FieldType] = MappingProxyType(_collect())


def field_type_names() -> list[str]:
    """Return every field type's name, in catalog order."""
    return list(FIELD_TYPES)
