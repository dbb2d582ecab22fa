"""The site frame in a real browser: home and error pages pass the audit and stay light."""

from tests.browser import audit

PAGE_BUDGET = 100 * 1024


def test_home_page_audit_screenshots_and_weight(page):
    size = audit.measure_page(page, "/", "home")
    assert page.get_by_role("heading", level=1).is_visible()
    assert page.get_by_role("complementary", name="Crisis support").is_visible()
    audit.audit_page(page, "home")
    audit.screenshot(page, "home")
    assert size <= PAGE_BUDGET


def test_not_found_page_audit_and_screenshots(page):
    audit.measure_page(page, "/no-such-page/", "404")
    assert page.get_by_role("heading", name="Page not found").is_visible()
    page.get_by_role("link", name="go to the home page").click()
    page.wait_for_url("**/")
    page.go_back()
    audit.audit_page(page, "404")
    audit.screenshot(page, "404")


def test_skip_link_is_the_first_stop_and_moves_focus_to_main(page):
    page.goto("/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    assert skip.evaluate("el => el === document.activeElement")
    assert skip.is_visible()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
