"""The department inbox filtered by tier or by category, a page at a time in due order
(issue 17: a department with 50 000 open cases). Without these, the planner walks the
department's cases in due order until fifty of one tier or category turn up (a T1 page
read 2 200 rows; a category's went through two bitmaps of 30 000 and 48 000 entries and
a sort). Partial: only the cases in a department's inbox.

The indexes are on cases_case but serve this app's inbox only, so they are made here
(by SQL: the cases app's model does not declare them). On PostgreSQL they are built
CONCURRENTLY, so a city's case table takes writes while they are made.
"""

from django.db import migrations

INBOX = "'dispatched', 'in_handling', 'result_submitted'"
INDEXES = {
    "case_inbox_tier_due_idx": "lead_department_id, tier_id, due_at",
    "case_inbox_category_due_idx": "lead_department_id, category_id, due_at",
}


def forward(apps, schema_editor):
    concurrently = "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""
    for name, columns in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX {concurrently}IF NOT EXISTS {name} "
                              f"ON cases_case ({columns}) WHERE state IN ({INBOX})")


def backward(apps, schema_editor):
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):

    atomic = False  # CREATE INDEX CONCURRENTLY runs outside a transaction

    dependencies = [("dispatch", "0004_assisted_tallies")]

    operations = [migrations.RunPython(forward, backward)]
