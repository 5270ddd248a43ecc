"""Files: names, extensions, MIME types, paths and sizes that agree within a row.

Fields of one row with the same ``category`` describe the same file: ``file_name``,
``file_extension``, ``mime_type``, ``file_path`` and ``file_size`` draw its kind
(extension) from one shared draw, and name and path share its stem.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Annotated, Literal

import msgspec
import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]

from generators.fieldtype import BlockContext, FieldOptions, FieldType
from generators.locales import provider_class
from generators.vectors import WeightedTable, join_by_take

Category = Literal["any", "image", "document", "audio", "video", "text"]
# Extension, IANA media type and typical size in bytes (the median of file_size).
FILE_KINDS: dict[str, tuple[tuple[str, str], ...]] = {
    "image": (
        ("jpg", "image/jpeg"), ("jpeg", "image/jpeg"), ("png", "image/png"),
        ("gif", "image/gif"), ("bmp", "image/bmp"), ("tiff", "image/tiff"),
        ("webp", "image/webp"), ("svg", "image/svg+xml"), ("heic", "image/heic"),
    ),
    "document": (
        ("pdf", "application/pdf"), ("doc", "application/msword"),
        ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("xls", "application/vnd.ms-excel"),
        ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("ppt", "application/vnd.ms-powerpoint"),
        ("pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
        ("odt", "application/vnd.oasis.opendocument.text"),
        ("ods", "application/vnd.oasis.opendocument.spreadsheet"),
        ("odp", "application/vnd.oasis.opendocument.presentation"),
        ("rtf", "application/rtf"),
    ),
    "audio": (
        ("mp3", "audio/mpeg"), ("wav", "audio/wav"), ("flac", "audio/flac"),
        ("aac", "audio/aac"), ("ogg", "audio/ogg"), ("m4a", "audio/mp4"),
    ),
    "video": (
        ("mp4", "video/mp4"), ("mov", "video/quicktime"), ("avi", "video/x-msvideo"),
        ("webm", "video/webm"), ("mkv", "video/x-matroska"),
    ),
    "text": (
        ("txt", "text/plain"), ("csv", "text/csv"), ("html", "text/html"), ("css", "text/css"),
        ("js", "text/javascript"), ("json", "application/json"), ("xml", "application/xml"),
        ("md", "text/markdown"),
    ),
}  # fmt: skip
MEDIAN_BYTES = {"image": 400_000, "document": 150_000, "audio": 4_000_000,
                "video": 60_000_000, "text": 8_000}  # fmt: skip
# How often each category turns up when any file will do.
CATEGORY_WEIGHTS = {"image": 35, "document": 30, "audio": 8, "video": 7, "text": 20}
SIZE_SIGMA = 1.2
UNIX_ROOTS = ("/home/user/", "/var/data/", "/srv/", "/opt/app/", "/mnt/share/", "/usr/local/")
WINDOWS_ROOTS = ("C:\\Users\\user\\", "C:\\ProgramData\\", "D:\\", "C:\\Temp\\")


@dataclass(frozen=True)
class FileKinds:
    """The extensions one category option can give, with their draw weights."""

    extensions: list[str]
    mime_types: list[str]
    medians: np.ndarray
    table: WeightedTable


@functools.cache
def file_kinds(category: Category) -> FileKinds:
    names = list(FILE_KINDS) if category == "any" else [category]
    kinds = [(kind, name) for name in names for kind in FILE_KINDS[name]]
    weights = [CATEGORY_WEIGHTS[name] / len(FILE_KINDS[name]) for _, name in kinds]
    return FileKinds(
        [extension for (extension, _), _ in kinds],
        [mime for (_, mime), _ in kinds],
        np.array([MEDIAN_BYTES[name] for _, name in kinds], dtype=np.float64),
        WeightedTable.from_weights(weights),
    )


@dataclass(frozen=True)
class PathPieces:
    """One locale's words and separators for file names and paths, as one lookup."""

    strings: pa.Array
    base: dict[str, int]
    words: int


@functools.cache
def path_pieces(locale: str, category: Category) -> PathPieces:
    words = sorted({w for w in provider_class("lorem", locale).word_list if w.isalnum()})
    segments: dict[str, list[str]] = {
        "word": words,
        "second": ["", *(f"_{w}" for w in words)],
        "extension": [f".{e}" for e in file_kinds(category).extensions],
        "unix_root": list(UNIX_ROOTS),
        "windows_root": list(WINDOWS_ROOTS),
        "unix_dir": [f"{w}/" for w in words],
        "windows_dir": [f"{w}\\" for w in words],
    }
    base: dict[str, int] = {}
    combined: list[str] = []
    for key, strings in segments.items():
        base[key] = len(combined)
        combined.extend(strings)
    return PathPieces(pa.array(combined, type=pa.string()), base, len(words))


