"""{% discussion_of request.user case as thread %}: the case's 内部沟通 for this person."""

from django import template

from dispatch.discussion import thread_for

register = template.Library()


@register.simple_tag
def discussion_of(user, case):
    return thread_for(user, case)
