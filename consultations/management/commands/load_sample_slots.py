"""Create two sample clinicians, two locations, open slots for the next two weeks and a
few clearly fake requests.

The clinicians are licensed in different states, so the booking page's state question
shows its effect. Idempotent: existing clinicians, locations, slots and sample requests
are kept, so `make run` can call it every time.
"""

from datetime import time, timedelta

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from consultations.formatting import clinic_zone
from consultations.models import (
    AvailabilitySlot,
    Clinician,
    ConsultationRequest,
    Location,
    Modality,
    Status,
)
from consultations.services import (
    availability_slot_series_create,
    consultation_request_create,
    consultation_request_set_status,
)

# Each sample clinician: who they are, where they are licensed, and their week's times.
SAMPLE_CLINICIANS = [
    {
        "display_name": "Dr. Maya Chen (sample)",
        "credentials": "MD",
        "bio": "A sample psychiatrist for trying the site. Not a real person.",
        "states": ["NY", "NJ", "CT"],
        "times": [
            (Modality.VIDEO, [time(9, 30), time(11, 0)], None),
            (Modality.IN_PERSON, [time(14, 0)], "Midtown office (sample)"),
        ],
    },
    {
        "display_name": "Jordan Ellis (sample)",
        "credentials": "PMHNP-BC",
        "bio": "A sample nurse practitioner for trying the site. Not a real person.",
        "states": ["PA", "FL"],
        "times": [
            (Modality.VIDEO, [time(10, 0)], None),
            (Modality.PHONE, [time(16, 30)], None),
            (Modality.IN_PERSON, [time(13, 0)], "Brooklyn office (sample)"),
        ],
    },
]
SAMPLE_LOCATIONS = {
    "Midtown office (sample)": (
        "100 Example Avenue, Suite 200\nNew York, NY 10001",
        "+12125550180",
    ),
    "Brooklyn office (sample)": ("25 Sample Street\nBrooklyn, NY 11201", "+17185550142"),
}
SAMPLE_REQUESTS = [
    ("Sample Patient One", "sample.one@example.com", Status.NEW),
    ("Sample Patient Two", "sample.two@example.com", Status.CONTACTED),
    ("Sample Patient Three", "sample.three@example.com", Status.CONFIRMED),
    ("Sample Patient Four", "sample.four@example.com", None),  # asks to arrange a time
]


class Command(BaseCommand):
    help = (
        "Create two sample clinicians and locations, open slots for the next 14 days "
        "(weekdays) and a few fake sample requests."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Report, change nothing.")

    def handle(self, *args, dry_run=False, **options):
        today = timezone.localtime(timezone.now(), clinic_zone()).date()
        start, end = today + timedelta(days=1), today + timedelta(days=14)
        with transaction.atomic():
            created = 0
            for sample in SAMPLE_CLINICIANS:
                clinician = self._clinician(sample)
                for modality, times, location_name in sample["times"]:
                    made, _skipped = availability_slot_series_create(
                        clinician=clinician,
                        location=self._location(location_name) if location_name else None,
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

    def _clinician(self, sample: dict) -> Clinician:
        clinician, made = Clinician.objects.get_or_create(
            display_name=sample["display_name"],
            is_sample=True,
            defaults={"credentials": sample["credentials"], "bio": sample["bio"]},
        )
        if made:
            for state in sample["states"]:
                clinician.states.create(state=state)
        return clinician

    def _location(self, name: str) -> Location:
        address, phone = SAMPLE_LOCATIONS[name]
        return Location.objects.get_or_create(
            name=name, defaults={"address": address, "phone": phone}
        )[0]

    def _sample_requests(self) -> int:
        made = 0
        slots = iter(AvailabilitySlot.objects.bookable(state="NY").order_by("starts_at")[1::3])
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
