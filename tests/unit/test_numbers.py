"""Numbers as a user sees them: shaped draws inside their range, exact decimals, uniqueness."""

import decimal
from typing import Any

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pytest

from generators.engine import BLOCK_ROWS
from generators.errors import SpecError
from tests.unit.making import made_column


def values(field: dict[str, Any], rows: int = BLOCK_ROWS, locale: str = "en_US") -> pa.Array:
    return made_column(field, rows=rows, seed=7, locale=locale)


def numbers(field: dict[str, Any]) -> np.ndarray:
    return np.asarray(values(field).to_numpy(zero_copy_only=False), dtype=np.float64)


def test_normal_integers_have_the_asked_mean_and_stddev_inside_bounds() -> None:
    drawn = numbers(
        {
            "type": "integer",
            "min": 0,
            "max": 1000,
            "distribution": "normal",
            "mean": 300,
            "stddev": 40,
        }
    )
    assert abs(drawn.mean() - 300) < 1
    assert abs(drawn.std() - 40) < 1
    assert drawn.min() >= 0 and drawn.max() <= 1000


def test_a_normal_cut_by_the_range_is_truncated_not_piled_on_the_bound() -> None:
    drawn = numbers(
        {"type": "float", "min": 0, "max": 10, "distribution": "normal", "mean": 10, "stddev": 2}
    )
    assert drawn.min() >= 0 and drawn.max() <= 10
    # Clipping would put half of all values exactly on 10.
    assert (drawn == 10).mean() < 0.01
    # The upper half of a normal truncated at its mean: mean - stddev * sqrt(2 / pi).
    assert abs(drawn.mean() - (10 - 2 * np.sqrt(2 / np.pi))) < 0.05


def test_poisson_counts_have_mean_lam() -> None:
    drawn = numbers(
        {"type": "integer", "min": 0, "max": 1000, "distribution": "poisson", "lam": 4.5}
    )
    assert abs(drawn.mean() - 4.5) < 0.05
    assert abs(drawn.var() - 4.5) < 0.15
    assert np.all(drawn == np.round(drawn))


def test_lognormal_from_mean_and_stddev_reproduces_them() -> None:
    drawn = numbers(
        {
            "type": "float",
            "min": 0,
            "max": 1e9,
            "decimals": 4,
            "distribution": "lognormal",
            "mean": 100,
            "stddev": 50,
        }
    )
    assert abs(drawn.mean() - 100) < 1.5
    assert abs(drawn.std() - 50) < 2.5
    assert drawn.min() > 0


def test_lognormal_median_and_sigma_put_half_the_values_below_the_median() -> None:
    drawn = numbers(
        {
            "type": "decimal",
            "min": 0.01,
            "max": 1e6,
            "distribution": "lognormal",
            "median": 250,
            "sigma": 0.8,
        }
    )
    assert abs(np.median(drawn) - 250) < 5


@pytest.mark.parametrize("distribution", ["uniform", "normal", "lognormal", "poisson"])
def test_every_distribution_stays_inside_a_narrow_range(distribution: str) -> None:
    field = {
        "type": "integer",
        "min": 40,
        "max": 45,
        "distribution": distribution,
        "mean": 50,
        "stddev": 3,
        "mu": 3.9,
        "sigma": 0.5,
        "lam": 60,
    }
    drawn = numbers(field)
    assert drawn.min() >= 40 and drawn.max() <= 45


def test_decimals_are_exact_decimal128_with_the_asked_places() -> None:
    column = values({"type": "decimal", "min": -5, "max": 5, "decimals": 3}, rows=2000)
    assert column.type == pa.decimal128(38, 3)
    drawn = column.to_pylist()
    assert all(isinstance(d, decimal.Decimal) and d.as_tuple().exponent == -3 for d in drawn)
    assert all(decimal.Decimal(-5) <= d <= decimal.Decimal(5) for d in drawn)
    assert any(d < 0 for d in drawn) and any(d > 0 for d in drawn)


def test_percentages_stay_between_0_and_100() -> None:
    drawn = numbers({"type": "percentage", "distribution": "normal", "mean": 95, "stddev": 10})
    assert drawn.min() >= 0 and drawn.max() <= 100


def test_same_seed_gives_the_same_shaped_draws_and_float_options_keep_working() -> None:
    field = {"type": "float", "min": 1, "max": 2, "decimals": 1, "distribution": "normal"}
    assert values(field, rows=500).equals(values(field, rows=500))
    assert set(numbers({"type": "float", "min": 1, "max": 2, "decimals": 1})) <= {
        round(1 + i / 10, 1) for i in range(11)
    }


@pytest.mark.parametrize(
    ("field", "option"),
    [
        ({"type": "integer", "distribution": "poisson"}, "lam"),
        ({"type": "integer", "distribution": "normal", "stddev": 0}, "stddev"),
        ({"type": "float", "distribution": "lognormal"}, "distribution"),
        (
            {
                "type": "float",
                "distribution": "lognormal",
                "mu": 1,
                "sigma": 1,
                "max": -1,
                "min": -2,
            },
            "max",
        ),
        ({"type": "decimal", "max": 1e17, "decimals": 2}, "max"),
        ({"type": "percentage", "max": 150}, "min"),
    ],
)
def test_impossible_shapes_are_refused_naming_the_option(
    field: dict[str, Any], option: str
) -> None:
    with pytest.raises(SpecError) as caught:
        values({"name": "x", **field}, rows=10)
    assert caught.value.field == f"fields[0].{option}"


@pytest.mark.parametrize(
    "field",
    [
        {"type": "integer", "min": -100_000, "max": 99_999},
        {"type": "float", "min": 0, "max": 2000, "decimals": 2},
        {"type": "decimal", "min": 0, "max": 20, "decimals": 4},
        {"type": "percentage", "decimals": 4},
        {"type": "sequence", "start": 10, "step": -7},
    ],
)
def test_unique_numbers_never_repeat_over_200_000_rows(field: dict[str, Any]) -> None:
    column = values({**field, "unique": True}, rows=200_000)
    assert len(column.unique()) == 200_000


def test_integer_capacity_is_exactly_the_range() -> None:
    assert (
        len(values({"type": "integer", "min": 1, "max": 500, "unique": True}, 500).unique()) == 500
    )
    with pytest.raises(SpecError, match="at most 500"):
        values({"type": "integer", "min": 1, "max": 500, "unique": True}, rows=501)


def test_unique_sequence_stays_in_row_order() -> None:
    column = values({"type": "sequence", "start": 5, "step": 2, "unique": True}, rows=1000)
    assert column.to_pylist() == list(range(5, 2005, 2))
