"""Output formats: turn blocks (Arrow tables) into the bytes of one file.

``FORMATS`` maps each format name on the wire to its ``FileFormat``; ``open_encoder`` gives
the encoder for a dataset's format, options and compression; ``output_file`` the file
extension and content type a download should carry (``users.csv.gz``, ``application/gzip``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from generators.writers.base import BlockEncoder, EncoderSettings, FileFormat
from generators.writers.compression import GzipEncoder
from generators.writers.delimited import open_csv, open_tsv
from generators.writers.json_text import JsonArrayEncoder, JsonLinesEncoder
from generators.writers.options import OPTIONS_BY_FORMAT, FormatOptions, option_problems
from generators.writers.parquet import ParquetEncoder
from generators.writers.sql import open_sql
from generators.writers.xlsx import XlsxEncoder

Compression = Literal["none", "gzip"]

FORMATS: Mapping[str, FileFormat] = MappingProxyType(
    {
        "csv": FileFormat("csv", "csv", "text/csv; charset=utf-8", True, open_csv),
        "tsv": FileFormat("tsv", "tsv", "text/tab-separated-values; charset=utf-8", True, open_tsv),
        "json": FileFormat("json", "json", "application/json", True, JsonArrayEncoder),
        "jsonl": FileFormat("jsonl", "jsonl", "application/x-ndjson", True, JsonLinesEncoder),
        "parquet": FileFormat(
            "parquet", "parquet", "application/vnd.apache.parquet", False, ParquetEncoder
        ),
        "sql": FileFormat("sql", "sql", "application/sql; charset=utf-8", True, open_sql),
        "xlsx": FileFormat(
            "xlsx",
            "xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            False,
            XlsxEncoder,
        ),
    }
)
# Kept for callers that only check a name or read an uncompressed file type.
WRITERS = FORMATS
assert set(FORMATS) == set(OPTIONS_BY_FORMAT)


@dataclass(frozen=True)
class OutputFile:
    """The file type of a dataset's output."""

    file_extension: str
    content_type: str


def writer_for(format: str) -> FileFormat:
    """Return the format for a name such as ``"csv"``; KeyError if unknown."""
    return FORMATS[format]


def output_file(
    format: str, options: FormatOptions | None = None, compression: Compression = "none"
) -> OutputFile:
    """Return the extension and content type of a file in ``format`` with these options."""
    file_format = FORMATS[format]
    if compression == "gzip":
        return OutputFile(f"{file_format.file_extension}.gz", "application/gzip")
    content_type = file_format.content_type
    if options is not None and options.encoding == "cp932":
        content_type = content_type.replace("utf-8", "Windows-31J")
    return OutputFile(file_format.file_extension, content_type)


def open_encoder(
    format: str,
    settings: EncoderSettings,
    compression: Compression = "none",
) -> BlockEncoder:
    """Return a fresh encoder for one file (or one shard of a concatenable format)."""
    encoder = FORMATS[format].open_encoder(settings)
    return GzipEncoder(encoder) if compression == "gzip" else encoder


__all__ = [
    "FORMATS",
    "WRITERS",
    "BlockEncoder",
    "Compression",
    "EncoderSettings",
    "FileFormat",
    "FormatOptions",
    "OutputFile",
    "open_encoder",
    "option_problems",
    "output_file",
    "writer_for",
]
