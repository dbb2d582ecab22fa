"""Reading paths: articles in a set order, each showing "step 2 of 6" with previous/next."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from education.models import ReadingPath, ReadingPathStep
from tests.factories import ArticleFactory, role_member

pytestmark = pytest.mark.django_db


@pytest.fixture
def path():
    path = ReadingPath.objects.create(
        slug="thinking", title="Thinking about ketamine", description="Start here."
    )
    first, draft, second, third = (
        ArticleFactory(title="First"),
        ArticleFactory(title="Unfinished", draft=True),
        ArticleFactory(title="Second"),
        ArticleFactory(title="Third"),
    )
    for order, article in enumerate([first, draft, second, third], start=1):
        ReadingPathStep.objects.create(path=path, article=article, order=order)
    path.first, path.second, path.third, path.draft = first, second, third, draft
    return path


def test_path_page_lists_published_steps_in_order(client, path):
    response = client.get(path.get_absolute_url())
    html = response.content.decode()
    assert response.status_code == 200
    assert html.index("First") < html.index("Second") < html.index("Third")
    assert "Unfinished" not in html
    assert response["Cache-Control"].startswith("public")


def test_article_shows_its_step_with_previous_and_next(client, path):
    html = client.get(path.second.get_absolute_url()).content.decode()
    assert "step 2 of 3" in html  # the draft is not counted
    assert f'href="{path.first.get_absolute_url()}" rel="prev"' in html
    assert f'href="{path.third.get_absolute_url()}" rel="next"' in html
    first = client.get(path.first.get_absolute_url()).content.decode()
    assert "step 1 of 3" in first and 'rel="prev"' not in first
    last = client.get(path.third.get_absolute_url()).content.decode()
    assert "step 3 of 3" in last and 'rel="next"' not in last


def test_last_step_leads_to_the_planner_where_the_path_offers_it(client, path):
    path.offers_planner = True
    path.save()
    html = client.get(path.third.get_absolute_url()).content.decode()
    assert f'href="{reverse("education:planner")}">Next: plan the weeks' in html


def test_article_on_no_path_shows_no_steps(client, path):
    html = client.get(ArticleFactory(title="Alone").get_absolute_url()).content.decode()
    assert "step " not in html.lower().replace("steps", "")


def test_home_offers_the_paths_and_the_sitemap_lists_them(client, path):
    assert path.get_absolute_url() in client.get(reverse("home")).content.decode()
    sitemap = client.get(reverse("education:sitemap")).content.decode()
    assert path.get_absolute_url() in sitemap


def test_sample_paths_load_in_their_order(client):
    call_command("load_sample_content", verbosity=0)
    paths = list(ReadingPath.objects.all())
    assert [p.slug for p in paths] == [
        "thinking-about-ketamine",
        "preparing-for-your-first-session",
        "during-and-after-your-series",
    ]
    during = ReadingPath.objects.with_live_steps().get(slug="during-and-after-your-series")
    assert [a.slug for a in during.articles][:2] == [
        "neuroplasticity-window-and-integration",
        "integration-practices-after-a-session",
    ]
    call_command("load_sample_content", verbosity=0)  # a second run changes nothing
    assert ReadingPathStep.objects.filter(path=during).count() == len(during.articles)


@pytest.mark.parametrize(
    ("role", "status"), [("Content editors", 200), ("Intake coordinators", 403)]
)
def test_editors_curate_paths_in_the_admin(client, path, role, status):
    client.force_login(role_member(role))
    for url in [
        reverse("admin:education_readingpath_changelist"),
        reverse("admin:education_readingpath_add"),
        reverse("admin:education_readingpath_change", args=[path.pk]),
    ]:
        assert client.get(url).status_code == status, url
