from django.urls import path

from consultations import views
from consultations.self_check import views as self_check_views

app_name = "consultations"

urlpatterns = [
    path("book/", views.book, name="book"),
    path("book/requested/", views.requested, name="requested"),
    path("book/requested/calendar.ics", views.requested_ics, name="requested_ics"),
    path("book/manage/<str:token>/", views.manage, name="manage"),
    path("book/manage/<str:token>/cancel/", views.manage_cancel, name="manage_cancel"),
    # A staff member's calendar subscription; the token is the credential (README).
    path(
        "staff-calendar/<str:token>.ics",
        views.staff_calendar_feed,
        name="staff_calendar_feed",
    ),
    path("book/waitlist/", views.waitlist_join, name="waitlist_join"),
    path("book/waitlist/added/", views.waitlist_added, name="waitlist_added"),
    # The emails' links: their paths are redacted from logs (clinic/log_redaction.py).
    path("book/offer/<str:token>/", views.waitlist_offer, name="waitlist_offer"),
    path("book/leave-waitlist/<str:token>/", views.waitlist_leave, name="waitlist_leave"),
    path("self-check/", self_check_views.self_check, name="self_check"),
]
