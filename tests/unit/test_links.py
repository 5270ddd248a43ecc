"""Download tokens: what opens, what is refused, and that keys can rotate."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from core.settings import Settings
from storage.links import ExpiredLink, TamperedLink, sign_link, verify_link

NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(hours=24)


def links(keys: str) -> Settings:
    return Settings.from_env({"LINK_SIGNING_KEYS": keys})


def test_a_signed_link_opens_its_job_until_it_expires() -> None:
    settings = links("1:first-secret-0123456789").links
    job_id = uuid.uuid4()
    token = sign_link(settings, job_id, LATER)
    link = verify_link(settings, token, NOW)
    assert link.job_id == job_id and link.expires_at == LATER and link.key_version == 1
    with pytest.raises(ExpiredLink):
        verify_link(settings, token, LATER)


@pytest.mark.parametrize("position", [0, 5, 20, -3])
def test_any_changed_character_is_refused(position: int) -> None:
    settings = links("1:first-secret-0123456789").links
    token = sign_link(settings, uuid.uuid4(), LATER)
    index = position % len(token)
    changed = "A" if token[index] != "A" else "B"
    tampered = token[:index] + changed + token[index + 1 :]
    with pytest.raises(TamperedLink):
        verify_link(settings, tampered, NOW)


def test_a_link_cannot_be_extended_by_editing_its_expiry() -> None:
    import base64

    import msgspec

    settings = links("1:first-secret-0123456789").links
    job_id = uuid.uuid4()
    _, signature = sign_link(settings, job_id, NOW + dt.timedelta(minutes=1)).split(".")
    longer = msgspec.msgpack.encode((job_id.bytes, int(LATER.timestamp()) + 3600, 1))
    forged = base64.urlsafe_b64encode(longer).decode().rstrip("=") + "." + signature
    with pytest.raises(TamperedLink):
        verify_link(settings, forged, NOW)


def test_rotated_keys_keep_old_links_working_and_sign_with_the_newest() -> None:
    old = links("1:first-secret-0123456789").links
    rotated = links("1:first-secret-0123456789,2:second-secret-0123456789").links
    old_token = sign_link(old, uuid.uuid4(), LATER)
    assert verify_link(rotated, old_token, NOW).key_version == 1
    assert verify_link(rotated, sign_link(rotated, uuid.uuid4(), LATER), NOW).key_version == 2
    retired = links("2:second-secret-0123456789").links
    with pytest.raises(TamperedLink):
        verify_link(retired, old_token, NOW)


@pytest.mark.parametrize("token", ["", "abc", "a.b", "....", "AAAA.AAAA", "💥.💥"])
def test_garbage_tokens_are_refused_not_crashed_on(token: str) -> None:
    with pytest.raises(TamperedLink):
        verify_link(links("1:first-secret-0123456789").links, token, NOW)
