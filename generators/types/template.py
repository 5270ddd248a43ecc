"""Values made from other values of the same row: ``{last_name_romaji}.{first_name_romaji}@x.jp``.

A placeholder names another field of the table, or a catalog type that is not a field (it is
then drawn with that type's defaults, sharing the row's person or address, so a template can
use ``{first_name_romaji}`` without a column for it). ``{name|lower}``, ``|upper`` and
``|title`` change the case; ``{{`` and ``}}`` stand for braces.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

import msgspec
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from generators.fieldtype import BlockContext, FieldOptions, FieldType

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}|]*)(?:\|([a-z]+))?\}|[{}]|[^{}]+")
_FILTERS: dict[str, Callable[[pa.Array], pa.Array]] = {
    "lower": pc.utf8_lower,
    "upper": pc.utf8_upper,
    "title": pc.utf8_title,
}


@dataclass(frozen=True)
class Placeholder:
    name: str
    filter: str | None


def parse_template(template: str) -> list[str | Placeholder]:
    """The template's literal text and placeholders, in order; ValueError says what is wrong."""
    parts: list[str | Placeholder] = []
    for match in _TOKEN.finditer(template):
        text = match.group(0)
        if text in ("{{", "}}"):
            parts.append(text[0])
        elif text in ("{", "}"):
            raise ValueError(f"unmatched '{text}' (write '{text}{text}' for a literal brace)")
        elif text.startswith("{"):
            name, filter_name = match.group(1).strip(), match.group(2)
            if not name:
                raise ValueError("empty placeholder '{}'")
            if filter_name is not None and filter_name not in _FILTERS:
                raise ValueError(f"unknown filter '|{filter_name}'; use {', '.join(_FILTERS)}")
            parts.append(Placeholder(name, filter_name))
        else:
            parts.append(text)
    return parts


class TemplateField(FieldOptions, tag="template", frozen=True):
    template: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]

    def problems(self, rows: int) -> Iterator[tuple[str, str]]:
        try:
            parts = parse_template(self.template)
        except ValueError as exc:
            yield "template", str(exc)
            return
        if not any(isinstance(part, Placeholder) for part in parts):
            yield "template", "a template needs at least one {placeholder}"
        if any(isinstance(p, Placeholder) and p.name == self.name for p in parts):
            yield "template", f"the template of '{self.name}' cannot use its own value"

    def placeholders(self) -> list[Placeholder]:
        return [part for part in parse_template(self.template) if isinstance(part, Placeholder)]


def template_column(options: TemplateField, block: BlockContext) -> pa.Array:
    pieces: list[pa.Array | str] = []
    for part in parse_template(options.template):
        if isinstance(part, str):
            pieces.append(part)
            continue
        values = pc.cast(block.values_of(part.name), pa.string())
        pieces.append(_FILTERS[part.filter](values) if part.filter else values)
    # A null in any used value makes the row's result null: half an address is no address.
    return pc.binary_join_element_wise(*pieces, "", null_handling="emit_null")


TYPES = (
    FieldType(
        TemplateField,
        "derived",
        "Text made from other values of the row, e.g. '{last_name_romaji|lower}@example.jp'.",
        "sato.kenta@example.jp",
        template_column,
    ),
)
