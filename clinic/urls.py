from django.conf import settings
from django.contrib import admin
from django.urls import path
from django.views.generic import TemplateView

from clinic import views

urlpatterns = [
    path("", TemplateView.as_view(template_name="home.html"), name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("ping", views.ping, name="ping"),
    path(settings.ADMIN_URL, admin.site.urls),
]

handler500 = "clinic.views.server_error"
