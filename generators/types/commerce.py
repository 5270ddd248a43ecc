"""Shop data: product names, prices in a currency's own decimals, SKUs, categories, quantities.

Faker has no commerce provider, so the product words are ours, in the style of faker.js's
commerce module: en_US and ja_JP; other locales use the English words.
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

import msgspec
import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
from faker.providers.currency import Provider as CurrencyProvider

from generators.fieldtype import BlockContext, FieldOptions, FieldType, Int64
from generators.types.distributions import Distribution, DistributionOptions, draw_integer
from generators.types.numbers import (
    decimal_array,
    decimal_range_problems,
    draw_units,
    unit_range,
)
from generators.vectors import fixed_width_strings, join_by_take


@dataclass(frozen=True)
class ProductWords:
    adjectives: tuple[str, ...]
    materials: tuple[str, ...]
    products: tuple[str, ...]
    categories: tuple[str, ...]
    joiner: str  # between the words of a product name


PRODUCT_WORDS = {
    "en": ProductWords(
        adjectives=(
            "Small", "Ergonomic", "Rustic", "Intelligent", "Gorgeous", "Incredible",
            "Fantastic", "Practical", "Sleek", "Awesome", "Generic", "Handcrafted",
            "Handmade", "Licensed", "Refined", "Unbranded", "Tasty", "Modern", "Compact",
            "Durable", "Elegant", "Lightweight", "Premium", "Recycled",
        ),
        materials=(
            "Steel", "Wooden", "Concrete", "Plastic", "Cotton", "Granite", "Rubber",
            "Metal", "Soft", "Fresh", "Frozen", "Bronze", "Leather", "Silk", "Wool",
            "Linen", "Marble", "Ceramic", "Glass", "Bamboo",
        ),
        products=(
            "Chair", "Car", "Computer", "Keyboard", "Mouse", "Bike", "Ball", "Gloves",
            "Pants", "Shirt", "Table", "Shoes", "Hat", "Towels", "Soap", "Tuna", "Chicken",
            "Fish", "Cheese", "Bacon", "Pizza", "Salad", "Sausages", "Chips", "Lamp",
            "Bag", "Wallet", "Watch", "Mug", "Backpack", "Desk", "Pillow", "Jacket",
        ),
        categories=(
            "Books", "Movies", "Music", "Games", "Electronics", "Computers", "Home",
            "Garden", "Tools", "Grocery", "Health", "Beauty", "Toys", "Kids", "Baby",
            "Clothing", "Shoes", "Jewelry", "Sports", "Outdoors", "Automotive", "Industrial",
        ),
        joiner=" ",
    ),
    "ja": ProductWords(
        adjectives=(
            "小型の", "人間工学に基づいた", "素朴な", "スマートな", "華やかな", "驚きの",
            "素晴らしい", "実用的な", "スリムな", "最高の", "汎用の", "手作りの",
            "職人仕上げの", "公式ライセンスの", "上品な", "ノーブランドの", "おいしい",
            "モダンな", "コンパクトな", "丈夫な", "エレガントな", "軽量の", "高級",
            "リサイクル",
        ),
        materials=(
            "スチール製", "木製", "コンクリート製", "プラスチック製", "コットン", "御影石",
            "ゴム製", "金属製", "ソフト", "新鮮な", "冷凍", "ブロンズ", "革製", "シルク",
            "ウール", "リネン", "大理石", "陶器の", "ガラス製", "竹製",
        ),
        products=(
            "椅子", "車", "パソコン", "キーボード", "マウス", "自転車", "ボール", "手袋",
            "ズボン", "シャツ", "テーブル", "靴", "帽子", "タオル", "石鹸", "ツナ", "チキン",
            "魚", "チーズ", "ベーコン", "ピザ", "サラダ", "ソーセージ", "ポテトチップス",
            "ランプ", "バッグ", "財布", "腕時計", "マグカップ", "リュック", "机", "枕",
            "ジャケット",
        ),
        categories=(
            "本", "映画", "音楽", "ゲーム", "家電", "パソコン", "ホーム", "ガーデン", "工具",
            "食品", "ヘルス", "ビューティー", "おもちゃ", "キッズ", "ベビー", "ファッション",
            "シューズ", "ジュエリー", "スポーツ", "アウトドア", "カー用品", "産業用品",
        ),
        joiner="",
    ),
}  # fmt: skip

# The currency a locale's country pays in; anything unlisted prices in USD.
COUNTRY_CURRENCY = {
    "JP": "JPY", "US": "USD", "GB": "GBP", "KR": "KRW", "CN": "CNY", "TW": "TWD",
    "IN": "INR", "BR": "BRL", "RU": "RUB", "CA": "CAD", "AU": "AUD", "NZ": "NZD",
    "CH": "CHF", "SE": "SEK", "NO": "NOK", "DK": "DKK", "PL": "PLN", "CZ": "CZK",
    "HU": "HUF", "TR": "TRY", "MX": "MXN", "VN": "VND", "TH": "THB", "ID": "IDR",
    "PH": "PHP", "IL": "ILS", "SA": "SAR", "EG": "EGP", "ZA": "ZAR", "UA": "UAH",
    "AR": "ARS", "CL": "CLP", "CO": "COP", "IR": "IRR", "BD": "BDT", "NP": "NPR",
    **dict.fromkeys(
        ("DE", "FR", "IT", "ES", "NL", "AT", "BE", "FI", "IE", "PT", "GR", "SK", "SI",
         "EE", "LV", "LT", "LU", "MT", "CY", "HR"),
        "EUR",
    ),
}  # fmt: skip
# ISO 4217 minor units where they are not 2.
CURRENCY_DECIMALS = {
    **dict.fromkeys(("JPY", "KRW", "VND", "CLP", "ISK", "UGX", "PYG", "XAF", "XOF"), 0),
    **dict.fromkeys(("BHD", "KWD", "OMR", "JOD", "TND", "IQD", "LYD"), 3),
}
KNOWN_CURRENCIES = frozenset(code for code, _ in CurrencyProvider.currencies)
SKU_ALPHABETS = {"L": string.ascii_uppercase, "#": string.digits}


def product_words(locale: str) -> ProductWords:
    return PRODUCT_WORDS.get(locale.split("_")[0], PRODUCT_WORDS["en"])


def locale_currency(locale: str) -> str:
    return COUNTRY_CURRENCY.get(locale.split("_")[-1], "USD")


@functools.cache
def product_lookup(locale: str) -> tuple[pa.StringArray, tuple[int, int, int, int]]:
    """Return adjectives, materials, products and the joiner as one lookup, with bases."""
    words = product_words(locale)
    segments = (words.adjectives, words.materials, words.products, (words.joiner,))
    bases = tuple(int(b) for b in np.cumsum([0, *map(len, segments[:-1])]))
    pieces = [piece for segment in segments for piece in segment]
    return pa.array(pieces, type=pa.string()), (bases[0], bases[1], bases[2], bases[3])


class ProductNameField(FieldOptions, tag="product_name", frozen=True):
    pass


class ProductCategoryField(FieldOptions, tag="product_category", frozen=True):
    pass


class PriceField(DistributionOptions, tag="price", frozen=True):
    """``currency``: ISO 4217 code fixing the decimals (JPY 0, USD 2, KWD 3); default: the
    locale's country's currency."""

    min: float = 1.0
    max: float = 1000.0
    currency: Annotated[str, msgspec.Meta(max_length=3)] | None = None

    def problems(self, rows: int) -> Iterator[tuple[str, str]]:
        if self.currency is not None and self.currency not in KNOWN_CURRENCIES:
            yield "currency", f"unknown currency '{self.currency}'; use an ISO 4217 code"
            return
        yield from decimal_range_problems(self.min, self.max, 3)
        yield from self.distribution_problems(self.min, self.max)

    def decimals(self, locale: str) -> int:
        return CURRENCY_DECIMALS.get(self.currency or locale_currency(locale), 2)


class SkuField(FieldOptions, tag="sku", frozen=True):
    """``pattern``: L is an upper-case letter, # a digit, anything else is kept."""

    pattern: Annotated[str, msgspec.Meta(min_length=1, max_length=40)] = "LLL-#####"

    def problems(self, rows: int) -> Iterator[tuple[str, str]]:
        if not re.fullmatch(r"[A-Za-z0-9#\-_./:]+", self.pattern):
            yield "pattern", "use letters, digits, L, #, and - _ . / : only"
        elif not any(c in SKU_ALPHABETS for c in self.pattern):
            yield "pattern", "the pattern needs at least one L or #"


