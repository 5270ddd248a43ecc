"""What a file format is to the engine: a name, a file type, and an encoder for its blocks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

import pyarrow as pa  # type: ignore[import-untyped]

from generators.writers.options import FormatOptions


@dataclass(frozen=True)
class EncoderSettings:
    """What an encoder needs besides the blocks: the options, the dataset's name, its size."""

    options: FormatOptions
    dataset_name: str
    total_blocks: int


class BlockEncoder(Protocol):
    """Turns one file's blocks, in order, into its bytes.

    ``encode(table, block_index)`` returns the bytes of that block, block 0's starting with
    the file's header; ``finish()`` yields whatever closes the file (a footer, a zip's
    directory) in chunks of bounded size, after the last block.
    """

    def encode(self, table: pa.Table, block_index: int) -> bytes: ...

    def finish(self) -> Iterator[bytes]: ...


@dataclass(frozen=True)
class FileFormat:
    """One output format.

    ``concatenable``: a fresh encoder gives the same bytes for block ``i`` as one that
    encoded blocks ``0..i-1`` first, and ``finish`` depends on nothing, so shards encoded
    by different workers join into the whole file by plain concatenation.
    """

    name: str
    file_extension: str
    content_type: str
    concatenable: bool
    open_encoder: Callable[[EncoderSettings], BlockEncoder]


def no_footer() -> Iterator[bytes]:
    """Yield nothing: the finish() of a format whose last block needs no trailer."""
    return iter(())
