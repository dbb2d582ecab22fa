"""Editing articles: an editorial workflow with a publishing gate and full history."""

import base64
import datetime
import hashlib

from csp.decorators import csp_update
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from reversion_compare.admin import CompareVersionAdmin

from clinic.admin import DATETIME_OVERRIDES
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

TARGET_GRADE = 8
DUE_SOON_DAYS = 60
# django-reversion-compare's history page hides one radio button (the newest version
# cannot be the older side of a comparison) with style="visibility:hidden". The site's
# policy blocks inline styles; this allows exactly that one, on that page only.
_HIDDEN_STYLE = base64.b64encode(hashlib.sha256(b"visibility:hidden").digest()).decode()
HISTORY_CSP = {"style-src": ["'unsafe-hashes'", f"'sha256-{_HIDDEN_STYLE}'"]}


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
    list_display = ["name", "order", "review_interval_days"]
    list_editable = ["order"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Contributor)
class ContributorAdmin(admin.ModelAdmin):
    list_display = ["name", "credentials", "role"]
    search_fields = ["name", "role"]
    prepopulated_fields = {"slug": ["name"]}


class ReadingPathStepInline(admin.TabularInline):
    model = ReadingPathStep
    extra = 1
    fields = ["order", "article"]


@admin.register(ReadingPath)
class ReadingPathAdmin(admin.ModelAdmin):
    """Articles in a set order for one stage; only published ones count as steps."""

    list_display = ["title", "order", "offers_planner"]
    prepopulated_fields = {"slug": ["title"]}
    inlines = [ReadingPathStepInline]


class NetworkTherapistStateInline(admin.TabularInline):
    model = NetworkTherapistState
    extra = 1


@admin.register(NetworkTherapist)
class NetworkTherapistAdmin(admin.ModelAdmin):
    """The referral network listed on "Find integration support"."""

    list_display = ["name", "credentials", "in_person", "by_video", "is_sample", "is_active"]
    list_filter = ["is_active", "is_sample", "states__state"]
    search_fields = ["name", "practice"]
    inlines = [NetworkTherapistStateInline]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


@admin.register(PlannerItem)
class PlannerItemAdmin(admin.ModelAdmin):
    """The integration planner's supports, treatment-day items and daily prompts."""

    list_display = [
        "label",
        "kind",
        "first_day",
        "last_day",
        "calendar_title",
        "order",
        "is_active",
    ]
    list_filter = ["kind", "is_active"]
    search_fields = ["label", "text"]
    prepopulated_fields = {"slug": ["label"]}
    fieldsets = [
        (None, {"fields": ["kind", "label", "slug", "text", "order", "is_active"]}),
        (
            "When it appears",
            {"fields": ["first_day", "last_day", "on_chosen_weekdays", "time_of_day"]},
        ),
        ("In the calendar file", {"fields": ["calendar_title"]}),
        ("Where it is explained", {"fields": ["article", "section"]}),
    ]


@admin.register(GlossaryTerm)
class GlossaryTermAdmin(admin.ModelAdmin):
    list_display = ["term", "slug"]
    search_fields = ["term", "definition"]
    prepopulated_fields = {"slug": ["term"]}

    # Articles link the first use of each term, so a glossary change re-renders them.
    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        services.article_render_all()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        services.article_render_all()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        services.article_render_all()


class FAQInline(admin.StackedInline):
    model = FAQ
    extra = 0
    fields = ["order", "question", "answer"]


class ReferenceInline(admin.StackedInline):
    model = Reference
    extra = 0
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fields = ["order", "citation", ("doi", "pmid"), "url"]


class ReviewDueFilter(admin.SimpleListFilter):
    title = "review due"
    parameter_name = "review_due"

    def lookups(self, request, model_admin):
        return [("overdue", "Overdue"), ("soon", f"Due within {DUE_SOON_DAYS} days")]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        if self.value() == "overdue":
            return queryset.overdue_for_review(today)
        if self.value() == "soon":
            soon = today + datetime.timedelta(days=DUE_SOON_DAYS)
            return queryset.filter(next_review_due__gte=today, next_review_due__lte=soon)
        return queryset


