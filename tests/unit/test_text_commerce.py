"""Text, shop and company values as a user sees them, in en_US and ja_JP."""

import decimal
import re
from typing import Any

import pytest
from faker.providers.company.ja_JP import Provider as JaCompany
from faker.providers.job.ja_JP import Provider as JaJob
from faker.providers.lorem.en_US import Provider as EnLorem
from faker.providers.lorem.ja_JP import Provider as JaLorem
from faker.providers.person.ja_JP import Provider as JaPerson

from tests.unit.making import made_column

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def values(field: dict[str, Any], rows: int = 2000, locale: str = "en_US") -> list[Any]:
    result: list[Any] = made_column(field, rows=rows, seed=5, locale=locale).to_pylist()
    return result


def test_ja_jp_sentences_are_japanese_end_with_maru_and_have_no_spaces() -> None:
    sentences = values({"type": "sentence", "min_words": 3, "max_words": 9}, locale="ja_JP")
    assert all(JAPANESE.search(s) and s.endswith("。") and " " not in s for s in sentences)
    assert all(s.count("。") == 1 for s in sentences)
    assert any("、" in s for s in sentences)


def test_ja_jp_paragraphs_hold_the_asked_number_of_sentences() -> None:
    paragraphs = values(
        {"type": "paragraph", "min_sentences": 2, "max_sentences": 4}, locale="ja_JP"
    )
    assert {p.count("。") for p in paragraphs} == {2, 3, 4}
    assert all(" " not in p and p.endswith("。") for p in paragraphs)


def test_en_us_sentences_have_word_counts_in_range_from_fakers_words() -> None:
    sentences = values({"type": "sentence", "min_words": 4, "max_words": 6})
    known = set(EnLorem.word_list)
    capitalised = {w[:1].upper() + w[1:] for w in known}
    counts = set()
    for sentence in sentences:
        assert sentence[0].isupper() and sentence.endswith(".")
        words = sentence[:-1].replace(",", "").split(" ")
        counts.add(len(words))
        assert words[0] in capitalised and set(words[1:]) <= known
    assert counts == {4, 5, 6}


def test_paragraph_sentences_are_separated_by_one_space_in_en_us() -> None:
    for paragraph in values({"type": "paragraph", "min_sentences": 1, "max_sentences": 3}):
        assert "  " not in paragraph and not paragraph.startswith(" ")
        assert len(re.findall(r"\.( |$)", paragraph)) in range(1, 4)


@pytest.mark.parametrize("locale", ["en_US", "ja_JP"])
@pytest.mark.parametrize("max_chars", [10, 60, 300])
def test_text_never_exceeds_max_chars_and_ends_a_sentence(locale: str, max_chars: int) -> None:
    texts = values({"type": "text", "max_chars": max_chars}, locale=locale)
    stop = "。" if locale == "ja_JP" else "."
    assert all(0 < len(t) <= max_chars and t.endswith(stop) for t in texts)
    if max_chars == 300:
        assert sum(len(t) for t in texts) / len(texts) > 150  # filled, not one short sentence


def test_words_come_from_the_locales_lorem_list() -> None:
    assert set(values({"type": "word"}, locale="ja_JP")) <= set(JaLorem.word_list)
    for value in values({"type": "words", "count": 4}, locale="ja_JP"):
        assert len(value.split("、")) == 4
    assert all(len(v.split(" ")) == 2 for v in values({"type": "words", "count": 2}))


def test_product_names_are_adjective_material_product() -> None:
    names = values({"type": "product_name"})
    assert all(len(n.split(" ")) == 3 for n in names)
    assert all(
        JAPANESE.search(n) and " " not in n
        for n in values({"type": "product_name"}, locale="ja_JP")
    )


def test_prices_use_the_currency_decimals() -> None:
    yen = values({"type": "price", "min": 100, "max": 50_000}, locale="ja_JP")
    assert all(isinstance(p, decimal.Decimal) and p == p.to_integral_value() for p in yen)
    assert all(100 <= p <= 50_000 for p in yen)
    dollars = values({"type": "price", "min": 1, "max": 20})
    assert all(p.as_tuple().exponent == -2 for p in dollars)
    dinars = values({"type": "price", "currency": "KWD"}, locale="ja_JP")
    assert all(p.as_tuple().exponent == -3 for p in dinars)


def test_skus_follow_their_pattern_and_quantities_are_small_counts() -> None:
    assert all(re.fullmatch(r"[A-Z]{3}-\d{5}", s) for s in values({"type": "sku"}))
    custom = values({"type": "sku", "pattern": "SKU-LL##"})
    assert all(re.fullmatch(r"SKU-[A-Z]{2}\d{2}", s) for s in custom)
    quantities = values({"type": "quantity"})
    assert min(quantities) == 1 and max(quantities) <= 10
    assert quantities.count(1) > quantities.count(6)


def test_ja_jp_company_names_put_the_legal_form_before_or_after() -> None:
    names = values({"type": "company_name"}, locale="ja_JP")
    prefixes = JaCompany.company_prefixes
    categories = "|".join(JaCompany.company_categories)
    forms = "|".join(prefixes)
    surnames = "|".join(JaPerson.last_names)
    pattern = re.compile(
        rf"(({forms})({surnames})({categories})|({surnames})({categories})({forms}))"
    )
    assert all(pattern.fullmatch(n) for n in names)
    assert any(n.startswith(prefixes) for n in names) and any(n.endswith(prefixes) for n in names)


def test_company_words_are_localised() -> None:
    assert set(values({"type": "job_title"}, locale="ja_JP")) <= set(JaJob.jobs)
    assert set(values({"type": "company_suffix"}, locale="ja_JP")) == set(
        JaCompany.company_prefixes
    )
    assert all(d.endswith("部") for d in values({"type": "department_name"}, locale="ja_JP"))
    assert all(len(p.split(" ")) >= 3 for p in values({"type": "catch_phrase"}))
    assert {"Inc", "LLC"} <= set(values({"type": "company_suffix"}))


@pytest.mark.parametrize(
    ("field", "locale"),
    [
        ({"type": "sku"}, "en_US"),
        ({"type": "catch_phrase"}, "en_US"),
        ({"type": "words", "count": 3}, "ja_JP"),
        ({"type": "price", "max": 100_000}, "en_US"),
    ],
)
def test_unique_text_values_never_repeat_over_200_000_rows(
    field: dict[str, Any], locale: str
) -> None:
    drawn = values({**field, "unique": True}, rows=200_000, locale=locale)
    assert len(set(drawn)) == 200_000


def test_unique_small_lists_fill_their_capacity() -> None:
    names = values({"type": "product_name", "unique": True}, rows=15_840)
    assert len(set(names)) == 15_840
    assert len(set(values({"type": "department_name", "unique": True}, 18, "ja_JP"))) == 18
