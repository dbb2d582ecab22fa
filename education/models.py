"""Patient-education content: topics, contributors, glossary terms and articles.

An article's rendered HTML, table of contents, reading time and reading grade are derived
from its Markdown body and stored; `education.services.article_render` computes them.
"""

import datetime

import reversion
from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from clinic.kept_urls import kept_reverse
from consultations.us_states import US_STATES
from education.rendering import CONTROL_CHARACTERS, with_hashed_images

# Feeds are XML, which cannot hold control characters: one pasted into a title or summary
# once broke /feed/ for everyone. Tabs and line breaks are fine.
no_control_characters = RegexValidator(
    CONTROL_CHARACTERS,
    inverse_match=True,
    message="This has an invisible control character, often pasted from another program. "
    "Delete that part and type it again.",
)
CLEAN_TEXT = [no_control_characters]


class Topic(models.Model):
    name = models.CharField(max_length=100, validators=CLEAN_TEXT)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.CharField(max_length=300, help_text="One sentence shown on lists.")
    order = models.PositiveSmallIntegerField(default=0, help_text="Lower numbers come first.")
    review_interval_days = models.PositiveSmallIntegerField(
        default=365,
        help_text="Days between clinical reviews of its articles.",
    )

    class Meta:
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("education:topic_detail", args=[self.slug])