class ArticleAdminForm(forms.ModelForm):
    """Refuses to save an article as published until the publishing gate passes."""

    reference_prefix = "references"

    class Meta:
        model = Article
        fields = [
            "title", "slug", "topic", "summary", "body", "key_takeaways", "regulatory_note",
            "related", "author", "reviewer", "status", "publish_at", "last_reviewed",
            "next_review_due", "review_note",
        ]  # fmt: skip
        widgets = {
            "summary": forms.Textarea(attrs={"rows": 2}),
            # Checkboxes, each with its own label: the admin's two-list picker
            # (filter_horizontal) puts aria-label on a bare <span>, which axe rejects.
            "related": forms.CheckboxSelectMultiple,
        }

    def clean(self):
        cleaned = super().clean()
        status = cleaned.get("status", self.instance.status)
        if status == Article.Status.PUBLISHED:
            candidate = Article(
                pk=self.instance.pk,
                reviewer=cleaned.get("reviewer", self.instance.reviewer),
                last_reviewed=cleaned.get("last_reviewed", self.instance.last_reviewed),
            )
            missing = services.article_publish_problems(
                article=candidate, reference_count=self._reference_count()
            )
            if missing:
                raise ValidationError(services.publish_gate_message(missing))
            if not cleaned.get("publish_at", self.instance.publish_at):
                cleaned["publish_at"] = timezone.now()
        return cleaned

    def _reference_count(self) -> int:
        """References as submitted in the inline on this same form, else as saved."""
        prefix = self.reference_prefix
        total = self.data.get(f"{prefix}-TOTAL_FORMS")
        if total is None:
            return self.instance.references.count() if self.instance.pk else 0
        try:
            total = int(total)
        except ValueError:
            return 0
        return sum(
            1
            for index in range(min(total, 1000))
            if self.data.get(f"{prefix}-{index}-citation", "").strip()
            and not self.data.get(f"{prefix}-{index}-DELETE")
        )


class MarkReviewedForm(forms.Form):
    review_note = forms.CharField(
        label="What changed at this review",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Shown at the foot of each article. For example: "
        "“Checked against current guidance; no changes needed.”",
    )


