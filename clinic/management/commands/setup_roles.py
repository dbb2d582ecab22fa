"""Create the staff groups and give each exactly the permissions in ROLES below.

Idempotent: run it after every migrate (`make run` and the container entrypoint do). Each
group ends up with exactly the listed permissions: missing ones are added, any others
(for example one added by hand in the admin) are removed, and the changes are printed.
`--dry-run` prints what would change and saves nothing. Users are put into groups in the
admin (Users → a user → Groups); superusers need no group.

Permissions are written `app_label.codename`; `app_label.*` means every permission of
that app, less NEVER_GRANTED.
"""

from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

# The role boundaries. Editors and reviewers never see consultation requests (health data);
# coordinators never change articles; only managers read the audit trail.
ROLES: dict[str, list[str]] = {
    "Content editors": [
        "education.add_article",
        "education.change_article",
        "education.view_article",
        "education.publish_article",
        "education.add_topic",
        "education.change_topic",
        "education.view_topic",
        "education.add_contributor",
        "education.change_contributor",
        "education.view_contributor",
        "education.add_glossaryterm",
        "education.change_glossaryterm",
        "education.view_glossaryterm",
        "education.add_planneritem",
        "education.change_planneritem",
        "education.delete_planneritem",
        "education.view_planneritem",
        "education.add_networktherapist",
        "education.change_networktherapist",
        "education.delete_networktherapist",
        "education.view_networktherapist",
        "education.add_networktherapiststate",
        "education.change_networktherapiststate",
        "education.delete_networktherapiststate",
        "education.view_networktherapiststate",
        "education.add_readingpath",
        "education.change_readingpath",
        "education.view_readingpath",
        "education.add_readingpathstep",
        "education.change_readingpathstep",
        "education.delete_readingpathstep",
        "education.view_readingpathstep",
        "education.add_articleimage",
        "education.change_articleimage",
        "education.delete_articleimage",
        "education.view_articleimage",
        # Old addresses of renamed articles: made on approval, only seen or deleted.
        "education.view_articleredirect",
        "education.delete_articleredirect",
        # The article's FAQ and reference inlines.
        "education.add_faq",
        "education.change_faq",
        "education.delete_faq",
        "education.view_faq",
        "education.add_reference",
        "education.change_reference",
        "education.delete_reference",
        "education.view_reference",
    ],
    # Reviewers approve, and may publish in the same step (or unpublish at once).
    "Medical reviewers": [
        "education.change_article",
        "education.view_article",
        "education.review_article",
        "education.publish_article",
        "education.view_topic",
        "education.view_contributor",
        "education.view_glossaryterm",
        "education.view_faq",
        "education.view_reference",
        # The self-check's screen questions are clinical wording.
        "consultations.change_screenquestion",
        "consultations.view_screenquestion",
    ],
    "Intake coordinators": [
        "consultations.change_consultationrequest",
        "consultations.view_consultationrequest",
        "consultations.export_consultationrequest",
        "consultations.add_availabilityslot",
        "consultations.change_availabilityslot",
        "consultations.delete_availabilityslot",
        "consultations.view_availabilityslot",
        # Who is licensed where, and the sites: to make the right slots.
        "consultations.view_clinician",
        "consultations.view_clinicianstate",
        "consultations.view_location",
        "consultations.add_staffnote",
        "consultations.view_staffnote",
        "consultations.view_statuschange",
        # The self-check answers a patient shared, shown on the request page.
        "consultations.view_sharedselfcheck",
        # The patient's therapist, when they agreed we may contact them (request page).
        "consultations.view_therapistcontact",
        # Which reminders went, failed or are stuck (the list, and on the request page).
        "consultations.view_consultationreminder",
    ],
    # Clinicians: the agenda of consultations (theirs first; its view is allowed by the
    # staff account linked to an active clinician, consultations/agenda.py), who is
    # licensed where and the availability. No request details or patient answers.
    "Clinicians": [
        "consultations.view_availabilityslot",
        "consultations.view_clinician",
        "consultations.view_clinicianstate",
        "consultations.view_location",
        # Which reminders went (reference, time, state; no patient detail), as the agenda
        # shows them every clinician's consultations.
        "consultations.view_consultationreminder",
    ],
    "Clinic managers": [
        "education.*",
        "consultations.*",
        "clinic.change_clinicdetails",
        "clinic.view_clinicdetails",
        "clinic.add_fee",
        "clinic.change_fee",
        "clinic.delete_fee",
        "clinic.view_fee",
        "auth.view_user",
        "auth.view_group",
        # Sign-in lockouts: see who is locked out, and unlock by deleting the attempt.
        "axes.view_accessattempt",
        "axes.delete_accessattempt",
        "axes.view_accesslog",
    ],
}

