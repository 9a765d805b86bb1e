"""The stored Factur-X is a PDF whose streams are compressed already: PostgreSQL's TOAST
compression only spends CPU on it (about half the cost of writing it). PostgreSQL only."""

from django.db import migrations

TABLE_COLUMN = "chorus_submission ALTER COLUMN facturx_file"


def _storage(kind: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"ALTER TABLE {TABLE_COLUMN} SET STORAGE {kind}")

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("chorus", "0002_report_entry_time_of_step"),
    ]

    operations = [
        migrations.RunPython(_storage("EXTERNAL"), _storage("EXTENDED"), elidable=False),
    ]
