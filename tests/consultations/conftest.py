import pytest
from django.contrib.auth.models import Permission

from tests.factories import AvailabilitySlotFactory, UserFactory

VALID_ANSWERS = {
    "full_name": "Alex Example",
    "email": "alex@example.com",
    "phone": "(202) 555-0143",
    "preferred_contact": "phone",
    "state": "NY",
    "is_adult": "on",
    "discuss_topics": ["fit", "cost"],
    "note": "SECRET-NOTE-TEXT",
    "has_therapist": "yes",
    "heard_about": "friend",
    "contact_consent": "on",
    "not_emergency_ack": "on",
}


def form_tokens(client):
    """GET the booking page and return the hidden value a browser would send back."""
    response = client.get("/book/?new")
    assert response.status_code == 302
    response = client.get("/book/")
    assert response.status_code == 200
    return {"form_token": response.context["form"]["form_token"].value()}


def submit(client, choice=None, tokens=None, **overrides):
    """Fill in the booking form as a patient would and send it."""
    data = {**VALID_ANSWERS, **(tokens or form_tokens(client))}
    data["slot"] = "none" if choice is None else str(getattr(choice, "pk", choice))
    if choice is None:
        data["preferred_times"] = "Weekday mornings"
    data.update(overrides)
    data = {k: v for k, v in data.items() if v is not None}
    return client.post("/book/", data)


@pytest.fixture
def slot(db):
    return AvailabilitySlotFactory()


@pytest.fixture
def coordinator(client):
    """Signed in with the permissions that handle requests (an intake coordinator's)."""
    user = UserFactory()
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="consultations",
            codename__in=["view_consultationrequest", "change_consultationrequest"],
        )
    )
    client.force_login(user)
    return user
