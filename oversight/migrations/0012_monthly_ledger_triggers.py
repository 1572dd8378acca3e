"""The departments' ledger by month (oversight.models.MonthlyLedger), for the dashboard at
city scale (issue 17). The daily ledger holds a row per holder and day: 400 departments
make a few hundred thousand rows a year, which the dashboard's ledger added up on every
page. The monthly table holds the same counters by month.

PostgreSQL only: statement triggers with transition tables on oversight_departmentledger
add the signed rows of each statement to the months (upserts in key order, as the
figures' rollups of migration 0010; the refresh's summary lock makes batches take turns).
On SQLite the table stays empty and the dashboard reads the daily ledger.
"""

from django.db import migrations

COUNTERS = ("segments", "held_seconds", "late_segments", "late_seconds", "dispatched",
            "misrouted", "returns_upheld", "returns_refused", "extensions")
SOURCE, TARGET = "oversight_departmentledger", "oversight_monthlyledger"


def monthly_insert(rows: str) -> str:
    """Add the signed rows (`rows` yields sign, r.*) to the months."""
    sums = ", ".join(f"sum(r.sign * r.{name})" for name in COUNTERS)
    updates = ", ".join(f"{name} = t.{name} + excluded.{name}" for name in COUNTERS)
    return f"""
    INSERT INTO {TARGET} AS t (month, holder, department_id_value, {', '.join(COUNTERS)})
    SELECT date_trunc('month', r.day)::date, r.holder, r.department_id_value, {sums}
    FROM ({rows}) r GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (month, holder, department_id_value) DO UPDATE SET {updates}"""


FORWARD = f"""
CREATE FUNCTION departmentledger_monthly_in() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN {monthly_insert("SELECT 1 AS sign, * FROM new_rows")}; RETURN NULL; END $$;
CREATE FUNCTION departmentledger_monthly_over() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN {monthly_insert("SELECT -1 AS sign, * FROM old_rows UNION ALL SELECT 1, * FROM new_rows")};
RETURN NULL; END $$;
CREATE FUNCTION departmentledger_monthly_out() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN {monthly_insert("SELECT -1 AS sign, * FROM old_rows")}; RETURN NULL; END $$;
CREATE FUNCTION departmentledger_monthly_away() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN DELETE FROM {TARGET}; RETURN NULL; END $$;
CREATE TRIGGER departmentledger_monthly_insert AFTER INSERT ON {SOURCE}
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
  EXECUTE FUNCTION departmentledger_monthly_in();
CREATE TRIGGER departmentledger_monthly_update AFTER UPDATE ON {SOURCE}
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
  EXECUTE FUNCTION departmentledger_monthly_over();
CREATE TRIGGER departmentledger_monthly_delete AFTER DELETE ON {SOURCE}
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
  EXECUTE FUNCTION departmentledger_monthly_out();
CREATE TRIGGER departmentledger_monthly_truncate AFTER TRUNCATE ON {SOURCE}
  FOR EACH STATEMENT EXECUTE FUNCTION departmentledger_monthly_away();
{monthly_insert(f"SELECT 1 AS sign, * FROM {SOURCE}")};
"""

BACKWARD = f"DELETE FROM {TARGET};"  # forward counts the months again from the days
BACKWARD += "".join(
    f"DROP TRIGGER departmentledger_monthly_{kind} ON {SOURCE};"
    for kind in ("insert", "update", "delete", "truncate")) + "".join(
    f"DROP FUNCTION departmentledger_monthly_{kind}();" for kind in ("in", "over", "out", "away"))


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):

    dependencies = [("oversight", "0011_monthly_ledger")]

    operations = [migrations.RunPython(forward, backward)]
