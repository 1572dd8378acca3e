"""The archive page asks what the retention rule gives a case (feedback.filing)."""

from django import template

from feedback.filing import retention_by_rule as rule_of
from feedback.models import RetentionPeriod

register = template.Library()


@register.simple_tag
def retention_by_rule(case) -> dict:
    """The rule's retention period for a case about to be archived, as a valid case and
    (where it differs) with an invalid-case reason."""
    period, basis = rule_of(case)
    if_invalid, _basis = rule_of(case, invalid_reason="invalid")
    return {"period": RetentionPeriod(period).label, "basis": basis,
            "if_invalid": RetentionPeriod(if_invalid).label if if_invalid != period else ""}
