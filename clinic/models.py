"""The clinic's own details, edited by staff and shown on every page."""

from django.core.cache import cache
from django.db import DatabaseError, models
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

CACHE_KEY = "clinic:details"
CACHE_SECONDS = 300

DEFAULT_CRISIS_NOTICE = (
    "If you are thinking about harming yourself, call or text 988 (Suicide & Crisis "
    "Lifeline) or call 911 in an emergency. This site and its booking form are not for "
    "emergencies."
)


class ClinicDetailsManager(models.Manager):
    def cached(self) -> "ClinicDetails":
        """The one details record, from the cache; defaults if the database is down."""
        details = cache.get(CACHE_KEY)
        if details is None:
            try:
                details = self.get_or_create(pk=1)[0]
            except DatabaseError:
                return ClinicDetails(pk=1)
            cache.set(CACHE_KEY, details, CACHE_SECONDS)
        return details


class ClinicDetails(models.Model):
    """A single record (pk 1) holding what every page shows about the clinic."""

    name = models.CharField(
        max_length=100,
        default="Riverside Health Clinic",
        help_text="Used in email subjects and calendar titles. Others may see a patient's "
        "inbox or calendar, so a name that does not mention the treatment is kinder.",
    )
    phone = models.CharField(max_length=30, default="(555) 010-0199")
    email = models.EmailField(default="hello@clinic.example")
    address = models.TextField(default="100 Example Street, Suite 200\nSpringfield, ST 00000")
    hours = models.CharField(max_length=200, default="Monday to Friday, 9 am to 5 pm")
    crisis_notice = models.TextField(
        default=DEFAULT_CRISIS_NOTICE,
        help_text="Shown at the top of every page. Keep 988 and 911 in it.",
    )

    objects = ClinicDetailsManager()

    class Meta:
        verbose_name = "clinic details"
        verbose_name_plural = "clinic details"
        constraints = [models.CheckConstraint(condition=models.Q(pk=1), name="single_details")]

    def __str__(self) -> str:
        return self.name


@receiver([post_save, post_delete], sender=ClinicDetails)
def _forget_cached_details(**kwargs) -> None:
    cache.delete(CACHE_KEY)