@admin.register(Article)
class ArticleAdmin(CompareVersionAdmin):
    form = ArticleAdminForm
    formfield_overrides = DATETIME_OVERRIDES
    inlines = [FAQInline, ReferenceInline]
    list_display = [
        "title",
        "status_label",
        "topic",
        "author",
        "reviewer",
        "last_reviewed",
        "review_due",
        "grade",
    ]
    list_filter = ["status", "topic", ReviewDueFilter]
    list_select_related = ["topic", "author", "reviewer"]

    search_fields = ["title", "summary", "body"]
    prepopulated_fields = {"slug": ["title"]}
    actions = ["publish", "unpublish", "mark_reviewed"]
    readonly_fields = [
        "publishing_checklist",
        "reading_level",
        "preview_link",
        "first_published_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["publishing_checklist", "preview_link"]}),
        ("Article", {"fields": ["title", "slug", "topic", "summary", "body", "reading_level"]}),
        ("At a glance", {"fields": ["key_takeaways", "regulatory_note", "related"]}),
        ("People", {"fields": ["author", "reviewer"]}),
        (
            "Publishing",
            {"fields": ["status", "publish_at", "first_published_at", "updated_at"]},
        ),
        ("Clinical review", {"fields": ["last_reviewed", "next_review_due", "review_note"]}),
    ]

    class Media:
        css = {"all": ["education/admin.css"]}

    # -- permissions for the workflow actions ----------------------------------------

    def has_publish_permission(self, request) -> bool:
        return request.user.has_perm("education.publish_article")

    def has_review_permission(self, request) -> bool:
        return request.user.has_perm("education.review_article")

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        # Without the workflow permissions the form cannot do what the actions guard.
        if not self.has_publish_permission(request):
            fields += ["status", "publish_at"]
        if not self.has_review_permission(request):
            fields += ["last_reviewed", "next_review_due", "review_note"]
        return fields

    # -- saving ----------------------------------------------------------------------

    @method_decorator(csp_update(HISTORY_CSP))
    def history_view(self, request, object_id, extra_context=None):
        return super().history_view(request, object_id, extra_context)

    def save_model(self, request, obj, form, change):
        services.article_fill_review_due(article=obj)
        if obj.status == Article.Status.PUBLISHED and obj.first_published_at is None:
            obj.first_published_at = obj.publish_at
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # After the FAQs are saved: the stored search text includes them.
        services.article_render(article=form.instance)

    # -- list columns ----------------------------------------------------------------

    @admin.display(description="status", ordering="status")
    def status_label(self, obj: Article) -> str:
        if obj.status == Article.Status.PUBLISHED and not obj.is_live:
            return f"Scheduled ({timezone.localtime(obj.publish_at):%Y-%m-%d %H:%M})"
        return obj.get_status_display()

    @admin.display(description="next review due", ordering="next_review_due")
    def review_due(self, obj: Article):
        if obj.next_review_due is None:
            return "–"
        if obj.is_overdue_for_review:
            return format_html(
                '<strong class="review-overdue">Overdue since {}</strong>', obj.next_review_due
            )
        return obj.next_review_due

    @admin.display(description="reading grade", ordering="reading_grade")
    def grade(self, obj: Article):
        if obj.reading_grade is None:
            return "–"
        if obj.reading_grade > TARGET_GRADE:
            return format_html(
                '<strong class="grade-high">{} (above {})</strong>', obj.reading_grade, TARGET_GRADE
            )
        return obj.reading_grade

    # -- change form helpers ---------------------------------------------------------

    @admin.display(description="publishing checklist")
    def publishing_checklist(self, obj: Article | None):
        if obj is None or obj.pk is None:
            return (
                "Save the article first. To publish it, it needs a medical reviewer, "
                "a last-reviewed date and at least one reference."
            )
        missing = services.article_publish_problems(article=obj)
        if not missing:
            state = "Published." if obj.is_live else "Ready to publish."
            return format_html('<span class="gate-ok">{}</span>', state)
        return format_html(
            '<span class="gate-missing">Not ready to publish. Still needed:</span><ul>{}</ul>',
            format_html_join("", "<li>{}</li>", ((item,) for item in missing)),
        )

    @admin.display(description="reading level")
    def reading_level(self, obj: Article | None):
        if obj is None or obj.reading_grade is None:
            return "Shown after saving. Target grade 8 or lower."
        verdict = (
            "on target"
            if obj.reading_grade <= TARGET_GRADE
            else "too hard: use shorter sentences and everyday words"
        )
        return format_html(
            "Flesch-Kincaid grade {} ({}). Target grade {} or lower.<br>"
            "{} words, about {} minute{} to read.",
            obj.reading_grade,
            verdict,
            TARGET_GRADE,
            obj.word_count,
            obj.reading_time_minutes,
            "" if obj.reading_time_minutes == 1 else "s",
        )

    @admin.display(description="preview")
    def preview_link(self, obj: Article | None):
        if obj is None or obj.pk is None:
            return "Save the article to preview it."
        label = "View on site" if obj.is_live else "Preview on site (not published)"
        return format_html('<a href="{}" target="_blank">{}</a>', obj.get_absolute_url(), label)

    # -- actions ---------------------------------------------------------------------

    @admin.action(description="Publish selected articles", permissions=["publish"])
    def publish(self, request, queryset):
        published = 0
        for article in queryset.select_related("topic"):
            try:
                services.article_publish(article=article, by=request.user)
            except ValidationError as error:
                self.message_user(
                    request, f"“{article}” was not published. {error.messages[0]}", messages.ERROR
                )
            else:
                published += 1
        if published:
            self.message_user(request, f"Published {published} article(s).", messages.SUCCESS)

    @admin.action(
        description="Unpublish selected articles (back to draft)", permissions=["publish"]
    )
    def unpublish(self, request, queryset):
        count = 0
        for article in queryset:
            services.article_unpublish(article=article, by=request.user)
            count += 1
        self.message_user(request, f"Moved {count} article(s) back to draft.", messages.SUCCESS)

    @admin.action(description="Mark reviewed today", permissions=["review"])
    def mark_reviewed(self, request, queryset):
        form = MarkReviewedForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            note = form.cleaned_data["review_note"]
            for article in queryset.select_related("topic"):
                services.article_mark_reviewed(article=article, by=request.user, note=note)
            self.message_user(
                request,
                f"Marked {queryset.count()} article(s) reviewed today.",
                messages.SUCCESS,
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Mark reviewed today",
            "opts": self.model._meta,
            "articles": queryset.select_related("topic"),
            "form": form,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            "today": timezone.localdate(),
        }
        return TemplateResponse(request, "admin/education/article/mark_reviewed.html", context)
