"""What the reply letter (答复意见书) prints of a reply."""

from django import template

from feedback.documents import letter_body as body_of

register = template.Library()


@register.filter
def letter_body(reply) -> str:
    return body_of(reply.content)
