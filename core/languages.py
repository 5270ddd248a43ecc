"""The languages people are written to in: Japanese and English."""

from __future__ import annotations

LANGUAGES = ("ja", "en")
DEFAULT_LANGUAGE = "en"


def pick_language(explicit: str | None, accept_language: str | None) -> str:
    """'ja' or 'en': the explicit option when given, else the best of Accept-Language (q-values
    honoured, ja / ja-JP → 'ja'), else 'en'.

    An explicit option other than Japanese or English raises ValueError, so that the API can
    refuse it when the job is submitted (the only time Accept-Language is known, too).
    """
    if explicit:
        language = _supported(explicit)
        if language is None:
            raise ValueError(
                f"language: must be one of {', '.join(LANGUAGES)} (or a tag such as ja-JP), "
                f"got {explicit!r}"
            )
        return language
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate((accept_language or "").split(",")):
        tag, *params = (part.strip() for part in item.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0  # a malformed weight makes the item unusable, not the header
        language = _supported(tag)
        if language is not None and quality > 0:
            ranked.append((-quality, position, language))
    return min(ranked)[2] if ranked else DEFAULT_LANGUAGE


def _supported(tag: str) -> str | None:
    primary = tag.strip().replace("_", "-").split("-")[0].lower()
    return primary if primary in LANGUAGES else None
