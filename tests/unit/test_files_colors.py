"""Files and colours as a user sees them: one file per row, colours in valid notations."""

import mimetypes
import re
import statistics
from typing import Any

from faker.providers.color.en_US import Provider as EnUsColor

from tests.unit.making import made_table

# Python's own table says audio/x-wav; audio/wav is the registered name.
MIME_ALIASES = {"audio/x-wav": "audio/wav"}
IMAGE_EXTENSIONS = {"jpg", "jpeg", "png", "gif", "bmp", "tiff", "webp", "svg", "heic"}


def rows(
    fields: list[dict[str, Any]], count: int = 3000, locale: str = "en_US"
) -> list[dict[str, Any]]:
    made: list[dict[str, Any]] = made_table(fields, rows=count, seed=9, locale=locale).to_pylist()
    return made


def test_mime_type_extension_name_and_path_describe_the_same_file() -> None:
    fields: list[dict[str, Any]] = [
        {"name": "name", "type": "file_name"},
        {"name": "ext", "type": "file_extension"},
        {"name": "mime", "type": "mime_type"},
        {"name": "path", "type": "file_path", "depth": 3},
    ]
    drawn = rows(fields, locale="ja_JP")
    for row in drawn:
        guessed, _ = mimetypes.guess_type(f"x.{row['ext']}", strict=False)
        assert MIME_ALIASES.get(str(guessed), guessed) == row["mime"], row
        assert row["name"].endswith(f".{row['ext']}")
        assert row["path"].endswith(f"/{row['name']}") and row["path"].startswith("/")
        assert row["path"].count("/") >= 5
    assert len({row["mime"].split("/")[0] for row in drawn}) >= 4


def test_category_limits_extensions_and_windows_paths_use_backslashes() -> None:
    fields: list[dict[str, Any]] = [
        {"name": "ext", "type": "file_extension", "category": "image"},
        {"name": "mime", "type": "mime_type", "category": "image"},
        {"name": "path", "type": "file_path", "category": "image", "style": "windows"},
    ]
    for row in rows(fields):
        assert row["ext"] in IMAGE_EXTENSIONS and row["mime"].startswith("image/")
        assert re.fullmatch(r"[CD]:\\[^/]+", row["path"])
        assert row["path"].endswith(f".{row['ext']}")


def test_file_sizes_are_positive_and_fit_the_kind_of_file() -> None:
    fields: list[dict[str, Any]] = [
        {"name": "video", "type": "file_size", "category": "video"},
        {"name": "text", "type": "file_size", "category": "text"},
        {"name": "fixed", "type": "file_size", "median": 1000, "sigma": 0.5},
    ]
    drawn = rows(fields)
    assert all(row[k] >= 1 for row in drawn for k in ("video", "text", "fixed"))
    assert statistics.median(r["video"] for r in drawn) > 100 * statistics.median(
        r["text"] for r in drawn
    )
    assert 900 < statistics.median(r["fixed"] for r in drawn) < 1100


def test_hex_and_rgb_colours_are_valid_css() -> None:
    fields: list[dict[str, Any]] = [
        {"name": "hex", "type": "color_hex"},
        {"name": "rgb", "type": "color_rgb"},
    ]
    drawn = rows(fields)
    assert all(re.fullmatch(r"#[0-9a-f]{6}", row["hex"]) for row in drawn)
    for row in drawn:
        match = re.fullmatch(r"rgb\((\d+), (\d+), (\d+)\)", row["rgb"])
        assert match and all(0 <= int(channel) <= 255 for channel in match.groups())


def test_unique_hex_colours_never_repeat_over_200k_rows() -> None:
    drawn = rows([{"name": "hex", "type": "color_hex", "unique": True}], count=200_000)
    assert len({row["hex"] for row in drawn}) == 200_000


def test_colour_names_speak_the_locales_language() -> None:
    japanese = {r["c"] for r in rows([{"name": "c", "type": "color_name"}], locale="ja_JP")}
    assert all(re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", name) for name in japanese)
    assert len(japanese) > 30
    english = {r["c"] for r in rows([{"name": "c", "type": "color_name"}])}
    assert english <= set(EnUsColor.all_colors)
