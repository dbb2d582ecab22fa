"""Staff pages for the self-check.

- The screen's questions: staff with `change_screenquestion` (medical reviewers and
  managers) reword a question and its explanation. Which answer needs a clinician, and
  whether it usually rules ketamine out, are fixed; questions are never added or removed
  here, because the result page's advice depends on them.
- The request admin's mixin: requests whose shared self-check needs a same-day call
  back sort first while new, and the answers show on the request page only to staff
  with `view_sharedselfcheck` (intake coordinators and managers; never editors).
"""

from django.contrib import admin
from django.db.models import Case, IntegerField, Value, When
from django.template.loader import render_to_string

from consultations.models import Status
from consultations.self_check import phq9
from consultations.self_check.models import ScreenQuestion, SharedSelfCheck

VIEW_ANSWERS_PERMISSION = "consultations.view_sharedselfcheck"


@admin.register(ScreenQuestion)
class ScreenQuestionAdmin(admin.ModelAdmin):
    list_display = ["text", "concern_answer", "rules_out", "updated_at"]
    fields = ["text", "explanation", "concern_answer", "rules_out"]
    readonly_fields = ["concern_answer", "rules_out"]

    def changelist_view(self, request, extra_context=None):
        ScreenQuestion.objects.for_self_check()  # the defaults, if the table was emptied
        return super().changelist_view(request, extra_context)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def may_see_answers(user) -> bool:
    return user.has_perm(VIEW_ANSWERS_PERMISSION)


def shared_self_check_of(consultation_request) -> SharedSelfCheck | None:
    return SharedSelfCheck.objects.filter(request_id=consultation_request.pk).first()


class SharedSelfCheckRequestAdminMixin:
    """For ConsultationRequestAdmin: the priority flag and the shared answers."""

    def get_queryset(self, request):
        # As ModelAdmin.get_queryset, with the annotation in place before the ordering.
        queryset = self.model._default_manager.get_queryset().annotate(
            priority=Case(
                When(self_check__call_back_today=True, status=Status.NEW, then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            )
        )
        return queryset.order_by(*self.get_ordering(request))

    def get_ordering(self, request):
        return ["-priority", "-created_at"]

    def get_list_display(self, request):
        first, *rest = super().get_list_display(request)
        return [first, "priority_flag", *rest]

    @admin.display(description="priority", ordering="-priority")
    def priority_flag(self, obj):
        return "Call back today" if obj.priority else ""

    def get_fieldsets(self, request, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is not None and may_see_answers(request.user) and shared_self_check_of(obj):
            section = ("Self-check shared by the patient", {"fields": ["shared_self_check"]})
            fieldsets.insert(1, section)
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "shared_self_check"]

    @admin.display(description="answers")
    def shared_self_check(self, obj):
        shared = shared_self_check_of(obj)
        if shared is None:
            return "–"
        return render_to_string(
            "admin/consultations/shared_self_check.html", {"shared": shared, "phq9": phq9}
        )

    def view_audit_detail(self, request, obj) -> str:
        """What the audit row of a request page view adds: whether the answers were shown."""
        if may_see_answers(request.user) and shared_self_check_of(obj):
            return "with the shared self-check answers"
        return ""
