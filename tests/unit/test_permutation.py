"""The keyed permutation behind unique fields: a bijection, whatever the size and the key."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from generators.permutation import Permutation


@settings(max_examples=60, deadline=None)
@given(size=st.integers(1, 5000), key=st.integers(0, 2**32))
def test_every_number_below_size_is_hit_exactly_once(size: int, key: int) -> None:
    images = Permutation(size, key)(np.arange(size))
    assert np.array_equal(np.sort(images), np.arange(size, dtype=np.uint64))


def test_slices_of_the_row_range_agree_with_the_whole() -> None:
    numbering = Permutation(10**8, [42, 7])
    whole = numbering(np.arange(0, 200_000))
    parts = [numbering(np.arange(start, start + 50_000)) for start in range(0, 200_000, 50_000)]
    assert np.array_equal(whole, np.concatenate(parts))


def test_huge_domains_stay_in_range_and_distinct() -> None:
    for size in (2**63 - 1, 2**64, 10**18 + 9):
        images = Permutation(size, 1)(np.arange(100_000))
        assert len(np.unique(images)) == 100_000
        assert int(images.max()) < size


def test_different_keys_give_different_orders() -> None:
    rows = np.arange(1000)
    assert not np.array_equal(Permutation(1000, 1)(rows), Permutation(1000, 2)(rows))
    # ...and the order does not look like the identity.
    assert np.mean(Permutation(1000, 1)(rows) == rows) < 0.05


def test_unique_values_hold_at_100_million_rows_without_remembering_any() -> None:
    """Blocks from the start, the middle and the very end of a 100M-row file share no value."""
    from generators.engine import BLOCK_ROWS, block_count, generate_block
    from generators.spec import parse_spec

    spec = parse_spec(
        {
            "name": "big",
            "rows": 100_000_000,
            "format": "csv",
            "locale": "ja_JP",
            "seed": 1,
            "fields": [
                {"name": "email", "type": "email", "unique": True},
                {"name": "code", "type": "uuid4", "unique": True},
                {"name": "n", "type": "integer", "min": 0, "max": 99_999_999, "unique": True},
            ],
        }
    )
    last = block_count(spec) - 1
    blocks = [generate_block(spec, index) for index in (0, 1, last // 2, last)]
    assert blocks[-1].num_rows == 100_000_000 - last * BLOCK_ROWS
    for name in ("email", "code", "n"):
        values = [v for block in blocks for v in block.column(name).to_pylist()]
        assert len(set(values)) == len(values), name
    # Every integer of [0, 10**8) is used exactly once over the file: a permutation.
    assert all(0 <= v < 100_000_000 for block in blocks for v in block.column("n").to_pylist())
