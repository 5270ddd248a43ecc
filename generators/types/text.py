"""Filler text from Faker's lorem word lists per locale: words, sentences, paragraphs, text.

A locale's own word connector and full stop are kept (ja_JP: words run together, commas
are 、 and sentences end with 。). Sentences of varying length are assembled without a
per-row loop: every row gets the longest possible layout of pieces, and the slots a
shorter row does not use point at an empty string in the lookup table, so one ``take``
joins them all.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

import msgspec
import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from generators.fieldtype import BlockContext, FieldOptions, FieldType
from generators.locales import provider_class
from generators.vectors import join_by_take

Count = Annotated[int, msgspec.Meta(ge=1, le=100)]
MAX_TEXT_SENTENCES = 24


# Explicit endings of a word piece; see ``Lorem``.
NONE, STOP, STOP_THEN_NEXT, LIST = range(4)
ENDINGS = 4
# A word inside a sentence is one draw in [0, SPREAD * words): below `words` it takes a
# comma, otherwise the plain gap, so a comma follows one word in SPREAD.
SPREAD = 12


@dataclass(frozen=True)
class Lorem:
    """One locale's word list and punctuation, laid out as a lookup of string pieces.

    A piece is a word with what follows it, so a sentence of n words is n pieces:
    0 is the empty piece (unused slots); from ``inner`` come SPREAD * words pieces for
    words inside a sentence (word + comma for the first block of words, word + gap for
    the others), then the same capitalised for a sentence's first word; from
    ``ending_base``, ``piece(word, capital, ending)`` gives a word followed by nothing, the
    full stop, the full stop and the gap before the next sentence, or the list separator.
    """

    words: tuple[str, ...]
    connector: str
    comma: str
    stop: str

    @property
    def inner(self) -> int:
        return 1

    @property
    def first(self) -> int:
        return 1 + SPREAD * len(self.words)

    @property
    def ending_base(self) -> int:
        return 1 + 2 * SPREAD * len(self.words)

    def piece(
        self, word: np.ndarray, capital: np.ndarray | int, ending: np.ndarray | int
    ) -> np.ndarray:
        indices: np.ndarray = (
            self.ending_base + (capital * ENDINGS + ending) * len(self.words) + word
        )
        return indices

    @functools.cached_property
    def lookup(self) -> pa.StringArray:
        endings = (self.stop, self.stop + self.connector, self.list_separator)  # after NONE
        cased = (self.words, tuple(w[:1].upper() + w[1:] for w in self.words))
        pieces = [""]
        for words in cased:
            pieces.extend(word + self.comma for word in words)
            pieces.extend(word + self.connector for word in words * (SPREAD - 1))
        for words in cased:
            pieces.extend(words)
            for ending in endings:
                pieces.extend(word + ending for word in words)
        return pa.array(pieces, type=pa.string())

    @functools.cached_property
    def char_lengths(self) -> np.ndarray:
        return np.asarray(pc.utf8_length(self.lookup).to_numpy(), dtype=np.int32)

    @property
    def list_separator(self) -> str:
        """Between the words of a ``words`` value: the connector, or 、 where there is none."""
        return self.connector or self.comma


@functools.cache
def lorem(locale: str) -> Lorem:
    """Return the (cached) lorem data of ``locale`` from Faker's lorem provider."""
    provider = provider_class("lorem", locale)
    connector: str = getattr(provider, "word_connector", " ")
    stop: str = getattr(provider, "sentence_punctuation", ".")
    # Languages whose full stop is 。 (Japanese, Chinese) also use the ideographic comma.
    comma = "、" if stop == "。" else "," + connector
    words = tuple(dict.fromkeys(w for w in provider.word_list if w))
    return Lorem(words, connector, comma, stop)


class WordField(FieldOptions, tag="word", frozen=True):
    pass


class WordsField(FieldOptions, tag="words", frozen=True):
    count: Count = 3


