"""{% discussion_of request case as thread %}: the case's 内部沟通 for this person (the
office's texts in full once it clicked 显示完整信息 on the case)."""

from django import template

from dispatch.discussion import thread_for

register = template.Library()


@register.simple_tag
def discussion_of(request, case):
    from cases.views import revealed_in_session

    return thread_for(request.user, case, revealed=revealed_in_session(request, case))
