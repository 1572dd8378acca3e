"""The party complained about (被投诉单位、科室、人员) and the findings, and the rates of
acceptance and archiving.

Counters (FACT_EXTENSIONS, over valid cases, by the day each was registered):
- accepted (已受理): cases accepted (受理), whatever happened after;
- archived (已归档): cases archived;
- found_true / found_partly / found_false: the finding (核查结论) the result gave.

Rates (RATES, written on the dashboard):
- 受理率 = 已受理 ÷ 登记的有效件 (answered on the spot, refused with guidance and left
  at intake are registered but not accepted);
- 归档率 = 已归档 ÷ 登记的有效件.
- 属实率, 部分属实率, 不属实率: each finding ÷ the cases with a finding (on the page of
  complaints, where the cases with a finding are counted).

The page 被投诉统计 reads the cases themselves (the party is on Case): by unit and 科室,
by person, and the persons complained about twice or more in the twelve months to the
period's end.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.models import Case, Department, Finding, State
from cases.roles import OFFICE_ROLES, Role, has_role, headed_department_ids_of

from . import figures

VALID = Q(invalid_reason="") & ~Q(state=State.MERGED)
HAS_PARTY = ~Q(complained_department=None) | ~Q(complained_section="") | ~Q(complained_person="")
REPEAT_WINDOW_DAYS = 365
REPEAT_AT_LEAST = 2


# ---------------------------------------------------------------- the figures
def complaint_facts(case: Case, events, *, valid: bool, rounds) -> dict:
    return {
        "accepted": int(valid and case.accepted_at is not None),
        "archived": int(valid and case.state == State.ARCHIVED),
        "found_true": int(valid and case.finding == Finding.TRUE),
        "found_partly": int(valid and case.finding == Finding.PARTLY),
        "found_false": int(valid and case.finding == Finding.FALSE),
    }


RATES = {
    "acceptance_rate": ("accepted", "received", _("受理率"),
                        _("已受理的案件 ÷ 登记的有效件（即办答复、不予受理和暂存未受理的不算受理）")),
    "archive_rate": ("archived", "received", _("归档率"),
                     _("已归档的案件 ÷ 登记的有效件")),
}
FINDING_RATES = {
    "true_rate": ("found_true", _("属实率"), _("核查结论为属实的案件 ÷ 有核查结论的案件")),
    "partly_rate": ("found_partly", _("部分属实率"), _("核查结论为部分属实的案件 ÷ 有核查结论的案件")),
    "false_rate": ("found_false", _("不属实率"), _("核查结论为不属实的案件 ÷ 有核查结论的案件")),
}


def register_rates() -> None:
    figures.RATES.update({key: value for key, value in RATES.items()
                          if key not in figures.RATES})


register_rates()  # at import too: oversight.views names its columns from RATES


# ---------------------------------------------------------------- who sees
def may_see_complaints(user) -> bool:
    return has_role(user, *OFFICE_ROLES, Role.SUPERVISOR, Role.ADMINISTRATOR,
                    Role.DEPARTMENT_HEAD)


def departments_limit(user) -> frozenset[int] | None:
    """None: the whole office; else the departments a head sees complaints against."""
    if has_role(user, *OFFICE_ROLES, Role.SUPERVISOR, Role.ADMINISTRATOR):
        return None
    return headed_department_ids_of(user)


def may_see_party(user, case: Case) -> bool:
    """The person complained about is staff data: the office, supervisors, and the head
    of the department complained about or of the lead department."""
    limit = departments_limit(user) if may_see_complaints(user) else frozenset()
    return limit is None or bool(
        {case.complained_department_id, case.lead_department_id} & set(limit))


# ---------------------------------------------------------------- the page
@dataclass(frozen=True)
class Period:
    start: date
    end: date
    departments: frozenset[int] | None = None

    def cases(self) -> QuerySet:
        found = Case.objects.filter(VALID, HAS_PARTY, received_at__gte=_start_of(self.start),
                                    received_at__lt=_start_of(self.end + timedelta(days=1)))
        if self.departments is not None:
            found = found.filter(complained_department__in=self.departments)
        return found

    def repeat_window(self) -> "Period":
        return Period(start=self.end - timedelta(days=REPEAT_WINDOW_DAYS - 1), end=self.end,
                      departments=self.departments)


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


FINDING_COUNTS = {
    "total": Count("pk"),
    "found_true": Count("pk", filter=Q(finding=Finding.TRUE)),
    "found_partly": Count("pk", filter=Q(finding=Finding.PARTLY)),
    "found_false": Count("pk", filter=Q(finding=Finding.FALSE)),
}


def with_finding_rates(row: dict) -> dict:
    row = dict(row)
    row["with_finding"] = row["found_true"] + row["found_partly"] + row["found_false"]
    for key, (counter, _label, _definition) in FINDING_RATES.items():
        row[key] = figures.rate(row[counter], row["with_finding"])
    return row


def _department_names(rows) -> dict[int, str]:
    ids = {row["complained_department"] for row in rows if row["complained_department"]}
    return dict(Department.objects.filter(pk__in=ids).values_list("pk", "name"))


def complaints_report(period: Period) -> dict:
    """Everything the page shows: four grouped queries, whatever the number of cases."""
    cases = period.cases()
    totals = with_finding_rates(cases.aggregate(**FINDING_COUNTS))
    by_unit = list(cases.values("complained_department", "complained_section")
                   .annotate(**FINDING_COUNTS).order_by("-total", "complained_department",
                                                         "complained_section"))
    by_person = list(cases.exclude(complained_person="")
                     .values("complained_department", "complained_section",
                             "complained_person")
                     .annotate(**FINDING_COUNTS).order_by("-total", "complained_person"))
    window = period.repeat_window()
    repeated = list(window.cases().exclude(complained_person="")
                    .values("complained_department", "complained_person")
                    .annotate(total=Count("pk"), numbers=ArrayAgg("number", order_by="number"))
                    .filter(total__gte=REPEAT_AT_LEAST)
                    .order_by("-total", "complained_person"))
    names = _department_names(by_unit + by_person + repeated)
    for row in [*by_unit, *by_person, *repeated]:
        row["department_name"] = names.get(row["complained_department"], "")
    return {
        "totals": totals,
        "by_unit": [with_finding_rates(row) for row in by_unit],
        "by_person": [with_finding_rates(row) for row in by_person],
        "repeated": repeated,
        "window": window,
    }
