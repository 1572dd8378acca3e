"""{% result_phrases_of request.user case revealed as phrases %}: the 常用办理用语 the
handling page offers under its result form. A tag, so that dispatch's page reads the
office's phrases without dispatch's code importing this later app."""

from django import template

from feedback.phrases import RESULT_USES, phrases_for

register = template.Library()


@register.simple_tag
def result_phrases_of(user, case, revealed=False):
    return phrases_for(user, case, uses=RESULT_USES, revealed=bool(revealed))
