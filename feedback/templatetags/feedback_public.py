"""The tracking page (intake) shows the rating link of the reply (feedback) through this
tag, so that intake does not import a later stage."""

from django import template

from feedback.selectors import open_rating_url

register = template.Library()


@register.simple_tag
def rating_link_of(case) -> str:
    """The signed link to rate the case's latest reply, while it may still be rated."""
    return open_rating_url(case.replies.order_by("-sent_at", "-pk").first())
