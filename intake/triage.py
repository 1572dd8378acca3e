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
    from .models import SAFETY_FLOORS, SafetyPhrase

    text = normalize(" ".join(texts))
    if not text:
        return None
    found: dict[str, list[str]] = {}
    for phrase, kind in SafetyPhrase.objects.filter(is_active=True).values_list("phrase", "kind"):
        if normalize(phrase) and normalize(phrase) in text:
            found.setdefault(kind, []).append(phrase)
    if not found:
        return None
    kind = min(found, key=lambda k: URGENCY[SAFETY_FLOORS[k]])
    return SafetyMatch(floor=SAFETY_FLOORS[kind], kind=kind, phrases=tuple(found[kind]))


def case_safety(case) -> SafetyMatch | None:
    return safety_match(case.summary, case.content, case.demands, case.place)


def floored(code: str, match: SafetyMatch | None) -> str:
    """The tier code raised to the match's floor (never lowered)."""
    return more_urgent(code, match.floor) if match else code