class Contributor(models.Model):
    """An author or medical reviewer, shown with credentials on every article."""

    name = models.CharField(max_length=100, validators=CLEAN_TEXT)
    slug = models.SlugField(max_length=100, unique=True)
    credentials = models.CharField(max_length=50, help_text="For example MD, PA-C, LCSW.")
    role = models.CharField(max_length=100)
    bio = models.TextField(blank=True)
    is_sample = models.BooleanField(
        "sample contributor",
        default=False,
        help_text="A placeholder that came with the sample content, not a real person. Pages "
        "written or reviewed by a sample say that no clinician has reviewed them.",
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="contributor",
        verbose_name="staff account",
        help_text="A medical reviewer's own sign-in: their approvals name this contributor.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name}, {self.credentials}" if self.credentials else self.name


class GlossaryTerm(models.Model):
    term = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    definition = models.TextField(help_text="Plain language, one to three short sentences.")

    class Meta:
        ordering = ["term"]

    def __str__(self) -> str:
        return self.term

    def get_absolute_url(self) -> str:
        return f"{reverse('education:glossary')}#{self.slug}"


class ArticleQuerySet(models.QuerySet):
    def without_change_drafts(self) -> "ArticleQuerySet":
        """Articles themselves, leaving out the drafts of changes to published ones."""
        return self.filter(draft_of__isnull=True)

    def waiting_for_review(self) -> "ArticleQuerySet":
        return self.filter(review_state=Article.ReviewState.IN_REVIEW)

    def changes_requested_of(self, user) -> "ArticleQuerySet":
        """Articles sent back with changes requested, that `user` had sent for review."""
        return self.filter(
            review_state=Article.ReviewState.CHANGES_REQUESTED,
            review_steps__action=ReviewStep.Action.SUBMITTED,
            review_steps__by=user,
        ).distinct()

    def published(self) -> "ArticleQuerySet":
        """Articles the public can read: published, and their publish time has come."""
        return self.filter(status=Article.Status.PUBLISHED, publish_at__lte=timezone.now())

    def overdue_for_review(self, today: datetime.date | None = None) -> "ArticleQuerySet":
        today = today or timezone.localdate()
        return self.without_change_drafts().filter(next_review_due__lt=today)

    def review_due_within(self, days: int, today: datetime.date | None = None):
        """Published articles whose next review falls in the next `days` days (or earlier)."""
        today = today or timezone.localdate()
        return self.filter(
            status=Article.Status.PUBLISHED,
            next_review_due__lte=today + datetime.timedelta(days=days),
        )

    def current(self, today: datetime.date | None = None) -> "ArticleQuerySet":
        """Articles not past their next review date (what the sitemap lists)."""
        today = today or timezone.localdate()
        return self.filter(Q(next_review_due__isnull=True) | Q(next_review_due__gte=today))

    def for_listing(self) -> "ArticleQuerySet":
        return self.select_related("topic", "author", "reviewer")


@reversion.register(follow=["faqs", "references"], exclude=["search_vector"])
class Article(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    class ReviewState(models.TextChoices):
        """Where the content stands with the medical reviewers (the hand-off)."""

        EDITING = "editing", "Draft"
        IN_REVIEW = "in_review", "In review"
        CHANGES_REQUESTED = "changes_requested", "Changes requested"
        APPROVED = "approved", "Approved"

    title = models.CharField(max_length=200, validators=CLEAN_TEXT)
    # Unique among articles; a draft of changes may carry its article's slug or a new one
    # (see Meta.constraints).
    slug = models.SlugField(max_length=200)
    summary = models.CharField(
        max_length=300,
        help_text="One or two sentences. Also used as the meta description.",
        validators=CLEAN_TEXT,
    )
    body = models.TextField(
        help_text="Markdown. Start headings at ## (the title is the h1).", validators=CLEAN_TEXT
    )
    topic = models.ForeignKey(Topic, on_delete=models.PROTECT, related_name="articles")
    author = models.ForeignKey(
        Contributor, on_delete=models.PROTECT, related_name="authored_articles"
    )
    reviewer = models.ForeignKey(
        Contributor,
        on_delete=models.PROTECT,
        related_name="reviewed_articles",
        null=True,
        blank=True,
        verbose_name="medical reviewer",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    review_state = models.CharField(
        max_length=20, choices=ReviewState.choices, default=ReviewState.EDITING, editable=False
    )
    # Set on a draft of changes: the published article it will replace once approved.
    # Patients keep reading that article, unchanged, until then.
    draft_of = models.OneToOneField(
        "self",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        editable=False,
        related_name="change_draft",
        verbose_name="draft of changes to",
    )
    publish_at = models.DateTimeField(
        "publish time",
        null=True,
        blank=True,
        help_text="A future time schedules the article; it appears then.",
    )
    first_published_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField("last updated", auto_now=True)
    last_reviewed = models.DateField(null=True, blank=True)
    next_review_due = models.DateField(
        null=True,
        blank=True,
        help_text="Left empty, it is set from the topic's review interval.",
    )
    review_note = models.TextField(
        "what changed at the last review", blank=True, help_text="Shown at the foot of the page."
    )
    key_takeaways = models.TextField(
        blank=True, help_text="One takeaway per line.", validators=CLEAN_TEXT
    )
    regulatory_note = models.TextField(
        blank=True,
        help_text="For example, that IV ketamine for depression is off-label.",
        validators=CLEAN_TEXT,
    )
    related = models.ManyToManyField("self", symmetrical=False, blank=True)

    # Derived from the body by services.article_render; never edited by hand.
    body_html = models.TextField(blank=True, editable=False)
    toc = models.JSONField(default=list, blank=True, editable=False)
    search_text = models.TextField(blank=True, editable=False)
    word_count = models.PositiveIntegerField(default=0, editable=False)
    reading_time_minutes = models.PositiveSmallIntegerField(default=0, editable=False)
    reading_grade = models.DecimalField(
        max_digits=4, decimal_places=1, null=True, blank=True, editable=False
    )
    # The weighted full-text vector (title, summary, search text), stored on PostgreSQL
    # only so searches do not parse every article; null on other databases.
    search_vector = SearchVectorField(null=True, editable=False)

    objects = ArticleQuerySet.as_manager()

    class Meta:
        ordering = ["topic__order", "title"]
        permissions = [
            ("publish_article", "Can publish and unpublish articles"),
            ("review_article", "Can mark articles reviewed"),
        ]
        constraints = [
            models.CheckConstraint(
                name="published_article_is_reviewed",
                condition=~Q(status="published")
                | Q(
                    publish_at__isnull=False,
                    reviewer__isnull=False,
                    last_reviewed__isnull=False,
                    review_state="approved",
                    draft_of__isnull=True,
                ),
                violation_error_message="Publishing needs a medical reviewer's approval.",
            ),
            models.UniqueConstraint(
                fields=["slug"],
                condition=Q(draft_of__isnull=True),
                name="article_slug_unique",
                violation_error_message="Another article already uses this slug.",
            ),
        ]
        indexes = [GinIndex(fields=["search_vector"], name="article_search_vector_gin")]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        # Remembered per process: a search results page shows one per article found.
        return kept_reverse("education:article_detail", self.slug)

    @property
    def is_live(self) -> bool:
        return (
            self.status == self.Status.PUBLISHED
            and self.publish_at is not None
            and self.publish_at <= timezone.now()
        )

    @property
    def is_sample(self) -> bool:
        """True when a sample placeholder wrote or "reviewed" it: no clinician has."""
        return self.author.is_sample or (self.reviewer is not None and self.reviewer.is_sample)

    @property
    def is_change_draft(self) -> bool:
        return self.draft_of_id is not None

    @property
    def is_reviewed(self) -> bool:
        """Whether a medical reviewer approved this content as it stands."""
        return (
            self.review_state == self.ReviewState.APPROVED
            and self.reviewer_id is not None
            and self.last_reviewed is not None
        )

    @property
    def workflow_label(self) -> str:
        """The state staff see in the list and on the article page."""
        if self.status == self.Status.PUBLISHED:
            if self.is_overdue_for_review:
                return "Overdue for review"
            return "Live" if self.is_live else "Scheduled"
        return self.get_review_state_display()

    @property
    def is_overdue_for_review(self) -> bool:
        return self.next_review_due is not None and self.next_review_due < timezone.localdate()

    @property
    def page_html(self) -> str:
        """The stored body as a page shows it: images at their deployed, hashed URLs."""
        return with_hashed_images(self.body_html)

    @property
    def takeaway_list(self) -> list[str]:
        return [line.strip() for line in self.key_takeaways.splitlines() if line.strip()]


@reversion.register()
class FAQ(models.Model):
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="faqs")
    question = models.CharField(max_length=300)
    answer = models.TextField(help_text="Plain text.")
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "id"]
        verbose_name = "FAQ entry"
        verbose_name_plural = "FAQ entries"

    def __str__(self) -> str:
        return self.question


@reversion.register()
class Reference(models.Model):
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="references")
    citation = models.TextField()
    doi = models.CharField("DOI", max_length=200, blank=True, help_text="For example 10.1000/xyz")
    pmid = models.CharField(
        "PubMed ID",
        max_length=12,
        blank=True,
        validators=[RegexValidator(r"^\d+$", "A PubMed ID is digits only.")],
    )
    url = models.URLField("URL", blank=True)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.citation[:80]

    @property
    def doi_url(self) -> str:
        return f"https://doi.org/{self.doi}" if self.doi else ""

    @property
    def pubmed_url(self) -> str:
        return f"https://pubmed.ncbi.nlm.nih.gov/{self.pmid}/" if self.pmid else ""


