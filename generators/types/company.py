"""Companies: names in the locale's legal patterns, legal forms, job titles, departments,
catch phrases. Names and jobs come from Faker's company, person and job providers."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]

from generators.fieldtype import BlockContext, FieldOptions, FieldType
from generators.locales import provider_class
from generators.vectors import WeightedTable, join_by_take

PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")

DEPARTMENTS = {
    "en": (
        "Sales", "Marketing", "Human Resources", "Finance", "Accounting", "Legal",
        "Engineering", "Research and Development", "Customer Support", "Operations",
        "Procurement", "Quality Assurance", "Information Technology", "Public Relations",
        "Logistics", "Product Management", "Design", "General Affairs",
    ),
    "ja": (
        "営業部", "マーケティング部", "人事部", "財務部", "経理部", "法務部", "開発部",
        "研究開発部", "カスタマーサポート部", "業務部", "購買部", "品質保証部",
        "情報システム部", "広報部", "物流部", "企画部", "デザイン部", "総務部",
    ),
}  # fmt: skip


@dataclass(frozen=True)
class CompanyNames:
    """A locale's company-name formats compiled to lookup slots.

    ``slots[f][j]`` is, for format f and piece j, either ``("text", index)`` for fixed
    text or ``("list", name)`` for a draw from ``lists[name]``.
    """

    lookup: pa.StringArray
    bases: Mapping[str, int]
    tables: Mapping[str, WeightedTable]
    formats: WeightedTable
    slots: tuple[tuple[tuple[str, int | str], ...], ...]

    @property
    def width(self) -> int:
        return max(len(pieces) for pieces in self.slots)


def _word_list(values: object) -> tuple[list[str], list[float]]:
    """Return a Faker list or weighted dict as (words, weights)."""
    if isinstance(values, Mapping):
        return list(values), [float(w) for w in values.values()]
    words = list(values)  # type: ignore[call-overload]
    return words, [1.0] * len(words)


def _placeholder_values(name: str, locale: str) -> object | None:
    """Return Faker's list behind a format placeholder such as ``company_category``."""
    if name in ("last_name", "first_name"):
        return getattr(provider_class("person", locale), f"{name}s", None)
    company = provider_class("company", locale)
    plurals = (f"{name}s", f"{name}es", f"{name[:-1]}ies")
    for plural in plurals:
        values = getattr(company, plural, None)
        if isinstance(values, (list, tuple, dict)):
            return values
    return None


@functools.cache
def company_names(locale: str) -> CompanyNames:
    """Compile Faker's company formats of ``locale`` (en_US's if none can be compiled)."""
    formats, format_weights = _word_list(provider_class("company", locale).formats)
    pieces: list[str] = [""]
    bases: dict[str, int] = {}
    tables: dict[str, WeightedTable] = {}
    compiled: list[tuple[tuple[str, int | str], ...]] = []
    weights: list[float] = []
    for fmt, weight in zip(formats, format_weights, strict=True):
        slots: list[tuple[str, int | str]] = []
        for position, part in enumerate(PLACEHOLDER.split(fmt)):
            if position % 2 == 0:
                if part:
                    slots.append(("text", len(pieces)))
                    pieces.append(part)
                continue
            if part not in bases:
                values = _placeholder_values(part, locale)
                if values is None:
                    break  # a placeholder we cannot fill: skip this format
                words, word_weights = _word_list(values)
                bases[part] = len(pieces)
                pieces.extend(words)
                tables[part] = WeightedTable.from_weights(word_weights)
            slots.append(("list", part))
        else:
            compiled.append(tuple(slots))
            weights.append(weight)
    if not compiled:
        return company_names("en_US")
    return CompanyNames(
        pa.array(pieces, type=pa.string()),
        bases,
        tables,
        WeightedTable.from_weights(weights),
        tuple(compiled),
    )


def _legal_forms(locale: str) -> tuple[str, ...]:
    company = provider_class("company", locale)
    # ja_JP's legal forms (株式会社, 有限会社, 合同会社) are prefixes; most locales' are suffixes.
    forms = getattr(company, "company_prefixes", None) or company.company_suffixes
    return tuple(dict.fromkeys(_word_list(forms)[0]))


@functools.cache
def legal_forms(locale: str) -> pa.StringArray:
    return pa.array(_legal_forms(locale), type=pa.string())


@functools.cache
def job_titles(locale: str) -> pa.StringArray:
    return pa.array(list(dict.fromkeys(_word_list(provider_class("job", locale).jobs)[0])))


@functools.cache
def departments(locale: str) -> pa.StringArray:
    return pa.array(DEPARTMENTS.get(locale.split("_")[0], DEPARTMENTS["en"]), type=pa.string())


