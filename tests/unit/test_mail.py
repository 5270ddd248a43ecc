"""The notification email as its reader sees it: language, facts, link, expiry, escaping."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import email.utils
import uuid
from email.message import EmailMessage
from typing import Any

import pytest

from core.languages import pick_language
from workers.mail import (
    JobNotice,
    human_size,
    job_message_id,
    outbox_file_stem,
    render_job_email,
)

SENDER = "TestData Buddy <noreply@tdbuddy.example>"
TO = "qa.tanaka@example.jp"
JOB_ID = uuid.UUID("0b7e6f2a-4c1d-4e8a-9f0b-2d3c4b5a6978")
DOWNLOAD_URL = "https://tdbuddy.example/v1/downloads/tok.abc?v=1&sig=xyz"
JOB_URL = f"https://tdbuddy.example/v1/jobs/{JOB_ID}"
# 15:30 UTC is 00:30 the next day in Tokyo: the Japanese email must show the 1st of December.
EXPIRES = dt.datetime(2026, 11, 30, 15, 30, tzinfo=dt.UTC)


def notice(**changes: Any) -> JobNotice:
    fields: dict[str, Any] = {
        "job_id": JOB_ID,
        "dataset_name": "顧客マスタ",
        "state": "succeeded",
        "rows": 1_234_567,
        "format": "csv",
        "size_bytes": 12_345_678,
        "download_url": DOWNLOAD_URL,
        "expires_at": EXPIRES,
        "error": None,
        "job_url": JOB_URL,
    }
    fields.update(changes)
    return JobNotice(**fields)


def rendered(job: JobNotice, language: str) -> EmailMessage:
    """The message as a mail client reads it back: serialised to bytes and parsed again."""
    message = render_job_email(
        job, language, sender=SENDER, to=TO, message_id=job_message_id(job.job_id, SENDER)
    )
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def parts(message: EmailMessage) -> tuple[str, str]:
    """The text and the HTML part's decoded content."""
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    return str(text.get_content()), str(html.get_content())


def test_the_english_ready_email_gives_the_facts_the_link_and_the_expiry_in_utc() -> None:
    message = rendered(notice(dataset_name="Customers"), "en")
    assert message["Subject"] == 'Your dataset "Customers" is ready'
    text, html = parts(message)
    for body in (text, html):
        assert "1,234,567" in body
        assert "CSV" in body
        assert "12.3 MB" in body
        assert "2026-11-30 15:30 UTC" in body
        assert JOB_URL in body
    assert DOWNLOAD_URL in text
    # In HTML the link's `&` is an entity, in the href and in the visible copy alike.
    assert f'href="{DOWNLOAD_URL.replace("&", "&amp;")}"' in html
    assert 'lang="en"' in html
    assert message["Content-Language"] == "en"


def test_the_japanese_ready_email_shows_the_expiry_in_tokyo_time() -> None:
    message = rendered(notice(), "ja")
    assert message["Subject"] == "データセット「顧客マスタ」の準備ができました"
    text, html = parts(message)
    for body in (text, html):
        assert "1,234,567 行" in body
        assert "12.3 MB" in body
        assert "2026年12月1日 00:30 JST" in body
        assert "ダウンロード" in body
        assert "UTC" not in body
    assert DOWNLOAD_URL in text
    assert f'href="{DOWNLOAD_URL.replace("&", "&amp;")}"' in html
    assert 'lang="ja"' in html
    assert message["Content-Language"] == "ja"


@pytest.mark.parametrize(
    ("language", "subject", "reason_label"),
    [
        ("en", 'Your dataset "Customers" could not be generated', "Reason: "),
        ("ja", "データセット「Customers」を生成できませんでした", "原因："),
    ],
)
def test_a_failed_job_email_gives_the_reason_and_no_download_link(
    language: str, subject: str, reason_label: str
) -> None:
    reason = "the worker ran out of memory"
    failed = notice(dataset_name="Customers", state="failed", error=reason)
    message = rendered(failed, language)
    assert message["Subject"] == subject
    text, html = parts(message)
    assert f"{reason_label}{reason}" in text
    assert reason in html
    for body in (text, html):
        assert "/v1/downloads/" not in body
        assert JOB_URL in body
        assert "Download" not in body and "ダウンロード" not in body


def test_a_dataset_name_is_escaped_in_html_and_kept_as_typed_in_text_and_subject() -> None:
    message = rendered(notice(dataset_name='<b>&"'), "en")
    assert message["Subject"] == 'Your dataset "<b>&"" is ready'
    text, html = parts(message)
    assert '"<b>&""' in text
    assert "&lt;b&gt;&amp;&#34;" in html
    assert "<b>&" not in html


