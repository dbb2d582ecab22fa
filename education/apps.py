from django.apps import AppConfig


class EducationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "education"

    def ready(self):
        from education import checks  # noqa: F401  (registers the system checks)
