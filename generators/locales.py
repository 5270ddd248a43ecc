"""The locales a spec may name, and where each type family finds a locale's word lists.

Data comes from Faker's own providers (``faker.providers.<family>.<locale>.Provider``).
A family Faker does not have for a locale falls back to the locale's language sibling
(``de_AT`` → ``de_DE``), then to ``en_US``, so every locale Faker knows is usable.
"""

from __future__ import annotations

import functools
import importlib
from typing import Any

from faker.config import AVAILABLE_LOCALES

# en_US and ja_JP are first-class: every type is built and tested for them.
PRIMARY_LOCALES: tuple[str, ...] = ("en_US", "ja_JP")
SUPPORTED_LOCALES: tuple[str, ...] = tuple(
    dict.fromkeys([*PRIMARY_LOCALES, *sorted(AVAILABLE_LOCALES)])
)


@functools.cache
def provider_class(family: str, locale: str) -> Any:
    """Faker's Provider class of ``family`` (e.g. "person", "address") for ``locale``.

    Falls back to a sibling locale of the same language, then to en_US.
    """
    language = locale.split("_")[0]
    siblings = [code for code in AVAILABLE_LOCALES if code.split("_")[0] == language]
    for candidate in dict.fromkeys([locale, *sorted(siblings), "en_US"]):
        try:
            module = importlib.import_module(f"faker.providers.{family}.{candidate}")
        except ModuleNotFoundError:
            continue
        return module.Provider
    return importlib.import_module(f"faker.providers.{family}").Provider
