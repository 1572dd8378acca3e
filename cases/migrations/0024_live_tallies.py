"""Counts that do not recount (issue 17, item 4): the open cases tallied by PostgreSQL
itself, with every statement that writes cases_case.

Statement triggers with transition tables append one delta row per key a statement
changed (never an UPDATE of a shared row, so concurrent registrations do not queue on a
counter); readers add up cases_tally (folded) and cases_tally_delta (not yet folded), and
`cases.selectors.fold_tallies` moves deltas into cases_tally now and then. Measures:

1  open and replied cases by (department, state, tier, review approved)
2  open cases by (department, with the department or not, hour of due_at)
3  open cases by (department, hour of the deadline in force)
4  every case by (department, hour of received_at)

Each key is written twice: for the lead department (0 without one) and for the whole
office (-1). A time figure sums whole hours and counts the hour it cuts from the cases
(cases.selectors.tally_counts). Not on SQLite: there the figures are counted from scratch.
"""

from django.db import migrations, models
from django.db.models import Q

OPEN = "'received','accepted','dispatched','returned','in_handling','result_submitted'"
OPEN_OR_REPLIED = OPEN + ",'replied'"
INBOX = "'dispatched','in_handling','result_submitted'"
DEADLINE = ("CASE WHEN c.final_due_at IS NULL THEN c.due_at "
            "WHEN c.final_replied_at IS NULL THEN c.final_due_at END")


def keys_of(rows: str) -> str:
    """The signed keys of a set of signed case rows (`rows` yields sign, c.*)."""
    return f"""
    SELECT d.dept, k.measure, k.state, k.tier, k.flag, k.hour, c.sign
    FROM ({rows}) c
    CROSS JOIN LATERAL (VALUES (coalesce(c.lead_department_id, 0)), (-1)) d(dept)
    CROSS JOIN LATERAL (
      SELECT 1::smallint, c.state::varchar, coalesce(c.tier_id, 0), c.review_stage = 'approved',
             'epoch'::timestamptz WHERE c.state IN ({OPEN_OR_REPLIED})
      UNION ALL
      SELECT 2::smallint, CASE WHEN c.state IN ({INBOX}) THEN 'inbox' ELSE 'other' END,
             0, false, date_trunc('hour', c.due_at)
        WHERE c.state IN ({OPEN}) AND c.due_at IS NOT NULL
      UNION ALL
      SELECT 3::smallint, ''::varchar, 0, false, date_trunc('hour', {DEADLINE})
        WHERE c.state IN ({OPEN}) AND {DEADLINE} IS NOT NULL
      UNION ALL
      SELECT 4::smallint, ''::varchar, 0, false, date_trunc('hour', c.received_at)
        WHERE c.received_at IS NOT NULL
    ) k(measure, state, tier, flag, hour)"""


def delta_insert(rows: str) -> str:
    return f"""
    INSERT INTO cases_tally_delta (dept, measure, state, tier, flag, hour, n)
    SELECT dept, measure, state, tier, flag, hour, sum(sign) FROM ({keys_of(rows)}) s
    GROUP BY dept, measure, state, tier, flag, hour HAVING sum(sign) <> 0"""


COLUMNS = """dept integer NOT NULL, measure smallint NOT NULL, state varchar(20) NOT NULL,
  tier integer NOT NULL, flag boolean NOT NULL, hour timestamptz NOT NULL"""

FORWARD = f"""
CREATE TABLE cases_tally ({COLUMNS}, n bigint NOT NULL,
  PRIMARY KEY (dept, measure, state, tier, flag, hour) INCLUDE (n));
CREATE TABLE cases_tally_delta (id bigserial PRIMARY KEY, {COLUMNS}, n bigint NOT NULL);
CREATE INDEX cases_tally_delta_key ON cases_tally_delta (dept, measure);

CREATE FUNCTION cases_tally_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN {delta_insert("SELECT 1 AS sign, * FROM new_rows")}; RETURN NULL; END $$;
CREATE FUNCTION cases_tally_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN {delta_insert("SELECT -1 AS sign, * FROM old_rows UNION ALL SELECT 1, * FROM new_rows")};
RETURN NULL; END $$;
CREATE FUNCTION cases_tally_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN {delta_insert("SELECT -1 AS sign, * FROM old_rows")}; RETURN NULL; END $$;
CREATE FUNCTION cases_tally_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN TRUNCATE cases_tally, cases_tally_delta; RETURN NULL; END $$;

CREATE TRIGGER cases_tally_insert AFTER INSERT ON cases_case
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION cases_tally_inserted();
CREATE TRIGGER cases_tally_update AFTER UPDATE ON cases_case
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION cases_tally_updated();
CREATE TRIGGER cases_tally_delete AFTER DELETE ON cases_case
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION cases_tally_deleted();
CREATE TRIGGER cases_tally_truncate AFTER TRUNCATE ON cases_case
  FOR EACH STATEMENT EXECUTE FUNCTION cases_tally_truncated();

INSERT INTO cases_tally (dept, measure, state, tier, flag, hour, n)
SELECT dept, measure, state, tier, flag, hour, sum(sign) FROM (
  {keys_of("SELECT 1 AS sign, * FROM cases_case")}) s
GROUP BY dept, measure, state, tier, flag, hour HAVING sum(sign) <> 0;
"""

BACKWARD = """
DROP TRIGGER cases_tally_insert ON cases_case;
DROP TRIGGER cases_tally_update ON cases_case;
DROP TRIGGER cases_tally_delete ON cases_case;
DROP TRIGGER cases_tally_truncate ON cases_case;
DROP FUNCTION cases_tally_inserted(), cases_tally_updated(), cases_tally_deleted(),
  cases_tally_truncated();
DROP TABLE cases_tally, cases_tally_delta;
"""

INBOX_STATES = ["dispatched", "in_handling", "result_submitted"]
OPEN_STATES = ["received", "accepted", "dispatched", "returned", "in_handling",
               "result_submitted"]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):

    dependencies = [("cases", "0023_platform_deliveries")]

    operations = [
        # "Mine" in the inbox: a handler's cases with the department, index only.
        migrations.AddIndex(
            model_name="case",
            index=models.Index(fields=["handler", "lead_department"],
                               name="case_inbox_handler_idx",
                               condition=Q(state__in=INBOX_STATES)),
        ),
        # The hour a final result's deadline cuts (the deadline in force, measure 3).
        migrations.AddIndex(
            model_name="case",
            index=models.Index(fields=["final_due_at"], name="case_open_final_due_idx",
                               condition=Q(state__in=OPEN_STATES,
                                           final_replied_at__isnull=True,
                                           final_due_at__isnull=False)),
        ),
        migrations.RunPython(forward, backward),
    ]
