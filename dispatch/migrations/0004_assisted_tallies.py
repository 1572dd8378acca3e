"""The live tallies of the cases a department only assists (issue 17, item 4): a
department head's or handler's desk counts, besides the cases the department leads
(cases migration 0024), the cases it assists and does not lead. Counting those from the
cases read every case the department ever led or assisted; here PostgreSQL keeps them
with every write, as it keeps the lead department's.

Two measures more in cases_tally / cases_tally_delta, keyed by the assisting department:

11  open and replied cases by (state, review approved), as measure 1 without the tier
13  open cases by hour of the deadline in force, as measure 3

A case counts for each department that assists it and is not its lead department. The
keys change when a case changes (statement triggers on cases_case, as 0024's) and when
an assisting department is added or removed (statement triggers on the through table).
cases.selectors.tally_counts reads them (`assisted=True`); the hour the moment cuts is
counted from the cases there. Not on SQLite: there the desk counts from scratch.
"""

from django.db import migrations

OPEN = "'received','accepted','dispatched','returned','in_handling','result_submitted'"
OPEN_OR_REPLIED = OPEN + ",'replied'"
THROUGH = "cases_case_assisting_departments"


def deadline(c: str) -> str:
    return (f"CASE WHEN {c}.final_due_at IS NULL THEN {c}.due_at "
            f"WHEN {c}.final_replied_at IS NULL THEN {c}.final_due_at END")


def keys_of(pairs: str) -> str:
    """The signed keys of `pairs`, which yields (sign, dept, state, review_stage,
    lead_department_id, deadline) for each case and department assisting it."""
    return f"""
    SELECT p.dept, k.measure, k.state, 0, k.flag, k.hour, sum(p.sign)
    FROM ({pairs}) p(sign, dept, state, review_stage, lead, deadline)
    CROSS JOIN LATERAL (
      SELECT 11::smallint, p.state::varchar, p.review_stage = 'approved', 'epoch'::timestamptz
        WHERE p.state IN ({OPEN_OR_REPLIED})
      UNION ALL
      SELECT 13::smallint, ''::varchar, false, date_trunc('hour', p.deadline)
        WHERE p.state IN ({OPEN}) AND p.deadline IS NOT NULL
    ) k(measure, state, flag, hour)
    WHERE p.lead IS DISTINCT FROM p.dept
    GROUP BY p.dept, k.measure, k.state, k.flag, k.hour HAVING sum(p.sign) <> 0"""


def delta_insert(pairs: str) -> str:
    return ("INSERT INTO cases_tally_delta (dept, measure, state, tier, flag, hour, n)"
            + keys_of(pairs))


# Each join below names the rows it wants by `= ANY(ARRAY(…))`, which an index serves:
# a transition table has no statistics, and a join by a plain equality lets the planner
# hash the whole other table (all the links, or every case) for a statement of a few rows.
def case_pairs(sign: int, rows: str) -> str:
    """The (case, assisting department) pairs of a transition table of cases."""
    return f"""
    SELECT {sign}, a.department_id::integer, c.state, c.review_stage, c.lead_department_id,
           {deadline("c")}
      FROM {rows} c JOIN {THROUGH} a ON a.case_id = c.id
     WHERE a.case_id = ANY(ARRAY(SELECT id FROM {rows}))"""


def link_pairs(sign: int, rows: str) -> str:
    """The pairs of a transition table of the through table, with their cases."""
    return f"""
    SELECT {sign}, l.department_id::integer, c.state, c.review_stage, c.lead_department_id,
           {deadline("c")}
      FROM {rows} l JOIN cases_case c ON c.id = l.case_id
     WHERE c.id = ANY(ARRAY(SELECT case_id FROM {rows}))"""


# An update counts only the cases whose counted columns changed (a sweep's batch of
# 10 000 changes its schedule, not these): both versions joined by id first, then the
# links of those cases alone.
CHANGED = f"""
    WITH changed AS MATERIALIZED (
      SELECT o.id, o.state AS old_state, o.review_stage AS old_review,
             o.lead_department_id AS old_lead, {deadline("o")} AS old_deadline,
             n.state AS new_state, n.review_stage AS new_review,
             n.lead_department_id AS new_lead, {deadline("n")} AS new_deadline
        FROM old_rows o JOIN new_rows n ON n.id = o.id
       WHERE (o.state, o.review_stage, o.lead_department_id, {deadline("o")})
             IS DISTINCT FROM (n.state, n.review_stage, n.lead_department_id, {deadline("n")}))
    SELECT s.sign, a.department_id::integer, s.state, s.review_stage, s.lead, s.deadline
      FROM changed c
      JOIN {THROUGH} a ON a.case_id = c.id
      CROSS JOIN LATERAL (VALUES
        (-1, c.old_state, c.old_review, c.old_lead, c.old_deadline),
        (1, c.new_state, c.new_review, c.new_lead, c.new_deadline)
      ) s(sign, state, review_stage, lead, deadline)
     WHERE a.case_id = ANY(ARRAY(SELECT id FROM changed))"""

