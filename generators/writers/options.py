"""The ``format_options`` of a dataset spec: per-format settings, checked against the format.

One struct holds every format's options so the wire shape stays flat
(``{"format": "csv", "format_options": {"delimiter": ";"}}``); an option left out takes its
format's default, and an option that belongs to another format is refused by name.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Annotated, Literal

import msgspec

Quote = Literal["minimal", "all", "none"]
LineEnding = Literal["\n", "\r\n"]
TextEncoding = Literal["utf-8", "utf-8-bom", "cp932"]
SqlDialect = Literal["postgresql", "mysql"]

MAX_SQL_BATCH = 10_000
SQL_IDENTIFIER_BYTES = 63  # PostgreSQL's limit; MySQL's is 64 characters
XLSX_SHEET_CHARS = 31  # Excel's limit
_XLSX_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


class FormatOptions(
    msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True, omit_defaults=True
):
    """Options of the output format; each applies to the formats named in its comment."""

    # csv, tsv
    header: bool | None = None
    delimiter: str | None = None
    quote: Quote | None = None
    line_ending: LineEnding | None = None
    encoding: TextEncoding | None = None
    # sql
    dialect: SqlDialect | None = None
    table: str | None = None
    batch_size: Annotated[int, msgspec.Meta(ge=1, le=MAX_SQL_BATCH)] | None = None
    # xlsx
    sheet: str | None = None


OPTIONS_BY_FORMAT: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "csv": ("header", "delimiter", "quote", "line_ending", "encoding"),
        "tsv": ("header", "delimiter", "quote", "line_ending", "encoding"),
        "json": (),
        "jsonl": (),
        "parquet": (),
        "sql": ("dialect", "table", "batch_size"),
        "xlsx": ("sheet",),
    }
)


def option_problems(format: str, options: FormatOptions) -> Iterator[tuple[str, str]]:
    """Yield ``(option, detail)`` for each option that does not fit ``format`` or is invalid."""
    allowed = OPTIONS_BY_FORMAT.get(format, ())
    for name in options.__struct_fields__:
        if getattr(options, name) is not None and name not in allowed:
            takes = f"it takes: {', '.join(allowed)}" if allowed else "it takes no options"
            yield name, f"option '{name}' does not apply to format '{format}'; {takes}"
    if options.delimiter is not None:
        delimiter = options.delimiter
        if len(delimiter) != 1:
            yield "delimiter", "the delimiter must be exactly one character"
        elif not delimiter.isascii() or delimiter in '"\r\n' or delimiter.isalnum():
            yield "delimiter", "must be ASCII and not a quote, line break, letter or digit"
    if options.table is not None and not 0 < len(options.table.encode()) <= SQL_IDENTIFIER_BYTES:
        yield "table", f"the table name must be 1 to {SQL_IDENTIFIER_BYTES} bytes of UTF-8"
    if options.sheet is not None:
        sheet = options.sheet
        if not 0 < len(sheet) <= XLSX_SHEET_CHARS - 4:  # room for the " (2)" of spilled sheets
            yield "sheet", f"the sheet name must be 1 to {XLSX_SHEET_CHARS - 4} characters"
        elif _XLSX_SHEET_FORBIDDEN.search(sheet) or sheet.startswith("'") or sheet.endswith("'"):
            yield "sheet", "a sheet name may not hold [ ] : * ? / \\ nor start or end with '"
