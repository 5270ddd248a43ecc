"""Strings matching a regular expression, made a column at a time.

The pattern is parsed once (with Python's own regex parser) into a small tree: literals,
one-character sets, sequences, alternatives and bounded repeats. Each node becomes a string
array for the whole block: a set is one ``take`` from its characters, an alternative picks
per row among its branches, a repeat masks out the copies past each row's count. The draws
depend only on the pattern and the block size, so blocks stay deterministic.

Open repeats (``*``, ``+``, ``{n,}``) stop at ``max_repeat``. Back-references, look-arounds
and conditionals cannot be generated this way and are refused, as are patterns whose
expansion would be too large to generate quickly, and patterns whose character sets hold
more than ``MAX_SET_CHARS`` characters in all (each is spelled out, once per pattern).
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Iterator
from dataclasses import dataclass
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Annotated, Any

import msgspec
import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from generators.fieldtype import BlockContext, FieldOptions, FieldType

# What "." and negated sets draw from: printable ASCII without line breaks.
_PRINTABLE = "".join(c for c in string.printable if c not in "\n\r\x0b\x0c")
_CATEGORIES = {
    sre.CATEGORY_DIGIT: string.digits,
    sre.CATEGORY_NOT_DIGIT: "".join(c for c in _PRINTABLE if not c.isdigit()),
    sre.CATEGORY_WORD: string.ascii_letters + string.digits + "_",
    sre.CATEGORY_NOT_WORD: "".join(c for c in _PRINTABLE if not (c.isalnum() or c == "_")),
    sre.CATEGORY_SPACE: " \t",
    sre.CATEGORY_NOT_SPACE: "".join(c for c in _PRINTABLE if not c.isspace()),
}
# What a negated set draws from: printable ASCII, Latin-1 letters, kana and common kanji.
_NEGATION_UNIVERSE = (
    _PRINTABLE
    + "".join(chr(c) for c in range(0xC0, 0x100) if chr(c).isalpha())
    + "".join(chr(c) for c in range(0x3041, 0x3097))
    + "".join(chr(c) for c in range(0x30A1, 0x30FB))
    + "".join(chr(c) for c in range(0x4E00, 0x4F00))
)
MAX_NODES = 2_000  # arrays built per block: keeps a block of a pattern well under a second
# Characters of all the [...] sets of one pattern together: the CJK block [一-龯] fits, and a
# spec of thousands of patterns is still checked in about a second.
MAX_SET_CHARS = 30_000
MAX_REPEAT_COUNT = 1_000  # {n} and {m,n}
PATTERNS_KEPT = 256  # compiled patterns a process keeps for reuse
_UNWRITABLE = "the pattern can produce NUL or surrogate characters, which no file holds"


@dataclass(frozen=True)
class Literal:
    text: str


@dataclass(frozen=True)
class CharSet:
    chars: str


@dataclass(frozen=True)
class Sequence:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Alternatives:
    branches: tuple[Node, ...]


@dataclass(frozen=True)
class Repeat:
    item: Node
    low: int
    high: int


Node = Literal | CharSet | Sequence | Alternatives | Repeat


class RegexField(FieldOptions, tag="regex", frozen=True):
    pattern: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    max_repeat: Annotated[int, msgspec.Meta(ge=0, le=100)] = 8

    def problems(self, rows: int) -> Iterator[tuple[str, str]]:
        try:
            tree = compile_pattern(self.pattern, self.max_repeat)
        except ValueError as exc:
            yield "pattern", str(exc)
            return
        if _cost(tree) > MAX_NODES:
            yield "pattern", "this pattern expands too much to generate; lower its repeats"


@dataclass
class _SetBudget:
    """How many more characters the pattern's sets may hold."""

    chars_left: int = MAX_SET_CHARS

    def spend(self, count: int) -> None:
        self.chars_left -= count
        if self.chars_left < 0:
            raise ValueError(
                f"the pattern's character sets hold more than {MAX_SET_CHARS:,} characters "
                "in all; use narrower ranges"
            )


def _set_chars(items: list[tuple[Any, Any]], budget: _SetBudget) -> str:
    """The set's characters, each once, in the order the set names them."""
    parts: list[np.ndarray] = []
    negate = False
    for op, value in items:
        if op is sre.NEGATE:
            negate = True
        elif op is sre.LITERAL:
            parts.append(np.array([value], dtype=np.uint32))
        elif op is sre.RANGE:
            low, high = value
            budget.spend(high - low + 1)  # before the range is spelled out
            parts.append(np.arange(low, high + 1, dtype=np.uint32))
        elif op is sre.CATEGORY:
            parts.append(_code_points(_CATEGORIES[value]))
        else:
            raise ValueError(f"unsupported inside [...]: {op}")
    points = np.concatenate(parts) if parts else np.array([], dtype=np.uint32)
    _, first = np.unique(points, return_index=True)
    points = points[np.sort(first)]
    if negate:
        named = set(points.tolist())
        points = _code_points("".join(c for c in _NEGATION_UNIVERSE if ord(c) not in named))
    if not points.size:
        raise ValueError("a character set that matches nothing this generator can write")
    if np.any((points == 0) | ((points >= 0xD800) & (points <= 0xDFFF))):
        raise ValueError(_UNWRITABLE)
    return points.tobytes().decode("utf-32-le")


