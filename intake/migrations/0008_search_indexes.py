from django.db import migrations

# PostgreSQL only (the SQLite demo keeps its slower path, intake.selectors). Why these two
# indexes, measured with bench/search.py on a C.UTF-8 cluster (scripts/lib.sh):
#
# - intake_bigrams(summary, place): every pair of neighbouring characters of the two
#   fields in lower case (17 µs a row to build), a GIN index over the array. The counter's search
#   by words asks for the term's pairs (@>), then ILIKE confirms. pg_trgm alone cannot do
#   it: a 2-character term such as 停水 inside Chinese text (no spaces) yields no trigram
#   of its own, so LIKE '%停水%' gets no help from a trigram index.
# - case_words_trgm_idx, pg_trgm on summary || ' ' || place: repeat detection's candidates
#   by word_similarity(new case's words, earlier case's summary and place) (%>), over the
#   whole REPEAT_WINDOW_DAYS; on the shipped corpus every original of a re-told matter is
#   among the 10 nearest by it (71 of 73 first), then re-ranked by the triage similarity.
BIGRAMS = r"""
CREATE OR REPLACE FUNCTION intake_bigrams(VARIADIC parts text[]) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT ARRAY(SELECT substr(t, i, 2)
                 FROM (SELECT lower(array_to_string(parts, ' ')) AS t) AS folded,
                      generate_series(1, length(t) - 1) AS i)
$$;
"""

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    BIGRAMS,
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS case_words_bigram_idx ON cases_case "
    "USING gin (intake_bigrams(summary, place))",
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS case_words_trgm_idx ON cases_case "
    "USING gin ((summary || ' ' || place) gin_trgm_ops)",
]
BACKWARD = [
    "DROP INDEX CONCURRENTLY IF EXISTS case_words_trgm_idx",
    "DROP INDEX CONCURRENTLY IF EXISTS case_words_bigram_idx",
    "DROP FUNCTION IF EXISTS intake_bigrams(VARIADIC text[])",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in FORWARD:
            schema_editor.execute(statement)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in BACKWARD:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    """Indexes for the counter's search by words and repeat detection (issue 17, item 5).
    Built CONCURRENTLY: a live office keeps registering while they build."""

    atomic = False
    dependencies = [("intake", "0007_platform_role"), ("cases", "0023_platform_deliveries")]

    operations = [migrations.RunPython(forward, backward)]
