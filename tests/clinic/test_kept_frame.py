"""The search results page renders only its own blocks into a frame kept per process."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from clinic.kept_frame import render_in_kept_frame
from clinic.models import ClinicDetails
from clinic.page_cache import ContentVersion
from tests.factories import ArticleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def article():
    return ArticleFactory(
        title="What BDNF does",
        summary="A protein that helps brain cells grow.",
        body="BDNF supports new links between cells.",
    )


@pytest.mark.parametrize(
    "query",
    ["BDNF", "zebrafish", "", '<b>"bold" & BDNF</b>'],
    ids=["results", "no results", "no words", "markup"],
)
def test_a_search_page_is_the_page_its_template_renders_in_full(client, settings, article, query):
    client.get("/search/", {"q": "warm the frame"})
    framed = client.get("/search/", {"q": query, "visit": "framed"})
    settings.DEBUG = True  # every page rendered in full
    whole = client.get("/search/", {"q": query, "visit": "whole"})
    assert framed.status_code == whole.status_code == 200
    assert framed.content == whole.content


def test_one_visitors_words_never_reach_anothers_page(client, article):
    first = client.get("/search/", {"q": "zebrafish"}).content.decode()
    second = client.get("/search/", {"q": "BDNF"}).content.decode()
    assert "zebrafish" in first and "BDNF" not in first.replace("zebrafish", "")
    assert "zebrafish" not in second
    assert "<title>Search results for “BDNF” – " in second
    assert 'name="q" value="BDNF"' in second


def test_a_change_to_the_clinic_details_shows_in_the_next_search(client, article):
    client.get("/search/", {"q": "BDNF"})
    ClinicDetails.objects.filter(pk=1).update(phone="(555) 010-7777")
    ContentVersion.objects.bump()  # what the admin's save does
    assert "(555) 010-7777" in client.get("/search/", {"q": "sleep"}).content.decode()


def test_each_host_gets_its_own_frame(client, article):
    # The frame holds the canonical URL, which names the host.
    first = client.get("/search/", {"q": "BDNF"}, headers={"Host": "127.0.0.1"})
    second = client.get("/search/", {"q": "BDNF"}, headers={"Host": "localhost"})
    assert 'href="http://127.0.0.1/search/"' in first.content.decode()
    assert 'href="http://localhost/search/"' in second.content.decode()
    assert "127.0.0.1" not in second.content.decode()


def test_a_block_the_page_does_not_show_is_refused(rf):
    request = rf.get("/search/")
    with pytest.raises(ImproperlyConfigured, match="must show each of"):
        render_in_kept_frame(
            request,
            "education/search.html",
            {},
            blocks=("title", "no_such_block"),
            frame_context=dict,
        )