# Nobody edits the record of what happened to a request: the audit trail and the
# request's status history are written by the app only (managers may still view them).
NEVER_GRANTED = {
    "consultations.add_auditevent",
    "consultations.change_auditevent",
    "consultations.delete_auditevent",
    "consultations.add_statuschange",
    "consultations.change_statuschange",
    "consultations.delete_statuschange",
    # What a patient shared stays as they sent it, and goes only with the request.
    "consultations.add_sharedselfcheck",
    "consultations.change_sharedselfcheck",
    "consultations.delete_sharedselfcheck",
    "consultations.add_therapistcontact",
    "consultations.change_therapistcontact",
    "consultations.delete_therapistcontact",
    # A reminder's row is its claim: only the sending run writes it.
    "consultations.add_consultationreminder",
    "consultations.change_consultationreminder",
    "consultations.delete_consultationreminder",
    # A calendar feed is made only by its owner, on their own page; managers may turn
    # anyone's off (delete).
    "consultations.add_staffcalendarfeed",
    "consultations.change_staffcalendarfeed",
}


class Command(BaseCommand):
    help = "Create the staff groups and set each one's permissions to exactly its role."

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Print what would change; save nothing."
        )

    def handle(self, *args, dry_run: bool = False, **options):
        available = {
            f"{p.content_type.app_label}.{p.codename}": p
            for p in Permission.objects.select_related("content_type")
        }
        with transaction.atomic():
            for name, codes in ROLES.items():
                self._apply(name, self._expand(name, codes, available), available, dry_run)
        if dry_run:
            self.stdout.write("Dry run: nothing was saved.")

    def _expand(self, name: str, codes: list[str], available: dict) -> set[str]:
        wanted: set[str] = set()
        for code in codes:
            if code in NEVER_GRANTED:
                raise CommandError(f"{name}: {code} is never granted to any role.")
            if code.endswith(".*"):
                prefix = code[:-1]
                matches = {c for c in available if c.startswith(prefix)} - NEVER_GRANTED
            else:
                matches = {code} & available.keys()
            if not matches:
                # Fail safe: the group simply lacks it. Usually an app not migrated yet.
                self.stderr.write(f"{name}: no permission {code} exists; skipped.")
            wanted |= matches
        return wanted

    def _apply(self, name: str, wanted: set[str], available: dict, dry_run: bool) -> None:
        group = Group.objects.filter(name=name).first()
        current: set[str] = set()
        if group is not None:
            current = {
                f"{p.content_type.app_label}.{p.codename}"
                for p in group.permissions.select_related("content_type")
            }
        added, removed = sorted(wanted - current), sorted(current - wanted)
        if group is None:
            self.stdout.write(f"{name}: created with {len(wanted)} permissions")
        elif added or removed:
            self.stdout.write(f"{name}: changed")
        else:
            self.stdout.write(f"{name}: unchanged ({len(wanted)} permissions)")
        for code in added:
            self.stdout.write(f"  + {code}")
        for code in removed:
            self.stdout.write(f"  - {code}")
        if dry_run:
            return
        if group is None:
            group = Group.objects.create(name=name)
        group.permissions.set([available[code] for code in wanted])
