"""The web page at `/`, used as a person uses it, in headless Chromium against the real stack
(API, worker and scheduler on PostgreSQL, Redis and moto's S3): build a spec with the form,
preview it, generate it, watch it finish, download the file and read it."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.e2e.conftest import open_context
from tests.fake_anthropic import FakeAnthropic, text
from tests.services import Stack

HIRAGANA_NAME = re.compile(r"^[\u3041-\u309f]+ [\u3041-\u309f]+$")
PREFECTURE = re.compile(r"^.+[都道府県]$")
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


# --- driving the page ----------------------------------------------------------------------


def open_page(page: Page, stack: Stack, api_key: str | None = None) -> None:
    """Opens `/` and waits until the field-type catalog has filled the builder."""
    page.goto(f"{stack.base_url}/")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    if api_key is not None:
        page.locator("#api-key").fill(api_key)
        expect(page.locator("#key-status")).to_have_class(re.compile(r"\bok\b"))


def field_cards(page: Page) -> Locator:
    return page.locator("#fields > li.field")


def remove_every_field(page: Page) -> None:
    while field_cards(page).count():
        field_cards(page).first.locator(".field-actions button.danger").click()


def add_field(page: Page, name: str, type_name: str, **options: str) -> None:
    """Adds a field with the form: its name, its type from the picker, then its options."""
    page.locator("#field-add").click()
    card = field_cards(page).last
    card.locator(".field-name").fill(name)
    card.locator(".type-select").select_option(type_name)
    card = field_cards(page).last  # drawn again for the type's options
    for option, value in options.items():
        control = card.locator(f'[data-option="{option}"]').locator("input, select")
        if control.evaluate("node => node.tagName") == "SELECT":
            control.select_option(value)
        else:
            control.fill(value)


def expect_field_names(page: Page, names: list[str]) -> None:
    """Waits until the builder's fields are exactly `names`, in order."""
    script = (
        "names => JSON.stringify([...document.querySelectorAll('#fields .field-name')]"
        ".map(input => input.value)) === JSON.stringify(names)"
    )
    try:
        page.wait_for_function(script, arg=names)
    except PlaywrightTimeout:
        shown = page.eval_on_selector_all("#fields .field-name", "nodes => nodes.map(n => n.value)")
        raise AssertionError(f"the builder's fields are {shown}, not {names}") from None


def preview_cells(page: Page) -> list[list[str]]:
    rows: list[list[str]] = page.eval_on_selector_all(
        "#preview-table tbody tr", "rows => rows.map(row => [...row.cells].map(c => c.textContent))"
    )
    return rows


