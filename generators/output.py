"""A dataset's file as bytes: block by block for streaming and sharding, or whole to a sink.

``iter_encoded`` yields ``(rows, bytes)`` per block such that the bytes of all items, in
order, are the whole file: the header rides on block 0, and whatever closes the file (a
JSON ``]``, an SQL ``COMMIT``, a Parquet footer, an XLSX zip) follows the last block as
items with 0 rows, in chunks of bounded size. Memory stays flat whatever the row count.

Sharding (issue 4): for a concatenable format (``is_concatenable``: CSV, TSV, JSON, JSON
Lines, SQL, with or without gzip) ``iter_encoded(spec, a, b)`` on any worker gives exactly
the bytes of blocks ``a..b-1`` of the whole file, closing bytes included when ``b`` is the
last block, so shards become multipart parts joined in order. Parquet and XLSX keep state
across blocks (row-group offsets, one zip): they start at block 0 only; see
``generators.writers.parquet`` and ``generators.writers.xlsx`` for their plans.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterator
from typing import BinaryIO

import msgspec

from generators.dataset import Dataset
from generators.engine import block_count, generate_block
from generators.spec import DatasetSpec
from generators.writers import FORMATS, EncoderSettings, OutputFile, open_encoder, output_file


def is_concatenable(spec: DatasetSpec) -> bool:
    """Return whether shards of the spec's file, encoded apart, concatenate into the file."""
    return not spec.tables and FORMATS[spec.format].concatenable


def file_type(spec: DatasetSpec) -> OutputFile:
    """Return the spec's file extension and content type (``csv.gz``, ``application/gzip``)."""
    if spec.tables:
        return OutputFile("zip", "application/zip")
    return output_file(spec.format, spec.format_options, spec.compression)


def iter_encoded(
    spec: DatasetSpec, first_block: int = 0, stop_block: int | None = None
) -> Iterator[tuple[int, bytes]]:
    """Yield ``(rows, bytes)`` for blocks ``first_block..stop_block-1``, then the closing bytes.

    The closing bytes come (as items with 0 rows) only when the range reaches the last
    block. Raises ValueError for a range that starts after block 0 in a format that is not
    concatenable. A dataset of several tables is one zip archive, made from block 0 only.
    """
    if spec.tables:
        if first_block > 0 or stop_block is not None:
            raise ValueError("a dataset of several tables is one archive; encode it whole")
        yield from _iter_archive(spec)
        return
    yield from _iter_table(spec, first_block, stop_block)


def _iter_table(
    spec: DatasetSpec,
    first_block: int = 0,
    stop_block: int | None = None,
    dataset: Dataset | None = None,
) -> Iterator[tuple[int, bytes]]:
    total = block_count(spec)
    stop = total if stop_block is None else min(stop_block, total)
    if first_block > 0 and not is_concatenable(spec):
        raise ValueError(
            f"format '{spec.format}' cannot be encoded in shards; encode it from block 0"
        )
    settings = EncoderSettings(spec.format_options, spec.name, total)
    encoder = open_encoder(spec.format, settings, spec.compression)
    for block_index in range(first_block, stop):
        table = generate_block(spec, block_index, dataset)
        yield table.num_rows, encoder.encode(table, block_index)
    if stop == total:
        for chunk in encoder.finish():
            yield 0, chunk


class _Drain:
    """A write-only stream whose bytes are taken out as they come (zipfile writes here)."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


# A fixed time inside every archive member, so the same spec gives the same bytes.
_ZIP_TIME = (2000, 1, 1, 0, 0, 0)


def _iter_archive(spec: DatasetSpec) -> Iterator[tuple[int, bytes]]:
    """One zip with a file per table (in the spec's format) and a manifest.json."""
    dataset = Dataset(spec)
    drain = _Drain()
    compress = zipfile.ZIP_DEFLATED if spec.compression == "gzip" else zipfile.ZIP_STORED
    manifest: list[dict[str, object]] = []
    with zipfile.ZipFile(drain, "w", compression=compress, compresslevel=1) as archive:
        for table in dataset.tables.values():
            plain = msgspec.structs.replace(table, compression="none")
            name = f"{table.name}.{file_type(plain).file_extension}"
            manifest.append({"table": table.name, "file": name, "rows": table.rows})
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = compress
            with archive.open(info, "w", force_zip64=True) as member:
                for rows, data in _iter_table(plain, dataset=dataset):
                    member.write(data)
                    yield rows, drain.take()
        about = {"dataset": spec.name, "seed": spec.seed, "tables": manifest}
        info = zipfile.ZipInfo("manifest.json", date_time=_ZIP_TIME)
        archive.writestr(info, msgspec.json.format(msgspec.json.encode(about)) + b"\n")
    yield 0, drain.take()


def write_dataset(
    spec: DatasetSpec, sink: BinaryIO, on_progress: Callable[[int], None] | None = None
) -> int:
    """Write the whole file to ``sink`` and return the number of rows written.

    ``on_progress`` is called after each block with the total rows written so far.
    """
    written = 0
    for rows, encoded in iter_encoded(spec):
        sink.write(encoded)
        if rows:
            written += rows
            if on_progress is not None:
                on_progress(written)
    return written