class QuantityField(DistributionOptions, tag="quantity", frozen=True):
    """Default: poisson with lam 2, truncated to [1, 10]: mostly small counts."""

    min: Int64 = 1
    max: Int64 = 10
    distribution: Distribution = "poisson"
    lam: float | None = 2.0

    def problems(self, rows: int) -> Iterator[tuple[str, str]]:
        if not 0 <= self.min <= self.max:
            yield "min", "a quantity needs 0 <= min <= max"
            return
        yield from self.distribution_problems(self.min, self.max)


def product_name_column(options: ProductNameField, block: BlockContext) -> pa.Array:
    lookup, (adjective, material, product, joiner) = product_lookup(block.locale)
    words = product_words(block.locale)
    rng = block.rng
    parts = [
        rng.integers(0, len(words.adjectives), block.size, dtype=np.int32) + adjective,
        np.full(block.size, joiner, dtype=np.int32),
        rng.integers(0, len(words.materials), block.size, dtype=np.int32) + material,
        np.full(block.size, joiner, dtype=np.int32),
        rng.integers(0, len(words.products), block.size, dtype=np.int32) + product,
    ]
    return join_by_take(lookup, parts)


def product_name_capacity(options: ProductNameField, locale: str) -> int:
    words = product_words(locale)
    return len(words.adjectives) * len(words.materials) * len(words.products)


