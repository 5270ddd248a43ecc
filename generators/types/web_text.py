"""Web strings: URL slugs, passwords with chosen character classes, browser user agents,
HTTP methods and status codes."""

from __future__ import annotations

import functools
import string
from collections.abc import Iterator
from typing import Annotated

import msgspec
import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
from faker import Faker
from faker.providers.internet import Provider as BaseInternet

from generators.fieldtype import BlockContext, FieldOptions, FieldType
from generators.locales import provider_class
from generators.types.identifiers import ascii_rows
from generators.vectors import WeightedTable, join_by_take

MIN_SLUG_WORDS = 50
USER_AGENTS_PER_LOCALE = 8192
# Faker's password symbols: none is a quote, a backslash or a delimiter of CSV or TSV.
SYMBOLS = "!@#$%^&*()_+"


@functools.cache
def slug_words(locale: str) -> tuple[pa.Array, int]:
    """Return ``(words, then "-"+words, as one array; word count)`` for ASCII slugs."""
    words = sorted(
        {
            w.lower()
            for w in provider_class("lorem", locale).word_list
            if w.isascii() and w.isalpha()
        }
    )
    if len(words) < MIN_SLUG_WORDS:
        # Slugs stay ASCII: a locale whose lorem words are not (ja_JP) borrows en_US's.
        return slug_words("en_US")
    return pa.array(words + [f"-{w}" for w in words], type=pa.string()), len(words)


class SlugField(FieldOptions, tag="slug", frozen=True):
    words: Annotated[int, msgspec.Meta(ge=1, le=10)] = 3


def slug_column(options: SlugField, block: BlockContext) -> pa.Array:
    lookup, count = slug_words(block.locale)
    picks = block.rng.integers(0, count, size=(options.words, block.size), dtype=np.int32)
    picks[1:] += count  # later words come with their hyphen
    return join_by_take(lookup, list(picks))


class PasswordField(FieldOptions, tag="password", frozen=True):
    length: Annotated[int, msgspec.Meta(ge=4, le=128)] = 12
    lowercase: bool = True
    uppercase: bool = True
    digits: bool = True
    symbols: bool = True

    def classes(self) -> list[str]:
        """Return the alphabets of the character classes asked for."""
        chosen = [
            (self.lowercase, string.ascii_lowercase),
            (self.uppercase, string.ascii_uppercase),
            (self.digits, string.digits),
            (self.symbols, SYMBOLS),
        ]
        return [alphabet for wanted, alphabet in chosen if wanted]

    def problems(self, rows: int) -> Iterator[tuple[str, str]]:
        if not self.classes():
            yield "lowercase", "choose at least one character class"


def _distinct_positions(rng: np.random.Generator, size: int, length: int, count: int) -> np.ndarray:
    """Return ``count`` distinct positions in ``[0, length)`` per row, as (count, size)."""
    positions = np.empty((count, size), dtype=np.int64)
    for i in range(count):
        # Draw among the positions still free, then step over those taken (in order).
        pick = rng.integers(0, length - i, size=size)
        for taken in np.sort(positions[:i], axis=0):
            pick += pick >= taken
        positions[i] = pick
    return positions


def password_column(options: PasswordField, block: BlockContext) -> pa.Array:
    classes = options.classes()
    rng, size = block.rng, block.size
    everything = np.frombuffer("".join(classes).encode("ascii"), dtype=np.uint8)
    chars = everything[rng.integers(0, everything.size, size=(size, options.length))]
    # Every chosen class appears at least once, each at its own random position.
    positions = _distinct_positions(rng, size, options.length, len(classes))
    rows = np.arange(size)
    for alphabet, where in zip(classes, positions, strict=True):
        letters = np.frombuffer(alphabet.encode("ascii"), dtype=np.uint8)
        chars[rows, where] = letters[rng.integers(0, letters.size, size=size)]
    return ascii_rows(chars)


# --- user agents and HTTP ---------------------------------------------------------------


@functools.cache
def user_agents(locale: str) -> pa.Array:
    """Return a table of user agents rendered once by Faker's own templates for ``locale``."""
    faker = Faker(locale)
    # A fixed seed keeps the table, and so every file, the same from run to run.
    faker.seed_instance(20_240_101)
    return pa.array([faker.user_agent() for _ in range(USER_AGENTS_PER_LOCALE)], type=pa.string())


class UserAgentField(FieldOptions, tag="user_agent", frozen=True):
    pass


def user_agent_column(options: UserAgentField, block: BlockContext) -> pa.Array:
    table = user_agents(block.locale)
    return table.take(block.rng.integers(0, len(table), size=block.size))


# Rough shares seen in web server logs; anything Faker lists beyond these is rare.
METHOD_WEIGHTS = {"GET": 70, "POST": 18, "PUT": 4, "DELETE": 2, "PATCH": 2, "HEAD": 2, "OPTIONS": 2}
STATUS_WEIGHTS = {
    200: 72, 201: 3, 204: 3, 301: 2, 302: 3, 304: 6, 400: 2, 401: 2, 403: 1.5, 404: 4,
    409: 0.3, 422: 0.5, 429: 0.5, 500: 1, 502: 0.4, 503: 0.5, 504: 0.3,
}  # fmt: skip
RARE_WEIGHT = 0.05


class HttpMethodField(FieldOptions, tag="http_method", frozen=True):
    pass


class HttpStatusCodeField(FieldOptions, tag="http_status_code", frozen=True):
    pass


@functools.cache
def http_methods() -> tuple[pa.Array, WeightedTable]:
    methods = list(BaseInternet.http_methods)
    weights = [METHOD_WEIGHTS.get(m, RARE_WEIGHT) for m in methods]
    return pa.array(methods, type=pa.string()), WeightedTable.from_weights(weights)


@functools.cache
def http_statuses() -> tuple[np.ndarray, WeightedTable]:
    codes = list(BaseInternet.http_assigned_codes)
    weights = [STATUS_WEIGHTS.get(c, RARE_WEIGHT) for c in codes]
    return np.array(codes, dtype=np.int64), WeightedTable.from_weights(weights)


def http_method_column(options: HttpMethodField, block: BlockContext) -> pa.Array:
    methods, table = http_methods()
    return methods.take(table.draw(block.rng, block.size))


def http_status_column(options: HttpStatusCodeField, block: BlockContext) -> pa.Array:
    codes, table = http_statuses()
    return pa.array(codes[table.draw(block.rng, block.size)], type=pa.int64())


TYPES = (
    FieldType(
        SlugField,
        "internet",
        "URL slug of words lowercase ASCII words joined by hyphens.",
        "dolor-sit-amet",
        slug_column,
    ),
    FieldType(
        PasswordField,
        "internet",
        "Random password of length characters with at least one of each chosen class "
        "(lowercase, uppercase, digits, symbols from !@#$%^&*()_+).",
        "q7R!mZ2p@xLe",
        password_column,
    ),
    FieldType(
        UserAgentField,
        "internet",
        "Browser user agent, drawn from a table rendered once by Faker's own templates.",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/536.2 (KHTML, like Gecko) "
        "Chrome/14.0.859.0 Safari/536.2",
        user_agent_column,
    ),
    FieldType(
        HttpMethodField,
        "internet",
        "HTTP method, mostly GET and POST as in server logs.",
        "GET",
        http_method_column,
    ),
    FieldType(
        HttpStatusCodeField,
        "internet",
        "Assigned HTTP status code (integer), mostly 200 as in server logs.",
        "404",
        http_status_column,
    ),
)
