"""Splitting one job's file into shards that any workers can make in parallel.

A shard is a run of whole blocks. Because a block's bytes depend only on (spec, seed, block
index) and the concatenable formats join blocks by plain concatenation, shard ``i`` encoded
on any worker is exactly bytes ``[start_i, end_i)`` of the single-worker file, and the shards
uploaded as parts ``1..n`` of one S3 multipart upload are that file, byte for byte.

Every part but the last must be at least 5 MiB, and an upload has at most 10,000 parts. The
plan sizes shards from the encoded size of block 0 (blocks of one spec come out within a
few per cent of each other), aiming at ``target_bytes`` per shard. Formats that are not
concatenable (Parquet, XLSX, a multi-table archive) and small files are one shard: one
worker writes them whole, as before sharding existed.
"""

from __future__ import annotations

import math

import msgspec

from generators.engine import block_count
from generators.output import is_concatenable, iter_encoded
from generators.spec import DatasetSpec

MAX_PARTS = 10_000


class ShardRange(msgspec.Struct, frozen=True, array_like=True):
    """Blocks ``first_block..stop_block-1`` of a file: one shard, one multipart part."""

    first_block: int
    stop_block: int


def plan_shards(spec: DatasetSpec, target_bytes: int) -> list[ShardRange]:
    """Return the shards of ``spec``'s file, in file order; one range when it is not split."""
    blocks = block_count(spec)
    whole = [ShardRange(0, blocks)]
    if blocks < 2 or not is_concatenable(spec):
        return whole
    sample = sum(len(data) for rows, data in iter_encoded(spec, 0, 1) if rows)
    blocks_per_shard = max(math.ceil(target_bytes / max(sample, 1)), math.ceil(blocks / MAX_PARTS))
    if blocks_per_shard >= blocks:
        return whole
    return [
        ShardRange(first, min(first + blocks_per_shard, blocks))
        for first in range(0, blocks, blocks_per_shard)
    ]
