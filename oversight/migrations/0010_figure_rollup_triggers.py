"""The summary rolled up over one or two of its dimensions (issue 17: the dashboard at 20 M
cases). At city scale the daily and monthly tables hold about one row per case (400
departments × hundreds of categories × channels × tiers), so a year of the office read
from them sums millions of rows; the rollups hold the same counters by every grouping of
one or two dimensions, a few thousand rows a year.

PostgreSQL only: statement triggers with transition tables on oversight_dailyfigures and
oversight_monthlyfigures add the signed rows of each statement to the rollups (upserts in
key order, so two figure workers queue rather than deadlock). On SQLite the tables stay
empty and the dashboard reads the full tables.
"""

from django.db import migrations

COUNTERS = ['received', 'invalid', 'deadline_counted', 'on_time', 'responded', 'visited', 'solved', 'satisfied', 'returns', 'extensions', 'reopenings', 'rounds', 'accepted', 'archived', 'visits_due', 'visits_on_time', 'final_counted', 'final_on_time', 'found_true', 'found_partly', 'found_false', 'petitioners_answered', 'appeals_upheld']
# grouping bits: department 1, category 2, channel 4, tier 8 (oversight.models)
GROUPINGS = (1, 2, 3, 4, 5, 6, 8, 9, 10, 12)
DIMENSIONS = ("department_id_value", "category_id_value", "channel", "tier_id_value")
BITS = {"department_id_value": 1, "category_id_value": 2, "channel": 4, "tier_id_value": 8}


def rollup_insert(table: str, period: str, rows: str) -> str:
    """Add the signed rows (`rows` yields sign, r.*) to the rollup table, every grouping."""
    kept = ", ".join(
        f"CASE WHEN g & {BITS[name]} <> 0 THEN r.{name} ELSE "
        + ("'*'" if name == "channel" else "-1") + " END"
        for name in DIMENSIONS)
    sums = ", ".join(f"sum(r.sign * r.{name})" for name in COUNTERS)
    updates = ", ".join(f"{name} = t.{name} + excluded.{name}" for name in COUNTERS)
    key = f"grouping, {period}, {', '.join(DIMENSIONS)}"
    return f"""
    INSERT INTO {table} AS t (grouping, {period}, {', '.join(DIMENSIONS)}, {', '.join(COUNTERS)})
    SELECT g, r.{period}, {kept}, {sums}
    FROM ({rows}) r CROSS JOIN unnest(ARRAY{list(GROUPINGS)}) g
    GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
    ON CONFLICT ({key}) DO UPDATE SET {updates}"""


def triggers(source: str, target: str, period: str) -> str:
    name = source.replace("oversight_", "")
    return f"""
CREATE FUNCTION {name}_rolled_in() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN {rollup_insert(target, period, "SELECT 1 AS sign, * FROM new_rows")}; RETURN NULL; END $$;
CREATE FUNCTION {name}_rolled_over() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN {rollup_insert(target, period,
                     "SELECT -1 AS sign, * FROM old_rows UNION ALL SELECT 1, * FROM new_rows")};
RETURN NULL; END $$;
CREATE FUNCTION {name}_rolled_out() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN {rollup_insert(target, period, "SELECT -1 AS sign, * FROM old_rows")}; RETURN NULL; END $$;
CREATE FUNCTION {name}_rolled_away() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN DELETE FROM {target}; RETURN NULL; END $$;
CREATE TRIGGER {name}_rollup_insert AFTER INSERT ON {source}
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {name}_rolled_in();
CREATE TRIGGER {name}_rollup_update AFTER UPDATE ON {source}
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION {name}_rolled_over();
CREATE TRIGGER {name}_rollup_delete AFTER DELETE ON {source}
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION {name}_rolled_out();
CREATE TRIGGER {name}_rollup_truncate AFTER TRUNCATE ON {source}
  FOR EACH STATEMENT EXECUTE FUNCTION {name}_rolled_away();
{rollup_insert(target, period, f"SELECT 1 AS sign, * FROM {source}")};
"""


def untriggers(source: str) -> str:
    name = source.replace("oversight_", "")
    return "".join(f"DROP TRIGGER {name}_rollup_{kind} ON {source};"
                   for kind in ("insert", "update", "delete", "truncate")) + "".join(
        f"DROP FUNCTION {name}_rolled_{kind}();" for kind in ("in", "over", "out", "away"))


PAIRS = (("oversight_dailyfigures", "oversight_dailyrollup", "day"),
         ("oversight_monthlyfigures", "oversight_monthlyrollup", "month"))


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for source, target, period in PAIRS:
            schema_editor.execute(triggers(source, target, period))


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for source, _target, _period in PAIRS:
            schema_editor.execute(untriggers(source))


class Migration(migrations.Migration):

    dependencies = [("oversight", "0009_figure_rollups")]

    operations = [migrations.RunPython(forward, backward)]
