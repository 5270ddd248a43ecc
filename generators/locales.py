"""The locales a spec may name, for the whole dataset or one field."""

from __future__ import annotations

# Every type speaks these two fully; other Faker locales come as the type families learn them.
SUPPORTED_LOCALES: tuple[str, ...] = ("en_US", "ja_JP")