class WordRange(FieldOptions, frozen=True):
    min_words: Count = 4
    max_words: Count = 12

    def problems(self, rows: int) -> Iterator[tuple[str, str]]:
        if self.min_words > self.max_words:
            yield "min_words", "min_words is greater than max_words"


class SentenceField(WordRange, tag="sentence", frozen=True):
    pass


class ParagraphField(WordRange, tag="paragraph", frozen=True):
    min_sentences: Annotated[int, msgspec.Meta(ge=1, le=20)] = 3
    max_sentences: Annotated[int, msgspec.Meta(ge=1, le=20)] = 6

    def problems(self, rows: int) -> Iterator[tuple[str, str]]:
        yield from super().problems(rows)
        if self.min_sentences > self.max_sentences:
            yield "min_sentences", "min_sentences is greater than max_sentences"


class TextField(WordRange, tag="text", frozen=True):
    max_chars: Annotated[int, msgspec.Meta(ge=10, le=10_000)] = 200


def sentence_pieces(
    data: Lorem, rng: np.random.Generator, rows: int, low: int, high: int
) -> np.ndarray:
    """Return (rows, high) int32 pieces, one sentence a row, ending in STOP_THEN_NEXT.

    A row of n words uses the first n slots; the rest are the empty piece.
    """
    words = len(data.words)
    counts = rng.integers(low, high, size=rows, endpoint=True, dtype=np.int32)
    draws = rng.integers(0, SPREAD * words, size=(rows, high), dtype=np.int32)
    pieces = draws + np.int32(data.inner)
    pieces[:, 0] += np.int32(data.first - data.inner)
    every_row = np.arange(rows)
    last = counts - 1
    last_word = draws[every_row, last] % words
    pieces[every_row, last] = data.piece(last_word, (last == 0).astype(np.int32), STOP_THEN_NEXT)
    pieces[np.arange(high, dtype=np.int32) >= counts[:, None]] = 0
    return pieces


