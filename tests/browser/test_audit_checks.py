"""The audit itself: on a deliberately bad page, every check must speak up."""

import pytest

from tests.browser import audit

BAD_PAGE = """<!doctype html><html lang="en"><head><title>Bad</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  a:focus, button:focus { outline: none; }
  .wide { width: 900px; }
  .tiny { width: 12px; height: 12px; padding: 0; font-size: 8px; }
  .moving { transition: opacity 2s; }
  .pale { color: #bbb; background: #fff; }
</style></head><body>
<main>
<h1>One</h1><h1>Two</h1><h3>Skipped a level</h3>
<p class="pale">Low contrast text.</p>
<a href="#x" class="tiny">x</a>
<button class="tiny moving">y</button>
<input name="unlabelled">
<input name="email" class="is-invalid">
<div class="wide">wide</div>
</main></body></html>"""


def test_audit_reports_every_kind_of_problem(page):
    page.set_content(BAD_PAGE)
    with pytest.raises(AssertionError) as failure:
        audit.audit_page(page, "deliberately bad page (self-test)")
    report = str(failure.value)
    for expected in [
        "axe-core violations",
        "color-contrast",
        "label",
        "expected one h1, found 2",
        "heading skips from h1 to h3",
        "control without a label",
        "shown invalid only by colour",
        "target 12x12 px",
        "horizontal scroll at 320px",
        "motion under prefers-reduced-motion",
        "no visible focus outline",
    ]:
        assert expected in report, f"{expected!r} missing from:\n{report}"
    audit.RESULTS.pop("deliberately bad page (self-test)")


def test_page_weight_counts_compressed_static_and_html():
    css = b"body { color: red; }\n" * 400
    assert audit.compressed_size("http://127.0.0.1/static/a.css", "text/css", css) < len(css) / 10
    png = b"\x89PNG" + bytes(range(256)) * 4
    assert audit.compressed_size("http://127.0.0.1/static/a.png", "image/png", png) == len(png)
    html = b"<p>Plain words for patients.</p>" * 100
    assert audit.compressed_size("http://127.0.0.1/", "text/html", html) < len(html) / 5
