"""`{% clock case %}`: the case's clock in words and colour (cases.clock)."""

from html import escape

from django import template
from django.utils.safestring import mark_safe

from cases import clock as clocks

register = template.Library()


def render(reading) -> str:
    """The reading as a span: class clock-ok, clock-soon or clock-over, the absolute
    deadline and how it was counted in its title."""
    if reading is None:
        return ""
    return mark_safe(
        f'<span class="clock clock-{reading.level}" title="{escape(reading.explanation)}">'
        f"{escape(reading.words)}</span>")


@register.simple_tag
def clock(case, now=None) -> str:
    """The clock of an open case ("" for a closed one or one without a deadline)."""
    return render(clocks.of_case(case, now))


@register.simple_tag
def clock_at(due_at, working=False, what="answer", now=None) -> str:
    """The clock of one deadline, counted in working time when `working`."""
    return render(clocks.read(due_at, working=bool(working), what=what, now=now))
