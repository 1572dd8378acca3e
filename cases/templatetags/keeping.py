"""How long what a person may look for is kept (cases.archive's settings), said where
they look for it."""

from django import template
from django.conf import settings
from django.utils.translation import gettext as _

register = template.Library()


@register.simple_tag
def notification_keeping() -> str:
    return _("已读通知在阅读 %(read)s 天后删除；所有通知最长保留 %(all)s 天。") % {
        "read": getattr(settings, "NOTIFICATION_READ_KEEP_DAYS", 90),
        "all": getattr(settings, "NOTIFICATION_KEEP_DAYS", 365)}