class PlannerItemQuerySet(models.QuerySet):
    def active(self) -> "PlannerItemQuerySet":
        return self.filter(is_active=True).select_related("article")


class PlannerItem(models.Model):
    """A line of the integration planner, written by staff: a support the patient may
    choose, a practical item for treatment days, or a short prompt for a day.

    `first_day` and `last_day` count days after the most recent session (0 is the
    treatment day itself). Nothing a patient enters is stored: the planner computes the
    plan from each POST (`education.planner`).
    """

    class Kind(models.TextChoices):
        PRACTICE = "practice", "Support for the days after"
        TREATMENT_DAY = "treatment_day", "Practical item for treatment days"
        PROMPT = "prompt", "Prompt for the day"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    slug = models.SlugField(unique=True)
    label = models.CharField(
        max_length=120, help_text="What the patient ticks, or the prompt's words."
    )
    text = models.TextField(blank=True, help_text="What the plan says about it on a day.")
    calendar_title = models.CharField(
        max_length=40,
        blank=True,
        help_text="Title in the patient's calendar. Keep it neutral: calendars are shared "
        "and shown on lock screens, so never name the treatment.",
    )
    first_day = models.PositiveSmallIntegerField(
        default=1, help_text="First day after a session it suits (0 = the treatment day)."
    )
    last_day = models.PositiveSmallIntegerField(
        default=99, help_text="Last day after a session it suits."
    )
    on_chosen_weekdays = models.BooleanField(
        default=False,
        help_text="Only on the weekdays the patient picks (for example therapy sessions).",
    )
    time_of_day = models.TimeField(
        null=True,
        blank=True,
        help_text="A short calendar reminder at this time in the clinic's zone; "
        "empty for an all-day entry.",
    )
    article = models.ForeignKey(
        Article, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    section = models.SlugField(
        blank=True, help_text="The id of the article heading that explains it, e.g. sleep."
    )
    order = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    objects = PlannerItemQuerySet.as_manager()

    class Meta:
        ordering = ["kind", "order", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(first_day__lte=models.F("last_day")),
                name="planner_item_days_in_order",
            ),
        ]

    def __str__(self):
        return self.label

    def explained_at(self) -> str:
        """The link to the article section that explains it, or ''."""
        if self.article is None or not self.article.is_live:
            return ""
        url = self.article.get_absolute_url()
        return f"{url}#{self.section}" if self.section else url


