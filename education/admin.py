"""Editing articles: an editorial workflow with a publishing gate and full history."""

import base64
import datetime
import difflib
import hashlib

from csp.decorators import csp_update
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.db import models
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from reversion_compare.admin import CompareVersionAdmin

from clinic.admin import DATETIME_OVERRIDES
from education import images, rendering, services
from education.models import (
    FAQ,
    Article,
    ArticleImage,
    ArticleRedirect,
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
from education.views import article_page, with_page_parts

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

    def get_readonly_fields(self, request, obj=None):
        # The linked account decides whose name an approval prints: administrators only.
        return [] if request.user.has_perm("auth.change_user") else ["user"]


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


class ArticleImageChangeForm(forms.ModelForm):
    class Meta:
        model = ArticleImage
        fields = ["key", "alt_text", "decorative", "caption", "credit"]


class ArticleImageAdminForm(forms.ModelForm):
    """The upload form; once stored, the picture never changes (upload a new one)."""

    upload = forms.FileField(
        label="Image file",
        help_text="JPEG, PNG or WebP, at most 10 MB and 6,000 pixels on each side.",
    )

    class Meta:
        model = ArticleImage
        fields = ["upload", "key", "alt_text", "decorative", "caption", "credit"]

    def clean_upload(self):
        upload = self.cleaned_data["upload"]
        self.renditions = images.renditions(upload)
        return upload


@admin.register(ArticleImage)
class ArticleImageAdmin(admin.ModelAdmin):
    """Pictures for articles. Made once at upload into WebP and JPEG at a few widths,
    without the file's metadata; articles show one with ![](image:key)."""

    list_display = ["key", "preview", "alt_text", "decorative", "uploaded_at"]
    search_fields = ["key", "alt_text", "caption"]
    readonly_fields = ["preview", "markdown", "size", "used_by"]
    actions = None  # one at a time, so an image an article uses is never deleted

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = ArticleImageChangeForm if obj else ArticleImageAdminForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request, obj=None):
        fields = ["key", "alt_text", "decorative", "caption", "credit"]
        return [*fields, *self.readonly_fields] if obj else ["upload", *fields]

    @admin.display(description="preview")
    def preview(self, obj: ArticleImage):
        if not obj.pk:
            return "–"
        return format_html(
            '<img src="{}" alt="" width="160" height="{}">',
            default_storage.url(obj.rendition_name(obj.widths[0], "jpg")),
            round(160 * obj.height / obj.width),
        )

    @admin.display(description="use in an article")
    def markdown(self, obj: ArticleImage) -> str:
        return f"![](image:{obj.key})" if obj.pk else "–"

    @admin.display(description="largest size")
    def size(self, obj: ArticleImage) -> str:
        return f"{obj.width} × {obj.height} px" if obj.pk else "–"

    @admin.display(description="used by")
    def used_by(self, obj: ArticleImage) -> str:
        titles = [a.title for a in obj.articles_using()] if obj.pk else []
        return ", ".join(titles) or "no article"

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
        else:
            services.article_image_save(image=obj, renditions=form.renditions, by=request.user)

    def delete_view(self, request, object_id, extra_context=None):
        image = self.get_object(request, object_id)
        titles = [a.title for a in image.articles_using()] if image else []
        if titles:
            self.message_user(
                request,
                f"“{image.key}” is used by {', '.join(titles)}. Take it out of those "
                "articles first, then delete it.",
                messages.ERROR,
            )
            return HttpResponseRedirect(
                reverse("admin:education_articleimage_change", args=[image.pk])
            )
        return super().delete_view(request, object_id, extra_context)

    def delete_model(self, request, obj):
        services.article_image_delete(image=obj)


