"""Create open consultation slots for the next two weeks and a few clearly fake requests.

Idempotent: existing slots and sample requests are skipped, so `make run` can call it
every time.
"""

from datetime import time, timedelta

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from consultations.formatting import clinic_zone
from consultations.models import AvailabilitySlot, ConsultationRequest, Modality, Status
from consultations.services import (
    availability_slot_series_create,
    consultation_request_create,
    consultation_request_set_status,
)

SAMPLE_TIMES = [time(9, 30), time(11, 0), time(14, 0), time(16, 30)]
SAMPLE_REQUESTS = [
    ("Sample Patient One", "sample.one@example.com", Status.NEW),
    ("Sample Patient Two", "sample.two@example.com", Status.CONTACTED),
    ("Sample Patient Three", "sample.three@example.com", Status.CONFIRMED),
    ("Sample Patient Four", "sample.four@example.com", None),  # asks to arrange a time
]


class Command(BaseCommand):
    help = "Create open slots for the next 14 days (weekdays) and a few fake sample requests."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Report, change nothing.")

    def handle(self, *args, dry_run=False, **options):
        today = timezone.localtime(timezone.now(), clinic_zone()).date()
        start, end = today + timedelta(days=1), today + timedelta(days=14)
        with transaction.atomic():
            created = 0
            for modality, times in [
                (Modality.VIDEO, SAMPLE_TIMES[:3]),
                (Modality.PHONE, SAMPLE_TIMES[3:]),
            ]:
                made, _skipped = availability_slot_series_create(
                    start_date=start,
                    end_date=end,
                    weekdays=range(5),
                    start_times=times,
                    duration_minutes=30,
                    modality=modality,
                )
                created += made
            requests_made = self._sample_requests()
            if dry_run:
                transaction.set_rollback(True)
        verb = "Would create" if dry_run else "Created"
        self.stdout.write(
            f"{verb} {created} slot(s) and {requests_made} sample request(s); "
            f"{AvailabilitySlot.objects.bookable().count()} open slot(s) now."
        )

    def _sample_requests(self) -> int:
        made = 0
        slots = iter(AvailabilitySlot.objects.bookable().order_by("starts_at")[1::3])
        for name, email, status in SAMPLE_REQUESTS:
            if ConsultationRequest.objects.filter(email=email).exists():
                continue
            slot = next(slots, None) if status else None
            consultation_request = consultation_request_create(
                slot=slot,
                full_name=name,
                email=email,
                phone="+12025550143",
                preferred_contact="email",
                state="NY",
                discuss_topics=["fit"],
                note="Sample request for trying the admin. Not a real person.",
                has_therapist="prefer_not",
                preferred_times="" if slot else "Weekday mornings",
                notify=False,
            )
            if status and status != Status.NEW:
                consultation_request_set_status(
                    consultation_request=consultation_request, status=status
                )
            made += 1
        return made