def end_sentences_at(data: Lorem, pieces: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Blank the sentences after ``last`` (per row) and end sentence ``last`` with a bare stop.

    ``pieces`` is (rows, sentences, words); returns it as (rows, sentences * words).
    """
    rows, slots, width = pieces.shape
    sentence = np.arange(slots)
    pieces[sentence > last[:, None]] = 0
    final = pieces[np.arange(rows), last]  # (rows, width): the row's last sentence
    # The last non-empty piece of that sentence is its full stop followed by a gap.
    stop_at = np.count_nonzero(final, axis=1) - 1
    final[np.arange(rows), stop_at] -= (STOP_THEN_NEXT - STOP) * len(data.words)
    pieces[np.arange(rows), last] = final
    return pieces.reshape(rows, slots * width)


def joined(data: Lorem, pieces: np.ndarray) -> pa.StringArray:
    return join_by_take(data.lookup, list(pieces.T))


def word_column(options: WordField, block: BlockContext) -> pa.Array:
    data = lorem(block.locale)
    picks = block.rng.integers(0, len(data.words), block.size)
    return data.lookup.take(pa.array(data.piece(picks, 0, NONE)))


def word_from_index(options: WordField, block: BlockContext, k: np.ndarray) -> pa.Array:
    data = lorem(block.locale)
    return data.lookup.take(pa.array(data.piece(k.astype(np.int64), 0, NONE)))


def words_column(options: WordsField, block: BlockContext) -> pa.Array:
    data = lorem(block.locale)
    picks = block.rng.integers(0, len(data.words), size=(block.size, options.count))
    return _words_joined(data, picks)


def _words_joined(data: Lorem, picks: np.ndarray) -> pa.Array:
    ending = np.full(picks.shape[1], LIST)
    ending[-1] = NONE
    return joined(data, data.piece(picks, 0, ending).astype(np.int32))


def words_capacity(options: WordsField, locale: str) -> int:
    return int(min(len(lorem(locale).words) ** options.count, 2**63))


def words_from_index(options: WordsField, block: BlockContext, k: np.ndarray) -> pa.Array:
    data = lorem(block.locale)
    base = np.uint64(len(data.words))
    rest = k.astype(np.uint64)
    picks = np.empty((k.size, options.count), dtype=np.int64)
    for position in range(options.count):  # mixed-radix digits of k: one word each
        picks[:, position] = (rest % base).astype(np.int64)
        rest = rest // base
    return _words_joined(data, picks)


def sentence_column(options: SentenceField, block: BlockContext) -> pa.Array:
    data = lorem(block.locale)
    pieces = sentence_pieces(data, block.rng, block.size, options.min_words, options.max_words)
    return joined(data, end_sentences_at(data, pieces[:, None, :], np.zeros(block.size, int)))


def paragraph_pieces(
    data: Lorem, rng: np.random.Generator, rows: int, options: WordRange, slots: int
) -> np.ndarray:
    """Return (rows, slots, max_words) pieces: ``slots`` sentences a row."""
    body = sentence_pieces(data, rng, rows * slots, options.min_words, options.max_words)
    return body.reshape(rows, slots, options.max_words)


def paragraph_column(options: ParagraphField, block: BlockContext) -> pa.Array:
    data = lorem(block.locale)
    sentences = block.rng.integers(
        options.min_sentences, options.max_sentences, size=block.size, endpoint=True
    )
    pieces = paragraph_pieces(data, block.rng, block.size, options, options.max_sentences)
    return joined(data, end_sentences_at(data, pieces, sentences - 1))


def text_column(options: TextField, block: BlockContext) -> pa.Array:
    """Whole sentences up to max_chars characters; a first sentence too long is cut short."""
    data = lorem(block.locale)
    word_chars = float(data.char_lengths[1 : 1 + len(data.words)].mean())
    mean_sentence = (options.min_words + options.max_words) / 2 * (word_chars + len(data.connector))
    # Enough sentences to fill max_chars for nearly every row, and no more: a row that
    # runs out is only a little shorter, while spare sentences cost time.
    slots = min(MAX_TEXT_SENTENCES, math.ceil(1.3 * options.max_chars / mean_sentence) + 1)
    pieces = paragraph_pieces(data, block.rng, block.size, options, slots)
    # Each sentence's length with the gap after it; the last kept one loses its gap.
    lengths = data.char_lengths[pieces].sum(axis=2).cumsum(axis=1) - len(data.connector)
    kept = np.count_nonzero(lengths <= options.max_chars, axis=1)
    values = joined(data, end_sentences_at(data, pieces, np.maximum(kept, 1) - 1))
    too_long = kept == 0
    if not too_long.any():
        return values
    cut = pc.binary_join_element_wise(
        pc.utf8_slice_codeunits(values, 0, options.max_chars - len(data.stop)), data.stop, ""
    )
    return pc.if_else(pa.array(too_long), cut, values)


TYPES = (
    FieldType(
        WordField,
        "text",
        "One word from Faker's lorem word list for the locale (ja_JP: Japanese words).",
        "dolor",
        word_column,
        lambda options, locale: len(lorem(locale).words),
        word_from_index,
    ),
    FieldType(
        WordsField,
        "text",
        "count words, space-separated (ja_JP: separated by 、).",
        "amet dolor sit",
        words_column,
        words_capacity,
        words_from_index,
    ),
    FieldType(
        SentenceField,
        "text",
        "Sentence of min_words..max_words words with the locale's punctuation (ja_JP: 。).",
        "Dolor sit amet consectetur.",
        sentence_column,
    ),
    FieldType(
        ParagraphField,
        "text",
        "Paragraph of min_sentences..max_sentences sentences.",
        "Dolor sit amet. Consectetur adipiscing elit sed.",
        paragraph_column,
    ),
    FieldType(
        TextField,
        "text",
        "Whole sentences filling at most max_chars characters.",
        "Dolor sit amet consectetur. Adipiscing elit sed do.",
        text_column,
    ),
)
