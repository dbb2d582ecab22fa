from django.apps import AppConfig


class EducationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "education"

    def ready(self):
        from clinic import page_cache
        from education import checks  # noqa: F401  (registers the system checks)

        # Public pages show what every model of this app holds.
        page_cache.bump_on_change(*self.get_models())