def test_the_message_is_a_text_and_html_alternative_with_the_given_headers() -> None:
    message_id = "<job-abc@tdbuddy.example>"
    message = render_job_email(notice(), "en", sender=SENDER, to=TO, message_id=message_id)
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in parsed.iter_parts()] == [
        "text/plain",
        "text/html",
    ]
    assert all(part.get_content_charset() == "utf-8" for part in parsed.iter_parts())
    assert parsed["From"] == SENDER and parsed["To"] == TO
    assert parsed["Message-ID"] == message_id
    assert parsed["Auto-Submitted"] == "auto-generated"
    sent_at = email.utils.parsedate_to_datetime(parsed["Date"])
    assert abs(sent_at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)


def test_a_dataset_name_on_several_lines_makes_a_one_line_subject() -> None:
    message = rendered(notice(dataset_name="orders\r\nBcc: victim@example.com"), "en")
    assert message["Subject"] == 'Your dataset "orders Bcc: victim@example.com" is ready'
    assert message["Bcc"] is None


def test_a_ready_email_without_size_or_expiry_leaves_those_lines_out() -> None:
    text, html = parts(rendered(notice(size_bytes=None, expires_at=None), "en"))
    for body in (text, html):
        assert "Size" not in body and "expires" not in body
        assert "1,234,567" in body


def test_notices_the_email_cannot_say_truthfully_are_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match="expires_at"):
        render_job_email(
            notice(expires_at=dt.datetime(2026, 11, 30, 15, 30)),
            "en",
            sender=SENDER,
            to=TO,
            message_id="<x@y>",
        )
    with pytest.raises(ValueError, match="state"):
        render_job_email(notice(state="running"), "en", sender=SENDER, to=TO, message_id="<x@y>")
    with pytest.raises(ValueError, match="language"):
        render_job_email(notice(), "fr", sender=SENDER, to=TO, message_id="<x@y>")


@pytest.mark.parametrize(
    ("size", "shown"),
    [
        (0, "0 B"),
        (999, "999 B"),
        (1_000, "1.0 kB"),
        (12_345_678, "12.3 MB"),
        (999_960, "1.0 MB"),
        (1_500_000_000, "1.5 GB"),
        (2_000_000_000_000_000, "2,000.0 TB"),
    ],
)
def test_sizes_read_in_decimal_units(size: int, shown: str) -> None:
    assert human_size(size) == shown


@pytest.mark.parametrize(
    ("explicit", "accept_language", "language"),
    [
        ("ja", "en-US,en;q=0.9", "ja"),
        ("en", "ja-JP", "en"),
        ("ja-JP", None, "ja"),
        ("EN_gb", None, "en"),
        (None, "ja-JP,ja;q=0.9,en-US;q=0.8,en;q=0.7", "ja"),
        (None, "en-US,en;q=0.9,ja;q=0.8", "en"),
        (None, "en;q=0.2, ja;q=0.8", "ja"),
        (None, "fr-FR, de;q=0.9, ja;q=0.5, en;q=0.3", "ja"),
        (None, "ja;q=0, en;q=0.1", "en"),
        (None, "ja;q=abc", "en"),
        (None, "ja;q=0.5, en;q=0.5", "ja"),
        (None, "fr, de", "en"),
        (None, "*", "en"),
        (None, "", "en"),
        (None, None, "en"),
        ("", "ja", "ja"),
    ],
)
def test_the_language_is_the_option_else_the_best_accepted_else_english(
    explicit: str | None, accept_language: str | None, language: str
) -> None:
    assert pick_language(explicit, accept_language) == language


def test_an_explicit_language_the_email_does_not_speak_is_refused() -> None:
    with pytest.raises(ValueError, match=r"language: must be one of ja, en.*'fr'"):
        pick_language("fr", "ja")


def test_a_job_has_one_message_id_in_its_sender_domain() -> None:
    assert job_message_id(JOB_ID, SENDER) == f"<job-{JOB_ID}@tdbuddy.example>"
    assert job_message_id(JOB_ID, SENDER) == job_message_id(JOB_ID, SENDER)
    assert job_message_id(uuid.uuid4(), SENDER) != job_message_id(JOB_ID, SENDER)


def test_outbox_file_names_stay_in_the_folder_and_never_collide() -> None:
    plain = outbox_file_stem(f"<job-{JOB_ID}@tdbuddy.example>")
    assert plain == f"job-{JOB_ID}@tdbuddy.example"
    hostile = outbox_file_stem("<../../etc/passwd@example>")
    assert "/" not in hostile and not hostile.startswith(".")
    assert outbox_file_stem("<a/b@x>") != outbox_file_stem("<a_b@x>")
    assert outbox_file_stem("<a/b@x>") != outbox_file_stem("<a\\b@x>")
    assert len(outbox_file_stem("<" + "x" * 500 + "@y>")) < 150
