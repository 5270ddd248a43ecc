"""Who hears of a job's end: the submit body's `callback_url`, `notify_email` and
`notify_language`, and the account's defaults for the last two."""

from __future__ import annotations

import re
from typing import Any

import msgspec

from api.errors import ApiError
from api.webhooks import check_callback_url
from core.languages import LANGUAGES, pick_language
from core.settings import Settings
from storage.webhooks import new_secret

MAX_EMAIL_LENGTH = 254
# One plain address: no display name, list or line break can ride along into the headers.
_ADDRESS_CHAR = r"[^@\s<>,;:\"()\[\]\\\x00-\x1f\x7f]"
_EMAIL = re.compile(rf"{_ADDRESS_CHAR}+@{_ADDRESS_CHAR}+\.{_ADDRESS_CHAR}+")


class JobNotifications(msgspec.Struct, frozen=True, kw_only=True):
    """The submit body's notification options, beside the dataset spec's own fields."""

    callback_url: str | None = None
    notify_email: str | None = None
    notify_language: str | None = None  # "ja" or "en"
    # Signs the calls to callback_url; made here, shown once in the submit's answer.
    callback_secret: str | None = None

    def fingerprinted(self) -> dict[str, Any]:
        """What an Idempotency-Key's request comparison must include of these options."""
        return {
            name: value
            for name in ("callback_url", "notify_email", "notify_language")
            if (value := getattr(self, name)) is not None
        }


FIELDS = ("callback_url", "notify_email", "notify_language")
# Whether a raw body may hold the options at all: most do not, and skip the extra decode.
_MAY_HOLD = re.compile(rb'"(?:callback_url|notify_email|notify_language)"')


def may_hold_notifications(body: bytes) -> bool:
    return _MAY_HOLD.search(body) is not None


def check_email(value: Any, field: str) -> str:
    """The address, or a 422 naming `field`."""
    if not isinstance(value, str) or len(value) > MAX_EMAIL_LENGTH or not _EMAIL.fullmatch(value):
        raise ApiError(
            422, "invalid_email", f"{field} must be one email address such as qa@example.jp", field
        )
    return value


def check_language(value: Any, field: str) -> str:
    """'ja' or 'en' (tags such as ja-JP are taken too), or a 422 naming `field`."""
    try:
        if not isinstance(value, str) or not value.strip():
            raise ValueError
        return pick_language(value, None)
    except ValueError:
        raise ApiError(
            422, "invalid_language", f"{field} must be one of {', '.join(LANGUAGES)}", field
        ) from None


async def take_notifications(
    data: dict[str, Any], settings: Settings, accept_language: str | None
) -> JobNotifications:
    """Removes the notification options from a decoded submit body and checks them."""
    given = {name: data.pop(name) for name in FIELDS if name in data}
    callback_url = given.get("callback_url")
    if callback_url is not None:
        if not isinstance(callback_url, str):
            raise ApiError(422, "invalid_url", "callback_url must be a URL", "callback_url")
        await check_callback_url(callback_url, settings, "callback_url")
    notify_email = given.get("notify_email")
    if notify_email is not None:
        notify_email = check_email(notify_email, "notify_email")
    language = given.get("notify_language")
    if language is not None:
        language = check_language(language, "notify_language")
    elif accept_language:  # for the job's address or the account's
        language = pick_language(None, accept_language)
    return JobNotifications(
        callback_url=callback_url,
        notify_email=notify_email,
        notify_language=language,
        callback_secret=new_secret() if callback_url else None,
    )
