"""Triage from what the petitioner says: safety first, as data.

An emergency phrase (gas, fire, someone trapped, collapse, electrocution, flooding,
violence, self-harm, a missing child, …) sets the case's tier to T1 and alerts the office
at once; a utility outage (water, power, gas supply, heating) sets it to at least T2.
The phrases are rows of `SafetyPhrase`, edited in the admin. Nothing automatic ever lowers
what a phrase raised; a person may, through 调整响应级别 with a reason.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

# Most urgent first.
URGENCY = {"T1": 1, "T2": 2, "T3": 3, "T4": 4}


def more_urgent(first: str, second: str) -> str:
    return min(first, second, key=lambda code: URGENCY.get(code, 99))


def normalize(text: str) -> str:
    """Full-width folded, lower case, no spaces: 「燃 气 味」 and 「燃气味」 alike."""
    return "".join(unicodedata.normalize("NFKC", text or "").lower().split())


@dataclass(frozen=True)
class SafetyMatch:
    floor: str  # the least tier: T1 or T2
    kind: str
    phrases: tuple[str, ...] = field(default_factory=tuple)

    @property
    def is_emergency(self) -> bool:
        return self.floor == "T1"

    def as_data(self) -> dict:
        return {"floor": self.floor, "phrases": list(self.phrases)}


def safety_match(*texts: str) -> SafetyMatch | None:
    """The most urgent floor the phrases found in these texts set, or None."""
    from .models import SAFETY_FLOORS

    text = normalize(" ".join(texts))
    if not text:
        return None
    found: dict[str, list[str]] = {}
    for phrase, normalized, kind in safety_phrases():
        if normalized in text:
            found.setdefault(kind, []).append(phrase)
    if not found:
        return None
    kind = min(found, key=lambda k: URGENCY[SAFETY_FLOORS[k]])
    return SafetyMatch(floor=SAFETY_FLOORS[kind], kind=kind, phrases=tuple(found[kind]))


def safety_phrases() -> list[tuple[str, str, str]]:
    """The active phrases as (phrase, normalised, kind), held per process."""
    from cases import reference

    from .models import SafetyPhrase

    def load():
        rows = SafetyPhrase.objects.filter(is_active=True).values_list("phrase", "kind")
        return [(phrase, normalize(phrase), kind) for phrase, kind in rows if normalize(phrase)]

    return reference.held("safety-phrases", load)


def responsibility_in_force(day) -> list:
    """The responsibility list's entries in force on `day`, held per process."""
    from cases import reference
    from dispatch.models import ResponsibilityEntry

    return reference.held(f"responsibility-{day.isoformat()}",
                          lambda: list(ResponsibilityEntry.in_force(day)))


def case_safety(case) -> SafetyMatch | None:
    return safety_match(case.summary, case.content, case.demands, case.place)


def floored(code: str, match: SafetyMatch | None) -> str:
    """The tier code raised to the match's floor (never lowered)."""
    return more_urgent(code, match.floor) if match else code


# ---------------------------------------------------------------- suggestions
@dataclass
class Option:
    """One proposed value with how sure the system is, where it comes from and why."""

    value: object  # a Category, a Department or a tier code
    confidence: float
    source: str  # SOURCES
    reason: str

    @property
    def percent(self) -> int:
        return round(self.confidence * 100)

    @property
    def source_label(self) -> str:
        return str(SOURCES.get(self.source, self.source))


def _source_labels():
    from django.utils.translation import gettext_lazy as _

    return {"rule": _("规则"), "list": _("权责清单"), "model": _("模型"),
            "history": _("历史"), "default": _("分类默认"), "chosen": _("已选")}


SOURCES = _source_labels()


@dataclass
class Suggestion:
    categories: list[Option]
    tiers: list[Option]
    departments: list[Option]
    safety: SafetyMatch | None = None

    @property
    def category(self) -> Option | None:
        return self.categories[0] if self.categories else None

    @property
    def tier(self) -> Option | None:
        return self.tiers[0] if self.tiers else None

    @property
    def department(self) -> Option | None:
        return self.departments[0] if self.departments else None

    def as_data(self) -> dict:
        def rows(options, key):
            return [{key: getattr(option.value, "pk", option.value),
                     "name": str(option.value), "confidence": round(option.confidence, 3),
                     "source": option.source, "reason": option.reason} for option in options]

        return {"categories": rows(self.categories, "id"), "tiers": rows(self.tiers, "code"),
                "departments": rows(self.departments, "id"),
                "safety": self.safety.as_data() if self.safety else None}


def _learned(text: str):
    """The office's learned model (intake.learning), when there is one."""
    try:
        from . import learning
    except ImportError:
        return None
    try:
        # The model's database reads take their own savepoint (learning.active_model_id,
        # _classifier), only when they read: a failure rolls back only itself, never the
        # act; the prediction itself is Python.
        return learning.predict(text)
    except Exception:  # noqa: BLE001 - a broken model never stops a registration
        import logging

        logging.getLogger(__name__).warning("triage model failed", exc_info=True)
        return None


