from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from clinic import views
from clinic.page_cache import public_page
from education import views as education_views

urlpatterns = [
    path("", public_page(education_views.home), name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("ping", views.ping, name="ping"),
    path("costs/", public_page(views.costs), name="costs"),
    path("privacy/", public_page(views.privacy), name="privacy"),
    path("", include("consultations.urls")),
    path(settings.ADMIN_URL, admin.site.urls),
    path("", include("education.urls")),
]

handler500 = "clinic.views.server_error"
