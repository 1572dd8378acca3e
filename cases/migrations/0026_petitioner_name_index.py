"""找案件 by a petitioner's name (the office's search): an index on the name. On
PostgreSQL it is built CONCURRENTLY, so a city's petitioner table takes writes while it is
made; the model declares it (state), the SQL makes it (database)."""

from django.db import migrations, models

NAME = "petitioner_name_idx"


def forward(apps, schema_editor):
    concurrently = "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(f"CREATE INDEX {concurrently}IF NOT EXISTS {NAME} "
                          "ON cases_petitioner (name)")


def backward(apps, schema_editor):
    schema_editor.execute(f"DROP INDEX IF EXISTS {NAME}")


class Migration(migrations.Migration):

    atomic = False  # CREATE INDEX CONCURRENTLY runs outside a transaction

    dependencies = [
        ('cases', '0025_case_schedule'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddIndex(
                model_name='petitioner',
                index=models.Index(fields=['name'], name=NAME),
            )],
            database_operations=[migrations.RunPython(forward, backward)],
        ),
    ]