def _add(options: dict, key, option: Option) -> None:
    known = options.get(key)
    if known is None or option.confidence > known.confidence:
        options[key] = option


def suggest(*, summary: str = "", content: str = "", place: str = "", demands: str = "",
            category=None, day=None, limit: int = 3) -> Suggestion:
    """Category, tier and lead department for what the petitioner says, each with a
    confidence, a source and a reason, best first. The responsibility list (权责清单)
    outranks the model; the safety phrases floor the tier and nothing lowers them."""
    from django.utils import timezone

    from cases import reference

    text = normalize(" ".join([summary, content, place, demands]))
    day = day or timezone.localdate()
    safety = safety_match(summary, content, demands, place)
    learned = _learned(" ".join([summary, content, place])) if text else None
    categories: dict[int, Option] = {}
    departments: dict[int, Option] = {}
    if category is not None:
        categories[category.pk] = Option(category, 1.0, "chosen", "登记时选择的分类")
    for entry in responsibility_in_force(day):
        if entry.matches(text=text, category_id=getattr(category, "pk", None),
                         parent_id=getattr(category, "parent_id", None)):
            reason = f"权责清单{('（' + entry.version + '）') if entry.version else ''}：{entry.matter}"
            _add(departments, entry.department_id, Option(entry.department, 0.95, "list", reason))
            if entry.category_id and category is None and entry.leaf_category:
                _add(categories, entry.category_id, Option(entry.category, 0.8, "list", reason))
    if learned is not None:
        found = reference.categories()
        for pk, probability in learned.categories:
            if pk in found:
                _add(categories, pk, Option(found[pk], probability * 0.9, "model", learned.label))
        found = reference.departments()
        for pk, probability in learned.departments:
            if pk in found and found[pk].is_active:
                _add(departments, pk, Option(found[pk], probability * 0.9, "model",
                                             learned.label))
    ranked_categories = sorted(categories.values(), key=lambda o: -o.confidence)[:limit]
    best = ranked_categories[0].value if ranked_categories else None
    if best is not None:
        # The held copy, read with its default tier and department (no query for them).
        best = reference.categories().get(best.pk, best)
        rows = _history(best.pk, limit)
        total = sum(row["n"] for row in rows) or 1
        found = reference.departments()
        for row in rows:
            if row["lead_department"] not in found:
                continue
            _add(departments, row["lead_department"], Option(
                found[row["lead_department"]], 0.85 * row["n"] / total, "history",
                f"此类案件最常由该部门承办（{row['n']}件）"))
        default = best.default_department
        if default and default.is_active and not default.is_office:
            _add(departments, default.pk, Option(default, 0.5, "default", "分类默认承办部门"))
    ranked_departments = sorted(departments.values(), key=lambda o: -o.confidence)[:limit]
    tiers: dict[str, Option] = {}
    if best is not None and best.default_tier_id:
        tiers[best.default_tier.code] = Option(best.default_tier.code, 0.6, "default",
                                               f"“{best.name}”的默认响应级别")
    if learned is not None:
        for code, probability in learned.tiers:
            _add(tiers, code, Option(code, probability * 0.9, "model", learned.label))
    if not tiers:
        tiers["T3"] = Option("T3", 0.3, "default", "一般事项")
    ranked_tiers = sorted(tiers.values(), key=lambda o: -o.confidence)
    if safety is not None:
        # The rule comes first, and no option below its floor is offered at all.
        rule = Option(safety.floor, 1.0, "rule", f"涉及“{'、'.join(safety.phrases)}”")
        ranked_tiers = [rule] + [option for option in ranked_tiers
                                 if URGENCY[option.value] < URGENCY[safety.floor]]
    return Suggestion(ranked_categories, ranked_tiers[:limit], ranked_departments, safety)


def _history(category_id: int, limit: int) -> list[dict]:
    """The departments that most often led this category's cases in the last
    TRIAGE_HISTORY_DAYS, through the cache for TRIAGE_HISTORY_SECONDS (a suggestion may
    lag the day's dispatches by minutes)."""
    from datetime import timedelta

    from django.conf import settings
    from django.core.cache import cache
    from django.db.models import Count
    from django.utils import timezone

    from cases.models import ENDED_AT_INTAKE, Case, State

    key = f"triage-history:{category_id}:{limit}"
    rows = cache.get(key)
    if rows is None:
        since = timezone.now() - timedelta(days=settings.TRIAGE_HISTORY_DAYS)
        rows = list(Case.objects.filter(
            category_id=category_id, received_at__gte=since, lead_department__isnull=False,
            lead_department__is_office=False, lead_department__is_active=True)
            .exclude(state__in=[State.RETURNED, *ENDED_AT_INTAKE])
            .values("lead_department").annotate(n=Count("pk")).order_by("-n", "lead_department")
            [:limit])
        cache.set(key, rows, settings.TRIAGE_HISTORY_SECONDS)
    return rows


def suggest_for_case(case, **kwargs) -> Suggestion:
    return suggest(summary=case.summary, content=case.content, place=case.place,
                   demands=case.demands, category=case.category, **kwargs)
