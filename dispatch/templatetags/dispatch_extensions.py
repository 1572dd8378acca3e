"""The case page (cases) shows how approved extensions were told through this tag, so
that cases does not import a later stage."""

from django import template

from dispatch.selectors import extension_notices

register = template.Library()


@register.simple_tag
def extension_notices_for(user, case) -> list:
    """How each approved extension of the case was told, as this person may see it."""
    return extension_notices(user, case)