ALL_PAIRS = f"""
    SELECT 1, a.department_id::integer, c.state, c.review_stage, c.lead_department_id,
           {deadline("c")}
      FROM cases_case c JOIN {THROUGH} a ON a.case_id = c.id"""

# Every assisted case counted once from scratch (the migration; a bulk load that wrote
# cases with the triggers off calls it again after cases migration 0024's count).
COUNT_ALL = f"""
DELETE FROM cases_tally WHERE measure IN (11, 13);
DELETE FROM cases_tally_delta WHERE measure IN (11, 13);
INSERT INTO cases_tally (dept, measure, state, tier, flag, hour, n)
{keys_of(ALL_PAIRS)};
"""

FORWARD = f"""
CREATE FUNCTION cases_assisted_tally_case_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN {delta_insert(case_pairs(1, "new_rows"))}; RETURN NULL; END $$;
CREATE FUNCTION cases_assisted_tally_case_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN {delta_insert(CHANGED)}; RETURN NULL; END $$;
CREATE FUNCTION cases_assisted_tally_case_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN {delta_insert(case_pairs(-1, "old_rows"))}; RETURN NULL; END $$;

CREATE FUNCTION cases_assisted_tally_linked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN {delta_insert(link_pairs(1, "new_rows"))}; RETURN NULL; END $$;
CREATE FUNCTION cases_assisted_tally_relinked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN {delta_insert(link_pairs(-1, "old_rows") + " UNION ALL " + link_pairs(1, "new_rows"))};
RETURN NULL; END $$;
CREATE FUNCTION cases_assisted_tally_unlinked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN {delta_insert(link_pairs(-1, "old_rows"))}; RETURN NULL; END $$;
CREATE FUNCTION cases_assisted_tally_links_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM cases_tally WHERE measure IN (11, 13);
  DELETE FROM cases_tally_delta WHERE measure IN (11, 13);
  RETURN NULL;
END $$;

CREATE TRIGGER cases_assisted_tally_insert AFTER INSERT ON cases_case
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION cases_assisted_tally_case_inserted();
CREATE TRIGGER cases_assisted_tally_update AFTER UPDATE ON cases_case
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION cases_assisted_tally_case_updated();
CREATE TRIGGER cases_assisted_tally_delete AFTER DELETE ON cases_case
  REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION cases_assisted_tally_case_deleted();

CREATE TRIGGER cases_assisted_tally_insert AFTER INSERT ON {THROUGH}
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION cases_assisted_tally_linked();
CREATE TRIGGER cases_assisted_tally_update AFTER UPDATE ON {THROUGH}
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION cases_assisted_tally_relinked();
CREATE TRIGGER cases_assisted_tally_delete AFTER DELETE ON {THROUGH}
  REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION cases_assisted_tally_unlinked();
CREATE TRIGGER cases_assisted_tally_truncate AFTER TRUNCATE ON {THROUGH}
  FOR EACH STATEMENT EXECUTE FUNCTION cases_assisted_tally_links_truncated();

{COUNT_ALL}
"""

BACKWARD = f"""
DROP TRIGGER cases_assisted_tally_insert ON cases_case;
DROP TRIGGER cases_assisted_tally_update ON cases_case;
DROP TRIGGER cases_assisted_tally_delete ON cases_case;
DROP TRIGGER cases_assisted_tally_insert ON {THROUGH};
DROP TRIGGER cases_assisted_tally_update ON {THROUGH};
DROP TRIGGER cases_assisted_tally_delete ON {THROUGH};
DROP TRIGGER cases_assisted_tally_truncate ON {THROUGH};
DROP FUNCTION cases_assisted_tally_case_inserted(), cases_assisted_tally_case_updated(),
  cases_assisted_tally_case_deleted(), cases_assisted_tally_linked(),
  cases_assisted_tally_relinked(), cases_assisted_tally_unlinked(),
  cases_assisted_tally_links_truncated();
DELETE FROM cases_tally WHERE measure IN (11, 13);
DELETE FROM cases_tally_delta WHERE measure IN (11, 13);
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0024_live_tallies"),
        ("dispatch", "0003_extension_limits_and_notices"),
    ]

    operations = [migrations.RunPython(forward, backward)]
