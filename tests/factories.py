"""factory_boy factories shared by the whole suite."""

from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"staff{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@clinic.example")
    password = factory.django.Password("correct-horse-battery-staple")
    is_staff = True


class AvailabilitySlotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "consultations.AvailabilitySlot"

    starts_at = factory.Sequence(
        lambda n: (timezone.now() + timedelta(days=3, hours=n)).replace(
            minute=0, second=0, microsecond=0
        )
    )
    duration_minutes = 30
    modality = "video"
    capacity = 1


class ConsultationRequestFactory(factory.django.DjangoModelFactory):
    """A request as the booking service would save it (holding a place in its slot)."""

    class Meta:
        model = "consultations.ConsultationRequest"

    slot = factory.SubFactory(AvailabilitySlotFactory, held=1)
    holds_place = factory.LazyAttribute(lambda r: r.slot is not None)
    full_name = factory.Sequence(lambda n: f"Test Patient {n}")
    email = factory.Sequence(lambda n: f"patient{n}@example.com")
    phone = "+12025550143"
    preferred_contact = "email"
    state = "NY"
    is_adult_confirmed = True
    discuss_topics = "fit,cost"
    note = "Private free text that must never leave the admin."
    has_therapist = "no"
    contact_consent_at = factory.LazyFunction(timezone.now)
    not_emergency_ack_at = factory.LazyFunction(timezone.now)
    consent_policy_version = "2025-01"
