from django.urls import path

from consultations import views

app_name = "consultations"

urlpatterns = [
    path("book/", views.book, name="book"),
    path("book/requested/", views.requested, name="requested"),
    path("book/requested/calendar.ics", views.requested_ics, name="requested_ics"),
    path("book/manage/<str:token>/", views.manage, name="manage"),
]