def _code_points(chars: str) -> np.ndarray:
    return np.frombuffer(chars.encode("utf-32-le"), dtype=np.uint32)


def _checked(chars: str) -> str:
    """``chars`` if all can be written; surrogates and NUL cannot (UTF-8, PostgreSQL)."""
    if any(0xD800 <= ord(c) <= 0xDFFF or c == "\x00" for c in chars):
        raise ValueError(_UNWRITABLE)
    return chars


def _convert(parsed: sre_parse.SubPattern, max_repeat: int, budget: _SetBudget) -> Node:
    items: list[Node] = []
    for op, value in parsed:
        if op is sre.LITERAL:
            items.append(Literal(_checked(chr(value))))
        elif op is sre.NOT_LITERAL:
            items.append(CharSet("".join(c for c in _PRINTABLE if ord(c) != value)))
        elif op is sre.ANY:
            items.append(CharSet(_PRINTABLE))
        elif op is sre.IN:
            items.append(CharSet(_set_chars(value, budget)))
        elif op is sre.SUBPATTERN:
            items.append(_convert(value[-1], max_repeat, budget))
        elif op is sre.BRANCH:
            items.append(Alternatives(tuple(_convert(b, max_repeat, budget) for b in value[1])))
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT, getattr(sre, "POSSESSIVE_REPEAT", None)):
            low, high, inner = value
            high = low + max_repeat if high is sre.MAXREPEAT else high
            if high > MAX_REPEAT_COUNT:
                raise ValueError(f"a repeat count is too large (at most {MAX_REPEAT_COUNT})")
            items.append(Repeat(_convert(inner, max_repeat, budget), low, max(low, high)))
        elif op is sre.AT:
            continue  # ^, $, \b: positions, nothing to write
        else:
            name = str(op).lower()
            raise ValueError(f"'{name}' cannot be generated (no back-references or look-arounds)")
    return items[0] if len(items) == 1 else Sequence(tuple(items))


@functools.lru_cache(maxsize=PATTERNS_KEPT)
def compile_pattern(pattern: str, max_repeat: int) -> Node:
    """The pattern's tree; ValueError says what cannot be generated."""
    try:
        parsed = sre_parse.parse(pattern)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression: {exc}") from None
    return _convert(parsed, max_repeat, _SetBudget())


def _cost(node: Node) -> int:
    if isinstance(node, Literal | CharSet):
        return 1
    if isinstance(node, Sequence):
        return sum(_cost(item) for item in node.items) + 1
    if isinstance(node, Alternatives):
        return sum(_cost(branch) for branch in node.branches) + 1
    return node.high * _cost(node.item) + 1


@functools.lru_cache(maxsize=PATTERNS_KEPT)
def _char_table(chars: str) -> pa.StringArray:
    return pa.array(list(chars), type=pa.string())


def _generate(node: Node, rng: np.random.Generator, size: int) -> pa.Array | str:
    if isinstance(node, Literal):
        return node.text
    if isinstance(node, CharSet):
        picks = rng.integers(0, len(node.chars), size=size, dtype=np.int32)
        return _char_table(node.chars).take(pa.array(picks))
    if isinstance(node, Sequence):
        parts = [_generate(item, rng, size) for item in node.items]
        return _join(parts, size)
    if isinstance(node, Alternatives):
        branches = [_as_array(_generate(b, rng, size), size) for b in node.branches]
        picks = rng.integers(0, len(branches), size=size, dtype=np.int32)
        return pc.choose(pa.array(picks), *branches)
    counts = rng.integers(node.low, node.high, size=size, endpoint=True, dtype=np.int32)
    copies = []
    for copy in range(node.high):
        value = _as_array(_generate(node.item, rng, size), size)
        copies.append(value if copy < node.low else pc.if_else(pa.array(counts > copy), value, ""))
    return _join(copies, size) if copies else ""


def _as_array(value: pa.Array | str, size: int) -> pa.Array:
    if isinstance(value, str):
        return pa.array(np.full(size, value, dtype=object), type=pa.string())
    return value


def _join(parts: list[pa.Array | str], size: int) -> pa.Array | str:
    if all(isinstance(part, str) for part in parts):
        return "".join(part for part in parts if isinstance(part, str))
    return pc.binary_join_element_wise(*parts, "")


def regex_column(options: RegexField, block: BlockContext) -> pa.Array:
    tree = compile_pattern(options.pattern, options.max_repeat)
    return _as_array(_generate(tree, block.rng, block.size), block.size)


TYPES = (
    FieldType(
        RegexField,
        "text",
        "A string matching pattern (sets, groups, alternatives, repeats; open repeats stop at "
        "max_repeat).",
        "AB-1234",
        regex_column,
    ),
)
