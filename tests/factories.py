"""factory_boy factories shared by the whole suite."""

import datetime
from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.utils import timezone

# Every factory-made user signs in with this.
PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"staff{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@clinic.example")
    password = factory.django.Password(PASSWORD)
    is_staff = True


def role_member(role: str):
    """A staff user in one of the groups that `setup_roles` makes (created here)."""
    call_command("setup_roles", verbosity=0)
    user = UserFactory()
    user.groups.add(Group.objects.get(name=role))
    return user


# -- education -------------------------------------------------------------------------


class TopicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "education.Topic"
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"Topic {n}")
    slug = factory.Sequence(lambda n: f"topic-{n}")
    description = "A short description of the topic."
    order = factory.Sequence(int)
    review_interval_days = 365


class ContributorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "education.Contributor"

    name = factory.Sequence(lambda n: f"Sample contributor {n}")
    slug = factory.Sequence(lambda n: f"contributor-{n}")
    credentials = "MD"
    role = "Medical reviewer"
    bio = "A sample profile."


class GlossaryTermFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "education.GlossaryTerm"

    term = factory.Sequence(lambda n: f"Term{n}")
    slug = factory.Sequence(lambda n: f"term-{n}")
    definition = "A plain-language meaning."


class ArticleFactory(factory.django.DjangoModelFactory):
    """A published, reviewed article with one reference; its derived fields rendered."""

    class Meta:
        model = "education.Article"
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Article number {n}")
    slug = factory.Sequence(lambda n: f"article-{n}")
    summary = "A short summary of the article for patients."
    body = "## First part\n\nThis is a short body. It has two sentences.\n"
    topic = factory.SubFactory(TopicFactory)
    author = factory.SubFactory(ContributorFactory, role="Author")
    reviewer = factory.SubFactory(ContributorFactory)
    status = "published"
    review_state = "approved"
    publish_at = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(days=1))
    first_published_at = factory.SelfAttribute("publish_at")
    last_reviewed = factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=1))
    next_review_due = factory.LazyFunction(
        lambda: timezone.localdate() + datetime.timedelta(days=300)
    )
    review_note = "Checked against the sources."
    key_takeaways = "First takeaway.\nSecond takeaway."

    class Params:
        draft = factory.Trait(
            status="draft",
            review_state="editing",
            publish_at=None,
            first_published_at=None,
            reviewer=None,
            last_reviewed=None,
            next_review_due=None,
        )

    @factory.post_generation
    def references(obj, create, extracted, **kwargs):
        if not create:
            return
        count = 1 if extracted is None else extracted
        for index in range(count):
            ReferenceFactory(article=obj, order=index)

    @factory.post_generation
    def rendered(obj, create, extracted, **kwargs):
        if create:
            from education.services import article_render

            article_render(article=obj)


class FAQFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "education.FAQ"

    article = factory.SubFactory(ArticleFactory)
    question = factory.Sequence(lambda n: f"Question {n}?")
    answer = "A plain answer."
    order = factory.Sequence(int)


class ReferenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "education.Reference"

    article = factory.SubFactory(ArticleFactory)
    citation = factory.Sequence(
        lambda n: f"Author A, Author B. A study {n}. J Example. 2020;1:1-2."
    )
    doi = factory.Sequence(lambda n: f"10.1000/example.{n}")
    pmid = factory.Sequence(lambda n: str(10000000 + n))
    order = factory.Sequence(int)


class ClinicianFactory(factory.django.DjangoModelFactory):
    """An active clinician offering every modality, licensed in New York unless told
    (`states=["NJ", "PA"]`)."""

    class Meta:
        model = "consultations.Clinician"
        skip_postgeneration_save = True

    display_name = factory.Sequence(lambda n: f"Dr. Sample {n}")
    credentials = "MD"

    @factory.post_generation
    def states(obj, create, extracted, **kwargs):
        if create:
            for state in ["NY"] if extracted is None else extracted:
                obj.states.create(state=state)


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "consultations.Location"

    name = factory.Sequence(lambda n: f"Site {n}")
    address = factory.Sequence(lambda n: f"{n} Example Street\nSpringfield, NY 10001")
    phone = "+12125550123"


class AvailabilitySlotFactory(factory.django.DjangoModelFactory):
    """A video slot three days ahead or more (inside the booking window), with a clinician
    of its own unless given one."""

    class Meta:
        model = "consultations.AvailabilitySlot"

    clinician = factory.SubFactory(ClinicianFactory)
    # Wraps after about six weeks, inside the default 60-day booking horizon.
    starts_at = factory.Sequence(
        lambda n: (timezone.now() + timedelta(days=3, hours=n % 1000)).replace(
            minute=0, second=0, microsecond=0
        )
    )
    duration_minutes = 30
    modality = "video"
    location = factory.Maybe(
        factory.LazyAttribute(lambda slot: slot.modality == "in_person"),
        yes_declaration=factory.SubFactory(LocationFactory),
        no_declaration=None,
    )
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


class TherapistContactFactory(factory.django.DjangoModelFactory):
    """A patient's therapist, given with the box "you may contact my therapist" ticked."""

    class Meta:
        model = "consultations.TherapistContact"

    request = factory.SubFactory(ConsultationRequestFactory, has_therapist="yes")
    name = "Dr. Robin Therapist-Sample"
    practice = "Harbor Counseling Sample Practice"
    phone = "+12125550177"
    email = "robin.sample@therapy.example"
    consent_at = factory.LazyFunction(timezone.now)
    consent_policy_version = "2026-12"


class WaitlistEntryFactory(factory.django.DjangoModelFactory):
    """A patient waiting for any time, from New York, who joined a moment ago."""

    class Meta:
        model = "consultations.WaitlistEntry"

    email = factory.Sequence(lambda n: f"waiting{n}@example.com")
    state = "NY"
    created_at = factory.LazyFunction(timezone.now)
    consent_at = factory.LazyAttribute(lambda entry: entry.created_at)
    consent_policy_version = "2026-12"


class PlannerItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "education.PlannerItem"

    kind = "practice"
    slug = factory.Sequence(lambda n: f"item-{n}")
    label = factory.Sequence(lambda n: f"Support {n}")
    text = "Do a small thing."
    calendar_title = factory.Sequence(lambda n: f"Title {n}")
    first_day = 1
    last_day = 99
