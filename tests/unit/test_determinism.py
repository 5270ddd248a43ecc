"""Same spec and seed, same bytes: whichever way the file is cut into shards, on any worker."""

from __future__ import annotations

import functools
import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from generators.engine import BLOCK_ROWS, block_count
from generators.output import iter_encoded
from generators.spec import DatasetSpec, parse_spec


@functools.cache
def spec_for(fmt: str, compression: str) -> DatasetSpec:
    return parse_spec(
        {
            "name": "det",
            "rows": 4 * BLOCK_ROWS + 123,
            "format": fmt,
            "compression": compression,
            "locale": "ja_JP",
            "seed": 77,
            "edge_case_rate": 0.01,
            "fields": [
                {"name": "id", "type": "sequence"},
                {"name": "name", "type": "full_name", "null_rate": 0.05},
                {"name": "mail", "type": "template", "template": "{last_name_romaji|lower}@x.jp"},
                {"name": "n", "type": "integer", "distribution": "normal", "min": 0, "max": 99},
            ],
        }
    )


@functools.cache
def whole(fmt: str, compression: str) -> bytes:
    return b"".join(data for _, data in iter_encoded(spec_for(fmt, compression)))


@settings(max_examples=15, deadline=None)
@given(
    fmt=st.sampled_from(["csv", "tsv", "json", "jsonl", "sql"]),
    compression=st.sampled_from(["none", "gzip"]),
    cuts=st.sets(st.integers(1, 4), max_size=3),
)
def test_any_cut_into_shards_concatenates_to_the_same_file(
    fmt: str, compression: str, cuts: set[int]
) -> None:
    spec = spec_for(fmt, compression)
    bounds = [0, *sorted(cuts), block_count(spec)]
    shards = [
        b"".join(data for _, data in iter_encoded(spec, start, stop if stop < bounds[-1] else None))
        for start, stop in itertools.pairwise(bounds)
    ]
    assert b"".join(shards) == whole(fmt, compression)
