"""Text tables for a terminal: widths in screen columns, so Japanese text lines up.

Only the standard library and msgspec: the command-line client imports this without the
engine (pyarrow, numpy, Faker).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Sequence
from typing import Any

import msgspec

CELL_MAX_WIDTH = 40


def render_table(
    columns: dict[str, list[Any]], right_aligned: dict[str, bool] | None = None
) -> list[str]:
    """Return the lines of a text table of ``columns`` (header, rule, one line per row).

    Widths are terminal columns, not characters: wide East Asian characters count two,
    combining marks and zero-width characters none. Control characters are shown escaped
    and long cells cut, so every line stays aligned.
    """
    right_aligned = right_aligned or {}
    names = list(columns)
    cells = {name: [display_value(value) for value in columns[name]] for name in names}
    widths = {
        name: max([display_width(name), *(display_width(c) for c in cells[name])]) for name in names
    }
    rows = len(next(iter(cells.values()), []))

    def line(values: Sequence[str], align_right: Sequence[bool]) -> str:
        padded = [
            _pad(value, widths[name], right)
            for name, value, right in zip(names, values, align_right, strict=True)
        ]
        return "  ".join(padded).rstrip()

    aligns = [right_aligned.get(name, False) for name in names]
    out = [line(names, aligns), line(["-" * widths[name] for name in names], aligns)]
    for row in range(rows):
        out.append(line([cells[name][row] for name in names], aligns))
    return out


def display_value(value: Any, max_width: int = CELL_MAX_WIDTH) -> str:
    """Return how a cell shows in the table: null as ``null``, dates ISO, cut to a width."""
    if value is None:
        text = "null"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (dt.date, dt.datetime, dt.time)):
        text = value.isoformat()
    elif isinstance(value, bytes):
        text = value.hex()
    elif isinstance(value, (list, dict)):
        text = msgspec.json.encode(value).decode()
    else:
        text = str(value)
    text = "".join(ch if ch.isprintable() else _escape(ch) for ch in text)
    if display_width(text) > max_width:
        text = _cut(text, max_width - 3) + "..."
    return text


def display_width(text: str) -> int:
    """Return how many terminal columns ``text`` takes (wide and full-width characters: 2)."""
    return sum(_char_width(ch) for ch in text)


def _char_width(ch: str) -> int:
    if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def _escape(ch: str) -> str:
    named = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
    if ch in named:
        return named[ch]
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _cut(text: str, width: int) -> str:
    taken = 0
    for index, ch in enumerate(text):
        taken += _char_width(ch)
        if taken > width:
            return text[:index]
    return text


def _pad(text: str, width: int, right: bool) -> str:
    gap = " " * (width - display_width(text))
    return gap + text if right else text + gap
