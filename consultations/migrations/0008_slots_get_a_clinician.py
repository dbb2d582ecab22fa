"""Existing slots keep working: each gets a clinician, and in-person ones a location.

Slots made before clinicians existed get a clinician made here, shown to patients as
"a clinician" and licensed in no state yet. Slots that overlap (a video and a phone time
at once were allowed, so two people must have taken them) go to as few such clinicians
as keep each one's slots apart, since one clinician's slots may not overlap. They are
licensed nowhere because nobody knows where the people behind those slots are licensed,
and offering video or phone times across state lines is what this change stops. Their in-person times stay bookable as before, and staff add the states
(Consultations -> Clinicians) to offer the video and phone times again. In-person slots
get one location copied from the clinic's details, so a one-site clinic reads as before.
Requests already booked keep their slots.
"""

from datetime import timedelta

from django.db import migrations

DEFAULT_ADDRESS = "100 Example Street, Suite 200\nSpringfield, ST 00000"
DEFAULT_NAME = "Riverside Health Clinic"
DEFAULT_PHONE = "(555) 010-0199"


def give_slots_a_clinician(apps, schema_editor):
    AvailabilitySlot = apps.get_model("consultations", "AvailabilitySlot")
    Clinician = apps.get_model("consultations", "Clinician")
    Location = apps.get_model("consultations", "Location")
    ClinicDetails = apps.get_model("clinic", "ClinicDetails")
    slots = AvailabilitySlot.objects.filter(clinician__isnull=True)
    if not slots.exists():
        return
    in_person = list(slots.filter(modality="in_person").values_list("pk", flat=True))
    # Each clinician made here with the end of their latest slot: a slot goes to the
    # first one free by its start (the fewest clinicians that keep slots apart).
    clinicians = []
    for slot in slots.order_by("starts_at", "pk"):
        ends_at = slot.starts_at + timedelta(minutes=slot.duration_minutes)
        free = next((c for c in clinicians if c[1] <= slot.starts_at), None)
        if free is None:
            free = [
                Clinician.objects.create(
                    display_name="",
                    credentials="",
                    bio="Made when clinicians were added, for the slots that existed then. "
                    "Add their name and the states where they are licensed.",
                ),
                ends_at,
            ]
            clinicians.append(free)
        free[1] = ends_at
        slot.clinician = free[0]
        slot.save(update_fields=["clinician"])
    if in_person:
        details = ClinicDetails.objects.filter(pk=1).first()
        location = Location.objects.create(
            name=details.name if details else DEFAULT_NAME,
            address=details.address if details else DEFAULT_ADDRESS,
            phone=details.phone if details else DEFAULT_PHONE,
        )
        AvailabilitySlot.objects.filter(pk__in=in_person).update(location=location)


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0002_fees_offered_treatments_privacy_notice"),
        ("consultations", "0007_clinicians_locations"),
    ]

    operations = [
        migrations.RunPython(give_slots_a_clinician, migrations.RunPython.noop),
    ]
