"""The field-type reference in Markdown, written from the catalog itself (docs/field-types.md).

`make docs` rewrites the file; a test fails when the committed file no longer matches the
catalog, so the reference cannot drift from what the engine does.
"""

from __future__ import annotations

from itertools import groupby

import msgspec
import msgspec.inspect as mi

from generators.catalog import FIELD_TYPES
from generators.fieldtype import FieldOptions, FieldType
from generators.spec import MAX_FIELDS, MAX_ROWS, MAX_TABLES, DatasetSpec, TableSpec
from generators.types.regex import MAX_NODES, MAX_REPEAT_COUNT, MAX_SET_CHARS, RegexField

_COMMON = {field.name for field in msgspec.structs.fields(FieldOptions)}


def _option_text(field: msgspec.structs.FieldInfo, kind: mi.Type) -> str:
    limit = _length_limit(kind)
    if field.required:
        return f"`{field.name}` (required{'; ' + limit if limit else ''})"
    default = field.default if field.default is not msgspec.NODEFAULT else None
    if default is None and field.default_factory is not msgspec.NODEFAULT:
        default = field.default_factory()
    shown = msgspec.json.encode(default).decode() if default is not None else "none"
    return f"`{field.name}`={shown}" + (f" ({limit})" if limit else "")


def _length_limit(kind: mi.Type) -> str:
    """How long a text or list option may be, e.g. "≤ 10,000 items of ≤ 1,000 characters"."""
    if isinstance(kind, mi.UnionType):
        return next((text for member in kind.types if (text := _length_limit(member))), "")
    if isinstance(kind, mi.StrType) and kind.max_length is not None:
        return f"≤ {kind.max_length:,} characters"
    if isinstance(kind, mi.ListType) and kind.max_length is not None:
        items = _length_limit(kind.item_type)
        return f"≤ {kind.max_length:,} items" + (f" of {items}" if items else "")
    return ""


def _declared(owner: type[msgspec.Struct]) -> dict[str, mi.Type]:
    """Each field of the struct with its type and constraints."""
    info = mi.type_info(owner)
    assert isinstance(info, mi.StructType)
    return {field.name: field.type for field in info.fields}


def _max_length(owner: type[msgspec.Struct], name: str) -> int:
    """The most characters the struct's text field takes."""
    kind = _declared(owner)[name]
    assert isinstance(kind, mi.StrType) and kind.max_length is not None
    return kind.max_length


def _options(entry: FieldType) -> str:
    kinds = _declared(entry.options)
    own = [f for f in msgspec.structs.fields(entry.options) if f.name not in _COMMON]
    return ", ".join(_option_text(f, kinds[f.name]) for f in own) or "—"


def _spec_limits() -> list[str]:
    """The limits every spec is held to, from the constants the parser checks."""
    return [
        "",
        "## Limits of a spec",
        "",
        "A spec over one of these is refused with the field's path and the limit.",
        "",
        f"- rows: 1 to {MAX_ROWS:,} per table",
        f"- fields: 1 to {MAX_FIELDS} per table; tables: at most {MAX_TABLES} per dataset "
        f"(the dataset itself and {MAX_TABLES - 1} in `tables`)",
        f"- names: a dataset's ≤ {_max_length(DatasetSpec, 'name')} characters, a table's "
        f"≤ {_max_length(TableSpec, 'name')}, a field's ≤ {_max_length(FieldOptions, 'name')}",
        "- text and list options: as each option above says",
        f"- `regex` patterns: ≤ {_max_length(RegexField, 'pattern')} characters; each repeat ≤ "
        f"{MAX_REPEAT_COUNT:,} times (open ones stop at `max_repeat`); the [...] sets of one "
        f"pattern ≤ {MAX_SET_CHARS:,} characters in all; the whole expansion ≤ {MAX_NODES:,} "
        "parts. Back-references and look-arounds are refused: patterns are only generated "
        "from, never matched, so no pattern can make the service backtrack.",
    ]


def render_markdown() -> str:
    """The whole reference page, types grouped by category."""
    lines = [
        "# Field types",
        "",
        f"{len(FIELD_TYPES)} types. Every field also takes `name`, `null_rate` (0–1), "
        "`unique` (true when the type can count its values), `locale` (overrides the "
        "dataset's) and `edge_case_rate` (0–1). Written by `make docs` from the catalog; "
        "`GET /v1/field-types` serves the same facts with engine-made examples.",
    ]
    entries = sorted(FIELD_TYPES.values(), key=lambda e: (e.category, e.name))
    for category, group in groupby(entries, key=lambda e: e.category):
        lines += ["", f"## {category}", "", "| type | what it makes | options | unique | example |"]
        lines.append("|---|---|---|---|---|")
        for entry in group:
            example = entry.example.replace("|", "\\|")
            description = entry.description.replace("|", "\\|")
            unique = "yes" if entry.can_be_unique else ""
            lines.append(
                f"| `{entry.name}` | {description} | {_options(entry)} | {unique} | `{example}` |"
            )
    lines += _spec_limits()
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render_markdown(), end="")