class ReadingPathQuerySet(models.QuerySet):
    def with_live_steps(self) -> "ReadingPathQuerySet":
        """Each path's steps whose article the public can read, in order, as `live_steps`."""
        live = ReadingPathStep.objects.filter(
            article__in=Article.objects.published()
        ).select_related("article", "article__topic")
        return self.prefetch_related(models.Prefetch("steps", queryset=live, to_attr="live_steps"))


class ReadingPath(models.Model):
    """A set order of articles for one stage ("Thinking about ketamine"), curated by staff.

    Only published articles count as steps, so "step 2 of 6" never counts a draft."""

    slug = models.SlugField(unique=True)
    title = models.CharField(max_length=120)
    description = models.CharField(max_length=300)
    order = models.PositiveSmallIntegerField(default=0)
    offers_planner = models.BooleanField(
        "offer the integration planner",
        default=False,
        help_text="Show a link to the integration planner after the steps.",
    )

    objects = ReadingPathQuerySet.as_manager()

    class Meta:
        ordering = ["order", "title"]

    def __str__(self):
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("education:path_detail", args=[self.slug])

    @property
    def articles(self) -> list[Article]:
        """The live steps' articles (needs `with_live_steps()`)."""
        return [step.article for step in self.live_steps]

    def position_of(self, article: Article) -> dict | None:
        """{'step', 'total', 'previous', 'next'} for an article on this path, or None."""
        articles = self.articles
        if article not in articles:
            return None
        index = articles.index(article)
        return {
            "path": self,
            "step": index + 1,
            "total": len(articles),
            "previous": articles[index - 1] if index else None,
            "next": articles[index + 1] if index + 1 < len(articles) else None,
        }


class ReadingPathStep(models.Model):
    path = models.ForeignKey(ReadingPath, on_delete=models.CASCADE, related_name="steps")
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="path_steps")
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["path", "article"], name="path_article_once"),
        ]

    def __str__(self):
        return f"{self.path}: {self.article}"


class NetworkTherapistQuerySet(models.QuerySet):
    def listed(self, state: str = "") -> "NetworkTherapistQuerySet":
        """Active therapists, each with their states; only those practising in `state`."""
        therapists = self.filter(is_active=True).prefetch_related("states")
        return therapists.filter(states__state=state).distinct() if state else therapists


class NetworkTherapist(models.Model):
    """A therapist in the clinic's referral network, listed on "Find integration support"."""

    name = models.CharField(max_length=120)
    credentials = models.CharField(max_length=80, help_text="For example LCSW or PhD.")
    practice = models.CharField(max_length=120, blank=True)
    in_person = models.BooleanField("sees people in person", default=False)
    by_video = models.BooleanField("sees people by video", default=True)
    phone = models.CharField(max_length=30, blank=True, help_text="For example (212) 555-0123.")
    email = models.EmailField(blank=True)
    website = models.URLField(blank=True)
    is_sample = models.BooleanField(
        default=False, help_text="Sample entry: the page marks it so nobody calls it."
    )
    is_active = models.BooleanField(default=True)
    order = models.PositiveSmallIntegerField(default=0)

    objects = NetworkTherapistQuerySet.as_manager()

    class Meta:
        ordering = ["order", "name"]

    def __str__(self):
        return f"{self.name}, {self.credentials}"


