"""The setup_roles command: groups, exact permission sets, idempotence, dry run."""

from io import StringIO

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command

from clinic.management.commands.setup_roles import NEVER_GRANTED, ROLES

pytestmark = pytest.mark.django_db


def run(*args):
    out, err = StringIO(), StringIO()
    call_command("setup_roles", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def permission_sets():
    return {
        group.name: {
            f"{p.content_type.app_label}.{p.codename}"
            for p in group.permissions.select_related("content_type")
        }
        for group in Group.objects.all()
    }


def test_creates_every_group_with_every_listed_permission():
    out, err = run()
    assert err == ""  # every permission named in ROLES exists
    sets = permission_sets()
    assert set(sets) == set(ROLES)
    for name, codes in ROLES.items():
        explicit = {code for code in codes if not code.endswith(".*")}
        assert explicit <= sets[name], name
        assert f"{name}: created" in out


def test_second_run_changes_nothing_and_removes_stray_permissions():
    run()
    first = permission_sets()
    out, _ = run()
    assert permission_sets() == first
    assert out.count("unchanged") == len(ROLES)

    editors = Group.objects.get(name="Content editors")
    editors.permissions.add(Permission.objects.get(codename="view_consultationrequest"))
    out, _ = run()
    assert "  - consultations.view_consultationrequest" in out
    assert permission_sets() == first


def test_dry_run_saves_nothing():
    out, _ = run("--dry-run")
    assert "Content editors: created" in out and "Dry run" in out
    assert not Group.objects.exists()

    run()
    editors = Group.objects.get(name="Content editors")
    editors.permissions.clear()
    out, _ = run("--dry-run")
    assert "  + education.change_article" in out
    assert not editors.permissions.exists()


def test_boundaries_in_the_data():
    sets = (run(), permission_sets())[1]
    assert not any(code.startswith("consultations.") for code in sets["Content editors"])
    # Reviewers word the self-check's screen questions, and reach nothing else there.
    reviewer_consultations = {
        c for c in sets["Medical reviewers"] if c.startswith("consultations.")
    }
    assert reviewer_consultations == {
        "consultations.change_screenquestion",
        "consultations.view_screenquestion",
    }
    assert "consultations.view_sharedselfcheck" in sets["Intake coordinators"]
    assert "consultations.view_sharedselfcheck" in sets["Clinic managers"]
    # The patient's therapist: the intake team and managers, never clinicians' agenda role.
    assert "consultations.view_therapistcontact" in sets["Intake coordinators"]
    assert "consultations.view_therapistcontact" in sets["Clinic managers"]
    assert "consultations.view_therapistcontact" not in sets["Clinicians"]
    assert "education.review_article" not in sets["Content editors"]
    assert "education.review_article" in sets["Medical reviewers"]
    assert not any(code.startswith("education.") for code in sets["Intake coordinators"])
    assert "consultations.view_auditevent" not in sets["Intake coordinators"]
    assert "consultations.view_auditevent" in sets["Clinic managers"]
    assert "consultations.export_consultationrequest" in sets["Clinic managers"]
    for codes in sets.values():
        assert not codes & NEVER_GRANTED


def test_missing_permission_is_reported_not_invented(monkeypatch):
    monkeypatch.setitem(ROLES, "Content editors", ["education.no_such_permission"])
    _, err = run()
    assert "no permission education.no_such_permission" in err
    assert not Group.objects.get(name="Content editors").permissions.exists()


def test_never_granted_cannot_be_listed(monkeypatch):
    from django.core.management.base import CommandError

    monkeypatch.setitem(ROLES, "Clinic managers", ["consultations.change_auditevent"])
    with pytest.raises(CommandError):
        run()