@admin.register(ArticleRedirect)
class ArticleRedirectAdmin(admin.ModelAdmin):
    """Old addresses of renamed articles. Made when a renamed draft is approved; staff
    see them and delete one that should answer "not found" instead."""

    list_display = ["old_address", "article", "created_at"]
    search_fields = ["old_slug", "article__title"]
    readonly_fields = ["old_slug", "article", "created_at"]

    @admin.display(description="old address", ordering="old_slug")
    def old_address(self, obj: ArticleRedirect) -> str:
        return obj.old_url

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


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
    class Meta:
        model = Article
        fields = [
            "title", "slug", "topic", "summary", "body", "key_takeaways", "regulatory_note",
            "related", "author", "publish_at", "next_review_due",
        ]  # fmt: skip
        widgets = {
            "summary": forms.Textarea(attrs={"rows": 2}),
            # Checkboxes, each with its own label: the admin's two-list picker
            # (filter_horizontal) puts aria-label on a bare <span>, which axe rejects.
            "related": forms.CheckboxSelectMultiple,
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "related" in self.fields:
            choices = Article.objects.without_change_drafts()
            live_id = self.instance.draft_of_id or self.instance.pk
            self.fields["related"].queryset = choices.exclude(pk=live_id)

    def clean_body(self):
        body = self.cleaned_data["body"]
        rendered = rendering.render_markdown(body)
        if rendered.missing_images:
            raise ValidationError(
                f"{_join_quoted(rendered.missing_images)} is not one of the site's images. "
                "Check the file name after “static:” (for example "
                "static:education/diagrams/name.svg)."
            )
        if rendered.unknown_uploads:
            raise ValidationError(
                f"{_join_quoted(rendered.unknown_uploads)} is not one of the uploaded images. "
                "Check its name under Education → Article images."
            )
        if rendered.removed:
            raise ValidationError(
                "These would not appear on the page, because the site removes them for "
                f"patients' safety: {'; '.join(rendered.removed)}. Take them out, or use "
                "Markdown (images must be the site's own, written static:…)."
            )
        return body

    def clean_slug(self):
        slug = self.cleaned_data["slug"]
        # A draft of changes may keep its article's slug; no other article's.
        if self.instance.is_change_draft:
            taken = Article.objects.without_change_drafts().filter(slug=slug)
            if taken.exclude(pk=self.instance.draft_of_id).exists():
                raise ValidationError("Another article already uses this slug.")
        return slug


def changes_from_live(draft: Article) -> list[tuple[str, list[str]]]:
    """What the draft changes, field by field: (label, unified diff lines), for the reviewer."""
    live = draft.draft_of

    def parts(article: Article) -> dict[str, list[str]]:
        values = {
            Article._meta.get_field(name).verbose_name.capitalize(): str(getattr(article, name))
            for name in services.CONTENT_FIELDS
        }
        values["FAQs"] = "\n\n".join(f"Q: {f.question}\nA: {f.answer}" for f in article.faqs.all())
        values["References"] = "\n".join(
            " ".join(filter(None, [r.citation, r.doi, r.pmid, r.url]))
            for r in article.references.all()
        )
        values["Related articles"] = "\n".join(sorted(a.title for a in article.related.all()))
        return {label: text.splitlines() for label, text in values.items()}

    before, after = parts(live), parts(draft)
    return [
        (label, list(difflib.unified_diff(before[label], after[label], lineterm=""))[2:])
        for label in before
        if before[label] != after[label]
    ]


class WorkflowForm(forms.Form):
    note = forms.CharField(
        label="Note",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="For the reviewer: what changed and why. For the editor: what to fix. "
        "An approval's note is shown on the page as what changed at this review.",
    )
    seen = forms.DateTimeField(required=False, widget=forms.HiddenInput)


def _join_quoted(items: list[str]) -> str:
    return ", ".join(f"“{item}”" for item in items)


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
    # What fits a 1280 px screen beside the admin's sidebar and the filters: who wrote and
    # who reviewed an article, and when, are on its page; the list shows what is due.
    list_display = ["title", "state", "topic", "review_due", "grade"]
    list_filter = ["status", "topic", ReviewDueFilter]
    list_select_related = ["topic", "change_draft"]

    search_fields = ["title", "summary", "body"]
    prepopulated_fields = {"slug": ["title"]}
    actions = ["publish", "unpublish", "mark_reviewed"]
    # Who reviewed, when and what changed are set by approving (Review and publishing),
    # never typed in; publishing and unpublishing happen there or through the actions.
    readonly_fields = [
        "publishing_checklist",
        "reading_level",
        "preview_link",
        "status",
        "first_published_at",
        "updated_at",
        "reviewer",
        "last_reviewed",
        "review_note",
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
    # The parts of the change form that are content: editing them withdraws an approval.
    NOT_CONTENT = {"publish_at", "next_review_due"}

    class Media:
        css = {"all": ["education/admin.css"]}

    # -- permissions for the workflow actions ----------------------------------------

    def has_publish_permission(self, request) -> bool:
        return request.user.has_perm("education.publish_article")

    def has_review_permission(self, request) -> bool:
        return request.user.has_perm("education.review_article")

    def has_change_permission(self, request, obj=None):
        # What patients read changes only by a reviewer's approval of a draft of changes.
        if obj is not None and obj.status == Article.Status.PUBLISHED:
            return False
        return super().has_change_permission(request, obj)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        # Without the workflow permissions the form cannot do what the actions guard.
        if not self.has_publish_permission(request) or (obj is not None and obj.is_change_draft):
            fields += ["publish_at"]
        if not self.has_review_permission(request):
            fields += ["next_review_due"]
        return fields

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        # The list shows each article once; its draft of changes opens from its page.
        match = request.resolver_match
        if match is not None and match.url_name == "education_article_changelist":
            return queryset.without_change_drafts()
        return queryset

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/workflow/",
                view(self.workflow_view),
                name="education_article_workflow",
            ),
            path(
                "<path:object_id>/preview/",
                view(self.preview_view),
                name="education_article_preview",
            ),
            *super().get_urls(),
        ]

    # -- saving ----------------------------------------------------------------------

    @method_decorator(csp_update(HISTORY_CSP))
    def history_view(self, request, object_id, extra_context=None):
        return super().history_view(request, object_id, extra_context)

    def save_model(self, request, obj, form, change):
        services.article_fill_review_due(article=obj)
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # After the FAQs are saved: the stored search text includes them.
        services.article_render(article=form.instance)
        edited = set(form.changed_data) - self.NOT_CONTENT or any(
            formset.has_changed() for formset in formsets
        )
        if edited and services.article_withdraw_approval(article=form.instance):
            self.message_user(
                request,
                "The article changed after its approval, so it needs a new medical review "
                "before it can be published.",
                messages.WARNING,
            )

    # -- list columns ----------------------------------------------------------------

    @admin.display(description="state", ordering="status")
    def state(self, obj: Article) -> str:
        label = obj.workflow_label
        if label == "Scheduled":
            label = f"Scheduled ({timezone.localtime(obj.publish_at):%Y-%m-%d %H:%M})"
        draft = getattr(obj, "change_draft", None)
        if draft is not None:
            return f"{label}; changes: {draft.get_review_state_display().lower()}"
        return label

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

    @admin.display(description="review and publishing")
    def publishing_checklist(self, obj: Article | None):
        if obj is None or obj.pk is None:
            return (
                "Save the article first. To publish it, a medical reviewer must approve it, "
                "and it needs at least one reference."
            )
        workflow = format_html(
            '<a href="{}">Review and publishing</a>',
            reverse("admin:education_article_workflow", args=[obj.pk]),
        )
        if obj.status == Article.Status.PUBLISHED:
            text = format_html(
                '<span class="gate-ok">{}: patients read this version.</span> It is never '
                "edited in place: to change it, open {} and edit a draft of changes.",
                obj.workflow_label,
                workflow,
            )
            draft = getattr(obj, "change_draft", None)
            if draft is not None:
                text += format_html(
                    ' A <a href="{}">draft of changes</a> is open ({}).',
                    reverse("admin:education_article_change", args=[draft.pk]),
                    draft.get_review_state_display().lower(),
                )
            return text
        if obj.is_change_draft:
            return format_html(
                "<strong>{}.</strong> This is a draft of changes to "
                '<a href="{}">the live article</a>. Patients keep reading the live version '
                "until a medical reviewer approves this draft. Send it for review on {}.",
                obj.get_review_state_display(),
                reverse("admin:education_article_change", args=[obj.draft_of_id]),
                workflow,
            )
        missing = services.article_publish_problems(article=obj)
        if not missing:
            return format_html(
                '<span class="gate-ok">Approved: ready to publish.</span> Publish it on {}.',
                workflow,
            )
        return format_html(
            '<strong>{}.</strong> <span class="gate-missing">{}</span> Next step: {}.',
            obj.get_review_state_display(),
            services.publish_gate_message(missing),
            workflow,
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
        if obj.is_live:
            return format_html('<a href="{}">View on site</a>', obj.get_absolute_url())
        url = reverse("admin:education_article_preview", args=[obj.pk])
        return format_html('<a href="{}" target="_blank">Preview (not published)</a>', url)

    # -- review and publishing -----------------------------------------------------------

    def preview_view(self, request, object_id):
        """The article exactly as patients would see it, labelled as a preview."""
        article = self.get_object(request, object_id)
        if article is None or not self.has_view_or_change_permission(request, article):
            raise PermissionDenied
        article = with_page_parts(Article.objects.filter(pk=article.pk)).get()
        return article_page(request, article, preview=True)

    def workflow_view(self, request, object_id):
        """One page for the hand-off: send for review, approve, ask for changes, publish,
        unpublish, and open a draft of changes to a live article."""
        article = self.get_object(request, object_id)
        if article is None or not self.has_view_or_change_permission(request, article):
            raise PermissionDenied
        # In UTC with its offset: a clinic-zone time in the hour the clocks go back
        # happens twice, and such a value would fail the form without a word.
        seen = article.updated_at.isoformat()
        form = WorkflowForm(request.POST or None, initial={"seen": seen})
        if request.method == "POST" and form.is_valid():
            action = request.POST.get("action", "")
            try:
                done, article_after = self._workflow_action(request, article, action, form)
            except ValidationError as error:
                self.message_user(request, " ".join(error.messages), messages.ERROR)
            else:
                self.message_user(request, done, messages.SUCCESS)
                url = "admin:education_article_workflow"
                if action == "open_draft":
                    url = "admin:education_article_change"
                return HttpResponseRedirect(reverse(url, args=[article_after.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Review and publishing: {article.title}",
            "opts": self.model._meta,
            "original": article,
            "article": article,
            "live": article.draft_of,
            "draft": getattr(article, "change_draft", None),
            "changes": changes_from_live(article) if article.draft_of else [],
            "steps": article.review_steps.select_related("by")[:20],
            "form": form,
            "actions": self._workflow_actions(request, article),
            "missing": services.article_publish_problems(article=article),
        }
        return TemplateResponse(request, "admin/education/article/workflow.html", context)

    def _workflow_actions(self, request, article: Article) -> list[tuple[str, str]]:
        """(action, button label) pairs this user may take on this article now."""
        user, state = request.user, article.review_state
        can_edit = user.has_perm("education.change_article")
        can_review = self.has_review_permission(request)
        can_publish = self.has_publish_permission(request)
        published = article.status == Article.Status.PUBLISHED
        actions = []
        if published:
            if can_edit:
                label = (
                    "Open the draft of changes"
                    if hasattr(article, "change_draft")
                    else ("Edit a draft of changes")
                )
                actions.append(("open_draft", label))
            if can_publish:
                actions.append(("unpublish", "Unpublish now"))
            return actions
        if can_edit and state in {"editing", "changes_requested"}:
            actions.append(("submit", "Send for review"))
        if can_review and state != "approved":
            actions.append(("approve", "Approve"))
            earlier = article.draft_of or article
            if earlier.reviewer_id and earlier.last_reviewed:
                actions.append(("approve_no_medical_change", "Approve: no medical change"))
            if can_publish and not article.is_change_draft:
                actions.append(("approve_publish", "Approve and publish"))
            actions.append(("request_changes", "Ask for changes"))
        if can_publish and state == "approved":
            actions.append(("publish", "Publish"))
        return actions

    def _workflow_action(self, request, article: Article, action: str, form) -> tuple:
        if action not in dict(self._workflow_actions(request, article)):
            raise PermissionDenied
        by, note = request.user, form.cleaned_data["note"]
        seen = form.cleaned_data["seen"]
        if action == "open_draft":
            draft = services.article_draft_open(article=article, by=by)
            return "Edit the draft of changes. Patients keep reading the live version.", draft
        if action == "submit":
            services.article_submit_for_review(article=article, by=by, note=note)
            return "Sent for review. The medical reviewers have been emailed.", article
        if action == "request_changes":
            services.article_request_changes(article=article, by=by, note=note)
            return "Changes requested. The editor has been emailed.", article
        if action in {"approve", "approve_no_medical_change", "approve_publish"}:
            approved = services.article_approve(
                article=article,
                by=by,
                note=note,
                medical_change=action != "approve_no_medical_change",
                publish=action == "approve_publish",
                seen_updated_at=seen,
            )
            if approved.is_live:
                return "Approved. This is now the live version patients read.", approved
            return "Approved.", approved
        if action == "publish":
            services.article_publish(article=article, by=by)
            return "Published.", article
        services.article_unpublish(article=article, by=by, note=note)
        return "Unpublished. Patients can no longer read it; the reviewers were told.", article

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
        for article in queryset.filter(status=Article.Status.PUBLISHED):
            services.article_unpublish(article=article, by=request.user)
            count += 1
        self.message_user(
            request,
            f"Moved {count} article(s) back to draft. The medical reviewers were told.",
            messages.SUCCESS,
        )

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
