"""Create a local superuser with a generated password, once, for `make run`.

Does nothing when any superuser exists, so a second `make run` keeps the account. Production
creates its first account with `createsuperuser --noinput` and DJANGO_SUPERUSER_* instead.
"""

import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create a local superuser 'admin' with a printed password if none exists."

    def handle(self, *args, **options):
        User = get_user_model()
        if User.objects.filter(is_superuser=True).exists():
            self.stdout.write("A superuser already exists; keeping it.")
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser("admin", "admin@clinic.example", password)
        self.stdout.write(
            self.style.SUCCESS(
                f"Created staff account 'admin' with password: {password}\n"
                "This is shown once. Sign in at http://127.0.0.1:8000/admin/"
            )
        )