def shared_kinds(block: BlockContext, category: Category) -> np.ndarray:
    """Return each row's file kind (index into ``file_kinds(category)``), shared by the row."""
    table = file_kinds(category).table
    return block.shared(f"file-kind:{category}", lambda rng: table.draw(rng, block.size))


def shared_stems(block: BlockContext) -> tuple[np.ndarray, np.ndarray]:
    """Return each row's file stem as (word, second word or 0), shared by the row."""
    words = path_pieces(block.locale, "any").words

    def make(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        first = rng.integers(0, words, size=block.size)
        # One stem in three joins two words ("report_final").
        second = np.where(rng.random(block.size) < 1 / 3, rng.integers(1, words + 1, block.size), 0)
        return first, second

    return block.shared(f"file-stem:{block.locale}", make)


class _FileOptions(FieldOptions, frozen=True):
    category: Category = "any"


class FileNameField(_FileOptions, tag="file_name", frozen=True):
    pass


class FileExtensionField(_FileOptions, tag="file_extension", frozen=True):
    pass


class MimeTypeField(_FileOptions, tag="mime_type", frozen=True):
    pass


class FilePathField(_FileOptions, tag="file_path", frozen=True):
    style: Literal["unix", "windows"] = "unix"
    depth: Annotated[int, msgspec.Meta(ge=0, le=8)] = 2


class FileSizeField(_FileOptions, tag="file_size", frozen=True):
    median: Annotated[int, msgspec.Meta(ge=1, le=10**15)] | None = None
    sigma: Annotated[float, msgspec.Meta(ge=0.0, le=5.0)] = SIZE_SIGMA


def _name_parts(block: BlockContext, category: Category) -> list[np.ndarray]:
    pieces = path_pieces(block.locale, category)
    first, second = shared_stems(block)
    kind = shared_kinds(block, category)
    return [
        first + pieces.base["word"],
        second + pieces.base["second"],
        kind + pieces.base["extension"],
    ]


def file_name_column(options: FileNameField, block: BlockContext) -> pa.Array:
    pieces = path_pieces(block.locale, options.category)
    return join_by_take(pieces.strings, _name_parts(block, options.category))


def file_extension_column(options: FileExtensionField, block: BlockContext) -> pa.Array:
    extensions = pa.array(file_kinds(options.category).extensions, type=pa.string())
    return extensions.take(shared_kinds(block, options.category))


def mime_type_column(options: MimeTypeField, block: BlockContext) -> pa.Array:
    mime_types = pa.array(file_kinds(options.category).mime_types, type=pa.string())
    return mime_types.take(shared_kinds(block, options.category))


def file_path_column(options: FilePathField, block: BlockContext) -> pa.Array:
    pieces = path_pieces(block.locale, options.category)
    roots = UNIX_ROOTS if options.style == "unix" else WINDOWS_ROOTS
    root = block.rng.integers(0, len(roots), size=block.size) + pieces.base[f"{options.style}_root"]
    folders = [
        block.rng.integers(0, pieces.words, size=block.size) + pieces.base[f"{options.style}_dir"]
        for _ in range(options.depth)
    ]
    return join_by_take(pieces.strings, [root, *folders, *_name_parts(block, options.category)])


def file_size_column(options: FileSizeField, block: BlockContext) -> pa.Array:
    if options.median is None:
        # The typical size of the row's own kind of file (a video is bigger than a text).
        median = file_kinds(options.category).medians[shared_kinds(block, options.category)]
    else:
        median = np.full(block.size, float(options.median))
    sizes = median * np.exp(options.sigma * block.rng.standard_normal(block.size))
    return pa.array(np.maximum(np.rint(sizes), 1).astype(np.int64), type=pa.int64())


TYPES = (
    FieldType(
        FileNameField,
        "file",
        "File name: one or two of the locale's lorem words and an extension of category "
        "(any, image, document, audio, video, text).",
        "report_final.pdf",
        file_name_column,
    ),
    FieldType(
        FileExtensionField,
        "file",
        "File extension of category, the same as file_name's in the row.",
        "png",
        file_extension_column,
    ),
    FieldType(
        MimeTypeField,
        "file",
        "IANA media type of the row's file (matches file_name / file_extension of the same "
        "category in the row).",
        "image/png",
        mime_type_column,
    ),
    FieldType(
        FilePathField,
        "file",
        "Absolute unix or windows path: a root, depth folders and the row's file name.",
        "/home/user/data/archive/report_final.pdf",
        file_path_column,
    ),
    FieldType(
        FileSizeField,
        "file",
        "File size in bytes, lognormal around median (default: typical of the row's kind of "
        "file) with spread sigma.",
        "482113",
        file_size_column,
    ),
)
