"""Every public page type in a real browser: the audit, screenshots and page weight."""

import pytest
from django.core.management import call_command

from tests.browser import audit

ARTICLE_BUDGET = 100 * 1024

# Page types a patient can reach without booking; the booking pages are audited in
# the booking journeys, where they have real slots and requests behind them.
PAGE_TYPES = [
    ("home", "/", 200, True),
    ("article list", "/articles/", 200, False),
    ("topic", "/topics/how-ketamine-works/", 200, False),
    ("article", "/articles/how-ketamine-works-glutamate-cascade/", 200, True),
    ("glossary", "/glossary/", 200, False),
    ("reading path", "/paths/during-and-after-your-series/", 200, True),
    ("article on a path", "/articles/integration-practices-after-a-session/", 200, True),
    ("planner", "/planner/", 200, True),
    ("integration support", "/integration-support/", 200, True),
    ("search results", "/search/?q=BDNF", 200, False),
    ("search, no results", "/search/?q=zzzqqq", 200, True),
    ("search, empty query", "/search/", 200, False),
    ("candidacy article", "/articles/is-ketamine-treatment-right-for-me/", 200, True),
    ("costs article", "/articles/costs-insurance-and-good-faith-estimate/", 200, True),
    ("forms article", "/articles/iv-ketamine-esketamine-spray-and-at-home-ketamine/", 200, True),
    ("evidence article", "/articles/will-it-work-what-the-research-shows/", 200, True),
    ("risks article", "/articles/misuse-dependence-and-bladder-problems/", 200, True),
    ("first day article", "/articles/your-consultation-and-first-treatment-day/", 200, True),
    ("costs", "/costs/", 200, True),
    ("privacy", "/privacy/", 200, True),
    ("waitlist", "/book/waitlist/?state=NY", 200, True),
    ("404", "/no-such-page/", 404, True),
]


@pytest.fixture
def sample_content(live_server):
    call_command("load_sample_content", verbosity=0)


def test_every_public_page_type_passes_the_audit(page, sample_content):
    failures = []
    for name, url, status, take_screenshots in PAGE_TYPES:
        try:
            audit.measure_page(page, url, name, status=status)
            audit.audit_page(page, name)
        except AssertionError as problem:
            failures.append(str(problem))
        if take_screenshots:
            audit.screenshot(page, name)
    assert not failures, "\n\n".join(failures)


def test_article_page_transfers_at_most_100_kb(page, sample_content):
    size = audit.measure_page(page, "/articles/how-ketamine-works-glutamate-cascade/", "article")
    assert page.get_by_role("heading", level=1).is_visible()
    assert size <= ARTICLE_BUDGET, f"article page transfers {size} bytes"
