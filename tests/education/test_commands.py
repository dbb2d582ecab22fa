"""load_sample_content, and the sample articles' own quality bars."""

import io
from pathlib import Path

import frontmatter
import pytest
import yaml
from django.conf import settings
from django.core.management import CommandError, call_command
from reversion.models import Version

from education import rendering
from education.models import (
    FAQ,
    Article,
    Contributor,
    GlossaryTerm,
    Reference,
    ReviewStep,
    Topic,
)

pytestmark = pytest.mark.django_db

CONTENT = Path(settings.BASE_DIR) / "content"
ARTICLE_FILES = sorted((CONTENT / "articles").glob("*.md"))


def load(*args) -> str:
    out = io.StringIO()
    call_command("load_sample_content", *args, stdout=out)
    return out.getvalue()


def counts():
    return [m.objects.count() for m in (Topic, Contributor, GlossaryTerm, Article, FAQ, Reference)]


def test_loads_everything_published_and_is_idempotent():
    first = load()
    assert f"Loaded articles: {len(ARTICLE_FILES)} created, 0 updated, 0 unchanged" in first
    assert "Loaded topics: 5 created" in first
    assert Article.objects.published().count() == len(ARTICLE_FILES) >= 6
    assert GlossaryTerm.objects.count() >= 11
    assert all(a.references.exists() and a.reviewer for a in Article.objects.all())
    assert all(a.related.exists() and a.body_html for a in Article.objects.all())
    versions = Version.objects.get_for_model(Article)
    assert versions.count() == len(ARTICLE_FILES)
    assert versions.first().revision.comment.startswith("Loaded from the content folder")
    before = counts()
    snapshot = list(Article.objects.values_list("slug", "updated_at", "body_html"))
    second = load()
    assert f"Loaded articles: 0 created, 0 updated, {len(ARTICLE_FILES)} unchanged" in second
    assert "Loaded glossary terms: 0 created, 0 updated" in second
    assert counts() == before
    assert Version.objects.get_for_model(Article).count() == len(ARTICLE_FILES)
    assert list(Article.objects.values_list("slug", "updated_at", "body_html")) == snapshot


def test_dry_run_saves_nothing():
    out = load("--dry-run")
    assert "Would change articles: " in out and "Dry run: nothing was saved." in out
    assert counts() == [0, 0, 0, 0, 0, 0]


def test_changes_are_detected_and_repaired():
    load()
    article = Article.objects.first()
    article.faqs.all().delete()
    Article.objects.filter(pk=article.pk).update(title="Edited by hand")
    other = Article.objects.exclude(pk=article.pk).first()
    other.related.clear()
    out = load()
    assert "Loaded articles: 0 created, 2 updated" in out
    article.refresh_from_db()
    assert article.title != "Edited by hand" and article.faqs.exists()
    assert other.related.exists()


def test_missing_folder_and_unreviewed_article_are_refused(tmp_path):
    with pytest.raises(CommandError, match="No content folder"):
        load("--path", str(tmp_path))
    for name in ["topics.yaml", "contributors.yaml", "glossary.yaml"]:
        (tmp_path / name).write_text((CONTENT / name).read_text())
    (tmp_path / "articles").mkdir()
    post = frontmatter.load(ARTICLE_FILES[0])
    post["references"] = []
    post["related"] = []
    (tmp_path / "articles" / "x.md").write_text(frontmatter.dumps(post))
    with pytest.raises(CommandError, match="at least one reference"):
        load("--path", str(tmp_path))
    assert counts() == [0, 0, 0, 0, 0, 0]


def measure(path: Path) -> tuple[int, float]:
    html = rendering.render_markdown(frontmatter.load(path).content).html
    words = rendering.count_words(rendering.plain_text(html))
    grade = rendering.reading_grade(rendering.plain_text(html, sentence_blocks=True))
    return words, grade


@pytest.mark.parametrize("path", ARTICLE_FILES, ids=[p.stem for p in ARTICLE_FILES])
def test_sample_article_is_plain_language_and_the_right_length(path):
    words, grade = measure(path)
    assert grade <= 8, f"{path.stem}: grade {grade}"
    assert 600 <= words <= 1200, f"{path.stem}: {words} words"


def test_there_are_at_least_six_sample_articles_using_both_diagrams():
    assert len(ARTICLE_FILES) >= 6
    bodies = "".join(p.read_text() for p in ARTICLE_FILES)
    for diagram in ["glutamate-cascade.svg", "treatment-series-timeline.svg"]:
        assert f"static:education/diagrams/{diagram}" in bodies
        assert (Path(settings.BASE_DIR) / "static/education/diagrams" / diagram).exists()


def test_loading_publishes_through_the_publishing_service(tmp_path, mailoutbox):
    """The loader's articles go live as the admin's do: the history marks the live version,
    the first publication date stays put; a load is no hand-off, so nobody is emailed."""
    for name in ["topics.yaml", "contributors.yaml", "glossary.yaml", "planner.yaml"]:
        (tmp_path / name).write_text((CONTENT / name).read_text())
    for name in ["network.yaml", "paths.yaml"]:
        (tmp_path / name).write_text("[]\n")
    (tmp_path / "articles").mkdir()
    post = frontmatter.load(ARTICLE_FILES[0])
    post["related"] = []
    (tmp_path / "articles" / "a.md").write_text(frontmatter.dumps(post))
    planner = [row for row in _yaml_rows(tmp_path / "planner.yaml") if not row.get("article")]
    (tmp_path / "planner.yaml").write_text(yaml.safe_dump(planner))
    load("--path", str(tmp_path))
    article = Article.objects.get()
    comment = Version.objects.get_for_object(article).first().revision.comment
    assert comment.startswith("Loaded from the content folder")
    assert "Published: this is the live version." in comment
    first_published = article.first_published_at
    assert first_published == article.publish_at

    post["published"] = "2099-01-05"  # the file moves its date: scheduled again
    (tmp_path / "articles" / "a.md").write_text(frontmatter.dumps(post))
    load("--path", str(tmp_path))
    article.refresh_from_db()
    assert article.publish_at.year == 2099
    assert article.first_published_at == first_published
    assert not ReviewStep.objects.exists() and mailoutbox == []


def _yaml_rows(path: Path) -> list[dict]:
    return yaml.safe_load(path.read_text()) or []