def save_screenshot(page: Page, path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page.screenshot(path=str(path), full_page=True)
    with capsys.disabled():
        print(f"\nscreenshot of the web page: {path}")


# --- the page itself -----------------------------------------------------------------------


def test_the_page_and_its_assets_are_served_beside_the_api(stack: Stack) -> None:
    page = httpx.get(f"{stack.base_url}/", timeout=30)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-cache"
    assert page.headers["content-security-policy"] == "default-src 'self'"
    assets = re.findall(r'"(/web/[\w.-]+\?v=[0-9a-f]{12})"', page.text)
    assert {asset.split("?")[0] for asset in assets} >= {"/web/app.js", "/web/style.css"}
    for asset in assets:
        served = httpx.get(f"{stack.base_url}{asset}", timeout=30)
        assert served.status_code == 200, asset
        assert "max-age=31536000" in served.headers["cache-control"]
    script = httpx.get(f"{stack.base_url}/web/app.js", timeout=30)
    assert script.headers["content-type"].startswith("text/javascript")
    # The page holds no key, and the API's own routes are untouched by it.
    assert "tdb_" not in page.text
    assert httpx.get(f"{stack.base_url}/health", timeout=30).status_code == 200
    assert httpx.get(f"{stack.base_url}/v1/jobs", timeout=30).status_code == 401
    missing = httpx.get(f"{stack.base_url}/web/nothing-here.js", timeout=30)
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"


# --- a whole job through the page ------------------------------------------------------------


def test_build_preview_generate_and_download_a_japanese_dataset(
    ja_page: Page, stack: Stack, api_key: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = ja_page
    open_page(page, stack, api_key)
    expect(page.locator("#builder-title")).to_have_text("データセットの定義")

    page.locator("#spec-name").fill("qa_members")
    page.locator("#spec-locale").select_option("ja_JP")
    page.locator("#spec-format").select_option("csv")
    page.locator("#spec-rows").fill("250")
    page.locator("#spec-seed").fill("20261129")
    remove_every_field(page)
    add_field(page, "member_id", "sequence", start="1001")
    add_field(page, "kana", "full_name_kana", script="hiragana")
    add_field(page, "prefecture", "prefecture")
    add_field(page, "age", "integer", min="20", max="29")
    names = ["member_id", "kana", "prefecture", "age"]

    page.locator("#preview-run").click()
    expect(page.locator("#preview-table thead .col-name")).to_have_text(names)
    expect(page.locator("#preview-table tbody tr")).to_have_count(20)
    expect(page.locator("#preview-status")).to_contain_text("20261129")
    shown = preview_cells(page)
    assert [row[0] for row in shown] == [str(n) for n in range(1001, 1021)]
    assert all(HIRAGANA_NAME.match(row[1]) for row in shown), shown
    assert all(PREFECTURE.match(row[2]) for row in shown), shown
    assert all(20 <= int(row[3]) <= 29 for row in shown), shown

    page.locator("#submit").click()
    job = page.locator("#job")
    expect(job).to_have_attribute("data-state", "succeeded")
    expect(job.locator("progress")).to_have_attribute("value", "250")
    expect(job).to_contain_text("250 / 250 行")
    link = job.locator("a.download")
    expect(link).to_contain_text("qa_members.csv")

    with page.expect_download() as downloading:
        link.click()
    download = downloading.value
    assert download.suggested_filename == "qa_members.csv"
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert rows[0] == names
    assert len(rows) == 1 + 250
    assert rows[1:21] == shown  # the preview was the file's first rows
    assert all(HIRAGANA_NAME.match(row[1]) for row in rows[1:])

    history = page.locator("#history-table tbody tr", has_text="qa_members")
    expect(history).to_have_count(1)
    expect(history).to_contain_text("完了")
    expect(history.locator("a.download")).to_be_visible()
    save_screenshot(page, tmp_path / "web-page-ja.png", capsys)


# --- language, key and errors --------------------------------------------------------------


def translated_labels(page: Page) -> dict[str, str]:
    """Every fixed label of the page, by its message key, plus the builder's own labels."""
    labels: dict[str, str] = page.evaluate(
        """() => {
            const found = {};
            for (const node of document.querySelectorAll('[data-i18n]')) {
                found[node.dataset.i18n] = node.textContent;
            }
            for (const node of document.querySelectorAll('[data-i18n-placeholder]')) {
                found[node.dataset.i18nPlaceholder] = node.placeholder;
            }
            const card = document.querySelector('#fields .field');
            found['field labels'] = [...card.querySelectorAll('.field-head label')]
                .map(label => label.textContent).join(' / ');
            found['categories'] = [...card.querySelectorAll('optgroup')]
                .map(group => group.label).join(' / ');
            return found;
        }"""
    )
    return labels


def test_the_language_switch_translates_every_label_and_is_remembered(
    en_page: Page, stack: Stack
) -> None:
    page = en_page
    open_page(page, stack)  # the browser prefers English
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#builder-title")).to_have_text("Dataset")
    english = translated_labels(page)

    page.locator('.lang[data-lang="ja"]').click()
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.locator("#builder-title")).to_have_text("データセットの定義")
    expect(page.locator("#preview-run")).to_have_text("プレビューを表示")
    japanese = translated_labels(page)
    assert japanese.keys() == english.keys()
    untranslated = [key for key in english if japanese[key] == english[key]]
    assert not untranslated, untranslated
    assert all(JAPANESE.search(label) for label in japanese.values()), japanese

    page.reload()
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    expect(page.locator("#builder-title")).to_have_text("データセットの定義")
    page.locator('.lang[data-lang="en"]').click()
    expect(page.locator("#generate-title")).to_have_text("Generate")


def test_the_api_key_stays_in_this_tab_and_goes_only_to_our_api(
    browser: Browser, ja_page: Page, stack: Stack, api_key: str
) -> None:
    page = ja_page
    sent: list[tuple[str, str | None]] = []
    page.on(
        "request", lambda request: sent.append((request.url, request.headers.get("authorization")))
    )
    open_page(page, stack, api_key)
    page.locator("#preview-run").click()
    expect(page.locator("#preview-table tbody tr")).to_have_count(20)

    stored: dict[str, Any] = page.evaluate(
        "() => ({session: {...sessionStorage}, local: {...localStorage}, cookies: document.cookie})"
    )
    assert stored["session"]["tdbuddy.apiKey"] == api_key
    assert api_key not in str(stored["local"]) and api_key not in stored["cookies"]
    assert api_key not in page.content()  # not written into the page's markup
    with_key = [url for url, authorization in sent if authorization == f"Bearer {api_key}"]
    assert any("/v1/preview" in url for url in with_key)
    assert all(url.startswith(f"{stack.base_url}/") for url, _ in sent), sent

    # Another tab starts without it; closing the tab forgets it; "forget" removes it now.
    other = page.context.new_page()
    other.goto(f"{stack.base_url}/")
    expect(other.locator("body")).to_have_attribute("data-ready", "true")
    expect(other.locator("#api-key")).to_have_value("")
    fresh = open_context(browser, "ja-JP")
    try:
        later = fresh.new_page()
        later.goto(f"{stack.base_url}/")
        expect(later.locator("#api-key")).to_have_value("")
    finally:
        fresh.close()
    page.locator("#key-forget").click()
    assert page.evaluate("() => sessionStorage.getItem('tdbuddy.apiKey')") is None
    expect(page.locator("#history-status")).to_contain_text("API キーを入力すると")


def test_a_bad_option_shows_the_api_error_beside_the_field_it_names(
    en_page: Page, stack: Stack, api_key: str
) -> None:
    page = en_page
    open_page(page, stack, api_key)
    add_field(page, "age", "integer", min="50", max="10")
    page.locator("#preview-run").click()

    error = page.locator("#spec-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("fields[3].min")
    expect(error).to_contain_text("min (50) is greater than max (10)")
    card = field_cards(page).nth(3)
    expect(card).to_have_class(re.compile(r"\binvalid\b"))
    expect(card.locator(".field-error")).to_have_text("min (50) is greater than max (10)")
    expect(card.locator('[data-option="min"] input')).to_have_attribute("aria-invalid", "true")

    card.locator('[data-option="min"] input').fill("5")  # fixed: the preview follows by itself
    expect(error).to_be_hidden()
    expect(page.locator("#preview-table thead .col-name").last).to_have_text("age")
    expect(card).not_to_have_class(re.compile(r"\binvalid\b"))


# --- the AI assistant ----------------------------------------------------------------------


def test_the_ai_box_fills_the_builder_and_reports_what_it_could_not_do(
    ja_page: Page, stack: Stack, api_key: str, fake_anthropic: FakeAnthropic
) -> None:
    page = ja_page
    open_page(page, stack, api_key)
    page.locator("#spec-locale").select_option("ja_JP")
    page.locator("#ai-prompt").fill("会員ランク付きの日本の顧客 500 人")
    page.locator("#ai-run").click()

    suggested = ["customer_id", "full_name", "email", "city", "tier"]
    expect(page.locator("#ai-status")).to_contain_text("1,200")  # the tokens Claude billed
    expect_field_names(page, suggested)
    expect(page.locator("#spec-name")).to_have_value("customers")
    expect(page.locator("#spec-rows")).to_have_value("500")
    tier = field_cards(page).nth(4).locator('[data-option="values"] input')
    expect(tier).to_have_value("bronze, silver, gold")
    expect(page.locator("#preview-table thead .col-name")).to_have_text(suggested)
    asked = [seen.body for seen in fake_anthropic.take_requests() if seen.path == "/v1/messages"]
    assert asked and "会員ランク付きの日本の顧客" in str(asked[-1])

    # Claude answers twice without the tool: the page says why and keeps the form as it was.
    fake_anthropic.queue(text("どんなデータですか？"), text("もう少し教えてください。"))
    page.locator("#ai-prompt").fill("何か")
    page.locator("#ai-run").click()
    expect(page.locator("#ai-status")).to_have_class(re.compile(r"\berror\b"))
    expect(page.locator("#ai-status")).to_contain_text("フォームは変更していません")
    expect_field_names(page, suggested)


def _locale_line(fake_anthropic: FakeAnthropic) -> str:
    """The locale line of the request Claude was sent last, as the API wrote it."""
    asked = [seen.body for seen in fake_anthropic.take_requests() if seen.path == "/v1/messages"]
    assert asked and asked[-1] is not None
    first: str = asked[-1]["messages"][0]["content"]
    return first.splitlines()[0]


def _ask(page: Page, prompt: str) -> None:
    """Asks the AI box for a spec and waits until the suggestion is in the builder."""
    page.locator("#ai-prompt").fill(prompt)
    with page.expect_response("**/v1/specs/suggest") as answered:
        page.locator("#ai-run").click()
    assert answered.value.status == 200, answered.value.text()
    expect(page.locator("#ai-status")).to_have_class(re.compile(r"\bok\b"))


def test_the_ai_box_leaves_the_locale_to_claude_until_the_user_picks_one(
    en_page: Page, stack: Stack, api_key: str, fake_anthropic: FakeAnthropic
) -> None:
    page = en_page
    open_page(page, stack, api_key)
    # The builder starts at en_US only because the page is in English: not a choice.
    expect(page.locator("#spec-locale")).to_have_value("en_US")
    expect(page.locator("#ai-locale")).to_contain_text("picks it from your description")
    fake_anthropic.take_requests()

    _ask(page, "500 Japanese e-commerce customers")

    assert _locale_line(fake_anthropic).startswith("Locale: choose from the request")
    # The suggested spec's locale is in the builder now, and goes with the next request.
    expect(page.locator("#ai-locale")).to_contain_text("as chosen in the form")

    # A new tab starts afresh; there the user picks ja_JP, and it is sent from then on.
    other = page.context.new_page()
    open_page(other, stack, api_key)
    expect(other.locator("#ai-locale")).to_contain_text("picks it from your description")
    other.locator("#spec-locale").select_option("ja_JP")
    expect(other.locator("#ai-locale")).to_contain_text("ja_JP")
    other.reload()  # the choice is part of the tab's draft
    expect(other.locator("body")).to_have_attribute("data-ready", "true")
    expect(other.locator("#ai-locale")).to_contain_text("ja_JP")

    _ask(other, "500 e-commerce customers")

    assert _locale_line(fake_anthropic).startswith("Locale: ja_JP")
    expect(other.locator("#spec-locale")).to_have_value("ja_JP")


# --- following a job -----------------------------------------------------------------------

JOB_URL = re.compile(r"/v1/jobs/[0-9a-f-]{36}$")
# Counts the job box's redraws in `data-job-renders` on <body>: one per answer the page
# got about the job, and the sign that its next poll is scheduled.
COUNT_JOB_RENDERS = """() => {
    const box = document.getElementById('job');
    document.body.dataset.jobRenders = '0';
    new MutationObserver((records) => {
        const drawn = records.filter((record) => record.target === box).length;
        document.body.dataset.jobRenders = String(Number(document.body.dataset.jobRenders) + drawn);
    }).observe(box, { childList: true });
}"""


def test_failed_cancels_leave_one_polling_loop(en_page: Page, stack: Stack, api_key: str) -> None:
    page = en_page
    polls: list[str] = []  # the URL of every GET of the job
    waits: list[str] = []  # the Retry-After of every answer to one
    page.on("request", lambda r: polls.append(r.url) if JOB_URL.search(r.url) else None)
    page.on(
        "response",
        lambda r: waits.append(r.headers.get("retry-after", "")) if JOB_URL.search(r.url) else None,
    )
    page.clock.install()  # the page's timers run only when the test moves the clock on
    open_page(page, stack, api_key)
    page.locator("#spec-rows").fill("100000000")  # still running whenever the test looks
    page.evaluate(COUNT_JOB_RENDERS)
    renders = page.locator("body")
    now_ms = page.evaluate("Date.now()")
    page.clock.pause_at(dt.datetime.fromtimestamp(now_ms / 1000 + 1, dt.UTC))
    page.locator("#submit").click()
    expect(renders).to_have_attribute("data-job-renders", "1")
    try:
        # Each cancel fails on the way (the network drops it); the page looks at the job again.
        page.route("**/v1/jobs/*/cancel", lambda route: route.abort())
        for drawn in range(2, 5):
            page.locator("#job-cancel").click()
            expect(renders).to_have_attribute("data-job-renders", str(drawn))
        expect(page.locator("#submit-status")).to_have_text("Could not reach the server.")
        assert len(polls) == 3
        wait_ms = int(float(waits[-1]) * 1000)

        # Three poll intervals: one look at the job each, not one for every failed cancel.
        for drawn in range(5, 8):
            page.clock.run_for(wait_ms)
            expect(renders).to_have_attribute("data-job-renders", str(drawn))
        assert len(polls) == 6, polls
        expect(page.locator("#job")).to_have_attribute("data-state", re.compile("queued|running"))
    finally:
        if polls:
            job_id = polls[0].rsplit("/", 1)[1]
            with stack.client(api_key) as client:
                client.post(f"/v1/jobs/{job_id}/cancel")
