from django.db import migrations

# The search by words' character pairs, one partial GIN index per quarter of the office's
# time zone instead of one over every case (intake.search_indexes: why, and the daily task
# that keeps them). On an existing database each index reads the case table once while it
# builds, CONCURRENTLY: a live office keeps registering meanwhile.


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        from intake import search_indexes

        done = search_indexes.keep(wait=True)
        if done["failed"]:
            raise RuntimeError(f"search indexes not built: {done['failed']} (see the log)")
        schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS case_words_bigram_idx")


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        from intake import search_indexes

        schema_editor.execute("CREATE INDEX CONCURRENTLY IF NOT EXISTS case_words_bigram_idx "
                              "ON cases_case USING gin (intake_bigrams(summary, place))")
        for name in search_indexes.present():
            schema_editor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"')


class Migration(migrations.Migration):
    """The search by words' indexes by quarter (issue 17, item 5)."""

    atomic = False
    dependencies = [("intake", "0009_place_index")]

    operations = [migrations.RunPython(forward, backward)]
