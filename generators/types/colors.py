"""Colours: hex codes, CSS rgb() strings and colour names in the locale's language."""

from __future__ import annotations

import functools

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]

from generators.fieldtype import BlockContext, FieldOptions, FieldType
from generators.locales import provider_class
from generators.types.identifiers import HEX, ascii_rows, scatter, symbols
from generators.vectors import join_by_take

# Faker has no ja_JP colour provider (it would fall back to English names), so Japanese
# gets its own list: common names of JIS Z 8102 and everyday loanwords.
JA_JP_COLOR_NAMES = (
    "赤", "朱色", "紅色", "桜色", "桃色", "茜色", "臙脂色", "小豆色", "珊瑚色", "橙色",
    "柿色", "山吹色", "黄色", "黄土色", "卵色", "金色", "銀色", "茶色", "焦茶", "栗色",
    "琥珀色", "黄緑", "緑", "若草色", "萌黄", "抹茶色", "深緑", "常磐色", "青磁色", "水色",
    "空色", "青", "群青色", "紺色", "藍色", "瑠璃色", "縹色", "浅葱色", "紫", "藤色",
    "菫色", "桔梗色", "江戸紫", "牡丹色", "白", "生成り色", "象牙色", "灰色", "鼠色", "銀鼠",
    "鉛色", "墨色", "黒", "漆黒", "薄橙", "ベージュ", "ピンク", "オレンジ", "ワインレッド",
    "ラベンダー", "ターコイズ", "ネイビー", "カーキ", "オリーブ",
)  # fmt: skip


@functools.cache
def color_names(locale: str) -> pa.Array:
    """Return the locale's colour names (Faker's colour provider; Japanese list for ja_JP)."""
    if locale == "ja_JP":
        return pa.array(JA_JP_COLOR_NAMES, type=pa.string())
    return pa.array(list(provider_class("color", locale).all_colors), type=pa.string())


@functools.cache
def rgb_pieces() -> pa.Array:
    """Return "rgb(N, ", "N, " and "N)" for N in 0..255, in that order, as one lookup."""
    return pa.array(
        [f"rgb({n}, " for n in range(256)]
        + [f"{n}, " for n in range(256)]
        + [f"{n})" for n in range(256)],
        type=pa.string(),
    )


class ColorHexField(FieldOptions, tag="color_hex", frozen=True):
    pass


class ColorRgbField(FieldOptions, tag="color_rgb", frozen=True):
    pass


class ColorNameField(FieldOptions, tag="color_name", frozen=True):
    pass


def hex_strings(colors: np.ndarray) -> pa.Array:
    """Return "#rrggbb" for 24-bit colour numbers."""
    chars = np.full((colors.size, 7), ord("#"), dtype=np.uint8)
    chars[:, 1:] = symbols(colors, HEX, 6)
    return ascii_rows(chars)


def color_hex_column(options: ColorHexField, block: BlockContext) -> pa.Array:
    return hex_strings(block.rng.integers(0, 1 << 24, size=block.size, dtype=np.uint64))


def color_hex_from_index(options: ColorHexField, block: BlockContext, k: np.ndarray) -> pa.Array:
    return hex_strings(scatter(k, 1 << 24))


def color_rgb_column(options: ColorRgbField, block: BlockContext) -> pa.Array:
    channels = block.rng.integers(0, 256, size=(3, block.size), dtype=np.int32)
    return join_by_take(rgb_pieces(), [channels[0], channels[1] + 256, channels[2] + 512])


def color_name_column(options: ColorNameField, block: BlockContext) -> pa.Array:
    names = color_names(block.locale)
    return names.take(block.rng.integers(0, len(names), size=block.size))


TYPES = (
    FieldType(
        ColorHexField,
        "color",
        "Colour as a lowercase hex code #rrggbb.",
        "#3fa7c2",
        color_hex_column,
        capacity=lambda options, locale: 1 << 24,
        from_index=color_hex_from_index,
    ),
    FieldType(
        ColorRgbField,
        "color",
        'Colour as a CSS string "rgb(r, g, b)".',
        "rgb(63, 167, 194)",
        color_rgb_column,
    ),
    FieldType(
        ColorNameField,
        "color",
        "Colour name in the locale's language (Faker's colour names; Japanese names for ja_JP).",
        "藍色",
        color_name_column,
    ),
)