class NetworkTherapistState(models.Model):
    """A US state where a network therapist practises (is licensed)."""

    therapist = models.ForeignKey(NetworkTherapist, on_delete=models.CASCADE, related_name="states")
    state = models.CharField(max_length=2, choices=US_STATES)

    class Meta:
        ordering = ["state"]
        constraints = [
            models.UniqueConstraint(fields=["therapist", "state"], name="therapist_state_once"),
        ]

    def __str__(self):
        return self.get_state_display()


class ArticleImage(models.Model):
    """A picture editors upload for articles, used in Markdown as `![](image:key)`.

    Only the renditions are stored (WebP and JPEG at each of `widths`), made once at
    upload without the file's metadata; the uploaded file itself is never kept.
    """

    key = models.SlugField(
        max_length=80,
        unique=True,
        help_text="A short name for articles to use: ![](image:calm-room) shows it.",
    )
    alt_text = models.CharField(
        "alt text",
        max_length=250,
        blank=True,
        help_text="What the image shows, for someone who cannot see it.",
    )
    decorative = models.BooleanField(
        default=False,
        help_text="Only for an image that adds nothing to the words: it gets no alt text.",
    )
    caption = models.CharField(max_length=250, blank=True)
    credit = models.CharField(max_length=150, blank=True)
    digest = models.CharField(max_length=16, editable=False)
    width = models.PositiveIntegerField(editable=False)
    height = models.PositiveIntegerField(editable=False)
    widths = models.JSONField(default=list, editable=False)
    uploaded_at = models.DateTimeField(default=timezone.now, editable=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )

    class Meta:
        ordering = ["key"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(alt_text="") | Q(decorative=True),
                name="article_image_alt_or_decorative",
                violation_error_message=(
                    "Describe the image for someone who cannot see it, or mark it decorative."
                ),
            )
        ]

    def __str__(self) -> str:
        return self.key

    def rendition_name(self, width: int, extension: str) -> str:
        return f"article-images/{self.key}-{self.digest}-{width}.{extension}"

    def rendition_names(self) -> list[str]:
        return [self.rendition_name(w, ext) for w in self.widths for ext in ("webp", "jpg")]

    def articles_using(self) -> models.QuerySet:
        return Article.objects.filter(body__contains=f"(image:{self.key})")


class ArticleRedirect(models.Model):
    """An address a published article had before it was renamed: it answers with a
    permanent redirect to the article's address now, so links and bookmarks keep working."""

    old_slug = models.SlugField(max_length=200, unique=True)
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="redirects")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["old_slug"]

    def __str__(self) -> str:
        return f"/articles/{self.old_slug}/ → {self.article.get_absolute_url()}"

    @property
    def old_url(self) -> str:
        return reverse("education:article_detail", args=[self.old_slug])


class ReviewStep(models.Model):
    """One step of the hand-off between editors and medical reviewers, and each unpublishing.

    Steps taken on a draft of changes move to its article when the draft is approved, so
    the article keeps the whole record.
    """

    class Action(models.TextChoices):
        SUBMITTED = "submitted", "Sent for review"
        CHANGES_REQUESTED = "changes_requested", "Changes requested"
        APPROVED = "approved", "Approved"
        APPROVED_NO_MEDICAL_CHANGE = "approved_no_medical_change", "Approved: no medical change"
        PUBLISHED = "published", "Published"
        UNPUBLISHED = "unpublished", "Unpublished"

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="review_steps")
    action = models.CharField(max_length=30, choices=Action.choices)
    note = models.TextField(blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    # For the steps that changed what patients read: the saved version they read from then.
    version = models.ForeignKey(
        "reversion.Version", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_action_display()}: {self.article}"
