"""The regex type: every value matches its pattern; patterns it cannot honour are refused."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generators.engine import generate_block
from generators.errors import SpecError
from generators.spec import parse_spec


def values(pattern: str, rows: int = 5000, **options: object) -> list[str]:
    field = {"name": "r", "type": "regex", "pattern": pattern, **options}
    spec = parse_spec({"name": "t", "rows": rows, "format": "csv", "seed": 4, "fields": [field]})
    column: list[str] = generate_block(spec, 0).column("r").to_pylist()
    return column


@pytest.mark.parametrize(
    "pattern",
    [
        r"[A-Z]{2}-\d{4}",
        r"(foo|bar)+_[a-f0-9]{8}",
        r"^\w+@(example|test)\.(com|jp)$",
        r"[^a-z]{3}",
        r"0[789]0-\d{4}-\d{4}",
        r"x?y*z+",
        r"[ぁ-ん]{3,5}",
        r"\s\S\W\D.",
    ],
)
def test_every_value_matches_the_pattern(pattern: str) -> None:
    made = values(pattern)
    assert all(re.fullmatch(pattern, value) for value in made)
    assert len(set(made)) > 1


def test_open_repeats_stop_at_max_repeat() -> None:
    assert max(len(v) for v in values("a*", max_repeat=3)) == 3
    assert {len(v) for v in values("a+", max_repeat=2)} == {1, 2, 3}


@settings(max_examples=40, deadline=None)
@given(
    st.from_regex(r"\[[a-z0-9]{1,5}\]\{[1-4]\}(\|[A-Z]{1,3})?", fullmatch=True),
)
def test_generated_patterns_hold(pattern: str) -> None:
    assert all(re.fullmatch(pattern, value) for value in values(pattern, rows=200))


@pytest.mark.parametrize(
    ("pattern", "words"),
    [
        (r"(a)\1", "back-references"),
        (r"(?=a)b", "look-arounds"),
        (r"[", "not a valid regular expression"),
        (r"a{5000}", "too large"),
        (r"(a{100}){100}", "expands too much"),
    ],
)
def test_patterns_that_cannot_be_generated_are_refused(pattern: str, words: str) -> None:
    with pytest.raises(SpecError) as caught:
        values(pattern)
    assert caught.value.field == "fields[0].pattern"
    assert words in caught.value.detail