@functools.cache
def catch_phrase_words(locale: str) -> tuple[pa.StringArray, tuple[int, ...], tuple[int, ...]]:
    """Return the three word lists plus a space as one lookup, with each list's base and size."""
    lists: Sequence[Sequence[str]] = provider_class("company", locale).catch_phrase_words
    pieces = [word for words in lists for word in words] + [" "]
    bases = tuple(int(b) for b in np.cumsum([0, *(len(w) for w in lists)]))
    return pa.array(pieces, type=pa.string()), bases, tuple(len(w) for w in lists)


class CompanyNameField(FieldOptions, tag="company_name", frozen=True):
    pass


class CompanySuffixField(FieldOptions, tag="company_suffix", frozen=True):
    pass


class JobTitleField(FieldOptions, tag="job_title", frozen=True):
    pass


class DepartmentNameField(FieldOptions, tag="department_name", frozen=True):
    pass


class CatchPhraseField(FieldOptions, tag="catch_phrase", frozen=True):
    pass


def company_name_column(options: CompanyNameField, block: BlockContext) -> pa.Array:
    names = company_names(block.locale)
    rng = block.rng
    chosen = names.formats.draw(rng, block.size)
    # One uniform per slot and row, whatever the format: the draw count never varies.
    uniforms = rng.random((names.width, block.size))
    parts = [np.zeros(block.size, dtype=np.int32) for _ in range(names.width)]
    for number, slots in enumerate(names.slots):
        rows = chosen == number
        for position, (kind, what) in enumerate(slots):
            if kind == "text":
                parts[position][rows] = int(what)
                continue
            table = names.tables[str(what)]
            picks = np.searchsorted(table.cumulative, uniforms[position][rows], side="right")
            np.minimum(picks, len(table) - 1, out=picks)
            parts[position][rows] = picks + names.bases[str(what)]
    return join_by_take(names.lookup, parts)


def _pick(values: pa.StringArray, block: BlockContext) -> pa.Array:
    return values.take(pa.array(block.rng.integers(0, len(values), size=block.size)))


def _numbered(values: pa.StringArray, k: np.ndarray) -> pa.Array:
    return values.take(pa.array(k.astype(np.int64)))


def company_suffix_column(options: CompanySuffixField, block: BlockContext) -> pa.Array:
    return _pick(legal_forms(block.locale), block)


def job_title_column(options: JobTitleField, block: BlockContext) -> pa.Array:
    return _pick(job_titles(block.locale), block)


def department_name_column(options: DepartmentNameField, block: BlockContext) -> pa.Array:
    return _pick(departments(block.locale), block)


def catch_phrase_column(options: CatchPhraseField, block: BlockContext) -> pa.Array:
    lookup, bases, sizes = catch_phrase_words(block.locale)
    space = np.full(block.size, len(lookup) - 1, dtype=np.int32)
    words = [
        block.rng.integers(0, size, block.size, dtype=np.int32) + base
        for base, size in zip(bases, sizes, strict=False)
    ]
    return join_by_take(lookup, [words[0], space, words[1], space, words[2]])


def catch_phrase_from_index(
    options: CatchPhraseField, block: BlockContext, k: np.ndarray
) -> pa.Array:
    lookup, bases, sizes = catch_phrase_words(block.locale)
    space = np.full(k.size, len(lookup) - 1, dtype=np.int32)
    k = k.astype(np.int64)
    first = (k // (sizes[1] * sizes[2])).astype(np.int32) + bases[0]
    second = (k // sizes[2] % sizes[1]).astype(np.int32) + bases[1]
    third = (k % sizes[2]).astype(np.int32) + bases[2]
    return join_by_take(lookup, [first, space, second, space, third])


TYPES = (
    FieldType(
        CompanyNameField,
        "company",
        "Company name in Faker's patterns for the locale (ja_JP: 株式会社 before or after).",
        "株式会社佐藤食品",
        company_name_column,
    ),
    FieldType(
        CompanySuffixField,
        "company",
        "Legal form of a company (en_US: Inc, LLC; ja_JP: 株式会社, 合同会社).",
        "LLC",
        company_suffix_column,
        lambda options, locale: len(legal_forms(locale)),
        lambda options, block, k: _numbered(legal_forms(block.locale), k),
    ),
    FieldType(
        JobTitleField,
        "company",
        "Job title from Faker's job list for the locale.",
        "Software engineer",
        job_title_column,
        lambda options, locale: len(job_titles(locale)),
        lambda options, block, k: _numbered(job_titles(block.locale), k),
    ),
    FieldType(
        DepartmentNameField,
        "company",
        "Department of an organisation (ja_JP: 営業部, 総務部, …).",
        "Human Resources",
        department_name_column,
        lambda options, locale: len(departments(locale)),
        lambda options, block, k: _numbered(departments(block.locale), k),
    ),
    FieldType(
        CatchPhraseField,
        "company",
        "Three-word business catch phrase (English word lists).",
        "Adaptive asynchronous hierarchy",
        catch_phrase_column,
        lambda options, locale: int(np.prod(catch_phrase_words(locale)[2])),
        catch_phrase_from_index,
    ),
)
