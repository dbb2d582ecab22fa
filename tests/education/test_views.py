"""Public education pages, seen over HTTP as a patient (and a staff previewer) sees them."""

import datetime
import json
import re
import xml.etree.ElementTree as ET

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.contrib.staticfiles.storage import StaticFilesStorage
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from clinic import page_cache
from clinic.models import ClinicDetails
from education.models import Article, Topic
from tests.factories import (
    ArticleFactory,
    ContributorFactory,
    FAQFactory,
    GlossaryTermFactory,
    ReferenceFactory,
    TopicFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

JSON_LD = re.compile(r'<script type="application/ld\+json">(.*?)</script>', re.S)


def html_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def json_ld(html: str) -> dict:
    return {doc["@type"]: doc for doc in map(json.loads, JSON_LD.findall(html))}


@pytest.fixture
def article():
    article = ArticleFactory(
        title="How ketamine works",
        slug="how-ketamine-works",
        summary="What ketamine does in the brain.",
        body="\n\n".join(f"## Part {n}\n\nBDNF helps brain cells grow." for n in range(1, 6)),
        regulatory_note="IV ketamine for depression is off-label in the US.",
        references=0,
        topic=TopicFactory(name="How it works", slug="how-it-works"),
        author=ContributorFactory(name="Clinic psychiatrist (sample)", credentials="MD"),
        reviewer=ContributorFactory(name="Medical reviewer (sample)", credentials="MD"),
        rendered=False,
    )
    ReferenceFactory(article=article, citation="Berman RM. A trial.", doi="10.1/abc", pmid="42")
    FAQFactory(article=article, question="Is it safe?", answer="It is given under watch.")
    GlossaryTermFactory(term="BDNF", slug="bdnf")
    from education.services import article_render

    article_render(article=article)
    return article


# -- every route -----------------------------------------------------------------------


def test_every_public_route_answers(client, article):
    urls = [
        reverse("home"),
        reverse("education:article_list"),
        reverse("education:article_list") + f"?topic={article.topic.slug}",
        reverse("education:article_detail", args=[article.slug]),
        reverse("education:topic_detail", args=[article.topic.slug]),
        reverse("education:glossary"),
        reverse("education:search"),
        reverse("education:search") + "?q=BDNF",
        reverse("education:feed"),
        reverse("education:sitemap"),
        reverse("education:robots_txt"),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        # Cacheable by a proxy later: no session read, no CSRF cookie.
        assert "Cookie" not in response.get("Vary", ""), url
        assert "csrftoken" not in response.cookies and "sessionid" not in response.cookies
        assert "csrfmiddlewaretoken" not in response.content.decode(), url


def test_unknown_topic_and_article_are_404(client):
    assert client.get("/articles/?topic=nope").status_code == 404
    assert client.get("/articles/nope/").status_code == 404
    assert client.get("/topics/nope/").status_code == 404


def test_public_pages_have_unique_titles_descriptions_canonical_and_open_graph(client, article):
    pages = {
        "/": "Ketamine treatment for depression, explained",
        "/articles/": "Articles",
        f"/articles/{article.slug}/": "How ketamine works",
        f"/topics/{article.topic.slug}/": "How it works",
        "/glossary/": "Glossary",
        "/search/?q=brain": "Search results for “brain”",
    }
    titles = set()
    for url, title in pages.items():
        html = html_of(client.get(url))
        found = re.search(r"<title>(.*?)</title>", html).group(1)
        assert found == f"{title} – Riverside Health Clinic", url
        titles.add(found)
        assert re.search(r'<meta name="description" content="[^"]{20,}">', html), url
        path = url.split("?")[0]
        assert f'<link rel="canonical" href="http://testserver{path}' in html, url
        for prop in ["og:title", "og:description", "og:url", "og:type", "og:site_name"]:
            assert f'property="{prop}"' in html, (url, prop)
        assert html.count("<h1") == 1, url
    assert len(titles) == len(pages)


def test_header_marks_current_section(client, article):
    html = html_of(client.get("/glossary/"))
    assert '<a href="/glossary/" aria-current="page">Glossary</a>' in html
    assert '<a href="/articles/">Articles</a>' in html
    html = html_of(client.get("/articles/"))
    assert '<a href="/articles/" aria-current="page">Articles</a>' in html


# -- home, lists, topics ---------------------------------------------------------------


def test_home_groups_published_articles_by_topic_and_leads_to_booking(client, article):
    ArticleFactory(title="Hidden draft", draft=True, topic=article.topic)
    empty = TopicFactory(name="Empty topic")
    html = html_of(client.get("/"))
    assert "Ketamine is a medicine that can ease depression quickly" in html
    assert "How it works" in html and article.get_absolute_url() in html
    assert "Hidden draft" not in html and empty.name not in html
    assert 'href="/book/"' in html
    assert "call or text 988" in html


def test_home_shows_the_newest_few_of_each_topic_and_links_to_the_rest(client):
    topic = TopicFactory(name="Safety")
    now = timezone.now()
    for n in range(7):
        ArticleFactory(
            title=f"Safety article {n}",
            topic=topic,
            first_published_at=now - datetime.timedelta(days=n),
        )
    html = html_of(client.get("/"))
    assert [f"Safety article {n}" in html for n in range(7)] == [True] * 3 + [False] * 4
    assert f'<a href="{topic.get_absolute_url()}">All 7 articles on Safety</a>' in html
    small = TopicFactory(name="Costs")
    ArticleFactory(title="What it costs", topic=small)
    html = html_of(client.get("/"))
    assert "What it costs" in html and "All 1 article" not in html


def test_topic_page_shows_a_page_of_articles_and_links_to_the_rest(client):
    topic = TopicFactory(name="Safety", slug="safety")
    for n in range(12):
        ArticleFactory(title=f"Safety article {n:02}", topic=topic)
    html = html_of(client.get(topic.get_absolute_url()))
    assert html.count('class="article-card"') == 10 and "Safety article 10" not in html
    assert '<a href="/articles/?topic=safety">All 12 articles on Safety</a>' in html
    rest = html_of(client.get("/articles/?topic=safety&page=2"))
    assert "Safety article 10" in rest and "Safety article 11" in rest


def test_article_list_filters_by_topic_and_paginates(client):
    first, second = TopicFactory(slug="first"), TopicFactory(slug="second")
    for n in range(12):
        ArticleFactory(title=f"First topic article {n:02}", topic=first)
    ArticleFactory(title="Second topic article", topic=second)
    html = html_of(client.get("/articles/"))
    assert html.count('class="article-card"') == 10 and "Page 1 of 2" in html
    page2 = html_of(client.get("/articles/?page=2"))
    assert page2.count('class="article-card"') == 3
    filtered = html_of(client.get("/articles/?topic=first"))
    assert "Second topic article" not in filtered and "Page 1 of 2" in filtered
    assert 'href="?topic=first&amp;page=2"' in filtered
    assert 'aria-current="true">' + first.name in filtered
    last = html_of(client.get("/articles/?topic=first&page=2"))
    assert (
        '<link rel="canonical" href="http://testserver/articles/?topic=first&amp;page=2">' in last
    )
    assert client.get("/articles/?page=9").status_code == 404


def test_topic_page_lists_only_its_published_articles(client, article):
    ArticleFactory(title="Other topic article")
    ArticleFactory(title="Draft here", topic=article.topic, draft=True)
    html = html_of(client.get(article.topic.get_absolute_url()))
    assert article.title in html
    assert "Other topic article" not in html and "Draft here" not in html


def test_empty_lists_say_so(client):
    topic = TopicFactory()
    assert "no articles here yet" in html_of(client.get("/articles/"))
    assert "no articles on this topic yet" in html_of(client.get(topic.get_absolute_url()))
    assert "glossary is empty" in html_of(client.get("/glossary/"))


# -- the article page --------------------------------------------------------------------


def test_article_page_carries_everything_a_patient_needs(client, article):
    html = html_of(client.get(article.get_absolute_url()))
    assert 'aria-label="Breadcrumb"' in html and 'href="/topics/how-it-works/"' in html
    assert "Clinic psychiatrist (sample), MD" in html
    assert "Medically reviewed by <strong>Medical reviewer (sample), MD" in html
    assert "1 minute read" in html
    assert 'id="article-toc"' in html and 'href="#part-5"' in html  # five headings
    assert "Key takeaways" in html and "First takeaway." in html
    assert "<details>" in html and "<summary>Is it safe?</summary>" in html
    assert "off-label" in html
    assert 'href="https://doi.org/10.1/abc"' in html
    assert 'href="https://pubmed.ncbi.nlm.nih.gov/42/"' in html
    assert "Page last reviewed:" in html and "Next review due:" in html
    assert "What changed at the last review: Checked against the sources." in html
    assert 'href="/book/"' in html
    assert "education, not medical advice" in html
    assert '<a class="glossary-link" href="/glossary/#bdnf">BDNF</a>' in html
    assert html.split("</head>")[1].count("glossary-link") == 1  # the CSS names it too
    assert "due for review" not in html and "Preview" not in html


def test_short_article_has_no_table_of_contents(client):
    article = ArticleFactory(body="## One\n\nText.\n\n## Two\n\nText.")
    assert 'id="article-toc"' not in html_of(client.get(article.get_absolute_url()))


def test_related_articles_shown_only_when_published(client, article):
    live = ArticleFactory(title="A live related article")
    draft = ArticleFactory(title="A draft related article", draft=True)
    article.related.set([live, draft])
    html = html_of(client.get(article.get_absolute_url()))
    assert "A live related article" in html and "A draft related article" not in html


def test_article_json_ld_parses_and_carries_the_trust_fields(client, article):
    html = html_of(client.get(article.get_absolute_url()))
    docs = json_ld(html)
    page = docs["MedicalWebPage"]
    assert page["@context"] == "https://schema.org"
    assert page["name"] == "How ketamine works"
    assert page["author"]["name"] == "Clinic psychiatrist (sample)"
    assert page["reviewedBy"]["name"] == "Medical reviewer (sample)"
    assert page["reviewedBy"]["honorificSuffix"] == "MD"
    assert page["lastReviewed"] == article.last_reviewed.isoformat()
    assert datetime.datetime.fromisoformat(page["datePublished"]) == article.first_published_at
    assert datetime.datetime.fromisoformat(page["dateModified"]) == article.updated_at
    assert page["medicalAudience"]["audienceType"] == "Patient"
    assert page["citation"][0]["name"] == "Berman RM. A trial."
    assert page["citation"][0]["sameAs"] == "https://doi.org/10.1/abc"
    crumbs = docs["BreadcrumbList"]["itemListElement"]
    assert [c["name"] for c in crumbs] == ["Home", "Articles", "How it works", article.title]
    assert crumbs[-1]["item"] == "http://testserver/articles/how-ketamine-works/"
    faq = docs["FAQPage"]["mainEntity"][0]
    assert faq["name"] == "Is it safe?"
    assert faq["acceptedAnswer"]["text"] == "It is given under watch."


def test_json_ld_cannot_break_out_of_its_script_element(client):
    article = ArticleFactory(title="</script><script>alert(1)</script> & more", references=0)
    ReferenceFactory(article=article, citation="<b>x</b>", doi="", pmid="", url="https://a.b/")
    html = html_of(client.get(article.get_absolute_url()))
    scripts = JSON_LD.findall(html)
    assert all("<" not in s and ">" not in s for s in scripts)
    page = json_ld(html)["MedicalWebPage"]
    assert page["name"] == "</script><script>alert(1)</script> & more"
    assert page["citation"][0]["url"] == "https://a.b/"
    assert "FAQPage" not in json_ld(html)
    assert html.count("<script") == 2  # the two JSON-LD documents, nothing executable


class HashedNamesStorage(StaticFilesStorage):
    """Names files as the production manifest does, without running collectstatic."""

    def url(self, name):
        stem, _, extension = name.rpartition(".")
        return super().url(f"{stem}.0123456789ab.{extension}")


def test_diagram_is_shown_at_the_deployed_hashed_url_with_its_size(client, settings):
    # Rendered (stored) under one deployment, shown under another: the page must use the
    # hashed name of the files deployed now, which whitenoise serves as immutable.
    article = ArticleFactory(
        slug="diagram", body="![Four steps](static:education/diagrams/glutamate-cascade.svg)"
    )
    settings.STORAGES = settings.STORAGES | {
        "staticfiles": {"BACKEND": f"{__name__}.HashedNamesStorage"}
    }
    html = html_of(client.get(article.get_absolute_url()))
    image = re.search(r"<img [^>]+>", html.split('class="article__body')[1]).group(0)
    assert 'src="/static/education/diagrams/glutamate-cascade.0123456789ab.svg"' in image
    assert 'width="360"' in image and 'height="800"' in image


def test_article_page_loads_nothing_from_another_origin(client, article):
    html = html_of(client.get(article.get_absolute_url()))
    loaded = re.findall(r'<(?:img|script|iframe)[^>]+src="([^"]+)"', html)
    loaded += re.findall(r'<link rel="(?:stylesheet|preload|icon)" href="([^"]+)"', html)
    loaded += re.findall(r'url\("([^"]+)"\)', html)
    assert loaded and not [u for u in loaded if re.match(r"(https?:)?//", u)]


# -- drafts, scheduling, preview ---------------------------------------------------------


def previewer():
    user = UserFactory()
    user.user_permissions.add(Permission.objects.get(codename="view_article"))
    return user


@pytest.mark.parametrize("kind", ["draft", "scheduled"])
def test_unpublished_articles_are_404_for_everyone_and_previewed_in_the_admin(client, kind):
    if kind == "draft":
        article = ArticleFactory(draft=True)
    else:
        article = ArticleFactory(publish_at=timezone.now() + datetime.timedelta(days=1))
    url = article.get_absolute_url()
    assert client.get(url).status_code == 404
    client.force_login(previewer())
    assert client.get(url).status_code == 404  # the public page never shows a draft
    preview = reverse("admin:education_article_preview", args=[article.pk])
    staff_without_permission = UserFactory()
    client.force_login(staff_without_permission)
    assert client.get(preview).status_code == 403
    client.force_login(previewer())
    response = client.get(preview)
    html = html_of(response)
    if kind == "scheduled":
        assert "Preview: not published." in html and "Scheduled for" in html
        assert "Medically reviewed by" in html
    else:
        assert "Draft — not yet reviewed." in html
        assert "Medically reviewed by" not in html and "not yet reviewed" in html
    assert '<meta name="robots" content="noindex">' in html
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    for page in ["/", "/articles/", article.topic.get_absolute_url(), "/feed/", "/sitemap.xml"]:
        assert article.title not in client.get(page).content.decode()


def test_published_article_viewed_by_staff_has_no_banner_or_no_store(client, article):
    client.force_login(previewer())
    response = client.get(article.get_absolute_url())
    assert "Preview" not in html_of(response)
    assert "no-store" not in response.get("Cache-Control", "")


def test_scheduled_article_appears_by_itself_when_its_time_comes(client):
    when = timezone.now() + datetime.timedelta(hours=2)
    article = ArticleFactory(publish_at=when)
    assert client.get(article.get_absolute_url()).status_code == 404
    with time_machine.travel(when + datetime.timedelta(seconds=1)):
        assert client.get(article.get_absolute_url()).status_code == 200
        assert article.title in client.get("/articles/").content.decode()


# -- review due, feed, sitemap, robots ---------------------------------------------------


def test_overdue_article_shows_notice_and_leaves_the_sitemap(client, article):
    current = ArticleFactory(slug="current-one")
    assert article.get_absolute_url() in client.get("/sitemap.xml").content.decode()
    Article.objects.filter(pk=article.pk).update(
        next_review_due=timezone.localdate() - datetime.timedelta(days=1)
    )
    html = html_of(client.get(article.get_absolute_url()))
    assert "This page is due for review." in html
    sitemap = client.get("/sitemap.xml").content.decode()
    assert article.get_absolute_url() not in sitemap
    assert current.get_absolute_url() in sitemap
    assert "due for review" not in client.get(current.get_absolute_url()).content.decode()


def test_sitemap_lists_pages_topics_and_current_articles(client, article):
    ArticleFactory(slug="a-draft", draft=True)
    root = ET.fromstring(client.get("/sitemap.xml").content)
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    locations = {loc.text for loc in root.findall("s:url/s:loc", ns)}
    assert {
        "http://testserver/",
        "http://testserver/articles/",
        "http://testserver/glossary/",
        "http://testserver/topics/how-it-works/",
        "http://testserver/articles/how-ketamine-works/",
    } <= locations
    assert "http://testserver/articles/a-draft/" not in locations


def test_atom_feed_lists_published_articles(client, article):
    ArticleFactory(title="Draft in feed", draft=True)
    response = client.get("/feed/")
    assert response["Content-Type"].startswith("application/atom+xml")
    root = ET.fromstring(response.content)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    assert root.find("a:title", ns).text == "Articles – Riverside Health Clinic"
    titles = [entry.find("a:title", ns).text for entry in root.findall("a:entry", ns)]
    assert titles == ["How ketamine works"]
    entry = root.find("a:entry", ns)
    assert entry.find("a:summary", ns).text == article.summary
    assert entry.find("a:author/a:name", ns).text == "Clinic psychiatrist (sample), MD"


def test_robots_txt_points_to_the_sitemap(client):
    response = client.get("/robots.txt")
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    text = response.content.decode()
    assert "User-agent: *" in text and "Sitemap: http://testserver/sitemap.xml" in text


def test_glossary_has_anchors_for_every_term(client):
    GlossaryTermFactory(term="NMDA receptor", slug="nmda-receptor", definition="A spot.")
    html = html_of(client.get("/glossary/"))
    assert 'id="nmda-receptor"' in html and 'href="#nmda-receptor"' in html
    assert "<dt>NMDA receptor</dt>" in html and "<dd>A spot.</dd>" in html


# -- constant query counts ---------------------------------------------------------------


def _warm(client, url):
    ClinicDetails.objects.cached()  # created on first use, which changes the content version
    client.get(url)  # fills the cached clinic details so only page queries are counted
    page_cache.clear(kept_values=False)  # the counted request renders the page afresh


@pytest.mark.parametrize(
    ("url_for", "queries"),
    [
        # Each count includes the one read of the content version (clinic/page_cache.py);
        # home and article read the reading paths once (their steps only when there are any),
        # and home reads the articles for the first-question links once.
        (lambda topic, article: "/", 5),
        (lambda topic, article: "/articles/", 4),
        (lambda topic, article: f"/topics/{topic.slug}/", 4),
        (lambda topic, article: f"/articles/{article.slug}/", 6),
    ],
    ids=["home", "list", "topic", "article"],
)
def test_query_count_is_the_same_for_one_or_many(
    client, django_assert_num_queries, url_for, queries
):
    topic = TopicFactory()
    article = ArticleFactory(topic=topic, references=1)
    FAQFactory(article=article)
    article.related.add(ArticleFactory(topic=topic))
    url = url_for(topic, article)
    _warm(client, url)
    with django_assert_num_queries(queries):
        assert client.get(url).status_code == 200

    for _ in range(8):
        other = ArticleFactory(topic=TopicFactory(), references=3)
        article.related.add(other)
        ArticleFactory(topic=topic)
    FAQFactory.create_batch(6, article=article)
    ReferenceFactory.create_batch(6, article=article)
    _warm(client, url)
    with django_assert_num_queries(queries):
        assert client.get(url).status_code == 200


# -- the whole journey on the real sample content ----------------------------------------


def test_visitor_reaches_every_sample_article_glossary_topic_search_feed_and_sitemap(client):
    call_command("load_sample_content", stdout=open("/dev/null", "w"))  # noqa: SIM115
    home = html_of(client.get("/"))
    for article in Article.objects.all():
        assert f'href="{article.get_absolute_url()}"' in home
        page = html_of(client.get(article.get_absolute_url()))
        # The samples were never reviewed by a clinician, and their pages say so.
        assert "Sample content, not reviewed by a clinician." in page
        assert "reviewedBy" not in json_ld(page)["MedicalWebPage"]
    assert 'href="/glossary/"' in home
    topic = Topic.objects.first()
    assert f'href="{topic.get_absolute_url()}"' in home
    html_of(client.get(topic.get_absolute_url()))
    results = html_of(client.get("/search/?q=BDNF"))
    assert "<mark>BDNF</mark>" in results
    assert client.get("/feed/").status_code == 200 and client.get("/sitemap.xml").status_code == 200