def product_name_from_index(
    options: ProductNameField, block: BlockContext, k: np.ndarray
) -> pa.Array:
    lookup, (adjective, material, product, joiner) = product_lookup(block.locale)
    words = product_words(block.locale)
    k = k.astype(np.int64)
    glue = np.full(k.size, joiner, dtype=np.int32)
    parts = [
        (k // (len(words.materials) * len(words.products))).astype(np.int32) + adjective,
        glue,
        (k // len(words.products) % len(words.materials)).astype(np.int32) + material,
        glue,
        (k % len(words.products)).astype(np.int32) + product,
    ]
    return join_by_take(lookup, parts)


def category_column(options: ProductCategoryField, block: BlockContext) -> pa.Array:
    categories = product_words(block.locale).categories
    picks = block.rng.integers(0, len(categories), block.size)
    return pa.array(categories, type=pa.string()).take(pa.array(picks))


def category_from_index(
    options: ProductCategoryField, block: BlockContext, k: np.ndarray
) -> pa.Array:
    categories = product_words(block.locale).categories
    return pa.array(categories, type=pa.string()).take(pa.array(k.astype(np.int64)))


def price_column(options: PriceField, block: BlockContext) -> pa.Array:
    decimals = options.decimals(block.locale)
    units = draw_units(options, block, options.min, options.max, decimals)
    return decimal_array(units, decimals)


def price_capacity(options: PriceField, locale: str) -> int:
    first, last = unit_range(options.min, options.max, options.decimals(locale))
    return last - first + 1


def price_from_index(options: PriceField, block: BlockContext, k: np.ndarray) -> pa.Array:
    decimals = options.decimals(block.locale)
    first, _ = unit_range(options.min, options.max, decimals)
    return decimal_array(k.astype(np.int64) + first, decimals)


def sku_column(options: SkuField, block: BlockContext) -> pa.Array:
    return fixed_width_strings(block.rng, block.size, options.pattern, SKU_ALPHABETS)


def sku_capacity(options: SkuField, locale: str) -> int:
    capacity = 1
    for char in options.pattern:
        capacity *= len(SKU_ALPHABETS.get(char, "x"))
    return min(capacity, 2**63)


def sku_from_index(options: SkuField, block: BlockContext, k: np.ndarray) -> pa.Array:
    """The pattern's placeholders spell k in mixed radix, last placeholder fastest."""
    template = np.frombuffer(options.pattern.encode("ascii"), dtype=np.uint8)
    chars = np.broadcast_to(template, (k.size, template.size)).copy()
    rest = k.astype(np.uint64)
    for position in reversed(range(template.size)):
        alphabet = SKU_ALPHABETS.get(options.pattern[position])
        if alphabet is None:
            continue
        letters = np.frombuffer(alphabet.encode("ascii"), dtype=np.uint8)
        chars[:, position] = letters[(rest % np.uint64(len(alphabet))).astype(np.intp)]
        rest = rest // np.uint64(len(alphabet))
    offsets = np.arange(0, (k.size + 1) * template.size, template.size, dtype=np.int32)
    return pa.StringArray.from_buffers(
        k.size, pa.py_buffer(offsets), pa.py_buffer(chars), null_count=0
    )


def quantity_column(options: QuantityField, block: BlockContext) -> pa.Array:
    values = draw_integer(options, block.rng, block.size, options.min, options.max)
    return pa.array(values, type=pa.int64())


TYPES = (
    FieldType(
        ProductNameField,
        "commerce",
        "Adjective, material and product (ja_JP: in Japanese, no spaces).",
        "Ergonomic Wooden Chair",
        product_name_column,
        product_name_capacity,
        product_name_from_index,
    ),
    FieldType(
        ProductCategoryField,
        "commerce",
        "Shop department such as Books or Garden (ja_JP: 本, ガーデン).",
        "Electronics",
        category_column,
        lambda options, locale: len(product_words(locale).categories),
        category_from_index,
    ),
    FieldType(
        PriceField,
        "commerce",
        "Exact decimal price in [min, max] with the currency's decimals (JPY 0, USD 2).",
        "1980",
        price_column,
        price_capacity,
        price_from_index,
    ),
    FieldType(
        SkuField,
        "commerce",
        "Stock-keeping unit shaped like pattern (L letter, # digit), default LLL-#####.",
        "KQT-40215",
        sku_column,
        sku_capacity,
        sku_from_index,
    ),
    FieldType(
        QuantityField,
        "commerce",
        "Item count in [min, max]; poisson with lam 2 unless another distribution is set.",
        "2",
        quantity_column,
        lambda options, locale: options.max - options.min + 1,
        lambda options, block, k: pa.array(k.astype(np.int64) + options.min, type=pa.int64()),
    ),
)
