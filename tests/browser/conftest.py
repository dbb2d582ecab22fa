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
def new_context(browser, live_server):
    """Open fresh browser profiles (one per person in a journey); each records every URL
    it requests and fails the test on a request to another origin or a CSP violation."""
    opened = []

    def open_context():
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": 1280, "height": 800}
        )
        context.set_default_timeout(10_000)
        context.requested_urls, context.console_errors = [], []
        context.on("request", lambda request: context.requested_urls.append(request.url))
        context.on(
            "console",
            lambda msg: context.console_errors.append(msg.text) if msg.type == "error" else None,
        )
        opened.append(context)
        return context

    yield open_context
    for context in opened:
        context.close()
    requested = [url for context in opened for url in context.requested_urls]
    foreign = [u for u in requested if urlsplit(u).scheme != "data" and not _is_local(u)]
    assert foreign == [], f"requests to another origin: {foreign}"
    errors = [text for context in opened for text in context.console_errors]
    blocked = [text for text in errors if "Content Security Policy" in text]
    assert blocked == [], f"the page broke its own Content Security Policy: {blocked}"


@pytest.fixture
def context(new_context):
    return new_context()


@pytest.fixture
def page(context):
    page = context.new_page()
    yield page
    page.close()


def _is_local(url: str) -> bool:
    return urlsplit(url).hostname in LOCAL_HOSTS
