from django.db import migrations

# Repeat detection's trigram index, one partial GIN index per quarter (as the words' pairs
# in 0010; intake.search_indexes): its 90-day window is read a quarter at a time, each
# from a quarter's lists instead of the whole history's. Built CONCURRENTLY.


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        from intake import search_indexes

        done = search_indexes.keep(wait=True)
        if done["failed"]:
            raise RuntimeError(f"search indexes not built: {done['failed']} (see the log)")
        schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS case_words_trgm_idx")


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        from intake import search_indexes

        schema_editor.execute("CREATE INDEX CONCURRENTLY IF NOT EXISTS case_words_trgm_idx ON "
                              "cases_case USING gin ((summary || ' ' || place) gin_trgm_ops)")
        for name in search_indexes.present():
            if name.startswith(search_indexes.TRIGRAM_PREFIX):
                schema_editor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"')


class Migration(migrations.Migration):
    """Repeat detection's trigram indexes by quarter (issue 17, item 5)."""

    atomic = False
    dependencies = [("intake", "0010_search_indexes_by_quarter")]

    operations = [migrations.RunPython(forward, backward)]
