from django import template

register = template.Library()


@register.filter
def get_rate(row: dict, key: str):
    """A row's value by key (rates may be None: no denominator)."""
    return row.get(key)
