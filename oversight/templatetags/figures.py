from django import template
from django.utils.formats import get_format
from django.utils.html import conditional_escape, escape
from django.utils.safestring import mark_safe

register = template.Library()


@register.filter
def get_rate(row: dict, key: str):
    """A row's value by key (rates may be None: no denominator)."""
    return row.get(key)


def _decimal_point(context) -> str:
    """The language's decimal point, looked up once a page."""
    cached = context.render_context
    if "decimal_point" not in cached:
        cached["decimal_point"] = get_format("DECIMAL_SEPARATOR")
    return cached["decimal_point"]


@register.simple_tag(takes_context=True)
def breakdown_cells(context, row: dict, columns, by: str, drilldown_url: str):
    """The figure cells of one breakdown row: a rate as it is (— without a denominator), a
    counter linked to the cases behind it (not a zero: the list would be empty; not for the
    row of cases without a department, category or tier: 0 is no filter). Built here, not in the template language: a city's
    400 departments by 26 columns are 10 400 cells, each an `{% url %}` and a few tags,
    and each number localized on its own (the counters are plain integers, a rate's
    decimal point is the language's)."""
    decimal_point = _decimal_point(context)
    linked = bool(row["key"]) or by in ("channel", "month")
    link = f'<td class="num"><a href="{drilldown_url}?{escape(row["query"])}&measure='
    cells = []
    for key, _title in columns:
        value = row.get(key)
        if key.endswith("_rate"):
            cells.append(f'<td class="num">{_number(value, decimal_point)}</td>')
        elif linked and value:
            cells.append(f'{link}{key}">{int(value)}</a></td>')
        else:
            cells.append(f'<td class="num">{int(value)}</td>')
    return mark_safe("".join(cells))


# The ledger's columns after the holder's name; a value None is shown as —.
LEDGER_CELLS = (("segments", ""), ("held_hours", ""), ("average_hours", ""),
                ("late_segments", ""), ("late_hours", ""), ("dispatched", ""),
                ("misrouted", ""), ("accuracy", "%"), ("returns_upheld", ""),
                ("returns_refused", ""), ("extensions", ""))


@register.simple_tag(takes_context=True)
def ledger_cells(context, row: dict):
    """The cells of one row of the departments' ledger (one row per department: built
    here for the same reason as `breakdown_cells`)."""
    decimal_point = _decimal_point(context)
    return mark_safe("".join(
        f'<td class="num">{_number(row[key], decimal_point)}'
        f'{unit if row[key] is not None else ""}</td>' for key, unit in LEDGER_CELLS))


def _number(value, decimal_point: str) -> str:
    """An integer or a rounded figure as the template would show it; None as —."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return str(value).replace(".", decimal_point)
    return str(int(value))


@register.simple_tag(takes_context=True)
def breakdown_rows(context, rows, columns, by: str, drilldown_url: str):
    """The breakdown's rows, each its label and `breakdown_cells`."""
    return mark_safe("".join(
        f'<tr><th scope="row">{conditional_escape(row["label"])}</th>'
        f"{breakdown_cells(context, row, columns, by, drilldown_url)}</tr>" for row in rows))


@register.simple_tag(takes_context=True)
def ledger_rows(context, rows):
    """The ledger's rows, each its holder and `ledger_cells`."""
    return mark_safe("".join(
        f'<tr><th scope="row">{conditional_escape(row["label"])}</th>'
        f"{ledger_cells(context, row)}</tr>" for row in rows))
