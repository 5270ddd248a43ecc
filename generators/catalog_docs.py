"""The field-type reference in Markdown, written from the catalog itself (docs/field-types.md).

`make docs` rewrites the file; a test fails when the committed file no longer matches the
catalog, so the reference cannot drift from what the engine does.
"""

from __future__ import annotations

from itertools import groupby

import msgspec

from generators.catalog import FIELD_TYPES
from generators.fieldtype import FieldOptions, FieldType

_COMMON = {field.name for field in msgspec.structs.fields(FieldOptions)}


def _option_text(field: msgspec.structs.FieldInfo) -> str:
    if field.required:
        return f"`{field.name}` (required)"
    default = field.default if field.default is not msgspec.NODEFAULT else None
    if default is None and field.default_factory is not msgspec.NODEFAULT:
        default = field.default_factory()
    shown = msgspec.json.encode(default).decode() if default is not None else "none"
    return f"`{field.name}`={shown}"


def _options(entry: FieldType) -> str:
    own = [f for f in msgspec.structs.fields(entry.options) if f.name not in _COMMON]
    return ", ".join(_option_text(f) for f in own) or "—"


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
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render_markdown(), end="")
