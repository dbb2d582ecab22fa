"""Every public form shows, with a label, each field that its validation can ask for.

A field that the form can demand (required, or asked for by the form's own checks) but
that the page never renders is a dead end: the patient gets an error they cannot fix,
and the error summary links to nothing. This renders each public form as the site serves
it and looks for every field the form holds.
"""

from html.parser import HTMLParser

import pytest
from django import forms
from django.urls import reverse

from consultations.forms import SlotChoiceField
from consultations.tokens import manage_token_make
from tests.factories import AvailabilitySlotFactory, ConsultationRequestFactory, PlannerItemFactory

pytestmark = pytest.mark.django_db


class FormControls(HTMLParser):
    """The ids, names, label targets and label/legend texts of one HTML page."""

    def __init__(self):
        super().__init__()
        self.ids, self.names, self.label_for, self.captions = set(), set(), set(), []
        self._caption_depth = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag in ("input", "select", "textarea") and attrs.get("type") != "hidden":
            self.names.add(attrs.get("name"))
        if tag == "label" and attrs.get("for"):
            self.label_for.add(attrs["for"])
        if tag in ("label", "legend"):
            self._caption_depth += 1
            self.captions.append("")

    def handle_endtag(self, tag):
        if tag in ("label", "legend") and self._caption_depth:
            self._caption_depth -= 1

    def handle_data(self, data):
        if self._caption_depth:
            self.captions[-1] += data

    def has_caption(self, text: str) -> bool:
        words = " ".join(text.split())
        return any(words in " ".join(caption.split()) for caption in self.captions)


def _grouped(field) -> bool:
    grouped_widget = isinstance(field.widget, forms.RadioSelect | forms.CheckboxSelectMultiple)
    return grouped_widget or isinstance(field, SlotChoiceField)


def _can_ask_for(form, name) -> bool:
    """Required, or a field whose errors the form reports (its error summary's order lists
    them); a form without that list may report any of its fields."""
    order = getattr(form, "error_order", None)
    return form.fields[name].required or order is None or name in order


def _public_forms(client):
    """(page name, rendered HTML, the form object the page was rendered with)."""
    AvailabilitySlotFactory.create_batch(3)
    PlannerItemFactory(kind="practice")
    PlannerItemFactory(kind="treatment_day")
    booking = client.get(reverse("consultations:book"))
    manage = client.get(
        reverse("consultations:manage", args=[manage_token_make(ConsultationRequestFactory())])
    )
    self_check = client.get(reverse("consultations:self_check"))
    planner = client.get(reverse("education:planner"))
    waitlist = client.get(reverse("consultations:waitlist_join"))
    return [
        ("booking", booking.content.decode(), booking.context["form"]),
        ("manage", manage.content.decode(), manage.context["move_form"]),
        ("self-check", self_check.content.decode(), self_check.context["form"]),
        ("planner", planner.content.decode(), planner.context["form"]),
        ("waitlist", waitlist.content.decode(), waitlist.context["form"]),
    ]


def test_every_field_a_public_form_can_ask_for_is_on_the_page_with_a_label(client):
    missing = []
    for page, html, form in _public_forms(client):
        controls = FormControls()
        controls.feed(html)
        for name, field in form.fields.items():
            if isinstance(field.widget, forms.HiddenInput) or not _can_ask_for(form, name):
                continue
            bound = form[name]
            if _grouped(field) and not list(getattr(field, "choices", [None])):
                continue  # an empty list of boxes: nothing to ask for
            if hasattr(form, "first_input_id"):
                first_id = form.first_input_id(name)  # where its error summary links
            elif isinstance(field, SlotChoiceField):
                first_id = None  # a list of times, each with its own id
            else:
                first_id = f"{bound.auto_id}_0" if _grouped(field) else bound.auto_id
            if bound.html_name not in controls.names:
                missing.append(f"{page}: no control named {bound.html_name!r}")
            elif first_id and first_id not in controls.ids:
                missing.append(f"{page}: {name!r} has no element with id {first_id!r}")
            elif _grouped(field):
                if not controls.has_caption(str(field.label)):
                    missing.append(f"{page}: the group {name!r} has no legend or label")
            elif first_id not in controls.label_for:
                missing.append(f"{page}: {name!r} has no <label for={first_id!r}>")
    assert missing == []
