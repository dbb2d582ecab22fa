"""Every slot has a clinician; in-person slots a location; one clinician's slots never
overlap (an exclusion constraint on PostgreSQL, which needs btree_gist for the `=` on the
clinician; on SQLite the service checks)."""

import django.db.models.deletion
from django.contrib.postgres.operations import BtreeGistExtension
from django.db import migrations, models

import consultations.models


class BtreeGist(BtreeGistExtension):
    """btree_gist, kept when migrating back: Django's operation would look for it in
    pg_extension on SQLite too, and other tables may come to use it."""

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        return


class Migration(migrations.Migration):
    dependencies = [
        ("consultations", "0008_slots_get_a_clinician"),
    ]

    operations = [
        BtreeGist(),
        migrations.AlterField(
            model_name="availabilityslot",
            name="clinician",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="slots",
                to="consultations.clinician",
            ),
        ),
        migrations.AddConstraint(
            model_name="availabilityslot",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("location__isnull", False), ("modality", "in_person")),
                    models.Q(
                        models.Q(("modality", "in_person"), _negated=True),
                        ("location__isnull", True),
                    ),
                    _connector="OR",
                ),
                name="slot_location_only_in_person",
                violation_error_message="An in-person slot needs a location; video and "
                "phone slots have none.",
            ),
        ),
        migrations.AddConstraint(
            model_name="availabilityslot",
            constraint=models.UniqueConstraint(
                fields=("clinician", "starts_at"), name="one_slot_per_clinician_start"
            ),
        ),
        migrations.AddConstraint(
            model_name="availabilityslot",
            constraint=consultations.models.PostgreSQLExclusionConstraint(
                expressions=[
                    ("clinician", "="),
                    (consultations.models.UTCTimeRange("starts_at", "duration_minutes"), "&&"),
                ],
                name="slot_no_overlap_per_clinician",
            ),
        ),
    ]
