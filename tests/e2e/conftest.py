"""A real browser for the web page's tests: Debian's Chromium, headless, driven by Playwright.

Playwright's own browser download does not work on these machines, so it is pointed at the
system's Chromium (`CHROMIUM_PATH`, default /usr/bin/chromium). Without it the tests skip on
a laptop and fail under CI=true, as every other missing service does.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright

from tests.services import unavailable

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
# Headless, and nothing that reaches out to the network (it is closed here, and such
# connections only slow the start down).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# How long a UI expectation waits for the page (a job of a few hundred rows ends in seconds).
EXPECT_TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        unavailable(f"Chromium at {CHROMIUM}")
    launched = playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    yield launched
    launched.close()


def open_context(browser: Browser, language: str) -> BrowserContext:
    """A fresh browser profile (its own storage) whose preferred language is `language`."""
    context = browser.new_context(
        locale=language, viewport={"width": 1400, "height": 1000}, accept_downloads=True
    )
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    return context


@pytest.fixture
def ja_page(browser: Browser) -> Iterator[Page]:
    """A tab of a browser whose user prefers Japanese."""
    context = open_context(browser, "ja-JP")
    yield context.new_page()
    context.close()


@pytest.fixture
def en_page(browser: Browser) -> Iterator[Page]:
    """A tab of a browser whose user prefers English."""
    context = open_context(browser, "en-US")
    yield context.new_page()
    context.close()
