"""Load the sample patient-education content from the `content/` folder.

Upserts topics, contributors, glossary terms, articles (with FAQs, references and
related articles) and the planner's lines by slug, inside one transaction. It compares
before writing, so a second run changes nothing; `--dry-run` reports what it would do
and rolls back.

The files hold no review dates. An article's "last reviewed" date is the day it was
loaded or last changed by a load, never a date from the past: a sample was never
reviewed by a clinician, and its contributors are marked as samples (`sample: true`), so
every page says so and `check --deploy` warns while they are published.

This command handles education content only. Sample consultation slots are loaded by
the consultations app's own command (`load_sample_slots`); `make run` runs both.
"""

import datetime
from collections import Counter
from pathlib import Path

import frontmatter
import reversion
import yaml
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from education import services
from education.models import (
    FAQ,
    Article,
    Contributor,
    GlossaryTerm,
    NetworkTherapist,
    NetworkTherapistState,
    PlannerItem,
    ReadingPath,
    ReadingPathStep,
    Reference,
    Topic,
)

# Sample articles go live at this local time on their "published" date.
PUBLISH_TIME = datetime.time(9, 0)
LOADED = "Loaded from the content folder by load_sample_content."


class _DryRunRollback(Exception):
    pass


class Command(BaseCommand):
    help = "Load or update the sample topics, contributors, glossary and articles (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--path",
            default=str(Path(settings.BASE_DIR) / "content"),
            help="Folder holding topics.yaml, contributors.yaml, glossary.yaml, articles/.",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Report what would change; save nothing."
        )

    def handle(self, *args, path, dry_run, **options):
        folder = Path(path)
        if not (folder / "articles").is_dir():
            raise CommandError(f"No content folder at {folder}")
        self.counts: dict[str, Counter] = {}
        try:
            with transaction.atomic(), reversion.create_revision():
                reversion.set_comment(LOADED)
                self._load(folder)
                if dry_run:
                    raise _DryRunRollback
        except _DryRunRollback:
            pass
        verb = "Would change" if dry_run else "Loaded"
        for kind, counter in self.counts.items():
            self.stdout.write(
                f"{verb} {kind}: {counter['created']} created, {counter['updated']} updated, "
                f"{counter['unchanged']} unchanged"
            )
        if dry_run:
            self.stdout.write("Dry run: nothing was saved.")

    # -- loading ---------------------------------------------------------------------

    def _load(self, folder: Path) -> None:
        topics = {
            row["slug"]: self._upsert(
                Topic,
                row["slug"],
                name=row["name"],
                description=row["description"],
                order=row["order"],
                review_interval_days=row["review_interval_days"],
            )
            for row in _yaml(folder / "topics.yaml")
        }
        people = {
            row["slug"]: self._upsert(
                Contributor,
                row["slug"],
                name=row["name"],
                credentials=row["credentials"],
                role=row["role"],
                bio=row.get("bio", ""),
                is_sample=bool(row.get("sample", False)),
            )
            for row in _yaml(folder / "contributors.yaml")
        }
        for row in _yaml(folder / "glossary.yaml"):
            self._upsert(GlossaryTerm, row["slug"], term=row["term"], definition=row["definition"])

        posts = [frontmatter.load(p) for p in sorted((folder / "articles").glob("*.md"))]
        # Articles first (related articles may point at any of them), then their parts.
        loaded = {post["slug"]: self._upsert_article(post, topics, people) for post in posts}
        articles = {slug: article for slug, (article, _) in loaded.items()}
        glossary = services.glossary_links()
        for post in posts:
            article, outcome = loaded[post["slug"]]
            parts_changed = [
                _replace_rows(article, FAQ, _faq_rows(post)),
                _replace_rows(article, Reference, _reference_rows(post)),
                _set_related(article, post, articles),
                services.article_render(article=article, glossary=glossary),
            ]
            missing = services.article_publish_problems(article=article)
            if missing:
                raise CommandError(f"{post['slug']}: {services.publish_gate_message(missing)}")
            if any(parts_changed) and outcome == "unchanged":
                _mark_loaded_today(article)
                outcome = "updated"
            publish_at = _publish_at(post)
            if article.status != Article.Status.PUBLISHED or article.publish_at != publish_at:
                services.article_publish(article=article, by=None, at=publish_at, source=LOADED)
                outcome = "updated" if outcome == "unchanged" else outcome
            elif any(parts_changed):
                # Record the article with its current FAQs and references in the history.
                reversion.add_to_revision(article)
            self._count(Article, outcome)
        for row in _yaml(folder / "planner.yaml"):
            self._upsert(PlannerItem, row["slug"], **_planner_fields(row, articles))
        for row in _yaml(folder / "network.yaml"):
            fields = {key: value for key, value in row.items() if key not in ("name", "states")}
            therapist = NetworkTherapist.objects.filter(name=row["name"]).first()
            if therapist is None:
                therapist = NetworkTherapist.objects.create(
                    name=row["name"], is_sample=True, **fields
                )
                therapist.states.set(
                    [NetworkTherapistState(state=code) for code in row["states"]], bulk=False
                )
                self._count(NetworkTherapist, "created")
            else:
                self._count(NetworkTherapist, "unchanged")  # staff may have edited it
        for row in _yaml(folder / "paths.yaml"):
            fields = {key: value for key, value in row.items() if key not in ("slug", "steps")}
            path = self._upsert(ReadingPath, row["slug"], **fields)
            steps = [{"article": articles[slug]} for slug in row["steps"] if slug in articles]
            for slug in set(row["steps"]) - set(articles):
                self.stdout.write(f"Reading path {row['slug']}: no article {slug}, skipped.")
            if _replace_rows(path, ReadingPathStep, steps, parent_field="path"):
                self._count(ReadingPathStep, "updated")

    def _upsert(self, model, slug: str, **fields):
        obj, outcome = _upsert(model, slug, fields)
        self._count(model, outcome)
        return obj

    def _upsert_article(self, post, topics, people) -> tuple[Article, str]:
        meta = post.metadata
        topic = topics[meta["topic"]]
        fields = {
            "title": meta["title"],
            "summary": meta["summary"],
            "body": post.content.strip() + "\n",
            "topic": topic,
            "author": people[meta["author"]],
            "reviewer": people[meta["reviewer"]],
            # The files record each article's review; loading them is not an edit.
            "review_state": Article.ReviewState.APPROVED,
            "review_note": meta.get("review_note", ""),
            "key_takeaways": "\n".join(meta.get("key_takeaways", [])),
            "regulatory_note": meta.get("regulatory_note") or "",
        }
        existing = Article.objects.filter(slug=meta["slug"]).first()
        if existing is None or any(getattr(existing, k) != v for k, v in fields.items()):
            fields.update(_review_dates(Article(topic=topic)))
        return _upsert(Article, meta["slug"], fields)

    def _count(self, model, outcome: str) -> None:
        self.counts.setdefault(model._meta.verbose_name_plural, Counter())[outcome] += 1


