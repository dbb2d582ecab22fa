"""The Markdown renderer: safe HTML, stable heading anchors, images, glossary links."""

import pytest

from education import rendering
from education.rendering import link_glossary_terms, plain_text, render_markdown

XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    '<img src="/static/x.png" onerror="alert(1)">',
    '<a href="javascript:alert(1)">click</a>',
    "[click](javascript:alert(1))",
    '<a href="JaVaScRiPt:alert(1)">click</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    '<p style="background:url(javascript:alert(1))">styled</p>',
    '<iframe src="https://evil.example/"></iframe>',
    '<svg onload="alert(1)"><circle r="1"/></svg>',
    '<div onclick="alert(1)">click</div>',
    "<style>body{display:none}</style>",
    '<object data="https://evil.example/x.swf"></object>',
    '<form action="https://evil.example/"><input name="q"></form>',
    '<a href="https://example.org/" onmouseover="alert(1)">ok</a>',
    '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
]


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_xss_payloads_are_stripped(payload):
    html = render_markdown(f"Before.\n\n{payload}\n\nAfter.").html.lower()
    for forbidden in [
        "<script",
        "onerror",
        "onload",
        "onclick",
        "onmouseover",
        "javascript:",
        "data:",
        "style=",
        "<style",
        "<iframe",
        "<svg",
        "<object",
        "<form",
        "<input",
    ]:
        assert forbidden not in html, (payload, html)
    assert "before." in html and "after." in html


def test_ordinary_markdown_survives():
    html = render_markdown(
        "Some **bold**, *em* and a [link](https://example.org/).\n\n- one\n- two\n\n> quote"
    ).html
    assert "<strong>bold</strong>" in html and "<em>em</em>" in html
    assert '<a href="https://example.org/" rel="noopener noreferrer">link</a>' in html
    assert "<ul>" in html and "<blockquote>" in html


def test_headings_get_stable_ids_and_toc():
    text = "## What it is\n\nText.\n\n### A detail\n\nMore.\n\n## What it is\n\nAgain."
    first = render_markdown(text)
    assert first.html == render_markdown(text).html  # stable between renders
    assert '<h2 id="what-it-is">What it is</h2>' in first.html
    assert '<h3 id="a-detail">A detail</h3>' in first.html
    assert [entry["id"] for entry in first.toc] == ["what-it-is", "what-it-is_1"]
    assert first.toc[0]["title"] == "What it is"


def test_h1_in_body_becomes_h2_so_the_page_keeps_one_h1():
    html = render_markdown("# Big heading\n\nText.").html
    assert "<h1" not in html and '<h2 id="big-heading">' in html


def test_static_images_resolve_to_static_url_and_keep_alt():
    html = render_markdown(
        "![A diagram of four steps](static:education/diagrams/glutamate-cascade.svg)"
    ).html
    assert 'src="/static/education/diagrams/glutamate-cascade.svg"' in html
    assert 'alt="A diagram of four steps"' in html


@pytest.mark.parametrize(
    ("name", "size"),
    [
        ("education/diagrams/glutamate-cascade.svg", (360, 800)),
        ("education/diagrams/treatment-series-timeline.svg", (360, 816)),
    ],
)
def test_diagrams_carry_their_size_so_the_page_does_not_shift(name, size):
    html = render_markdown(f"![A diagram](static:{name})").html
    assert f'width="{size[0]}"' in html and f'height="{size[1]}"' in html
    assert 'loading="lazy"' in html


def test_svg_size_reads_width_and_height_before_view_box(tmp_path, settings):
    (tmp_path / "sized.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="120px" height="80" viewBox="0 0 12 8">'
    )
    (tmp_path / "boxed.svg").write_text('<svg viewBox="0,0,300.4,150"><rect/></svg>')
    (tmp_path / "bare.svg").write_text("<svg><rect/></svg>")
    settings.STATICFILES_DIRS = [tmp_path]
    assert rendering.svg_size("sized.svg") == (120, 80)
    assert rendering.svg_size("boxed.svg") == (300, 150)
    assert rendering.svg_size("bare.svg") is None
    assert rendering.svg_size("missing.svg") is None


def test_an_image_of_unknown_size_still_renders_without_dimensions():
    html = render_markdown("![A photo](static:css/admin.css)").html
    assert 'src="/static/css/admin.css"' in html and "width=" not in html


@pytest.mark.parametrize(
    "src", ["https://evil.example/x.png", "//evil.example/x.png", "http://evil.example/x.png"]
)
def test_images_from_other_origins_lose_their_source(src):
    html = render_markdown(f"![tracker]({src})").html
    assert "evil.example" not in html


def test_plain_text_excludes_tags_and_alt_text_and_marks_sentences():
    html = render_markdown("## Heading\n\nA *b* c.\n\n![secret alt](static:x.svg)\n\n- item").html
    assert plain_text(html) == "Heading\nA b c.\nitem"
    assert plain_text(html, sentence_blocks=True) == "Heading.\nA b c.\nitem."


def test_count_words_and_grade():
    assert rendering.count_words("It's a well-known fact, isn't it?") == 6
    easy = "The cat sat on the mat. The dog ran to the cat. They are friends now."
    assert rendering.reading_grade(easy) < 3


GLOSSARY = [("NMDA receptor", "/glossary/#nmda-receptor"), ("BDNF", "/glossary/#bdnf")]


def test_glossary_links_first_use_only_including_plurals():
    html = "<p>Ketamine blocks NMDA receptors. Each NMDA receptor is a spot.</p>"
    linked = link_glossary_terms(html, GLOSSARY)
    assert linked.count('class="glossary-link"') == 1
    assert '<a class="glossary-link" href="/glossary/#nmda-receptor">NMDA receptors</a>' in linked
    assert "Each NMDA receptor is a spot." in linked


def test_glossary_links_skip_headings_links_and_code():
    html = (
        '<h2 id="bdnf">BDNF</h2><p><a href="/x/">BDNF here</a> and <code>BDNF</code>.</p>'
        "<p>Then BDNF &amp; more &lt;text&gt;.</p>"
    )
    linked = link_glossary_terms(html, GLOSSARY)
    assert '<h2 id="bdnf">BDNF</h2>' in linked
    assert '<a href="/x/">BDNF here</a>' in linked and "<code>BDNF</code>" in linked
    assert '<p>Then <a class="glossary-link" href="/glossary/#bdnf">BDNF</a> &amp; more' in linked
    assert "&lt;text&gt;" in linked  # text stays escaped when re-emitted


def test_glossary_linking_with_no_terms_changes_nothing():
    html = "<p>Plain &amp; simple<br>text.</p>"
    assert link_glossary_terms(html, []) == html


def test_grade_handles_words_outside_the_pronunciation_dictionary():
    # textstat looks words up in cmudict; unknown words (drug names) must not crash it.
    assert rendering.reading_grade("Ketamine and esketamine block NMDA receptors.") > 0
