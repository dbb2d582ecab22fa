"""The clinic's own details, fees and privacy notice, edited by staff and shown on public
pages.
"""

import re

import phonenumbers
from django.core.validators import MinValueValidator
from django.db import DatabaseError, models
from django.utils import timezone

# The version row lives with the page cache it serves (clinic/page_cache.py); importing
# it here is how Django finds it as a model of this app.
from clinic.page_cache import ContentVersion, kept_value, kept_value_if_any

__all__ = ["ClinicDetails", "ContentVersion", "Fee", "Heartbeat", "ScheduledJobRun"]

CLINIC_DETAILS = "clinic details"  # the name they are kept under (page_cache.kept_value)

DEFAULT_CRISIS_NOTICE = (
    "If you are thinking about harming yourself, call or text 988 (Suicide & Crisis "
    "Lifeline) or call 911 in an emergency. This site and its booking form are not for "
    "emergencies."
)


# The sample privacy notice, written for this site. Staff edit it in the admin.
DEFAULT_PRIVACY_NOTICE = """\
## What we collect

When you ask for a consultation, we collect what you type into the booking form: your
name, email, phone number, state, how you would like us to contact you, the time you
chose, the topics you want to discuss, whether you see a therapist, whether you expect to
pay for yourself, and any short note you add. We also record when you gave your consent.
Your therapist's name, practice and phone or email are kept only if you tick the box that
lets us contact them, and we record when you did.
If you ask us to email you when a consultation time opens, we keep only your email
address, your state and what you are waiting for, and delete them when you leave the
waitlist (every email has a link) or after {waitlist_days} days.
If a self-check is offered on this site, its answers are kept only if you choose to share
them with us. Reading the articles, the glossary or the search page collects nothing
about you: those pages set no cookies.

## Why we collect it

We use it only to contact you about your request, to arrange and run your consultation,
to send you a Good Faith Estimate if you pay for yourself, and to keep a record of what
we did with your request.

## Who sees it

Only clinic staff whose role needs it can see your request: the intake team who contact
you, and the clinic managers. Staff who write the articles cannot see it. Every time
staff view, change or export a request, it is written to an audit trail.

## No third parties

We do not sell or share your information. This site uses no analytics, no advertising
trackers and no social media plug-ins, and every file it needs comes from this site
itself. We send email through our own mail provider only to reach you about your
request.

## How long we keep it

Once your request is closed, we delete it after {retention_days} days. Your medical
record, if you become a patient, is kept as the law requires.

## Your choices

You can ask us for a copy of what we hold about you, ask us to correct it, or ask us to
delete it. Email or call us using the details at the bottom of this page, and we will
reply as soon as we can. Some US states, such as Washington, give you further rights over
your health data, and we honor them for every visitor.
"""


class ClinicDetailsManager(models.Manager):
    def cached(self) -> "ClinicDetails":
        """The one details record, kept in this process until public content changes
        (an edit made through any worker changes the version every worker reads);
        defaults if the database is down."""
        return kept_value(CLINIC_DETAILS, self._load)

    def kept(self) -> "ClinicDetails | None":
        """The details this process last read, or None if it never read them: for pages
        shown while the database is unreachable, which must not offer the sample phone."""
        return kept_value_if_any(CLINIC_DETAILS)

    def _load(self) -> "ClinicDetails":
        try:
            return self.get_or_create(pk=1)[0]
        except DatabaseError:
            return ClinicDetails(pk=1)


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
    offers_iv_ketamine = models.BooleanField(
        "offers IV ketamine", default=True, help_text="Listed on the Costs page."
    )
    offers_esketamine = models.BooleanField(
        "offers esketamine nasal spray (Spravato)",
        default=False,
        help_text="Only if the clinic is certified under the Spravato REMS.",
    )
    privacy_notice = models.TextField(
        default=DEFAULT_PRIVACY_NOTICE,
        help_text="The privacy page, in Markdown (headings start at ##). {retention_days} "
        "is replaced by the number of days closed requests are kept (CLINIC_RETENTION_DAYS), "
        "{waitlist_days} by the days waitlist entries are kept "
        "(CLINIC_WAITLIST_RETENTION_DAYS).",
    )

    objects = ClinicDetailsManager()

    class Meta:
        verbose_name = "clinic details"
        verbose_name_plural = "clinic details"
        constraints = [models.CheckConstraint(condition=models.Q(pk=1), name="single_details")]

    def __str__(self) -> str:
        return self.name

    @property
    def phone_uri(self) -> str:
        """'tel:+15550100199': the phone as a link dials it (E.164, for the readable
        '(555) 010-0199'). A tel: link with spaces or brackets is invalid HTML, and some
        phones cannot dial it."""
        try:
            number = phonenumbers.parse(self.phone, "US")
        except phonenumbers.NumberParseException:
            return "tel:" + re.sub(r"[^+\d]", "", self.phone)
        return "tel:" + phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class Fee(models.Model):
    """One line of the public fee list on the Costs page."""

    name = models.CharField(max_length=100)
    price = models.DecimalField(
        "price (US$)", max_digits=8, decimal_places=2, validators=[MinValueValidator(0)]
    )
    includes = models.TextField(
        "what it includes", help_text="One or two plain sentences, e.g. what a visit covers."
    )
    insurance_usually_covers = models.BooleanField("insurance usually covers it", default=False)
    order = models.PositiveSmallIntegerField(default=0, help_text="Lower numbers come first.")

    class Meta:
        ordering = ["order", "name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(price__gte=0), name="fee_price_not_negative")
        ]

    def __str__(self) -> str:
        return self.name


class Heartbeat(models.Model):
    """When a long-running process (the email worker, the scheduler) last showed it was
    alive. Each writes its row every half minute or so; /healthz reports the ages."""

    WORKER = "worker"  # the email worker (db_worker, clinic/worker.py)
    SCHEDULER = "scheduler"  # run_scheduled_jobs (clinic/scheduler.py)

    name = models.CharField(max_length=30, unique=True)
    beat_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} at {self.beat_at:%Y-%m-%d %H:%M:%S %Z}"


class JobOutcome(models.TextChoices):
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ScheduledJobRun(models.Model):
    """One periodic job's run for one period ("2026-12-07" for a daily job, "2026-W50"
    for a weekly one, "2026-12-07T09:05Z" for every five minutes).

    The row is the claim: a scheduler inserts it before running the job, and the unique
    constraint refuses a second insert for the same job and period, so however many
    schedulers run, each job runs once per period (clinic/scheduler.py).
    """

    job = models.CharField(max_length=50)
    period = models.CharField(max_length=30)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(
        max_length=10, choices=JobOutcome.choices, default=JobOutcome.RUNNING
    )
    # An exception's class name when the job failed; never its message.
    error = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(fields=["job", "period"], name="one_run_per_job_period")
        ]

    def __str__(self) -> str:
        return f"{self.job} for {self.period}"
