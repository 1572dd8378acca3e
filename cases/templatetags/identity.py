"""Free texts as the identity policy shows them: `{{ case.content|masked:text_mask }}`,
with `text_mask` from `cases.identity.identity_context` (None: the text as written)."""

from django import template

register = template.Library()


@register.filter
def masked(text, mask):
    return mask(text) if mask else text
