"""Fixtures for the real-browser tests: Debian's Chromium driven by Playwright.

Every test in this folder gets the `browser` marker, runs against pytest-django's
`live_server` on 127.0.0.1, and fails if the page asks any other origin for anything.
Without /usr/bin/chromium the tests skip, unless CLINIC_REQUIRE_BROWSER=1 (CI) says the
browser must be there.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.browser import audit

# Playwright's sync API runs an event loop in this thread; Django would otherwise refuse
# the ORM calls the tests make to set up data.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
os.environ.setdefault("DJANGO_LIVE_TEST_SERVER_ADDRESS", "127.0.0.1")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
HERE = Path(__file__).resolve().parent
LOCAL_HOSTS = {"127.0.0.1"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(item.fspath).resolve().parents:
            item.add_marker(pytest.mark.browser)


def pytest_terminal_summary(terminalreporter):
    table = audit.page_type_table()
    if table:
        terminalreporter.write_sep("=", "page types: transferred bytes and axe result")
        terminalreporter.write_line(table)


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: apt-get install -y chromium"
        if os.environ.get("CLINIC_REQUIRE_BROWSER") == "1":
            pytest.fail(reason + " (CLINIC_REQUIRE_BROWSER=1)", pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()
    audit.write_page_type_table()


@pytest.fixture
def context(browser, live_server, settings):
    """A fresh browser profile for one test; records every URL it requests."""
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 800}, accept_downloads=True
    )
    context.set_default_timeout(10_000)
    requested: list[str] = []
    console_errors: list[str] = []
    context.on("request", lambda request: requested.append(request.url))
    context.on(
        "console",
        lambda msg: console_errors.append(msg.text) if msg.type == "error" else None,
    )
    yield context
    context.close()
    foreign = [u for u in requested if urlsplit(u).scheme != "data" and not _is_local(u)]
    assert foreign == [], f"requests to another origin: {foreign}"
    blocked = [text for text in console_errors if "Content Security Policy" in text]
    assert blocked == [], f"the page broke its own Content Security Policy: {blocked}"


@pytest.fixture
def page(context):
    page = context.new_page()
    yield page
    page.close()


def _is_local(url: str) -> bool:
    return urlsplit(url).hostname in LOCAL_HOSTS
