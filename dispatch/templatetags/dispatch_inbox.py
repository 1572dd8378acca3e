"""The department inbox's rows, written in Python: fifty rows of a dozen cells, two
links and up to two forms each took about 30 ms through the template engine (a variable
look-up, a translation and a URL reversal at a time), a few milliseconds here. The
markup is the template's; what a row offers is still `case.may` (cases.acts), and the
labels, names and urgency come with the rows (dispatch.selectors.department_inbox)."""

from html import escape

from django import template
from django.template.defaulttags import CsrfTokenNode
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from cases import clock, reference
from cases.models import TimeUnit
from cases.templatetags.clock import render as render_clock

register = template.Library()

# A case number the path converter accepts, to reverse each URL once per page.
_NUMBER = "0NUMBER0"


def _url_of(name: str):
    prefix, suffix = reverse(name, args=[_NUMBER]).split(_NUMBER)
    return lambda number: f"{prefix}{number}{suffix}"


@register.simple_tag(takes_context=True)
def inbox_rows(context, rows, staff, select="", ticked=()) -> str:
    """The table's rows (`rows`: the page's cases, `staff`: whom a head may assign;
    `select`: the id of the bulk form whose tick column leads each row, "" for none;
    `ticked`: the ids ticked before, as posted). Every value is escaped as the template
    would (Django's escape is html.escape)."""
    if not rows:
        empty = escape(_("没有符合条件的案件。"))
        columns = 9 if select else 8
        return mark_safe(f'<tr><td colspan="{columns}" class="empty">{empty}</td></tr>')
    detail, handle = _url_of("cases:detail"), _url_of("dispatch:handle")
    take, assign = _url_of("dispatch:take"), _url_of("dispatch:assign")
    csrf = CsrfTokenNode().render(context)
    request = context.get("request")
    back = escape(request.get_full_path()) if request is not None else ""
    now = timezone.now()
    working = {}  # tier code: whether its clock counts working time
    words = {key: escape(text) for key, text in (
        ("handle", _("办理")), ("take", _("签收")), ("assign", _("分派")),
        ("handler", _("承办人")))}
    people = [(person.pk, f'<option value="{person.pk}"',
               f">{escape(person.get_full_name() or person.username)}</option>")
              for person in staff]
    form = escape(select)
    ticked = set(ticked)
    written = []
    for case in rows:
        tick = ""
        if select:
            tick = '<td class="select"></td>'
            if case.may.get("assign_handler"):
                checked = " checked" if str(case.pk) in ticked else ""
                hidden = escape(_("选择 %(number)s") % {"number": case.number})
                tick = (f'<td class="select"><label class="tick"><input type="checkbox" '
                        f'name="cases" value="{case.pk}" form="{form}"{checked}>'
                        f'<span class="visually-hidden">{hidden}</span></label></td>')
        due = timezone.localtime(case.due_at).strftime("%m-%d %H:%M") if case.due_at else ""
        if case.tier_code not in working:
            tier = reference.tier(case.tier_code) if case.tier_code else None
            working[case.tier_code] = tier is not None and tier.unit == TimeUnit.WORKING_DAYS
        due += " " + render_clock(clock.read(case.due_at, working=working[case.tier_code],
                                             now=now))
        state = (f'<span class="state state-{escape(case.state)}">'
                 f"{escape(case.state_label)}</span>")
        if case.review_stage_label:
            state += f"<br><small>{escape(case.review_stage_label)}</small>"
        acts = (f'<a class="button small" href="{escape(handle(case.number))}">'
                f'{words["handle"]}</a>')
        if case.may.get("department_accept"):
            acts += (f' <form method="post" action="{escape(take(case.number))}">{csrf}'
                     f'<input type="hidden" name="next" value="{back}">'
                     f'<button class="small" type="submit">{words["take"]}</button></form>')
        if case.may.get("assign_handler"):
            options = "".join(f"{start}{' selected' if pk == case.handler_id else ''}{end}"
                              for pk, start, end in people)
            acts += (f' <form method="post" action="{escape(assign(case.number))}">{csrf}'
                     f'<input type="hidden" name="next" value="{back}">'
                     f'<select name="handler" aria-label="{words["handler"]}">{options}</select>'
                     f'<button class="small" type="submit">{words["assign"]}</button></form>')
        written.append(
            f'<tr class="urgency-{escape(case.urgency)}">{tick}'
            f'<td class="due">{due}</td>'
            f'<td class="mono"><a href="{escape(detail(case.number))}">'
            f"{escape(case.number)}</a></td>"
            f"<td>{escape(case.summary)}</td><td>{escape(case.tier_code or '')}</td>"
            f"<td>{escape(case.category_name or '—')}</td><td>{state}</td>"
            f"<td>{escape(case.handler_name or '—')}</td>"
            f'<td class="row-actions">{acts}</td></tr>')
    return mark_safe("\n".join(written))