def _publish_at(post) -> datetime.datetime:
    zone = timezone.get_current_timezone()
    return datetime.datetime.combine(_date(post["published"]), PUBLISH_TIME, zone)


def _review_dates(article: Article) -> dict:
    """The load date as "last reviewed" (never backdated) and the due date it implies."""
    today = timezone.localdate()
    return {
        "last_reviewed": today,
        "next_review_due": services.next_review_due_for(article=article, reviewed_on=today),
    }


def _mark_loaded_today(article: Article) -> None:
    dates = _review_dates(article)
    for name, value in dates.items():
        setattr(article, name, value)
    article.save(update_fields=[*dates, "updated_at"])


def _upsert(model, slug: str, fields: dict) -> tuple:
    # An article's draft of changes may share its slug; the loader writes the article.
    rows = model.objects.without_change_drafts() if model is Article else model.objects
    obj = rows.filter(slug=slug).first()
    if obj is None:
        return model.objects.create(slug=slug, **fields), "created"
    changed = [name for name, value in fields.items() if getattr(obj, name) != value]
    for name in changed:
        setattr(obj, name, fields[name])
    if changed:
        obj.save()
    return obj, "updated" if changed else "unchanged"


def _faq_rows(post) -> list[dict]:
    return [{"question": f["question"], "answer": f["answer"]} for f in post.get("faqs", [])]


def _reference_rows(post) -> list[dict]:
    return [
        {
            "citation": ref["citation"],
            "doi": ref.get("doi") or "",
            "pmid": str(ref.get("pmid") or ""),
            "url": ref.get("url") or "",
        }
        for ref in post.get("references", [])
    ]


def _set_related(article: Article, post, articles: dict) -> bool:
    wanted = {articles[slug].pk for slug in post.get("related", [])}
    if wanted == set(article.related.values_list("pk", flat=True)):
        return False
    article.related.set(wanted)
    return True


def _replace_rows(parent, model, rows: list[dict], parent_field: str = "article") -> bool:
    """Make the parent's FAQs, references or path steps exactly `rows`, in order; return
    if changed."""
    fields = list(rows[0]) if rows else []
    existing = model.objects.filter(**{parent_field: parent}).order_by("order", "id")
    if [{name: getattr(obj, name) for name in fields} for obj in existing] == rows:
        return False
    model.objects.filter(**{parent_field: parent}).delete()
    model.objects.bulk_create(
        model(**{parent_field: parent}, order=index, **row)
        for index, row in enumerate(rows, start=1)
    )
    return True


def _planner_fields(row: dict, articles: dict) -> dict:
    fields = {key: value for key, value in row.items() if key != "slug"}
    fields["article"] = articles[row["article"]] if row.get("article") else None
    if row.get("time_of_day"):
        fields["time_of_day"] = datetime.time.fromisoformat(row["time_of_day"])
    return fields


def _yaml(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle) or []


def _date(value) -> datetime.date:
    return value if isinstance(value, datetime.date) else datetime.date.fromisoformat(value)
